//! The only module that talks to a database driver. Every feature writes its SQL once, as plain
//! strings with `$1` placeholders (SQLite accepts them too), binds [`Value`]s and reads
//! [`Row`]s; what really differs between SQLite and PostgreSQL stays in `sqlite.rs` and
//! `postgres.rs`: opening, the SQLite writer's group commit, and how a column's integer width
//! is decoded.
//!
//! Why not sqlx's own `Any` driver: it cannot carry the SQLite connection settings this server
//! depends on (synchronous FULL, mmap, secure_delete), and it decides types from declared
//! column types, which SQLite expressions do not have. Three value kinds are all this schema
//! uses.

mod error;
mod postgres;
mod sqlite;

use std::borrow::Cow;
use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Postgres, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

pub use error::StoreError;

/// Requests committed by one SQLite transaction.
pub const BATCH_SIZE: &str = "soovita_write_batch_size";

/// A value bound to a placeholder. Integers are all 64-bit: PostgreSQL narrows them on
/// assignment to a SMALLINT or INTEGER column, and compares across widths.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(Option<bool>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Self::Int(Some(value))
    }
}
impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Self::Int(value)
    }
}
impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Self::Int(Some(value.into()))
    }
}
impl From<Option<u32>> for Value {
    fn from(value: Option<u32>) -> Self {
        Self::Int(value.map(i64::from))
    }
}
impl From<u8> for Value {
    fn from(value: u8) -> Self {
        Self::Int(Some(value.into()))
    }
}
impl From<Option<u8>> for Value {
    fn from(value: Option<u8>) -> Self {
        Self::Int(value.map(i64::from))
    }
}
impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Self::Int(Some(value.into()))
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Self::Flag(Some(value))
    }
}
impl From<Option<bool>> for Value {
    fn from(value: Option<bool>) -> Self {
        Self::Flag(value)
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::Text(Some(value))
    }
}
impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::Text(Some(value.to_owned()))
    }
}
impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Self::Text(Some(value.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Self::Text(value)
    }
}
impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        Self::Text(value.map(str::to_owned))
    }
}

/// A statement and the values of its placeholders, in order.
#[derive(Debug, Clone)]
pub struct Query {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

impl Query {
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Binds several values at once, e.g. a filter's.
    pub fn bind_all(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.values.extend(values);
        self
    }

    fn sqlite(self) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Flag(v) => query.bind(v),
            };
        }
        query
    }

    fn postgres(self) -> sqlx::query::Query<'static, Postgres, PgArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for value in self.values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Flag(v) => query.bind(v),
            };
        }
        query
    }
}

/// One row of a result, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// What a column can be read as.
pub trait Column: Sized {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError>;
}

impl Column for Option<i64> {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        match row {
            Row::Sqlite(row) => Ok(row.try_get(column)?),
            // SQLite has one integer type; PostgreSQL's columns have widths, read as they are.
            Row::Postgres(row) => {
                let raw = row.try_get_raw(column)?;
                if raw.is_null() {
                    return Ok(None);
                }
                let kind = raw.type_info().name().to_owned();
                Ok(Some(match kind.as_str() {
                    "INT2" => row.try_get::<i16, _>(column)?.into(),
                    "INT4" => row.try_get::<i32, _>(column)?.into(),
                    _ => row.try_get::<i64, _>(column)?,
                }))
            }
        }
    }
}

impl Column for Option<String> {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        Ok(match row {
            Row::Sqlite(row) => row.try_get(column)?,
            Row::Postgres(row) => row.try_get(column)?,
        })
    }
}

impl Column for Option<bool> {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        Ok(match row {
            Row::Sqlite(row) => row.try_get(column)?,
            Row::Postgres(row) => row.try_get(column)?,
        })
    }
}

impl Column for i64 {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        Option::<i64>::read(row, column)?.ok_or_else(|| null(column))
    }
}

impl Column for String {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        Option::<String>::read(row, column)?.ok_or_else(|| null(column))
    }
}

impl Column for bool {
    fn read(row: &Row, column: &str) -> Result<Self, StoreError> {
        Option::<bool>::read(row, column)?.ok_or_else(|| null(column))
    }
}

fn null(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} is null"))
}

impl Row {
    pub fn get<T: Column>(&self, column: &str) -> Result<T, StoreError> {
        T::read(self, column)
    }

    /// An integer column that must fit `T` (a score, a version, a count).
    pub fn narrow<T: TryFrom<i64>>(&self, column: &str) -> Result<T, StoreError> {
        let value: i64 = self.get(column)?;
        T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value}")))
    }

    /// A text column read by `parse` (an id, a status name); a value it refuses is corrupt.
    pub fn parsed<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        let value: String = self.get(column)?;
        parse(&value).ok_or_else(|| StoreError::Corrupt(format!("{column} {value}")))
    }

    /// As [`Row::narrow`], for a column that may be null.
    pub fn narrow_opt<T: TryFrom<i64>>(&self, column: &str) -> Result<Option<T>, StoreError> {
        let value: Option<i64> = self.get(column)?;
        value
            .map(|value| {
                T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value}")))
            })
            .transpose()
    }
}

/// A database: a pool of connections to SQLite or PostgreSQL.
pub struct Db {
    backend: Backend,
}

enum Backend {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PostgresDb),
}

impl Db {
    /// Opens the database a URL names, creating and migrating it where that is safe.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, true).await
    }

    /// [`Db::open`] for a bulk writer (`soovita import`): SQLite's file is not memory-mapped.
    pub async fn open_for_bulk_writes(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, false).await
    }

    async fn open_with(url: &str, memory_map: bool) -> anyhow::Result<Self> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Self {
                backend: Backend::Sqlite(sqlite::SqliteDb::open(path, memory_map).await?),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres(postgres::PostgresDb::open(url).await?),
            });
        }
        anyhow::bail!(
            "unsupported database URL {:?}: use sqlite://PATH (e.g. sqlite://data/soovita.db) \
             or postgres://USER:PASSWORD@HOST/DATABASE",
            redact_password(url)
        )
    }

    pub async fn fetch_all(&self, query: Query) -> Result<Vec<Row>, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(db) => query
                .sqlite()
                .fetch_all(&db.pool)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Backend::Postgres(db) => query
                .postgres()
                .fetch_all(&db.pool)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub async fn fetch_optional(&self, query: Query) -> Result<Option<Row>, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(db) => query
                .sqlite()
                .fetch_optional(&db.pool)
                .await?
                .map(Row::Sqlite),
            Backend::Postgres(db) => query
                .postgres()
                .fetch_optional(&db.pool)
                .await?
                .map(Row::Postgres),
        })
    }

    /// Runs a statement; how many rows it changed.
    pub async fn execute(&self, query: Query) -> Result<u64, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(db) => query.sqlite().execute(&db.pool).await?.rows_affected(),
            Backend::Postgres(db) => query.postgres().execute(&db.pool).await?.rows_affected(),
        })
    }

    /// A transaction: dropped without [`Tx::commit`], it rolls back.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.backend {
            Backend::Sqlite(db) => Tx::Sqlite(db.pool.begin().await?),
            Backend::Postgres(db) => Tx::Postgres(db.pool.begin().await?),
        })
    }

    /// Writes rows the way the backend writes them fastest and still durably: on SQLite
    /// together with whatever other requests are waiting (one transaction, one fsync), on
    /// PostgreSQL in a transaction of its own. Whether it was written comes back as the
    /// statement's `RETURNING` decided.
    pub async fn group_commit(
        &self,
        sql: &'static GroupCommit,
        upsert: Upsert,
    ) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.group_commit(sql, upsert).await,
            Backend::Postgres(db) => db.group_commit(sql, upsert).await,
        }
    }

    /// Succeeds when the database answers a query and, on SQLite, the writer's last write
    /// succeeded: reads go on while writes fail, so readiness must ask the writer too.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.ping().await,
            Backend::Postgres(db) => {
                sqlx::query("SELECT 1").execute(&db.pool).await?;
                Ok(())
            }
        }
    }

    /// How this backend's multi-row statements should name their values (see [`Placeholder`]).
    pub fn placeholder(&self) -> Placeholder {
        match &self.backend {
            Backend::Sqlite(_) => Placeholder::Anonymous,
            Backend::Postgres(_) => Placeholder::Numbered,
        }
    }

    /// After an erasure: see `SqliteDb::forget_erased`. PostgreSQL needs nothing.
    pub async fn forget_erased(&self) {
        if let Backend::Sqlite(db) = &self.backend {
            db.forget_erased().await;
        }
    }
}

/// A multi-row upsert and one of the child rows of each row it wrote (a response and its
/// statements). `key_columns` are returned by the upsert for the rows it wrote; a row whose
/// conflict rule refused it is not returned, and its children are not written.
pub struct GroupCommit {
    pub head: &'static str,
    pub width: usize,
    pub on_conflict: &'static str,
    pub key_columns: &'static str,
    pub child_head: &'static str,
    pub child_width: usize,
    pub child_on_conflict: &'static str,
}

/// One row for a [`GroupCommit`]: its values, its children's, and the key it is returned by.
#[derive(Debug, Clone)]
pub struct Upsert {
    pub key: (String, String),
    pub values: Vec<Value>,
    pub children: Vec<Vec<Value>>,
}

/// Statements that commit or roll back together.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Tx {
    /// As [`Db::placeholder`].
    pub fn placeholder(&self) -> Placeholder {
        match self {
            Self::Sqlite(_) => Placeholder::Anonymous,
            Self::Postgres(_) => Placeholder::Numbered,
        }
    }

    pub async fn fetch_all(&mut self, query: Query) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Self::Sqlite(tx) => query
                .sqlite()
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Sqlite)
                .collect(),
            Self::Postgres(tx) => query
                .postgres()
                .fetch_all(&mut **tx)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    pub async fn fetch_optional(&mut self, query: Query) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Self::Sqlite(tx) => query
                .sqlite()
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Sqlite),
            Self::Postgres(tx) => query
                .postgres()
                .fetch_optional(&mut **tx)
                .await?
                .map(Row::Postgres),
        })
    }

    /// Runs a statement; how many rows it changed.
    pub async fn execute(&mut self, query: Query) -> Result<u64, StoreError> {
        Ok(match self {
            Self::Sqlite(tx) => query.sqlite().execute(&mut **tx).await?.rows_affected(),
            Self::Postgres(tx) => query.postgres().execute(&mut **tx).await?.rows_affected(),
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// How a backend's multi-row statements name their values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `$1, $2, …`: PostgreSQL's only form.
    Numbered,
    /// `?, ?, …`: for SQLite, where a numbered parameter is looked up by a linear scan of the
    /// statement's parameter names each time one is bound, so binding a batch of hundreds of
    /// numbered values costs quadratic time on the single writer.
    Anonymous,
}

/// `count` rows of `width` placeholders, `($1, $2), ($3, $4)` or `(?, ?), (?, ?)`, for
/// multi-row inserts.
pub fn placeholders(count: usize, width: usize, style: Placeholder) -> String {
    use std::fmt::Write;
    // Built for every batch the writer commits, so into one string, not a string per value.
    let mut sql = String::with_capacity(count * width * 4);
    for row in 0..count {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for i in 1..=width {
            if i > 1 {
                sql.push_str(", ");
            }
            match style {
                Placeholder::Numbered => write!(sql, "${}", row * width + i).unwrap_or_default(),
                Placeholder::Anonymous => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// A shared error for a writer that is gone.
fn writer_gone() -> StoreError {
    StoreError::Unavailable(Arc::new(sqlx::Error::PoolClosed))
}

#[cfg(test)]
mod tests {
    use super::{placeholders, redact_password, Placeholder};

    #[test]
    fn placeholders_number_every_value() {
        assert_eq!(
            placeholders(2, 2, Placeholder::Numbered),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(placeholders(1, 3, Placeholder::Numbered), "($1, $2, $3)");
        assert_eq!(placeholders(2, 2, Placeholder::Anonymous), "(?, ?), (?, ?)");
    }

    #[test]
    fn passwords_never_reach_messages() {
        let redacted = redact_password("postgres://soovita:hunter2@db.internal/soovita");
        assert_eq!(redacted, "postgres://soovita:***@db.internal/soovita");
        assert_eq!(redact_password("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
