use std::sync::Arc;

use thiserror::Error;

use crate::domain::{ResponseId, SiteId};

/// Failures a caller can act on; everything else is [`StoreError::Unavailable`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// The response id is already used by a response of another site, or by one first answered
    /// more than `UPDATE_WINDOW_MS` ago.
    #[error("response id {0} belongs to another site or can no longer change")]
    ResponseOfAnotherSite(ResponseId),
    #[error("no site with id {0}")]
    UnknownSite(SiteId),
    /// The database failed or could not be reached; the caller may retry. Shared, because one
    /// failed group commit fails every request in the batch.
    #[error("storage is unavailable: {0}")]
    Unavailable(Arc<dyn std::error::Error + Send + Sync>),
    #[error("an owner account for {0} exists already")]
    OwnerExists(String),
    /// A stored value no longer parses, e.g. after a manual edit of the database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unavailable(Arc::new(error))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Unavailable(Arc::new(error))
    }
}

impl StoreError {
    /// Whether the database refused a row for breaking a unique constraint.
    pub fn is_unique_violation(&self) -> bool {
        let Self::Unavailable(error) = self else {
            return false;
        };
        matches!(
            error.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::Database(error)) if error.is_unique_violation()
        )
    }
}
