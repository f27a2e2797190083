//! The embedded default backend: one SQLite file in WAL mode, fsynced on every commit.
//!
//! Responses are written by one writer thread that commits whatever requests are waiting as
//! one transaction (group commit): SQLite has a single writer anyway, and one fsync per batch
//! instead of per request is what makes durable ingest fast. Each request is answered only
//! after the batch that holds it is committed.

use std::collections::HashSet;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{placeholders, writer_gone, GroupCommit, Placeholder, StoreError, Upsert, Value};

/// The most requests one transaction commits; bounds the latency a batch adds.
const MAX_BATCH: usize = 256;

/// How long a connection waits for another one's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) struct SqliteDb {
    pub(super) pool: SqlitePool,
    writer: mpsc::Sender<WriteJob>,
    /// `false` from a storage failure (disk full, a lock it could not get) until a write
    /// succeeds.
    writes_succeed: Arc<AtomicBool>,
    /// Held by whoever checkpoints: SQLite refuses (busy, no error) a checkpoint while another
    /// connection runs one, and an erasure's must not be lost to the quarter-second one.
    checkpointing: Arc<Mutex<()>>,
}

/// One upsert waiting for the writer, and where to report whether it was written.
struct WriteJob {
    sql: &'static GroupCommit,
    upsert: Upsert,
    done: oneshot::Sender<Result<bool, StoreError>>,
}

impl SqliteDb {
    /// Opens (creating if needed) and migrates the database at `path`. `memory_map` maps the
    /// file for reads (the server); a bulk writer such as an import leaves it off, so its
    /// resident memory is its page caches, not every page of the file it touched.
    pub(super) async fn open(path: &str, memory_map: bool) -> anyhow::Result<Self> {
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
            Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(error.into())
            }
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
            .pragma("mmap_size", if memory_map { "1073741824" } else { "0" })
            // Readers get pages through the memory map; their own caches hold only pages still
            // in the write-ahead log, so 1 MiB each (SQLite's default is 2) is plenty, and
            // what they fill up to stays small (README, "Memory").
            // A bulk writer inserts at random places of the id index: 24 MiB of cache on its
            // one connection keeps a million-row import from rereading the same pages.
            .pragma("cache_size", if memory_map { "-1024" } else { "-24576" })
            // Erased text is overwritten with zeros, not left in free space in the file.
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory_map { 4 } else { 1 })
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
        let checkpointing = Arc::new(Mutex::new(()));
        tokio::spawn(checkpoint_now_and_then(pool.clone(), checkpointing.clone()));
        Ok(Self {
            pool,
            writer,
            writes_succeed,
            checkpointing,
        })
    }

    pub(super) async fn group_commit(
        &self,
        sql: &'static GroupCommit,
        upsert: Upsert,
    ) -> Result<bool, StoreError> {
        let (done, outcome) = oneshot::channel();
        let job = WriteJob { sql, upsert, done };
        self.writer.send(job).await.map_err(|_| writer_gone())?;
        outcome.await.map_err(|_| writer_gone())?
    }

    pub(super) async fn ping(&self) -> Result<(), StoreError> {
        if !self.writes_succeed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(Arc::new(std::io::Error::other(
                "the last write failed and none has succeeded since",
            ))));
        }
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// After an erasure: secure_delete zeroed the rows in their pages, but the write-ahead log
    /// still holds the pages as they were until it is checkpointed and truncated. Best effort:
    /// a reader in the middle of a long query (beyond the busy timeout) keeps it from
    /// truncating, and then the frames are overwritten as the log is reused.
    pub(super) async fn forget_erased(&self) {
        let _alone = self.checkpointing.lock().await;
        // The pragma reports a checkpoint it could not finish in its first column, not as an
        // error.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await
        {
            Ok((0, _, _)) => {}
            Ok(_) => tracing::warn!(
                "a reader kept the write-ahead log from being truncated after an erasure; \
                 the erased text stays in it until the log is reused"
            ),
            Err(error) => {
                tracing::warn!(%error, "truncating the write-ahead log after an erasure failed")
            }
        }
    }
}

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
async fn checkpoint_now_and_then(pool: SqlitePool, checkpointing: Arc<Mutex<()>>) {
    let mut ticks = tokio::time::interval(Duration::from_millis(250));
    loop {
        ticks.tick().await;
        let _alone = checkpointing.lock().await;
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
        metrics::histogram!(super::BATCH_SIZE).record(batch.len() as f64);
        let (mut wrote, mut storage_failed) = (false, false);
        let mut note = |result: &rusqlite::Result<_>| match result {
            Ok(_) => wrote = true,
            // A constraint refused one request's row (its site was deleted): the disk is fine.
            Err(error) => {
                storage_failed |=
                    error.sqlite_error_code() != Some(rusqlite::ErrorCode::ConstraintViolation)
            }
        };
        // One batch per statement: jobs of different statements are committed one kind after
        // the other (today there is one kind, the response upsert).
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

/// Writes `batch` atomically with one fsync: one multi-row upsert per statement kind and, when
/// any row carries children, one of those too. The outer error means nothing was written.
fn commit_batch(
    connection: &mut rusqlite::Connection,
    batch: &[WriteJob],
) -> rusqlite::Result<Vec<Result<bool, StoreError>>> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut written = HashSet::with_capacity(batch.len());
    let mut start = 0;
    while start < batch.len() {
        let sql = batch[start].sql;
        let end = batch[start..]
            .iter()
            .position(|job| !std::ptr::eq(job.sql, sql))
            .map_or(batch.len(), |n| start + n);
        let jobs = &batch[start..end];
        written.extend(upsert(&transaction, sql, jobs)?);
        upsert_children(&transaction, sql, jobs, &written)?;
        start = end;
    }
    transaction.commit()?;
    Ok(batch
        .iter()
        .map(|job| Ok(written.contains(&job.upsert.key)))
        .collect())
}

/// Binds values in order into a rusqlite statement; the first failure is kept.
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

    fn bind(&mut self, value: &Value) {
        if self.result.is_ok() {
            self.bound += 1;
            self.result = match value {
                Value::Int(v) => self.statement.raw_bind_parameter(self.bound, v),
                Value::Text(v) => self.statement.raw_bind_parameter(self.bound, v),
                Value::Flag(v) => self.statement.raw_bind_parameter(self.bound, v),
            };
        }
    }
}

/// The upsert of `jobs`' rows; returns the keys of the rows it wrote.
fn upsert(
    connection: &rusqlite::Connection,
    sql: &GroupCommit,
    jobs: &[WriteJob],
) -> rusqlite::Result<Vec<(String, String)>> {
    // Only placeholders are formatted into the SQL; every value is bound.
    let text = [
        sql.head,
        &placeholders(jobs.len(), sql.width, Placeholder::Anonymous),
        sql.on_conflict,
        " RETURNING ",
        sql.key_columns,
    ]
    .concat();
    let mut statement = connection.prepare_cached(&text)?;
    let mut binder = Binder::new(&mut statement);
    for job in jobs {
        for value in &job.upsert.values {
            binder.bind(value);
        }
    }
    binder.result?;
    let mut written = Vec::with_capacity(jobs.len());
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        written.push((row.get(0)?, row.get(1)?));
    }
    Ok(written)
}

fn upsert_children(
    connection: &rusqlite::Connection,
    sql: &GroupCommit,
    jobs: &[WriteJob],
    written: &HashSet<(String, String)>,
) -> rusqlite::Result<()> {
    let children: Vec<&Vec<Value>> = jobs
        .iter()
        .filter(|job| written.contains(&job.upsert.key))
        .flat_map(|job| &job.upsert.children)
        .collect();
    if children.is_empty() {
        return Ok(());
    }
    let text = [
        sql.child_head,
        &placeholders(children.len(), sql.child_width, Placeholder::Anonymous),
        sql.child_on_conflict,
    ]
    .concat();
    let mut statement = connection.prepare_cached(&text)?;
    let mut binder = Binder::new(&mut statement);
    for value in children.into_iter().flatten() {
        binder.bind(value);
    }
    binder.result?;
    statement.raw_execute()?;
    Ok(())
}
