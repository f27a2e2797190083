//! Closing the loop with visitors who agreed to be contacted: where each follow-up stands and
//! how fast complaints are handled. The seeds (LOYALTY.md §5) say a complaint handled well
//! makes a customer more loyal than one who never complained, and that speed is what to watch.

use std::collections::BTreeMap;

mod store;

pub use store::InboxStore;

/// A response in the inbox and its follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub response_id: String,
    pub score: u8,
    pub comment: Option<String>,
    /// Where to reach the visitor; shown to owners only.
    pub email: Option<String>,
    pub page_path: Option<String>,
    /// The language the visitor answered in, which replies are written in.
    pub lang: Option<String>,
    pub created_at_ms: i64,
    /// `New` until an owner records something.
    pub status: FollowUpStatus,
    /// The owners' internal notes.
    pub notes: String,
    /// When the visitor was first contacted.
    pub contacted_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
}

/// The most cases the inbox lists (and computes its medians over).
pub const INBOX_SHOWN: u32 = 500;

/// The longest internal note an owner may keep on a case.
pub const MAX_NOTES_CHARS: usize = 4_000;

/// Why a follow-up cannot be recorded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidFollowUp {
    #[error("unknown status {0:?}: use new, contacted or resolved")]
    Status(String),
    /// Over [`MAX_NOTES_CHARS`].
    #[error("notes are limited to {MAX_NOTES_CHARS} characters, got {0}")]
    NotesTooLong(usize),
    #[error("notes contain a control character (only tab and newline are allowed): remove it")]
    NotesControlCharacter,
}

/// The status and notes an owner posted, checked; the notes trimmed.
pub fn follow_up_of(
    status: &str,
    notes: &str,
) -> Result<(FollowUpStatus, String), InvalidFollowUp> {
    let status =
        FollowUpStatus::parse(status).ok_or_else(|| InvalidFollowUp::Status(status.to_owned()))?;
    let chars = notes.chars().count();
    if chars > MAX_NOTES_CHARS {
        return Err(InvalidFollowUp::NotesTooLong(chars));
    }
    let notes = crate::domain::plain_text("notes", notes)
        .map_err(|_| InvalidFollowUp::NotesControlCharacter)?;
    Ok((status, notes.trim().to_owned()))
}

/// Where a follow-up stands; it only moves forward in the console's wording, but an owner may
/// set any status (a resolved case can be reopened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUpStatus {
    /// Nobody has answered the visitor yet.
    New,
    /// Someone has got in touch.
    Contacted,
    /// The matter is settled.
    Resolved,
}

impl FollowUpStatus {
    /// Every status, in the order a case goes through them.
    pub const ALL: [Self; 3] = [Self::New, Self::Contacted, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Contacted => "contacted",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

/// How fast the listed cases were handled: medians overall and by month of the response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseTimes {
    /// Median time from the response to the first contact, over cases contacted.
    pub first_contact_ms: Option<i64>,
    /// Median time from the response to its resolution, over cases resolved.
    pub resolution_ms: Option<i64>,
    /// The same medians for the responses of each month ("2026-11"), oldest month first.
    pub by_month: Vec<MonthTimes>,
}

/// One month's medians, with how many cases each is over.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthTimes {
    /// "YYYY-MM" (UTC) of the responses.
    pub month: String,
    /// Median time to first contact.
    pub first_contact_ms: Option<i64>,
    pub contacted: usize,
    /// Median time to resolution.
    pub resolution_ms: Option<i64>,
    pub resolved: usize,
}

pub fn response_times(items: &[InboxItem]) -> ResponseTimes {
    let waits = |items: &[&InboxItem], done: fn(&InboxItem) -> Option<i64>| -> Vec<i64> {
        items
            .iter()
            .filter_map(|item| done(item).map(|at| at - item.created_at_ms))
            .collect()
    };
    let contacted = |item: &InboxItem| item.contacted_at_ms;
    let resolved = |item: &InboxItem| item.resolved_at_ms;
    let all: Vec<&InboxItem> = items.iter().collect();
    let mut months: BTreeMap<String, Vec<&InboxItem>> = BTreeMap::new();
    for item in items {
        months
            .entry(month(item.created_at_ms))
            .or_default()
            .push(item);
    }
    ResponseTimes {
        first_contact_ms: median(waits(&all, contacted)),
        resolution_ms: median(waits(&all, resolved)),
        by_month: months
            .into_iter()
            .map(|(month, items)| {
                let (to_contact, to_resolve) = (waits(&items, contacted), waits(&items, resolved));
                MonthTimes {
                    month,
                    contacted: to_contact.len(),
                    resolved: to_resolve.len(),
                    first_contact_ms: median(to_contact),
                    resolution_ms: median(to_resolve),
                }
            })
            .collect(),
    }
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2),
    }
}

fn month(unix_ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .map(|at| format!("{}-{:02}", at.year(), u8::from(at.month())))
        .unwrap_or_default()
}

/// A duration as people say it: "40 min", "5 h", "3 d".
pub fn human(duration_ms: i64) -> String {
    let minutes = duration_ms.max(0) / 60_000;
    match minutes {
        0..=89 => format!("{minutes} min"),
        90..=2_159 => format!("{} h", (minutes + 30) / 60),
        _ => format!("{} d", (minutes + 720) / 1_440),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    /// 2026-10-15 and 2026-11-15, 00:00 UTC.
    const OCTOBER: i64 = 1_792_022_400_000;
    const NOVEMBER: i64 = 1_794_700_800_000;

    fn case(created: i64, contacted_after: Option<i64>, resolved_after: Option<i64>) -> InboxItem {
        InboxItem {
            response_id: String::new(),
            score: 3,
            comment: None,
            email: None,
            page_path: None,
            lang: None,
            created_at_ms: created,
            status: FollowUpStatus::New,
            notes: String::new(),
            contacted_at_ms: contacted_after.map(|after| created + after),
            resolved_at_ms: resolved_after.map(|after| created + after),
        }
    }

    #[test]
    fn medians_count_only_cases_that_got_that_far() {
        let items = [
            case(OCTOBER, Some(HOUR), Some(10 * HOUR)),
            case(OCTOBER, Some(3 * HOUR), None),
            case(NOVEMBER, Some(5 * HOUR), Some(20 * HOUR)),
            case(NOVEMBER, Some(2 * HOUR), Some(30 * HOUR)),
            case(NOVEMBER, None, None),
        ];
        let times = response_times(&items);
        assert_eq!(
            times.first_contact_ms,
            Some(5 * HOUR / 2),
            "median of 1, 2, 3, 5 h"
        );
        assert_eq!(
            times.resolution_ms,
            Some(20 * HOUR),
            "median of 10, 20, 30 h"
        );
        assert_eq!(
            times.by_month,
            [
                MonthTimes {
                    month: "2026-10".into(),
                    first_contact_ms: Some(2 * HOUR),
                    contacted: 2,
                    resolution_ms: Some(10 * HOUR),
                    resolved: 1
                },
                MonthTimes {
                    month: "2026-11".into(),
                    first_contact_ms: Some(7 * HOUR / 2),
                    contacted: 2,
                    resolution_ms: Some(25 * HOUR),
                    resolved: 2
                },
            ]
        );
        assert_eq!(response_times(&[]), ResponseTimes::default());
    }

    #[test]
    fn notes_keep_line_ends_and_refuse_other_control_characters() {
        assert_eq!(
            follow_up_of("contacted", " Called.\r\nWill call again. "),
            Ok((
                FollowUpStatus::Contacted,
                "Called.\nWill call again.".into()
            ))
        );
        assert_eq!(
            follow_up_of("contacted", "bell\u{7}"),
            Err(InvalidFollowUp::NotesControlCharacter)
        );
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(human(40 * 60_000), "40 min");
        assert_eq!(human(5 * HOUR), "5 h");
        assert_eq!(human(72 * HOUR), "3 d");
        assert_eq!(
            FollowUpStatus::parse("resolved"),
            Some(FollowUpStatus::Resolved)
        );
        assert_eq!(FollowUpStatus::parse("closed"), None);
    }
}
