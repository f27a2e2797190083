//! The embedded default backend: one SQLite file in WAL mode, fsynced on every commit.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    origins_json, site_from_parts, ResponseUpdate, Site, Store, StoreError, StoredResponse,
};
use crate::domain::SiteId;

/// A [`Store`] on one SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &str) -> anyhow::Result<Self> {
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL makes a commit survive power loss, which is what a 2xx promises.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn site_from_row(row: &SqliteRow) -> Result<Site, StoreError> {
    site_from_parts(
        row.try_get("id")?,
        row.try_get("name")?,
        &row.try_get::<String, _>("allowed_origins")?,
        row.try_get("sample_percent")?,
        row.try_get("cooldown_days")?,
        row.try_get("admin_token_hash")?,
    )
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sites (id, name, allowed_origins, sample_percent, cooldown_days, \
             admin_token_hash, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(site.id.as_str())
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(site.sample_percent)
        .bind(site.cooldown_days)
        .bind(site.admin_token_hash.as_str())
        .bind(crate::clock::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_site(&self, site: &Site) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sites SET name = ?, allowed_origins = ?, sample_percent = ?, \
             cooldown_days = ?, admin_token_hash = ? WHERE id = ?",
        )
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(site.sample_percent)
        .bind(site.cooldown_days)
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
        let row = sqlx::query("SELECT * FROM sites WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError> {
        let row = sqlx::query("SELECT * FROM sites WHERE name = ? ORDER BY created_at_ms LIMIT 1")
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
        // The WHERE on the update makes a foreign site's id a no-op instead of a takeover;
        // the affected-row count then tells the two apart.
        let result = sqlx::query(
            "INSERT INTO responses (id, site_id, score, comment, created_at_ms, updated_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (id) DO UPDATE SET score = excluded.score, \
               comment = COALESCE(excluded.comment, responses.comment), \
               updated_at_ms = excluded.updated_at_ms \
             WHERE responses.site_id = excluded.site_id",
        )
        .bind(update.id.to_string())
        .bind(site.as_str())
        .bind(update.score.get())
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
             WHERE site_id = ? ORDER BY created_at_ms, id",
        )
        .bind(site.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredResponse {
                    id: row.try_get("id")?,
                    score: row.try_get("score")?,
                    comment: row.try_get("comment")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    updated_at_ms: row.try_get("updated_at_ms")?,
                })
            })
            .collect()
    }
}
