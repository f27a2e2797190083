//! What every handler can reach, and the site checks they all start with.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::accounts::sign_in_guard::SignInGuard;
use crate::domain::{SiteId, TokenHash};
use crate::http::assets::WidgetAssets;
use crate::http::error::ApiError;
use crate::ingest::rate_limit::RateLimits;
use crate::ingest::site_cache::SiteCache;
use crate::sites::Site;
use crate::store::prelude::*;
use crate::webhooks::WebhookOptions;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub limits: Arc<RateLimits>,
    /// Concurrent password checks and the per-account backoff of console sign-ins.
    pub sign_ins: Arc<SignInGuard>,
    /// Sites for the ingest path, read through a short-lived cache.
    pub sites: Arc<SiteCache>,
    /// The loader, glue and wasm, under their content-hashed names.
    pub assets: Arc<WidgetAssets>,
    /// How webhooks are sent, for the console to say.
    pub webhooks: WebhookOptions,
    /// How replies are mailed; `None` when mail is off.
    pub mail: Option<Arc<crate::mail::MailOptions>>,
}

impl AppState {
    /// The site a path segment names, or `UnknownSite`.
    pub async fn site(&self, raw_id: &str) -> Result<Arc<Site>, ApiError> {
        let id = parse_site_id(raw_id)?;
        self.sites
            .get(&id)
            .await?
            .ok_or_else(|| unknown_site(raw_id))
    }

    /// The site a path segment names, if `token` is its admin token. Read as stored right now,
    /// bypassing the cache, so that a rotated token stops working at once.
    pub async fn owned_site(&self, raw_id: &str, token: &str) -> Result<Site, ApiError> {
        let id = parse_site_id(raw_id)?;
        let site = self
            .store
            .site(&id)
            .await?
            .ok_or_else(|| unknown_site(raw_id))?;
        // The token the site was made with, or one of its named tokens (hashed to look it up;
        // the lookup is by the hash, so its time says nothing about how close a guess was).
        let today = crate::clock::now_ms().div_euclid(86_400_000);
        if !site.admin_token_hash.matches(token)
            && !self
                .store
                .use_token(&id, &TokenHash::of(token), today)
                .await?
        {
            return Err(ApiError::WrongToken);
        }
        Ok(site)
    }
}

/// The widget's files are all the asset routes need.
impl FromRef<AppState> for Arc<WidgetAssets> {
    fn from_ref(state: &AppState) -> Self {
        state.assets.clone()
    }
}

/// A malformed id names no site, so it gets the same answer as an unknown one.
fn parse_site_id(raw_id: &str) -> Result<SiteId, ApiError> {
    SiteId::parse(raw_id).map_err(|_| unknown_site(raw_id))
}

fn unknown_site(raw_id: &str) -> ApiError {
    ApiError::UnknownSite(raw_id.chars().take(64).collect())
}
