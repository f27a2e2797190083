//! The embedded default backend: one SQLite file in WAL mode, fsynced on every commit.
//!
//! Responses are written by one writer task that commits whatever requests are waiting as one
//! transaction (group commit): SQLite has a single writer anyway, and one fsync per batch
//! instead of per request is what makes durable ingest fast. Each request is answered only
//! after the batch that holds it is committed.

use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use soovita_wire::SurveyDefinition;

use super::rollup_queries::{purge, roll_up_step};
use super::webhook_queries::webhook_query;
use super::{
    bind_response, console_query, definition_json, origins_json, placeholders, read_page,
    read_result_sums, InboxItem, Placeholder, ResponseKey, ResponseUpdate, ResultSums, Site,
    SiteRow, Store, StoreError, StoredComment, StoredResponse, DELETE_SITE, ERASE_BY_EMAIL,
    ERASE_RESPONSE, INSERT_FIRST_SURVEY, INSERT_NEXT_SURVEY, RESPONSE_COLUMNS, RESPONSE_VALUES,
    SELECT_SITE, SELECT_SURVEY, STATEMENT_COLUMNS, UPSERT_RESPONSE_ON_CONFLICT,
    UPSERT_STATEMENT_ON_CONFLICT,
};
use crate::accounts::{Owner, Session};
use crate::domain::{ResponseId, SiteId, TokenHash};
use crate::filter::ResponseFilter;
use crate::inbox::FollowUpStatus;
use crate::webhooks::{
    AttemptOutcome, Delivery, DueDelivery, SettledResponse, Webhook, WebhookEvent,
};

/// The most requests one transaction commits; bounds the latency a batch adds.
const MAX_BATCH: usize = 256;

/// A [`Store`] on one SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
    /// Whether the writer's last attempt wrote: `false` from a storage failure (disk full, a
    /// lock it could not get) until a write succeeds. Reads can go on while writes fail, so
    /// readiness must ask the writer, not the pool.
    writes_succeed: Arc<AtomicBool>,
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
        // Respondents' addresses and webhook secrets live here: the folder we create is the
        // server's user's alone, and so is a new database (SQLite gives its -wal and -shm
        // files the database's mode).
        if let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => return Err(error.into()),
            _ => {}
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL makes a commit survive power loss, which is what a 2xx promises.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Reads of the owner's figures scan the site's responses; through the memory map
            // they cost no read() call per page.
            .pragma("mmap_size", "1073741824")
            // Readers get pages through the memory map; their own caches hold only pages still
            // in the write-ahead log, so 1 MiB each (SQLite's default is 2) is plenty, and
            // what they fill up to stays small (README, "Memory").
            .pragma("cache_size", "-1024")
            // Erased text is overwritten with zeros, not left in free space in the file.
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let connection = open_writer(path)?;
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        let writes_succeed = Arc::new(AtomicBool::new(true));
        let health = writes_succeed.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(connection, jobs, &health))?;
        tokio::spawn(checkpoint_now_and_then(pool.clone()));
        Ok(Self {
            pool,
            writer,
            writes_succeed,
        })
    }
}

impl SqliteStore {
    /// After an erasure: secure_delete zeroed the rows in their pages, but the write-ahead log
    /// still holds the pages as they were until it is checkpointed and truncated. Best effort:
    /// a reader in the middle of a long query keeps it from truncating, and then the frames are
    /// overwritten as the log is reused.
    async fn forget_erased(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(%error, "truncating the write-ahead log after an erasure failed");
        }
    }
}

/// How long a connection waits for another one's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer's own connection, with the pool's durability settings. It never checkpoints:
/// copying the log into the database (and its fsync) would stall every request waiting on the
/// batch; `checkpoint_now_and_then` does it beside the writer.
fn open_writer(path: &str) -> rusqlite::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
    connection.pragma_update(None, "secure_delete", true)?;
    // Every batch size is its own statement. Under steady load batch sizes stay within a few
    // dozen of each other, so the 32 most recent stay prepared; keeping all 256 held 2–4 MiB
    // more for sizes that rarely recur (peak RSS 61–63 MiB in ingest_bench instead of 59).
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// Copies the write-ahead log into the database file every quarter second. PASSIVE never waits
/// for, nor blocks, the writer, which goes on appending while it runs.
async fn checkpoint_now_and_then(pool: SqlitePool) {
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    loop {
        ticks.tick().await;
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(%error, "checkpoint failed; the write-ahead log grows until one succeeds");
        }
    }
}

/// The writer, on a plain thread: SQLite's calls block, and a batch that binds, steps and
/// commits where it runs, with no hand-off to another thread per call, leaves the two cores
/// to the requests. It ends when the store, and with it every sender, is gone.
fn run_writer(
    mut connection: rusqlite::Connection,
    mut jobs: mpsc::Receiver<WriteJob>,
    writes_succeed: &AtomicBool,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        metrics::histogram!(crate::telemetry::BATCH_SIZE).record(batch.len() as f64);
        let (mut wrote, mut storage_failed) = (false, false);
        let mut note = |result: &rusqlite::Result<_>| match result {
            Ok(_) => wrote = true,
            // A constraint refused one request's row (its site was deleted): the disk is fine.
            Err(error) => storage_failed |= error.sqlite_error_code()
                != Some(rusqlite::ErrorCode::ConstraintViolation),
        };
        let committed = commit_batch(&mut connection, &batch);
        note(&committed);
        let outcomes = match committed {
            Ok(outcomes) => outcomes,
            // One bad request must not fail its neighbours: retry each in its own transaction.
            Err(_) if batch.len() > 1 => {
                let mut outcomes = Vec::with_capacity(batch.len());
                for job in &batch {
                    let alone = commit_batch(&mut connection, std::slice::from_ref(job));
                    note(&alone);
                    outcomes.push(
                        alone
                            .map_err(StoreError::from)
                            .and_then(|mut outcome| outcome.remove(0)),
                    );
                }
                outcomes
            }
            Err(error) => vec![Err(error.into())],
        };
        if wrote || storage_failed {
            writes_succeed.store(wrote, Ordering::Relaxed);
        }
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The requester may have gone (client disconnected); the write stands regardless.
            let _ = job.done.send(outcome);
        }
    }
}

/// Writes `batch` atomically with one fsync: one multi-row upsert of the responses and, when
/// any request carries statements, one of those too. The outer error means nothing was written.
fn commit_batch(
    connection: &mut rusqlite::Connection,
    batch: &[WriteJob],
) -> rusqlite::Result<Vec<Result<(), StoreError>>> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let written = upsert_responses(&transaction, batch)?;
    upsert_statements(&transaction, batch, &written)?;
    transaction.commit()?;
    Ok(batch
        .iter()
        .map(|job| {
            if written.contains(&written_key(job)) {
                Ok(())
            } else {
                Err(StoreError::ResponseOfAnotherSite(job.update.id))
            }
        })
        .collect())
}

/// The responses an upsert wrote, as (response id, site id).
type Written = HashSet<(String, String)>;

fn written_key(job: &WriteJob) -> (String, String) {
    (job.update.id.to_string(), job.site.as_str().to_owned())
}

/// Binds values in order, so that [`bind_response!`] fills a rusqlite statement as it fills a
/// sqlx query; the first failure is kept.
struct Binder<'s, 'c> {
    statement: &'s mut rusqlite::Statement<'c>,
    bound: usize,
    result: rusqlite::Result<()>,
}

impl<'s, 'c> Binder<'s, 'c> {
    fn new(statement: &'s mut rusqlite::Statement<'c>) -> Self {
        Self {
            statement,
            bound: 0,
            result: Ok(()),
        }
    }

    fn bind<T: rusqlite::ToSql>(mut self, value: T) -> Self {
        if self.result.is_ok() {
            self.bound += 1;
            self.result = self.statement.raw_bind_parameter(self.bound, value);
        }
        self
    }
}

fn upsert_responses(
    connection: &rusqlite::Connection,
    batch: &[WriteJob],
) -> rusqlite::Result<Written> {
    // Only placeholders are formatted into the SQL; every value is bound. A foreign site's id
    // is not written (see UPSERT_RESPONSE_ON_CONFLICT), and RETURNING lists only the rows
    // written, so each request learns its own outcome.
    let sql = [
        RESPONSE_COLUMNS,
        &placeholders(batch.len(), RESPONSE_VALUES, Placeholder::Anonymous),
        UPSERT_RESPONSE_ON_CONFLICT,
        " RETURNING id, site_id",
    ]
    .concat();
    let mut statement = connection.prepare_cached(&sql)?;
    let mut binder = Binder::new(&mut statement);
    for job in batch {
        binder = bind_response!(binder, job.site, job.update, job.now_ms);
    }
    binder.result?;
    let mut written = Written::with_capacity(batch.len());
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        written.insert((row.get(0)?, row.get(1)?));
    }
    Ok(written)
}

fn upsert_statements(
    connection: &rusqlite::Connection,
    batch: &[WriteJob],
    written: &Written,
) -> rusqlite::Result<()> {
    let statements: Vec<_> = batch
        .iter()
        .filter(|job| written.contains(&written_key(job)))
        .flat_map(|job| {
            job.update
                .statements
                .iter()
                .map(move |s| (job.update.id, s))
        })
        .collect();
    if statements.is_empty() {
        return Ok(());
    }
    let sql = [
        STATEMENT_COLUMNS,
        &placeholders(statements.len(), 4, Placeholder::Anonymous),
        UPSERT_STATEMENT_ON_CONFLICT,
    ]
    .concat();
    let mut statement = connection.prepare_cached(&sql)?;
    let mut binder = Binder::new(&mut statement);
    for (response_id, shown) in statements {
        binder = binder
            .bind(response_id.to_string())
            .bind(&shown.id)
            .bind(shown.dimension.as_str())
            .bind(shown.answer.map(i16::from));
    }
    binder.result?;
    statement.raw_execute()?;
    Ok(())
}

fn site_from_row(row: &SqliteRow) -> Result<Site, StoreError> {
    SiteRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        allowed_origins: row.try_get("allowed_origins")?,
        sample_percent: row.try_get("sample_percent")?,
        cooldown_days: row.try_get("cooldown_days")?,
        retention_days: row.try_get("retention_days")?,
        honor_do_not_track: row.try_get("honor_do_not_track")?,
        admin_token_hash: row.try_get("admin_token_hash")?,
        survey_version: row.try_get("survey_version")?,
        survey_definition: row.try_get("survey_definition")?,
    }
    .parse()
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let now_ms = crate::clock::now_ms();
        sqlx::query(
            "INSERT INTO sites (id, name, allowed_origins, sample_percent, cooldown_days, \
             retention_days, honor_do_not_track, admin_token_hash, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(site.id.as_str())
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(site.sample_percent)
        .bind(site.cooldown_days)
        .bind(site.retention_days)
        .bind(site.honor_do_not_track)
        .bind(site.admin_token_hash.as_str())
        .bind(now_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(INSERT_FIRST_SURVEY)
            .bind(site.id.as_str())
            .bind(definition_json(&site.survey.definition))
            .bind(now_ms)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn update_site(&self, site: &Site) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE sites SET name = ?, allowed_origins = ?, sample_percent = ?, \
             cooldown_days = ?, retention_days = ?, honor_do_not_track = ?, admin_token_hash = ? \
             WHERE id = ?",
        )
        .bind(&site.name)
        .bind(origins_json(site))
        .bind(site.sample_percent)
        .bind(site.cooldown_days)
        .bind(site.retention_days)
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
        let row = sqlx::query(sqlx::AssertSqlSafe(
            [SELECT_SITE, " WHERE sites.id = $1"].concat(),
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError> {
        let sql = [
            SELECT_SITE,
            " WHERE sites.name = $1 ORDER BY sites.created_at_ms LIMIT 1",
        ];
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.concat()))
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

    async fn responses_page(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        after: Option<&ResponseKey>,
        limit: u32,
    ) -> Result<Vec<StoredResponse>, StoreError> {
        read_page!(&self.pool, site, filter, after, limit)
    }

    async fn result_sums(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<ResultSums, StoreError> {
        read_result_sums!(&self.pool, site, filter)
    }

    async fn save_survey(
        &self,
        site: &SiteId,
        definition: &SurveyDefinition,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let version: i64 = sqlx::query_scalar(INSERT_NEXT_SURVEY)
            .bind(site.as_str())
            .bind(definition_json(definition))
            .bind(now_ms)
            .fetch_one(&self.pool)
            .await?;
        u32::try_from(version).map_err(|e| StoreError::Corrupt(format!("survey version: {e}")))
    }

    async fn survey(
        &self,
        site: &SiteId,
        version: u32,
    ) -> Result<Option<SurveyDefinition>, StoreError> {
        let definition: Option<String> = sqlx::query_scalar(SELECT_SURVEY)
            .bind(site.as_str())
            .bind(i64::from(version))
            .fetch_optional(&self.pool)
            .await?;
        definition
            .map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("survey {version} of site {site}: {e}")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if !self.writes_succeed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(Arc::new(std::io::Error::other(
                "the last write failed and none has succeeded since",
            ))));
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError> {
        purge!(&self.pool, now_ms)
    }

    async fn roll_up(&self, site: &SiteId, until_day: i64) -> Result<bool, StoreError> {
        roll_up_step!(&self.pool, site, until_day)
    }

    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError> {
        let result = sqlx::query(ERASE_RESPONSE)
            .bind(site.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        self.forget_erased().await;
        Ok(result.rows_affected() > 0)
    }

    async fn erase_by_email(&self, site: &SiteId, email: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(ERASE_BY_EMAIL)
            .bind(site.as_str())
            .bind(email)
            .execute(&self.pool)
            .await?;
        self.forget_erased().await;
        Ok(result.rows_affected())
    }

    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError> {
        let result = sqlx::query(DELETE_SITE)
            .bind(site.as_str())
            .execute(&self.pool)
            .await?;
        self.forget_erased().await;
        Ok(result.rows_affected() > 0)
    }

    async fn sites(&self) -> Result<Vec<Site>, StoreError> {
        console_query!(sites, &self.pool, site_from_row)
    }

    async fn comments(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredComment>, StoreError> {
        console_query!(comments, &self.pool, site, filter, search, limit)
    }

    async fn create_owner(&self, owner: &Owner, now_ms: i64) -> Result<(), StoreError> {
        console_query!(create_owner, &self.pool, owner, now_ms)
    }

    async fn owner_by_email(&self, email: &str) -> Result<Option<Owner>, StoreError> {
        console_query!(owner, &self.pool, "email", email)
    }

    async fn owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        console_query!(owner, &self.pool, "id", id)
    }

    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError> {
        console_query!(set_password, &self.pool, email, password_hash)
    }

    async fn inbox(&self, site: &SiteId, limit: u32) -> Result<Vec<InboxItem>, StoreError> {
        console_query!(inbox, &self.pool, site, limit)
    }

    async fn follow_up(
        &self,
        site: &SiteId,
        response: &ResponseId,
        status: FollowUpStatus,
        notes: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        console_query!(follow_up, &self.pool, site, response, status, notes, now_ms)
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        console_query!(create_session, &self.pool, session)
    }

    async fn session(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Session>, StoreError> {
        console_query!(session, &self.pool, token_hash, now_ms)
    }

    async fn end_session(&self, token_hash: &TokenHash, now_ms: i64) -> Result<(), StoreError> {
        console_query!(end_session, &self.pool, token_hash, now_ms)
    }

    async fn create_webhook(&self, webhook: &Webhook, now_ms: i64) -> Result<bool, StoreError> {
        webhook_query!(create, &self.pool, webhook, now_ms)
    }

    async fn webhooks(&self, site: Option<&SiteId>) -> Result<Vec<Webhook>, StoreError> {
        webhook_query!(list, &self.pool, site)
    }

    async fn delete_webhook(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        webhook_query!(delete, &self.pool, site, id)
    }

    async fn settled_responses(
        &self,
        site: &SiteId,
        after_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<SettledResponse>, StoreError> {
        webhook_query!(settled, &self.pool, site, after_ms, until_ms)
    }

    async fn record_events(
        &self,
        webhook_id: &str,
        events: &[(String, WebhookEvent)],
        attempts: u32,
        scanned_until_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        webhook_query!(
            record_events,
            &self.pool,
            webhook_id,
            events,
            attempts,
            scanned_until_ms,
            now_ms
        )
    }

    async fn claim_due_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        webhook_query!(claim, &self.pool, now_ms, lease_until_ms, limit)
    }

    async fn record_attempt(&self, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        webhook_query!(record_attempt, &self.pool, outcome)
    }

    async fn deliveries(&self, site: &SiteId, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        webhook_query!(deliveries, &self.pool, site, limit)
    }

    async fn resend_delivery(
        &self,
        site: &SiteId,
        delivery_id: &str,
        attempts: u32,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        webhook_query!(resend, &self.pool, site, delivery_id, attempts, now_ms)
    }
}
