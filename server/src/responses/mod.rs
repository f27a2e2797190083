//! Visitors' responses: what is written when a visitor answers, how it is read back page by
//! page, which responses a figure covers (`filter.rs`), and the export (`export.rs`).

pub mod export;
pub mod filter;
mod store;

use soovita_wire::{Category, Dimension};

use crate::domain::{Comment, ResponseId, Score};

pub use store::ResponseStore;

/// How long after its first answer a response may still change: the card's steps take minutes
/// and its outbox retries for hours, but a response id that leaks later (a webhook receiver, an
/// export) must not let anyone rewrite what the visitor said.
pub const UPDATE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Responses read per page by [`ResponseStore::filtered_responses`] and by streaming exports.
pub const PAGE_SIZE: u32 = 1_000;

/// A score column's NPS category in SQL: 0 for detractors, 1 for passives, 2 for promoters,
/// from the one rule in [`Category`].
pub fn category_sql(column: &str) -> String {
    format!(
        "CASE WHEN {column} <= {} THEN 0 WHEN {column} <= {} THEN 1 ELSE 2 END",
        Category::DETRACTOR_MAX,
        Category::PASSIVE_MAX
    )
}

/// One visitor's answers, validated. A field that is `None` keeps what an earlier post of the
/// same response said, so answers arriving out of order lose nothing.
#[derive(Debug, Clone)]
pub struct ResponseUpdate {
    /// The idempotency key.
    pub id: ResponseId,
    pub score: Score,
    pub comment: Option<Comment>,
    pub survey_version: u32,
    pub lang: Option<&'static str>,
    /// Each keeps an earlier answer when this one has none.
    pub statements: Vec<StatementUpdate>,
    /// 1–7.
    pub effort: Option<u8>,
    /// The ticked effort drivers, comma-separated in a fixed order.
    pub effort_drivers: Option<String>,
    /// `Some(false)` also forgets an earlier email.
    pub contact_consent: Option<bool>,
    pub email: Option<String>,
    pub page_path: Option<String>,
    /// Only where the survey records it.
    pub page_query: Option<String>,
    /// The referring site's host name.
    pub referrer: Option<String>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<&'static str>,
    /// A JSON object.
    pub utm: Option<String>,
    /// A JSON object.
    pub attributes: Option<String>,
}

/// A loyalty statement shown to a visitor, and their agreement (1–5) if they gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementUpdate {
    /// The bank id, e.g. `trust.honest`.
    pub id: String,
    /// Stored alongside for analysis.
    pub dimension: Dimension,
    pub answer: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The id the widget generated, hyphenated.
    pub id: String,
    pub score: u8,
    /// The latest answer to the open question.
    pub comment: Option<String>,
    pub survey_version: Option<u32>,
    pub lang: Option<String>,
    pub statements: Vec<StoredStatement>,
    /// 1–7.
    pub effort: Option<u8>,
    /// Comma-separated.
    pub effort_drivers: Option<String>,
    pub contact_consent: Option<bool>,
    pub email: Option<String>,
    pub page_path: Option<String>,
    pub page_query: Option<String>,
    /// The referring site's host name.
    pub referrer: Option<String>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<String>,
    /// A JSON object.
    pub utm: Option<String>,
    /// A JSON object.
    pub attributes: Option<String>,
    /// Unix milliseconds of the first answer.
    pub created_at_ms: i64,
    /// Unix milliseconds of the latest answer.
    pub updated_at_ms: i64,
    /// Where it was collected: `None` for this server's widget (migration 0017).
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    /// The bank id.
    pub id: String,
    /// The dimension's snake_case name.
    pub dimension: String,
    pub answer: Option<u8>,
}

/// Where a page of responses ends: they are ordered by first answer, then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseKey {
    pub created_at_ms: i64,
    pub id: String,
}

impl ResponseKey {
    pub fn of(response: &StoredResponse) -> Self {
        Self {
            created_at_ms: response.created_at_ms,
            id: response.id.clone(),
        }
    }
}

/// A comment as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub response_id: String,
    pub score: u8,
    /// The visitor's words, as typed.
    pub comment: String,
    pub page_path: Option<String>,
    /// When the response was first stored.
    pub created_at_ms: i64,
}
