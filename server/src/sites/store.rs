//! Sites and their survey versions in the database.

use std::sync::Arc;

use async_trait::async_trait;
use soovita_wire::SurveyDefinition;

use super::{ApiToken, PublishedSurvey, Site};
use crate::db::{Db, Query, Row, StoreError, Value};
use crate::domain::{Origin, SiteId, TokenHash};

#[async_trait]
pub trait SiteStore: Send + Sync {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError>;
    /// Adds a site and, in the same transaction, makes the account `admin` its admin.
    async fn create_site_for(&self, site: &Site, admin: Option<&str>) -> Result<(), StoreError>;
    /// Replaces every setting of an existing site.
    async fn update_site(&self, site: &Site) -> Result<(), StoreError>;
    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError>;
    /// The first site with this name, if any.
    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError>;
    /// Every site, by name.
    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
    /// The sites an account is a member of, by name.
    async fn sites_of(&self, owner_id: &str) -> Result<Vec<Site>, StoreError>;
    /// Deletes a site and every response it has; `false` if there was none.
    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError>;
    /// Adds a named API token of the site, stored as `hash`; returns its id.
    async fn create_token(
        &self,
        site: &SiteId,
        name: &str,
        hash: &TokenHash,
        now_ms: i64,
    ) -> Result<String, StoreError>;
    /// The site's named tokens, oldest first.
    async fn tokens(&self, site: &SiteId) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes one; `false` if the site has no such token.
    async fn revoke_token(&self, site: &SiteId, id: &str) -> Result<bool, StoreError>;
    /// Whether `hash` is a live named token of the site; notes today as its last use (at most
    /// one write a token a day).
    async fn use_token(
        &self,
        site: &SiteId,
        hash: &TokenHash,
        today: i64,
    ) -> Result<bool, StoreError>;
    /// Notes that a page on an allowed origin fetched the site's survey at `now_ms`.
    async fn note_config_fetch(&self, site: &SiteId, now_ms: i64) -> Result<(), StoreError>;
    /// When a page on an allowed origin last fetched the site's survey, if ever.
    async fn config_fetched_at(&self, site: &SiteId) -> Result<Option<i64>, StoreError>;
    /// Saves `definition` as the site's next survey version and returns that version.
    async fn save_survey(
        &self,
        site: &SiteId,
        definition: &SurveyDefinition,
        now_ms: i64,
    ) -> Result<u32, StoreError>;
    /// One saved version of a site's survey, if there is one.
    async fn survey(
        &self,
        site: &SiteId,
        version: u32,
    ) -> Result<Option<SurveyDefinition>, StoreError>;
}

const INSERT_SITE: &str = "INSERT INTO sites (id, name, allowed_origins, sample_percent, \
     cooldown_days, retention_days, honor_do_not_track, admin_token_hash, created_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const UPDATE_SITE: &str = "UPDATE sites SET name = $2, allowed_origins = $3, \
     sample_percent = $4, cooldown_days = $5, retention_days = $6, honor_do_not_track = $7, \
     admin_token_hash = $8 WHERE id = $1";

/// A site with its current survey; append a WHERE or an ORDER BY.
const SELECT_SITE: &str = "SELECT sites.*, CAST(surveys.version AS BIGINT) AS survey_version, \
     surveys.definition AS survey_definition FROM sites JOIN surveys \
     ON surveys.site_id = sites.id AND surveys.version = \
     (SELECT MAX(latest.version) FROM surveys latest WHERE latest.site_id = sites.id)";

const INSERT_FIRST_SURVEY: &str =
    "INSERT INTO surveys (site_id, version, definition, created_at_ms) VALUES ($1, 1, $2, $3)";

const INSERT_NEXT_SURVEY: &str =
    "INSERT INTO surveys (site_id, version, definition, created_at_ms) \
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM surveys WHERE site_id = $1 \
     RETURNING CAST(version AS BIGINT) AS version";

const SELECT_SURVEY: &str = "SELECT definition FROM surveys WHERE site_id = $1 AND version = $2";

/// A site's responses go with it (ON DELETE CASCADE).
const DELETE_SITE: &str = "DELETE FROM sites WHERE id = $1";

#[async_trait]
impl SiteStore for Db {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError> {
        self.create_site_for(site, None).await
    }

    async fn create_site_for(&self, site: &Site, admin: Option<&str>) -> Result<(), StoreError> {
        let mut transaction = self.begin().await?;
        let now_ms = crate::clock::now_ms();
        transaction
            .execute(
                Query::new(INSERT_SITE)
                    .bind_all(site_values(site))
                    .bind(now_ms),
            )
            .await?;
        transaction
            .execute(
                Query::new(INSERT_FIRST_SURVEY)
                    .bind(site.id.as_str())
                    .bind(definition_json(&site.survey.definition))
                    .bind(now_ms),
            )
            .await?;
        if let Some(admin) = admin {
            let membership = Query::new(
                "INSERT INTO memberships (owner_id, site_id, role, created_at_ms) \
                 VALUES ($1, $2, 'admin', $3)",
            );
            transaction
                .execute(membership.bind(admin).bind(site.id.as_str()).bind(now_ms))
                .await?;
        }
        transaction.commit().await
    }

    async fn update_site(&self, site: &Site) -> Result<(), StoreError> {
        let updated = self
            .execute(Query::new(UPDATE_SITE).bind_all(site_values(site)))
            .await?;
        if updated == 0 {
            return Err(StoreError::UnknownSite(site.id.clone()));
        }
        Ok(())
    }

    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        let query = Query::new([SELECT_SITE, " WHERE sites.id = $1"].concat()).bind(id.as_str());
        self.fetch_optional(query)
            .await?
            .map(|row| site_of(&row))
            .transpose()
    }

    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError> {
        let sql = [
            SELECT_SITE,
            " WHERE sites.name = $1 ORDER BY sites.created_at_ms LIMIT 1",
        ];
        let query = Query::new(sql.concat()).bind(name);
        self.fetch_optional(query)
            .await?
            .map(|row| site_of(&row))
            .transpose()
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        let query = Query::new([SELECT_SITE, " ORDER BY sites.name, sites.id"].concat());
        self.fetch_all(query).await?.iter().map(site_of).collect()
    }

    async fn sites_of(&self, owner_id: &str) -> Result<Vec<Site>, StoreError> {
        let sql = [
            SELECT_SITE,
            " JOIN memberships m ON m.site_id = sites.id WHERE m.owner_id = $1 \
             ORDER BY sites.name, sites.id",
        ];
        let query = Query::new(sql.concat()).bind(owner_id);
        self.fetch_all(query).await?.iter().map(site_of).collect()
    }

    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError> {
        let deleted = self
            .execute(Query::new(DELETE_SITE).bind(site.as_str()))
            .await?;
        self.forget_erased().await;
        Ok(deleted > 0)
    }

    async fn create_token(
        &self,
        site: &SiteId,
        name: &str,
        hash: &TokenHash,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let id = crate::accounts::random_hex::<16>();
        let query = Query::new(
            "INSERT INTO api_tokens (id, site_id, name, token_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(site.as_str())
        .bind(name)
        .bind(hash.as_str())
        .bind(now_ms);
        self.execute(query).await?;
        Ok(id)
    }

    async fn tokens(&self, site: &SiteId) -> Result<Vec<ApiToken>, StoreError> {
        let query = Query::new(
            "SELECT id, name, created_at_ms, last_used_day FROM api_tokens \
             WHERE site_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(site.as_str());
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(ApiToken {
                    id: row.get("id")?,
                    name: row.get("name")?,
                    created_at_ms: row.get("created_at_ms")?,
                    last_used_day: row.get("last_used_day")?,
                })
            })
            .collect()
    }

    async fn revoke_token(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM api_tokens WHERE site_id = $1 AND id = $2")
            .bind(site.as_str())
            .bind(id);
        Ok(self.execute(query).await? > 0)
    }

    async fn use_token(
        &self,
        site: &SiteId,
        hash: &TokenHash,
        today: i64,
    ) -> Result<bool, StoreError> {
        let query = Query::new(
            "SELECT id, last_used_day FROM api_tokens WHERE site_id = $1 AND token_hash = $2",
        )
        .bind(site.as_str())
        .bind(hash.as_str());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(false);
        };
        if row.get::<Option<i64>>("last_used_day")? != Some(today) {
            let touch = Query::new("UPDATE api_tokens SET last_used_day = $2 WHERE id = $1")
                .bind(row.get::<String>("id")?)
                .bind(today);
            self.execute(touch).await?;
        }
        Ok(true)
    }

    async fn note_config_fetch(&self, site: &SiteId, now_ms: i64) -> Result<(), StoreError> {
        // Never backwards: several servers note fetches of one site.
        let query = Query::new(
            "UPDATE sites SET config_fetched_at_ms = $2 WHERE id = $1 \
             AND (config_fetched_at_ms IS NULL OR config_fetched_at_ms < $2)",
        )
        .bind(site.as_str())
        .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn config_fetched_at(&self, site: &SiteId) -> Result<Option<i64>, StoreError> {
        let query =
            Query::new("SELECT config_fetched_at_ms FROM sites WHERE id = $1").bind(site.as_str());
        Ok(match self.fetch_optional(query).await? {
            Some(row) => row.get("config_fetched_at_ms")?,
            None => None,
        })
    }

    async fn save_survey(
        &self,
        site: &SiteId,
        definition: &SurveyDefinition,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let query = Query::new(INSERT_NEXT_SURVEY)
            .bind(site.as_str())
            .bind(definition_json(definition))
            .bind(now_ms);
        match self.fetch_optional(query).await? {
            Some(row) => row.narrow("version"),
            None => Err(StoreError::Corrupt(format!(
                "no survey version saved for {site}"
            ))),
        }
    }

    async fn survey(
        &self,
        site: &SiteId,
        version: u32,
    ) -> Result<Option<SurveyDefinition>, StoreError> {
        let query = Query::new(SELECT_SURVEY).bind(site.as_str()).bind(version);
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        let json: String = row.get("definition")?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("survey {version} of site {site}: {e}")))
    }
}

/// `$1` to `$8` of [`INSERT_SITE`] and [`UPDATE_SITE`].
fn site_values(site: &Site) -> [Value; 8] {
    let origins: Vec<&str> = site.allowed_origins.iter().map(Origin::as_str).collect();
    [
        site.id.as_str().into(),
        site.name.as_str().into(),
        serde_json::to_string(&origins)
            .expect("a list of strings always serialises")
            .into(),
        site.sample_percent.into(),
        site.cooldown_days.into(),
        site.retention_days.into(),
        site.honor_do_not_track.into(),
        site.admin_token_hash.as_str().into(),
    ]
}

fn definition_json(definition: &SurveyDefinition) -> String {
    serde_json::to_string(definition).expect("a survey definition always serialises")
}

/// A row of [`SELECT_SITE`], refusing values that no longer parse.
fn site_of(row: &Row) -> Result<Site, StoreError> {
    let id: String = row.get("id")?;
    let corrupt =
        |what: &str, detail: String| StoreError::Corrupt(format!("{what} of site {id}: {detail}"));
    let raw_origins: Vec<String> = serde_json::from_str(&row.get::<String>("allowed_origins")?)
        .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
    let allowed_origins = raw_origins
        .iter()
        .map(|o| Origin::parse(o))
        .collect::<Result<_, _>>()
        .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
    let survey = PublishedSurvey {
        version: row.narrow("survey_version")?,
        definition: serde_json::from_str(&row.get::<String>("survey_definition")?)
            .map_err(|e| corrupt("survey definition", e.to_string()))?,
    };
    Ok(Site {
        survey: Arc::new(survey),
        allowed_origins,
        sample_percent: row.narrow("sample_percent")?,
        cooldown_days: row.narrow("cooldown_days")?,
        retention_days: row.narrow("retention_days")?,
        honor_do_not_track: row.get("honor_do_not_track")?,
        admin_token_hash: TokenHash::from_stored(row.get("admin_token_hash")?),
        name: row.get("name")?,
        id: SiteId::parse(&id).map_err(|e| corrupt("id", e.to_string()))?,
    })
}
