//! What the server does on its own about open cases, every tick (LOYALTY.md §5: answer fast,
//! and even a note that someone is on it helps):
//! - acknowledges each new request to be contacted, where the site asked for it (`acknowledge.rs`);
//! - flags each case that passes its target time without a first contact, once: the webhook
//!   event `case.overdue`, and a line in the next digest to the site's admins, mailed at most
//!   hourly (`overdue.rs`).
//!
//! Everything it knows is in the database, and every step is claimed there (a unique key, a
//! conditional update), so several servers on one PostgreSQL database share the watch without
//! doing anything twice. Time is a parameter: tests move it on instead of sleeping.

mod acknowledge;
mod overdue;
mod store;

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::AccountStore;
use crate::clock;
use crate::db::StoreError;
use crate::mail::{MailOptions, MailStore};
use crate::webhooks::WebhookStore;

pub use store::WatchStore;

/// What the watch reads and writes: its own queries, the mail queue, webhook deliveries, and
/// who a site's admins are.
pub trait Stores: WatchStore + MailStore + WebhookStore + AccountStore {}

impl<S: WatchStore + MailStore + WebhookStore + AccountStore + ?Sized> Stores for S {}

/// How often the watch looks.
pub const TICK: Duration = Duration::from_secs(15);

/// What one look did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watched {
    pub acknowledged: usize,
    pub overdue: usize,
    pub digests: usize,
}

/// Runs forever, one look per [`TICK`].
pub async fn run<S: Stores + ?Sized>(
    store: Arc<S>,
    mail: Option<MailOptions>,
    webhook_attempts: u32,
) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = look(
            store.as_ref(),
            mail.as_ref(),
            webhook_attempts,
            clock::now_ms(),
        )
        .await
        {
            tracing::warn!(%error, "watching open cases failed; trying again next tick");
        }
    }
}

/// One look at every site's open cases as of `now_ms`. Acknowledgements and digests are mail,
/// so without `mail` only the webhooks are told.
pub async fn look<S: Stores + ?Sized>(
    store: &S,
    mail: Option<&MailOptions>,
    webhook_attempts: u32,
    now_ms: i64,
) -> Result<Watched, StoreError> {
    let acknowledged = match mail {
        Some(mail) => acknowledge::acknowledge(store, mail, now_ms).await?,
        None => 0,
    };
    let overdue = overdue::flag(store, webhook_attempts, now_ms).await?;
    let digests = match mail {
        Some(mail) => overdue::digest(store, mail, now_ms).await?,
        None => 0,
    };
    Ok(Watched {
        acknowledged,
        overdue,
        digests,
    })
}
