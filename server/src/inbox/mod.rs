//! Closing the loop with visitors who agreed to be contacted: where each follow-up stands and
//! how fast complaints are handled. The seeds (LOYALTY.md §5) say a complaint handled well
//! makes a customer more loyal than one who never complained, and that speed is what to watch.

use std::collections::BTreeMap;

mod store;

pub use store::{InboxStore, DUE_AT_SQL};

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
    /// When the first contact is due: the response's time plus its category's target.
    pub due_at_ms: i64,
}

impl InboxItem {
    /// Whether the case still waits for its first contact.
    pub fn awaits_contact(&self) -> bool {
        self.contacted_at_ms.is_none() && self.status != FollowUpStatus::Resolved
    }

    /// Whether the first contact came, or should have come, by `now_ms`, and in time: `None`
    /// while the case waits and is not yet due.
    pub fn within_target(&self, now_ms: i64) -> Option<bool> {
        match self.contacted_at_ms {
            Some(at) => Some(at <= self.due_at_ms),
            None if self.status == FollowUpStatus::Resolved => None,
            None => (now_ms > self.due_at_ms).then_some(false),
        }
    }
}

/// How soon a site means to get in touch, and whether its server acknowledges requests on its
/// own. LOYALTY.md §5 (seed 002): a complaint answered within a day won the airline the
/// customer's money back; detractors first, so their default is the shorter one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseSettings {
    /// Hours from a detractor's response to the first contact.
    pub detractor_hours: u16,
    /// Hours for passives and promoters.
    pub other_hours: u16,
    /// Mail each visitor who asks to be contacted a short acknowledgement at once.
    pub acknowledge: bool,
}

impl Default for CaseSettings {
    fn default() -> Self {
        Self {
            detractor_hours: 24,
            other_hours: 72,
            acknowledge: false,
        }
    }
}

/// The longest target: a month.
pub const MAX_TARGET_HOURS: u16 = 720;

/// Why case settings cannot be saved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidCaseSettings {
    #[error(
        "the {0} target must be a whole number of hours from 1 to {MAX_TARGET_HOURS}, got {1:?}"
    )]
    Target(&'static str, String),
}

impl CaseSettings {
    /// Settings as typed in a form.
    pub fn parse(
        detractor_hours: &str,
        other_hours: &str,
        acknowledge: bool,
    ) -> Result<Self, InvalidCaseSettings> {
        let hours = |which: &'static str, raw: &str| {
            raw.trim()
                .parse::<u16>()
                .ok()
                .filter(|hours| (1..=MAX_TARGET_HOURS).contains(hours))
                .ok_or_else(|| InvalidCaseSettings::Target(which, raw.to_owned()))
        };
        Ok(Self {
            detractor_hours: hours("detractor", detractor_hours)?,
            other_hours: hours("passive and promoter", other_hours)?,
            acknowledge,
        })
    }
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
    /// Of the cases contacted or already due, how many were contacted in time.
    pub within_target: Share,
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
    pub within_target: Share,
}

/// `part` of `whole` cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Share {
    pub part: usize,
    pub whole: usize,
}

impl Share {
    /// Whole percent, or `None` of nothing.
    pub fn percent(self) -> Option<u32> {
        (self.whole > 0).then(|| {
            u32::try_from((self.part * 100 + self.whole / 2) / self.whole).unwrap_or(u32::MAX)
        })
    }

    fn of(items: &[&InboxItem], now_ms: i64) -> Self {
        let judged: Vec<bool> = items
            .iter()
            .filter_map(|item| item.within_target(now_ms))
            .collect();
        Self {
            part: judged.iter().filter(|in_time| **in_time).count(),
            whole: judged.len(),
        }
    }
}

/// The medians and shares over `items`, a case counting as late once `now_ms` passes its due
/// time.
pub fn response_times(items: &[InboxItem], now_ms: i64) -> ResponseTimes {
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
        within_target: Share::of(&all, now_ms),
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
                    within_target: Share::of(&items, now_ms),
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
            due_at_ms: created + 4 * HOUR,
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
        let times = response_times(&items, NOVEMBER + 5 * HOUR);
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
                    resolved: 1,
                    within_target: Share { part: 2, whole: 2 },
                },
                MonthTimes {
                    month: "2026-11".into(),
                    first_contact_ms: Some(7 * HOUR / 2),
                    contacted: 2,
                    resolution_ms: Some(25 * HOUR),
                    resolved: 2,
                    // Contacted after 5 h (late), after 2 h, and not yet though due 1 h ago.
                    within_target: Share { part: 1, whole: 3 },
                },
            ]
        );
        assert_eq!(times.within_target, Share { part: 3, whole: 5 });
        assert_eq!(times.within_target.percent(), Some(60));
        let not_yet_due = response_times(&items[4..], NOVEMBER + 3 * HOUR);
        assert_eq!(
            not_yet_due.within_target,
            Share::default(),
            "a case not yet due is not judged"
        );
        assert_eq!(response_times(&[], 0), ResponseTimes::default());
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
