//! The JSON that crosses the wire between the widget, the server and API clients.
//!
//! Both sides compile these types, so a field renamed here is renamed everywhere.
//! The types carry raw values (`i32` scores, `String` ids) on purpose: the server parses
//! them into its domain types and can then name exactly what is wrong with a request,
//! instead of failing inside serde with a generic message.

use serde::{Deserialize, Serialize};

/// The largest request body the ingest endpoints accept, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The longest comment a visitor may leave, counted in characters (not bytes).
pub const MAX_COMMENT_CHARS: usize = 2000;

/// The lowest and highest answer on the Net Promoter Score scale.
pub const SCORE_RANGE: std::ops::RangeInclusive<i32> = 0..=10;

/// What the loader fetches from `GET /v1/sites/{site_id}/survey` before it decides to show
/// anything, and what it hands to the widget when it mounts it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SurveyConfig {
    /// The site the answers belong to.
    pub site_id: String,
    /// The name shown in the question ("How likely are you to recommend {site_name}…").
    pub site_name: String,
    /// The share of visitors, 0–100, who are ever offered the survey.
    pub sample_percent: u8,
    /// Days a visitor is left alone after the survey was shown to them.
    pub cooldown_days: u16,
    /// Whether visitors who send Do Not Track or Global Privacy Control are never asked.
    pub honor_do_not_track: bool,
}

/// The body of `POST /v1/sites/{site_id}/responses`.
///
/// The widget sends one as soon as a score is chosen and again, with the same
/// `response_id`, when the visitor adds a comment: the id is the idempotency key.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ResponseSubmission {
    /// A UUID the widget generates once per survey display.
    pub response_id: String,
    /// The answer to "How likely are you to recommend…", 0–10.
    pub score: i32,
    /// Free text; absent until the visitor writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A honeypot: the widget's hidden "website" field, which people never see and form-filling
    /// bots fill in. Anything in it marks the submission as a bot's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// The body of a 2xx answer to a submission: the answer is stored.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct SubmissionAccepted {
    /// The id the answer is stored under.
    pub response_id: String,
}

/// The body of every 4xx and 5xx answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence for the person reading the logs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Stable, snake_case; clients may branch on it.
    pub code: String,
    /// Says what was wrong and, where it can, what to do about it.
    pub message: String,
}

/// Where a score puts a visitor in the Net Promoter model (see `LOYALTY.md` §1).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 0–6: unhappy, and likely to say so to others.
    Detractor,
    /// 7–8: satisfied but not loyal.
    Passive,
    /// 9–10: loyal, and likely to recommend.
    Promoter,
}

impl Category {
    /// The category of a score on the 0–10 scale.
    pub fn from_score(score: u8) -> Self {
        match score {
            0..=6 => Self::Detractor,
            7..=8 => Self::Passive,
            _ => Self::Promoter,
        }
    }

    /// The snake_case name used in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detractor => "detractor",
            Self::Passive => "passive",
            Self::Promoter => "promoter",
        }
    }
}

/// One stored response as `GET /v1/sites/{site_id}/responses` returns it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ExportedResponse {
    /// The id the widget generated.
    pub response_id: String,
    /// 0–10.
    pub score: u8,
    /// Derived from the score, so that exports can be filtered without knowing the model.
    pub category: Category,
    /// The visitor's comment, if any.
    pub comment: Option<String>,
    /// When the first answer arrived, RFC 3339 in UTC.
    pub created_at: String,
    /// When the latest answer arrived, RFC 3339 in UTC.
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_net_promoter_bands() {
        let categories: Vec<_> = (0..=10).map(Category::from_score).collect();
        assert_eq!(categories[..7], [Category::Detractor; 7]);
        assert_eq!(categories[7..9], [Category::Passive; 2]);
        assert_eq!(categories[9..], [Category::Promoter; 2]);
    }

    #[test]
    fn a_submission_without_comment_omits_the_field() {
        let submission = ResponseSubmission {
            response_id: "id".into(),
            score: 9,
            comment: None,
            website: None,
        };
        let json = serde_json::to_string(&submission).unwrap();
        assert_eq!(json, r#"{"response_id":"id","score":9}"#);
        assert_eq!(
            serde_json::from_str::<ResponseSubmission>(&json).unwrap(),
            submission
        );
    }

    #[test]
    fn unknown_submission_fields_are_refused_by_name() {
        let err = serde_json::from_str::<ResponseSubmission>(
            r#"{"response_id":"id","score":9,"scroe":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("scroe"), "{err}");
    }

    #[test]
    fn category_serialises_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&Category::Passive).unwrap(),
            r#""passive""#
        );
        assert_eq!(Category::Promoter.as_str(), "promoter");
    }
}
