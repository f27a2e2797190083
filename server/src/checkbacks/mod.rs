//! Winning detractors back (LOYALTY.md §5): after a case is resolved the owner may mail the
//! visitor the 0–10 question again, as eleven links. Each link is signed with a key of the
//! server's (HMAC-SHA256), names its case, its score and when it expires, and counts once per
//! case. The results page shows the recovery rate: of the contacted detractors who answered,
//! how many now say 7 or more.

pub mod store;
pub mod texts;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use soovita_wire::Category;

use crate::domain::ResponseId;
use crate::inbox::Share;

pub use store::CheckBackStore;

/// How long a check-back's links work.
pub const LINK_DAYS: i64 = 30;

/// The name of the signing key in `server_keys`.
pub const KEY_NAME: &str = "check_back";

/// Why a link records nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLink {
    #[error("the link is not one this server made")]
    Tampered,
    #[error("the link has expired")]
    Expired,
}

/// What one of the eleven links says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub response: ResponseId,
    pub score: u8,
    /// Unix seconds.
    pub expires_at_s: i64,
}

impl Link {
    /// The link's path segment: `<response>.<score>.<expiry>.<signature>`.
    pub fn sign(&self, key: &[u8]) -> String {
        let claim = self.claim();
        let signature = mac(key, &claim).finalize().into_bytes();
        format!("{claim}.{}", hex::encode(signature))
    }

    /// The link a path segment carries, if `key` signed it and it has not expired by `now_ms`.
    /// The signature is compared in constant time.
    pub fn verify(segment: &str, key: &[u8], now_ms: i64) -> Result<Self, InvalidLink> {
        let mut parts = segment.split('.');
        let (Some(response), Some(score), Some(expires), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidLink::Tampered);
        };
        let link = Self {
            response: ResponseId::parse(response).map_err(|_| InvalidLink::Tampered)?,
            score: score
                .parse()
                .ok()
                .filter(|score| *score <= 10)
                .ok_or(InvalidLink::Tampered)?,
            expires_at_s: expires.parse().map_err(|_| InvalidLink::Tampered)?,
        };
        let signature = hex::decode(signature).map_err(|_| InvalidLink::Tampered)?;
        mac(key, &link.claim())
            .verify_slice(&signature)
            .map_err(|_| InvalidLink::Tampered)?;
        if now_ms / 1000 >= link.expires_at_s {
            return Err(InvalidLink::Expired);
        }
        Ok(link)
    }

    fn claim(&self) -> String {
        format!("{}.{}.{}", self.response, self.score, self.expires_at_s)
    }
}

/// The HMAC of a link's claim, to finish (signing) or to check a signature against.
fn mac(key: &[u8], claim: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(claim.as_bytes());
    mac
}

/// The check-back mail: the question and one link per score.
pub fn mail_text(
    lang: Option<&str>,
    site: &str,
    link_of: impl Fn(u8) -> String,
) -> (String, String) {
    let words = texts::of(lang);
    let mut body = words.intro.replace("{site}", site);
    body.push_str("\n\n");
    for score in 0..=10 {
        body.push_str(&format!("{score}: {}\n", link_of(score)));
    }
    body.push('\n');
    body.push_str(words.scale);
    body.push('\n');
    (words.subject.replace("{site}", site), body)
}

/// What a click on a link did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The score is recorded.
    Recorded,
    /// The case's check-back was answered before; nothing changed.
    AlreadyAnswered,
    /// No check-back was sent for the case (it was erased, or the link was not mailed).
    Unknown,
}

/// How detractors who were contacted answer the check-back.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Recovery {
    /// Of the detractors contacted who answered, how many now answer 7 or more.
    pub recovered: Share,
    /// The median of (new score − first score).
    pub median_change: Option<f64>,
}

impl Recovery {
    /// From each answered case's (first score, new score), counting detractors only.
    pub fn of(pairs: &[(u8, u8)]) -> Self {
        let mut changes: Vec<i32> = pairs
            .iter()
            .filter(|(before, _)| Category::from_score(*before) == Category::Detractor)
            .map(|(before, after)| i32::from(*after) - i32::from(*before))
            .collect();
        changes.sort_unstable();
        let recovered = pairs
            .iter()
            .filter(|(before, after)| {
                Category::from_score(*before) == Category::Detractor
                    && *after > Category::DETRACTOR_MAX
            })
            .count();
        let middle = changes.len() / 2;
        let median_change = match changes.len() {
            0 => None,
            n if n % 2 == 1 => Some(f64::from(changes[middle])),
            _ => Some(f64::from(changes[middle - 1] + changes[middle]) / 2.0),
        };
        Self {
            recovered: Share {
                part: recovered,
                whole: changes.len(),
            },
            median_change,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn link() -> Link {
        Link {
            response: ResponseId::parse("0190a0b0-0000-7000-8000-0000000000e1").unwrap(),
            score: 8,
            expires_at_s: 2_000,
        }
    }

    #[test]
    fn a_link_verifies_until_it_expires_and_not_once_changed() {
        let signed = link().sign(KEY);
        assert_eq!(Link::verify(&signed, KEY, 1_999_000), Ok(link()));
        assert_eq!(
            Link::verify(&signed, KEY, 2_000_000),
            Err(InvalidLink::Expired)
        );
        let other_score = signed.replacen(".8.", ".10.", 1);
        assert_eq!(
            Link::verify(&other_score, KEY, 0),
            Err(InvalidLink::Tampered)
        );
        let later = signed.replacen(".2000.", ".9000.", 1);
        assert_eq!(Link::verify(&later, KEY, 0), Err(InvalidLink::Tampered));
        assert_eq!(
            Link::verify(&signed, b"another key", 0),
            Err(InvalidLink::Tampered)
        );
        for junk in ["", "a.b.c.d", "x.8.2000.00", &format!("{signed}.x")] {
            assert_eq!(
                Link::verify(junk, KEY, 0),
                Err(InvalidLink::Tampered),
                "{junk}"
            );
        }
    }

    #[test]
    fn recovery_counts_detractors_who_now_say_seven_or_more() {
        let recovery = Recovery::of(&[(2, 8), (5, 6), (6, 9), (3, 3), (9, 10)]);
        assert_eq!(recovery.recovered.whole, 4, "the promoter is left out");
        assert_eq!(recovery.recovered.part, 2);
        assert_eq!(recovery.median_change, Some(2.0), "changes 0, 1, 3, 6");
        assert_eq!(recovery.recovered.percent(), Some(50));
        assert_eq!(Recovery::of(&[]).recovered.percent(), None);
    }

    #[test]
    fn the_mail_has_a_link_per_score_in_the_visitors_language() {
        let (subject, body) = mail_text(Some("et"), "Kohvik", |score| format!("https://s/{score}"));
        assert_eq!(subject, "Üks küsimus: Kohvik");
        assert!(body.contains("soovitaksite nüüd Kohvik"));
        for score in 0..=10 {
            assert!(body.contains(&format!("{score}: https://s/{score}\n")));
        }
    }
}
