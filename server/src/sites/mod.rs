//! Sites: what a site is, registering one (the command line and the demo), and storing it
//! with its survey versions (`store.rs`).

pub mod form;
mod store;

use std::sync::Arc;

use serde::Serialize;
use soovita_wire::SurveyDefinition;

use crate::db::StoreError;
use crate::domain::{AdminToken, InvalidInput, Origin, SiteId, TokenHash};

pub use store::SiteStore;

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
    pub admin_token_hash: TokenHash,
    /// The current survey; [`SiteStore::create_site`] saves it as version 1, `update_site`
    /// ignores it.
    pub survey: Arc<PublishedSurvey>,
}

/// A named API token of a site, as listed: the token itself is shown once, when made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Random, hex; names the token in the console's revoke form, never authenticates.
    pub id: String,
    pub name: String,
    pub created_at_ms: i64,
    /// Days since 1970-01-01 (UTC) of its last use.
    pub last_used_day: Option<i64>,
}

/// The longest name of a token.
pub const MAX_TOKEN_NAME_CHARS: usize = 60;

/// One saved version of a site's survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedSurvey {
    /// 1 for a new site, one more with every save.
    pub version: u32,
    pub definition: SurveyDefinition,
}

impl Site {
    /// A new site with these settings, the default survey as version 1, and `token` as its
    /// admin token.
    fn new(id: SiteId, settings: form::CheckedSettings, token: &AdminToken) -> Self {
        Self {
            id,
            name: settings.name,
            allowed_origins: settings.origins,
            sample_percent: settings.sample_percent,
            cooldown_days: settings.cooldown_days,
            retention_days: settings.retention_days,
            honor_do_not_track: settings.honor_do_not_track,
            admin_token_hash: token.hash(),
            survey: Arc::new(PublishedSurvey {
                version: 1,
                definition: SurveyDefinition::default(),
            }),
        }
    }

    /// Whether a page on `origin` may use this site's survey.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.allowed_origins.contains(origin)
    }
}

/// What `soovita site add` prints: the only time the token is shown.
#[derive(Serialize, Debug)]
pub struct RegisteredSite {
    /// Goes into the script tag's `data-site`.
    pub site_id: String,
    /// Goes into `Authorization: Bearer …` of the admin API.
    pub admin_token: String,
}

/// Why a site could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The settings of a site to register.
pub struct SiteSettings<'a> {
    /// Shown in the question.
    pub name: &'a str,
    /// Origins as typed by the owner.
    pub origins: &'a [String],
    /// 0–100.
    pub sample_percent: u8,
    /// Days between two displays to one visitor.
    pub cooldown_days: u16,
    /// Days a response is kept.
    pub retention_days: u16,
    /// Never ask visitors who send Do Not Track or Global Privacy Control.
    pub honor_do_not_track: bool,
}

impl SiteSettings<'_> {
    fn into_site(self, id: SiteId, token: &AdminToken) -> Result<Site, InvalidInput> {
        let settings = form::CheckedSettings {
            name: self.name.to_owned(),
            origins: self
                .origins
                .iter()
                .map(|o| Origin::parse(o))
                .collect::<Result<_, _>>()?,
            sample_percent: self.sample_percent,
            cooldown_days: self.cooldown_days,
            retention_days: self.retention_days,
            honor_do_not_track: self.honor_do_not_track,
        };
        Ok(Site::new(id, settings, token))
    }
}

/// Adds a new site with a fresh admin token.
pub async fn register(
    store: &dyn SiteStore,
    settings: SiteSettings<'_>,
) -> Result<RegisteredSite, RegisterError> {
    let token = AdminToken::generate();
    let site = settings.into_site(SiteId::generate(), &token)?;
    store.create_site(&site).await?;
    Ok(RegisteredSite {
        site_id: site.id.to_string(),
        admin_token: token.reveal().to_owned(),
    })
}

/// Adds a site from the console with `owner_id` as its admin; returns it with its admin token,
/// to be shown this once.
pub async fn create_for(
    store: &dyn SiteStore,
    owner_id: &str,
    settings: form::CheckedSettings,
) -> Result<(Site, AdminToken), StoreError> {
    let token = AdminToken::generate();
    let site = Site::new(SiteId::generate(), settings, &token);
    store.create_site_for(&site, Some(owner_id)).await?;
    Ok((site, token))
}

/// Gives a site a fresh admin token; the old one stops working at once (the admin API reads
/// the site's token as stored, not through the cache). `None` if there is no such site.
pub async fn rotate_token(
    store: &dyn SiteStore,
    id: &SiteId,
) -> Result<Option<RegisteredSite>, StoreError> {
    let Some(mut site) = store.site(id).await? else {
        return Ok(None);
    };
    let token = AdminToken::generate();
    site.admin_token_hash = token.hash();
    store.update_site(&site).await?;
    Ok(Some(RegisteredSite {
        site_id: site.id.to_string(),
        admin_token: token.reveal().to_owned(),
    }))
}

/// Updates the site with this name, or adds it, and gives it a fresh admin token either way.
pub async fn register_or_refresh(
    store: &dyn SiteStore,
    settings: SiteSettings<'_>,
) -> Result<RegisteredSite, RegisterError> {
    let Some(existing) = store.site_by_name(settings.name).await? else {
        return register(store, settings).await;
    };
    let token = AdminToken::generate();
    let site = settings.into_site(existing.id, &token)?;
    store.update_site(&site).await?;
    Ok(RegisteredSite {
        site_id: site.id.to_string(),
        admin_token: token.reveal().to_owned(),
    })
}
