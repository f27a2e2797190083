//! The whole store as handlers hold it: one `Arc<dyn Store>`, the sum of each feature's part.
//! Each feature writes its own part (`sites/store.rs`, `responses/store.rs`, …) for
//! [`crate::db::Db`], which opens either backend; nothing here knows any SQL.

use std::sync::Arc;

use async_trait::async_trait;

use crate::db::Db;
pub use crate::db::StoreError;
use prelude::*;

/// Every feature's store traits, to bring into scope at once where a `dyn Store` is used.
pub mod prelude {
    pub use super::Store;
    pub use crate::accounts::AccountStore;
    pub use crate::checkbacks::CheckBackStore;
    pub use crate::imports::ImportStore;
    pub use crate::inbox::InboxStore;
    pub use crate::mail::MailStore;
    pub use crate::responses::ResponseStore;
    pub use crate::results::ResultStore;
    pub use crate::sites::SiteStore;
    pub use crate::themes::ThemeStore;
    pub use crate::watch::WatchStore;
    pub use crate::webhooks::WebhookStore;
}

#[async_trait]
pub trait Store:
    SiteStore
    + ResponseStore
    + ResultStore
    + AccountStore
    + InboxStore
    + WebhookStore
    + MailStore
    + CheckBackStore
    + WatchStore
    + ImportStore
    + ThemeStore
{
    /// Succeeds when the database answers a query and can take writes.
    async fn ping(&self) -> Result<(), StoreError>;
}

#[async_trait]
impl Store for Db {
    async fn ping(&self) -> Result<(), StoreError> {
        Db::ping(self).await
    }
}

/// Opens the database a URL names, creating and migrating it where that is safe.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(Db::open(url).await?))
}

/// [`open`] for `soovita import`, which writes much and reads little: see
/// [`Db::open_for_bulk_writes`].
pub async fn open_for_import(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(Db::open_for_bulk_writes(url).await?))
}
