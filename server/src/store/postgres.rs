//! The scale-out backend: several stateless `soovita` processes on one PostgreSQL database.

use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::Row;

use super::{
    origins_json, ResponseUpdate, Site, SiteRow, Store, StoreError, StoredResponse, DELETE_SITE,
    ERASE_RESPONSE, PURGE_EXPIRED, UPSERT_RESPONSE_ON_CONFLICT,
};
use crate::domain::{ResponseId, SiteId};

/// One response upsert, assembled once from constants of ours; every value is bound.
static UPSERT_RESPONSE: LazyLock<String> = LazyLock::new(|| {
    [
        "INSERT INTO responses (id, site_id, score, comment, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        UPSERT_RESPONSE_ON_CONFLICT,
    ]
    .concat()
});

/// A [`Store`] on a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at `url` (`postgres://…`). The database must exist:
    /// creating one is an administrator's decision, unlike a local SQLite file.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn site_from_row(row: &PgRow) -> Result<Site, StoreError> {
    SiteRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        allowed_origins: row.try_get("allowed_origins")?,
        sample_percent: row.try_get::<i16, _>("sample_percent")?.into(),
        cooldown_days: row.try_get::<i32, _>("cooldown_days")?.into(),
        retention_days: row.try_get::<i32, _>("retention_days")?.into(),
        honor_do_not_track: row.try_get("honor_do_not_track")?,
        admin_token_hash: row.try_get("admin_token_hash")?,
    }
    .parse()
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sites (id, name, allowed_origins, sample_percent, cooldown_days, \
             retention_days, honor_do_not_track, admin_token_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(site.id.as_str())
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(i16::from(site.sample_percent))
        .bind(i32::from(site.cooldown_days))
        .bind(i32::from(site.retention_days))
        .bind(site.honor_do_not_track)
        .bind(site.admin_token_hash.as_str())
        .bind(crate::clock::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_site(&self, site: &Site) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sites SET name = $1, allowed_origins = $2, sample_percent = $3, \
             cooldown_days = $4, retention_days = $5, honor_do_not_track = $6, admin_token_hash = $7 \
             WHERE id = $8",
        )
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(i16::from(site.sample_percent))
        .bind(i32::from(site.cooldown_days))
        .bind(i32::from(site.retention_days))
        .bind(site.honor_do_not_track)
        .bind(site.admin_token_hash.as_str())
        .bind(site.id.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::UnknownSite(site.id.clone()));
        }
        Ok(())
    }

    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError> {
        let row = sqlx::query("SELECT * FROM sites WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError> {
        let row = sqlx::query("SELECT * FROM sites WHERE name = $1 ORDER BY created_at_ms LIMIT 1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn upsert_response(
        &self,
        site: &SiteId,
        update: &ResponseUpdate,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // A foreign site's id affects no row (see UPSERT_RESPONSE_ON_CONFLICT).
        let result = sqlx::query(sqlx::AssertSqlSafe(UPSERT_RESPONSE.as_str()))
            .bind(update.id.to_string())
            .bind(site.as_str())
            .bind(i16::from(update.score.get()))
            .bind(update.comment.as_ref().map(|c| c.as_str()))
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::ResponseOfAnotherSite(update.id));
        }
        Ok(())
    }

    async fn responses(&self, site: &SiteId) -> Result<Vec<StoredResponse>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, score, comment, created_at_ms, updated_at_ms FROM responses \
             WHERE site_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(site.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let score: i16 = row.try_get("score")?;
                Ok(StoredResponse {
                    id: row.try_get("id")?,
                    score: u8::try_from(score)
                        .map_err(|_| StoreError::Corrupt(format!("score {score}")))?,
                    comment: row.try_get("comment")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    updated_at_ms: row.try_get("updated_at_ms")?,
                })
            })
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        let result = sqlx::query(PURGE_EXPIRED)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError> {
        let result = sqlx::query(ERASE_RESPONSE)
            .bind(site.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError> {
        let result = sqlx::query(DELETE_SITE)
            .bind(site.as_str())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}
