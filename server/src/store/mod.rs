//! Where sites and responses live. Handlers see only the [`Store`] trait, never a backend type.

mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

use crate::domain::{Comment, Origin, ResponseId, Score, SiteId, TokenHash};

pub use postgres::PostgresStore;
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
    /// The database failed or could not be reached; the caller may retry. Shared, because one
    /// failed group commit fails every request in the batch.
    #[error("storage is unavailable: {0}")]
    Unavailable(Arc<sqlx::Error>),
    /// A stored value no longer parses, e.g. after a manual edit of the database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unavailable(Arc::new(error))
    }
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
    /// Days a response is kept before it is purged.
    pub retention_days: u16,
    /// Whether visitors who send Do Not Track or Global Privacy Control are never asked.
    pub honor_do_not_track: bool,
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
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Deletes every response older than its site's retention period; returns how many.
    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError>;
    /// Deletes one response of a site (GDPR erasure); `false` if there was none.
    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError>;
    /// Deletes a site and every response it has; `false` if there was none.
    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError>;
}

/// Opens the database a URL names, creating and migrating it where that is safe.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(Arc::new(SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::open(url).await?));
    }
    anyhow::bail!(
        "unsupported database URL {:?}: use sqlite://PATH (e.g. sqlite://data/soovita.db) \
         or postgres://USER:PASSWORD@HOST/DATABASE",
        redact_password(url)
    )
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A site's columns as every backend stores them, before parsing.
struct SiteRow {
    id: String,
    name: String,
    allowed_origins: String,
    sample_percent: i64,
    cooldown_days: i64,
    retention_days: i64,
    honor_do_not_track: bool,
    admin_token_hash: String,
}

impl SiteRow {
    /// The site, refusing values that no longer parse.
    fn parse(self) -> Result<Site, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, detail: String| {
            StoreError::Corrupt(format!("{what} of site {id}: {detail}"))
        };
        let raw_origins: Vec<String> = serde_json::from_str(&self.allowed_origins)
            .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
        let allowed_origins = raw_origins
            .iter()
            .map(|o| Origin::parse(o))
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
        Ok(Site {
            allowed_origins,
            sample_percent: u8::try_from(self.sample_percent)
                .map_err(|e| corrupt("sample_percent", e.to_string()))?,
            cooldown_days: u16::try_from(self.cooldown_days)
                .map_err(|e| corrupt("cooldown_days", e.to_string()))?,
            retention_days: u16::try_from(self.retention_days)
                .map_err(|e| corrupt("retention_days", e.to_string()))?,
            honor_do_not_track: self.honor_do_not_track,
            admin_token_hash: TokenHash::from_stored(self.admin_token_hash),
            name: self.name,
            id: SiteId::parse(&id).map_err(|e| corrupt("id", e.to_string()))?,
        })
    }
}

// SQL that is the same on every backend (SQLite accepts `$1` placeholders too), kept here so the
// rules it encodes cannot drift apart between them.

/// The tail of every response upsert. The WHERE makes a response id that belongs to another
/// site a no-op instead of a takeover; a later post without a comment keeps the earlier one.
const UPSERT_RESPONSE_ON_CONFLICT: &str =
    " ON CONFLICT (id) DO UPDATE SET score = excluded.score, \
     comment = COALESCE(excluded.comment, responses.comment), \
     updated_at_ms = excluded.updated_at_ms \
     WHERE responses.site_id = excluded.site_id";

/// Deletes one response of one site.
const ERASE_RESPONSE: &str = "DELETE FROM responses WHERE site_id = $1 AND id = $2";

/// Deletes a site; its responses go with it (ON DELETE CASCADE).
const DELETE_SITE: &str = "DELETE FROM sites WHERE id = $1";

/// Deletes responses older than their site's retention.
const PURGE_EXPIRED: &str = "DELETE FROM responses WHERE EXISTS (SELECT 1 FROM sites \
     WHERE sites.id = responses.site_id \
     AND responses.created_at_ms < $1 - CAST(sites.retention_days AS BIGINT) * 86400000)";

/// The stored form of a site's allowed origins.
fn origins_json(site: &Site) -> String {
    let raw: Vec<&str> = site.allowed_origins.iter().map(Origin::as_str).collect();
    serde_json::to_string(&raw).expect("a list of strings always serialises")
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_never_reach_messages() {
        let redacted = redact_password("postgres://soovita:hunter2@db.internal/soovita");
        assert_eq!(redacted, "postgres://soovita:***@db.internal/soovita");
        assert_eq!(redact_password("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
