//! The embedded default backend: one SQLite file in WAL mode, fsynced on every commit.
//!
//! Responses are written by one writer task that commits whatever requests are waiting as one
//! transaction (group commit): SQLite has a single writer anyway, and one fsync per batch
//! instead of per request is what makes durable ingest fast. Each request is answered only
//! after the batch that holds it is committed.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::{
    origins_json, site_from_parts, ResponseUpdate, Site, Store, StoreError, StoredResponse,
};
use crate::domain::SiteId;

/// The most requests one transaction commits; bounds the latency a batch adds.
const MAX_BATCH: usize = 256;

/// A [`Store`] on one SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
}

/// One upsert waiting for the writer, and where to report its outcome.
struct WriteJob {
    site: SiteId,
    update: ResponseUpdate,
    now_ms: i64,
    done: oneshot::Sender<Result<(), StoreError>>,
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
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run_writer(pool.clone(), jobs));
        Ok(Self { pool, writer })
    }
}

async fn run_writer(pool: SqlitePool, mut jobs: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        metrics::histogram!(crate::telemetry::BATCH_SIZE).record(batch.len() as f64);
        metrics::histogram!(crate::telemetry::BATCH_SIZE).record(batch.len() as f64);
        let outcomes = match commit_batch(&pool, &batch).await {
            Ok(outcomes) => outcomes,
            // One bad request must not fail its neighbours: retry each in its own transaction.
            Err(_) if batch.len() > 1 => {
                let mut outcomes = Vec::with_capacity(batch.len());
                for job in &batch {
                    let outcome = commit_batch(&pool, std::slice::from_ref(job)).await;
                    outcomes.push(
                        outcome
                            .map_err(StoreError::from)
                            .and_then(|mut o| o.remove(0)),
                    );
                }
                outcomes
            }
            Err(error) => vec![Err(error.into())],
        };
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The requester may have gone (client disconnected); the write stands regardless.
            let _ = job.done.send(outcome);
        }
    }
}

/// Writes `batch` in one transaction; the outer error means nothing was committed.
async fn commit_batch(
    pool: &SqlitePool,
    batch: &[WriteJob],
) -> Result<Vec<Result<(), StoreError>>, sqlx::Error> {
    let mut transaction = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
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
        .bind(job.update.id.to_string())
        .bind(job.site.as_str())
        .bind(job.update.score.get())
        .bind(job.update.comment.as_ref().map(|c| c.as_str()))
        .bind(job.now_ms)
        .execute(&mut *transaction)
        .await?;
        outcomes.push(if result.rows_affected() == 0 {
            Err(StoreError::ResponseOfAnotherSite(job.update.id))
        } else {
            Ok(())
        });
    }
    transaction.commit().await?;
    Ok(outcomes)
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
        let (done, outcome) = oneshot::channel();
        let job = WriteJob {
            site: site.clone(),
            update: update.clone(),
            now_ms,
            done,
        };
        let writer_gone = || StoreError::Unavailable(Arc::new(sqlx::Error::PoolClosed));
        self.writer.send(job).await.map_err(|_| writer_gone())?;
        outcome.await.map_err(|_| writer_gone())?
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

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
