//! Where sites and responses live. Handlers see only the [`Store`] trait, never a backend type.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::{Comment, Origin, ResponseId, Score, SiteId, TokenHash};

pub use sqlite::SqliteStore;

/// Failures a caller can act on; everything else is [`StoreError::Unavailable`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// The response id is already used by a response of another site.
    #[error("response id {0} belongs to another site")]
    ResponseOfAnotherSite(ResponseId),
    /// The site does not exist.
    #[error("no site with id {0}")]
    UnknownSite(SiteId),
    /// The database failed or could not be reached; the caller may retry.
    #[error("storage is unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    /// A stored value no longer parses, e.g. after a manual edit of the database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A site whose visitors may answer surveys.
#[derive(Debug, Clone)]
pub struct Site {
    /// The public id from the script tag.
    pub id: SiteId,
    /// The name shown in the question.
    pub name: String,
    /// Pages on these origins may show the survey and post answers.
    pub allowed_origins: Vec<Origin>,
    /// The share of visitors, 0–100, who are offered the survey.
    pub sample_percent: u8,
    /// Days a visitor is left alone after seeing the survey.
    pub cooldown_days: u16,
    /// The hash of the admin API token.
    pub admin_token_hash: TokenHash,
}

impl Site {
    /// Whether a page on `origin` may use this site's survey.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.allowed_origins.contains(origin)
    }
}

/// One visitor's answers, validated.
#[derive(Debug, Clone)]
pub struct ResponseUpdate {
    /// The idempotency key.
    pub id: ResponseId,
    /// The NPS answer.
    pub score: Score,
    /// The comment, if one was written; `None` keeps an earlier comment.
    pub comment: Option<Comment>,
}

/// A response as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The id the widget generated, hyphenated.
    pub id: String,
    /// 0–10.
    pub score: u8,
    /// The latest comment.
    pub comment: Option<String>,
    /// Unix milliseconds of the first answer.
    pub created_at_ms: i64,
    /// Unix milliseconds of the latest answer.
    pub updated_at_ms: i64,
}

/// The storage interface every backend implements and the conformance tests exercise.
#[async_trait]
pub trait Store: Send + Sync {
    /// Adds a site.
    async fn create_site(&self, site: &Site) -> Result<(), StoreError>;
    /// Replaces every setting of an existing site.
    async fn update_site(&self, site: &Site) -> Result<(), StoreError>;
    /// The site with this id, if any.
    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError>;
    /// The first site with this name, if any.
    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError>;
    /// Creates the response or updates it in place; returns only once the change is durable.
    async fn upsert_response(
        &self,
        site: &SiteId,
        update: &ResponseUpdate,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// A site's responses, oldest first.
    async fn responses(&self, site: &SiteId) -> Result<Vec<StoredResponse>, StoreError>;
}

/// Opens the database a URL names, creating and migrating it where that is safe.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(Arc::new(SqliteStore::open(path).await?));
    }
    anyhow::bail!(
        "unsupported database URL {url:?}: use sqlite://PATH (e.g. sqlite://data/soovita.db)"
    )
}
