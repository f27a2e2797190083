//! Sites as the ingest path sees them, cached for a few seconds.
//!
//! Every answer needs its site (origin check, CORS) and sites change rarely, so reading them
//! from the database twice per request would make the database the bottleneck of ingest.
//! A short time-to-live keeps several servers on one PostgreSQL database consistent enough:
//! a changed allow-list takes effect everywhere within [`SITE_TTL`]. Hand-written because it
//! is a map and a timestamp; a cache crate would bring eviction machinery a few hundred sites
//! do not need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::db::StoreError;
use crate::domain::SiteId;
use crate::sites::{Site, SiteStore};

/// How long a site (or its absence) is trusted before it is read again.
pub const SITE_TTL: Duration = Duration::from_secs(5);

/// The most sites (and unknown ids) remembered: about 2 MB at most. Past it, stale entries are
/// dropped, and while the cache is still full (a flood of made-up ids within [`SITE_TTL`]) an
/// unknown id is answered without being remembered.
pub const MAX_ENTRIES: usize = 10_000;

/// How often a server notes that a site's survey was fetched from an allowed origin.
pub const NOTE_FETCHES_EVERY_MS: i64 = 5 * 60 * 1000;

/// When a site was read, and what was found.
type Entry = (Instant, Option<Arc<Site>>);

/// A read-through cache of sites in front of a [`Store`].
pub struct SiteCache {
    store: Arc<dyn SiteStore>,
    entries: RwLock<HashMap<SiteId, Entry>>,
    /// When this server last noted each site's survey fetched: one write per site every
    /// [`NOTE_FETCHES_EVERY_MS`], not one per page view.
    noted: Mutex<HashMap<SiteId, i64>>,
}

impl SiteCache {
    pub fn new(store: Arc<dyn SiteStore>) -> Self {
        Self {
            store,
            entries: RwLock::new(HashMap::new()),
            noted: Mutex::new(HashMap::new()),
        }
    }

    /// Notes, in the background, that a page on an allowed origin fetched the site's survey,
    /// unless this server did so in the last [`NOTE_FETCHES_EVERY_MS`].
    pub fn note_fetch(&self, id: &SiteId, now_ms: i64) {
        {
            let mut noted = self.noted.lock().expect("never poisoned");
            if noted
                .get(id)
                .is_some_and(|at| now_ms - at < NOTE_FETCHES_EVERY_MS)
            {
                return;
            }
            if noted.len() >= MAX_ENTRIES {
                noted.clear();
            }
            noted.insert(id.clone(), now_ms);
        }
        let (store, id) = (self.store.clone(), id.clone());
        tokio::spawn(async move {
            if let Err(error) = store.note_config_fetch(&id, now_ms).await {
                tracing::debug!(%error, "noting a survey fetch failed; the next one tries again");
            }
        });
    }

    /// The site, from memory if it was read less than [`SITE_TTL`] ago.
    pub async fn get(&self, id: &SiteId) -> Result<Option<Arc<Site>>, StoreError> {
        if let Some((read_at, site)) = self.entries.read().expect("never poisoned").get(id) {
            if read_at.elapsed() < SITE_TTL {
                return Ok(site.clone());
            }
        }
        let site = self.store.site(id).await?.map(Arc::new);
        let mut entries = self.entries.write().expect("never poisoned");
        // Unknown ids are cached too (a flood of them must not reach the database), so stale
        // entries are dropped whenever the map grows past what real sites explain.
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            entries.retain(|_, (read_at, _)| read_at.elapsed() < SITE_TTL);
            entries.shrink_to_fit();
        }
        if entries.len() < MAX_ENTRIES || entries.contains_key(id) {
            entries.insert(id.clone(), (Instant::now(), site.clone()));
        }
        Ok(site)
    }

    /// Sites and unknown ids remembered.
    pub fn remembered(&self) -> usize {
        self.entries.read().expect("never poisoned").len()
    }

    /// Drops what is remembered of a site, so that this server reads it afresh; other servers on
    /// the same database see the change within [`SITE_TTL`].
    pub fn forget(&self, id: &SiteId) {
        self.entries.write().expect("never poisoned").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_of_unknown_ids_stays_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/cache.db", dir.path().display());
        let cache = SiteCache::new(crate::store::open(&url).await.unwrap());
        for _ in 0..MAX_ENTRIES + 500 {
            assert!(cache.get(&SiteId::generate()).await.unwrap().is_none());
        }
        // Equal unless the machine took over SITE_TTL to get here and stale entries went.
        assert!(cache.remembered() <= MAX_ENTRIES, "{}", cache.remembered());
    }
}
