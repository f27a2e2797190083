//! The JSON that crosses the wire between the widget, the server and API clients.
//!
//! Both sides compile these types, so a field renamed here is renamed everywhere.
//! The types carry raw values (`i32` scores, `String` ids) on purpose: the server parses
//! them into its domain types and can then name exactly what is wrong with a request,
//! instead of failing inside serde with a generic message.

// The public API of this crate is what the server, the widget and API clients share.
#![warn(missing_docs)]

mod messages;
mod results;
mod survey;
mod targeting;
mod themes;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use messages::Messages;
pub use results::{
    DimensionScore, EffortDriverShare, EffortSummary, KeyDriver, SiteResults, TrendPoint,
};
pub use survey::{
    is_hex_color, is_valid_email, rotate_statements, Appearance, Audience, ColorMode, Dimension,
    EffortDriver, Plan, Position, Reward, SurveyDefinition, AGREEMENT_RANGE, EFFORT_RANGE,
    MAX_QUESTIONS, MAX_STATEMENTS_PER_VISITOR,
};
pub use targeting::{
    PageRule, Targeting, Trigger, UrlMatch, MAX_DELAY_SECONDS, MAX_PAGE_RULES, MAX_PAGE_RULE_CHARS,
    MAX_PROMPTS_PER_MONTH,
};
pub use themes::{GroupComments, Theme, ThemeList, Themes};

/// The largest request body the ingest endpoints accept, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The longest comment a visitor may leave, counted in characters (not bytes).
pub const MAX_COMMENT_CHARS: usize = 2000;

/// The lowest and highest answer on the Net Promoter Score scale.
pub const SCORE_RANGE: std::ops::RangeInclusive<i32> = 0..=10;

/// The longest answer to the email field, in bytes (the limit of RFC 5321).
pub const MAX_EMAIL_BYTES: usize = 254;

/// What the loader fetches from `GET /v1/sites/{site_id}/survey?lang=…` before it decides to
/// show anything, and what it hands to the widget when it mounts it: the site's current survey,
/// resolved into one language.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The survey version answers are recorded against.
    pub version: u32,
    /// The language chosen for this visitor, e.g. `et`.
    pub lang: String,
    /// Whether the language is written right to left.
    pub rtl: bool,
    /// The steps, dimensions and appearance; `wording` is already folded into `messages`.
    pub survey: SurveyDefinition,
    /// Every text of the card in `lang`, with the owner's wording applied.
    pub messages: Messages,
    /// The loyalty statements of the enabled dimensions in `lang`, to rotate through.
    pub statements: Vec<Statement>,
}

/// One loyalty statement in one language.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statement {
    /// `dimension.name`, e.g. `trust.honest`; the same in every language.
    pub id: String,
    /// What the visitor agrees or disagrees with.
    pub text: String,
}

/// The body of `POST /v1/sites/{site_id}/responses`.
///
/// The widget sends one as soon as a score is chosen and again, with the same
/// `response_id`, when the visitor adds a comment: the id is the idempotency key.
///
/// Every post carries all answers given so far, so a lost or late request costs nothing: a field
/// a later post leaves out keeps the value an earlier one gave (the score and the survey version
/// are always replaced, and withdrawn consent also forgets the email).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResponseSubmission {
    /// A UUID the widget generates once per survey display.
    pub response_id: String,
    /// The answer to "How likely are you to recommend…", 0–10.
    pub score: i32,
    /// The survey version shown; absent means the site's current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_version: Option<u32>,
    /// The language the survey was shown in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The answer to the open question; absent until the visitor writes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Every loyalty statement shown so far, answered or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementAnswer>,
    /// The Customer Effort Score, 1–7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<i32>,
    /// The effort drivers the visitor ticked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub effort_drivers: Vec<EffortDriver>,
    /// The answer to "May we contact you about this?".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactAnswer>,
    /// Where and on what the survey was answered, captured by the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<PageContext>,
    /// Name–value pairs the site set through the JS API, e.g. `{"plan": "pro"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// A honeypot: the widget's hidden "website" field, which people never see and form-filling
    /// bots fill in. Anything in it marks the submission as a bot's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

/// The most attributes one response may carry.
pub const MAX_ATTRIBUTES: usize = 20;

/// The longest attribute name, and the longest value, in characters.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 40;
/// The longest attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 200;

/// Whether `name` may name an attribute: 1 to [`MAX_ATTRIBUTE_NAME_CHARS`] ASCII letters, digits
/// or `_`, so that it can be a column name in exports and a key in any tool they go to.
pub fn is_attribute_name(name: &str) -> bool {
    (1..=MAX_ATTRIBUTE_NAME_CHARS).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The longest page path kept, in characters.
pub const MAX_PATH_CHARS: usize = 512;

/// The longest query string kept, in characters.
pub const MAX_QUERY_CHARS: usize = 512;

/// The UTM parameters the widget passes on; others in the query string are never read.
pub const UTM_PARAMETERS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// The page a survey was answered on: its path, and its query string only where the survey
/// opts in, so tokens and e-mail addresses in URLs stay out of the database by default.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PageContext {
    /// `location.pathname`, e.g. `/checkout/done`.
    pub path: String,
    /// The query string without `?`, only when the survey opts in (`record_query_string`):
    /// query strings can carry what visitors typed, tokens and email addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The UTM parameters of the page's URL, by name (`utm_source`…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub utm: BTreeMap<String, String>,
    /// The host name of the referring page, if it was another site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Phone, tablet or desktop.
    pub device: DeviceClass,
}

/// A coarse device class, from the pointer and the screen's width (not the viewport's: a page
/// without a viewport meta tag lays a phone out 980 pixels wide).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    /// A coarse pointer on a screen narrower than 768 CSS pixels.
    Phone,
    /// A coarse pointer on a screen 768 CSS pixels or wider.
    Tablet,
    /// Anything with a fine pointer.
    #[default]
    Desktop,
}

impl DeviceClass {
    /// The snake_case name used in JSON, CSV and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Tablet => "tablet",
            Self::Desktop => "desktop",
        }
    }
}

/// A loyalty statement that was shown, and the visitor's agreement if they gave one.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatementAnswer {
    /// The statement's id, e.g. `trust.honest`.
    pub id: String,
    /// 1 strongly disagree … 5 strongly agree; absent if the visitor skipped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<i32>,
}

/// Whether the visitor may be contacted, and where.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactAnswer {
    /// Yes or no.
    pub consent: bool,
    /// Required with consent, refused without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The body of a 2xx answer to a submission: the answer is stored.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmissionAccepted {
    /// The id the answer is stored under.
    pub response_id: String,
}

/// The body of every 4xx and 5xx answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence for the person reading the logs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, snake_case; clients may branch on it.
    pub code: String,
    /// Says what was wrong and, where it can, what to do about it.
    pub message: String,
}

/// Where a score puts a visitor in the Net Promoter model (see `LOYALTY.md` §1).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The highest score of a detractor. Every other rule (the results, the webhooks' events,
    /// the inbox's order in SQL) is derived from this and [`Category::PASSIVE_MAX`].
    pub const DETRACTOR_MAX: u8 = 6;
    /// The highest score of a passive.
    pub const PASSIVE_MAX: u8 = 8;
    /// In the order of their scores.
    pub const ALL: [Self; 3] = [Self::Detractor, Self::Passive, Self::Promoter];

    /// The category of a score on the 0–10 scale.
    pub fn from_score(score: u8) -> Self {
        if score <= Self::DETRACTOR_MAX {
            Self::Detractor
        } else if score <= Self::PASSIVE_MAX {
            Self::Passive
        } else {
            Self::Promoter
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedResponse {
    /// The id the widget generated.
    pub response_id: String,
    /// 0–10.
    pub score: u8,
    /// Derived from the score, so that exports can be filtered without knowing the model.
    pub category: Category,
    /// The survey version answered, if the widget said.
    pub survey_version: Option<u32>,
    /// The language the survey was shown in.
    pub lang: Option<String>,
    /// The visitor's answer to the open question, if any.
    pub comment: Option<String>,
    /// The loyalty statements shown, with the answers given.
    pub statements: Vec<ExportedStatement>,
    /// The Customer Effort Score, 1–7.
    pub effort: Option<u8>,
    /// The effort drivers ticked.
    pub effort_drivers: Vec<EffortDriver>,
    /// Whether the visitor may be contacted; absent if not asked or not answered.
    pub contact_consent: Option<bool>,
    /// Where to contact them; only with consent.
    pub email: Option<String>,
    /// Where and on what the survey was answered.
    pub context: Option<PageContext>,
    /// What the site set through the JS API.
    pub attributes: BTreeMap<String, String>,
    /// When the first answer arrived, RFC 3339 in UTC.
    pub created_at: String,
    /// When the latest answer arrived, RFC 3339 in UTC.
    pub updated_at: String,
    /// Where the response was collected: absent for this server's widget; `import:delighted`
    /// or `import:csv` for a file brought in with `soovita import` (a Soovita export brought
    /// in keeps its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A statement as exported: shown, and maybe answered.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedStatement {
    /// The statement's id.
    pub id: String,
    /// Its dimension.
    pub dimension: Dimension,
    /// 1–5, or absent if shown but not answered.
    pub answer: Option<u8>,
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
            ..ResponseSubmission::default()
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
