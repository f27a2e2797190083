//! The scale-out backend: several stateless `soovita` processes on one PostgreSQL database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;

use super::{placeholders, GroupCommit, Placeholder, Query, StoreError, Upsert};

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest any one statement may run (a page of an export, a results query at a million
/// responses and a roll-up step each take well under a second).
const STATEMENT_TIMEOUT: &str = "15s";

pub(super) struct PostgresDb {
    pub(super) pool: PgPool,
}

impl PostgresDb {
    /// Connects to and migrates the database at `url` (`postgres://…`). The database must exist:
    /// creating one is an administrator's decision, unlike a local SQLite file.
    pub(super) async fn open(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        // Migrations on a connection of their own, without the statement timeout: one that
        // rewrites a big table may take longer, and must not fail the start half-way.
        let mut migrating = PgConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/postgres")
            .run(&mut migrating)
            .await?;
        migrating.close().await?;
        // While the database is down, a request gets its 503 after ACQUIRE_TIMEOUT instead of
        // sqlx's default 30 s, so clients retry and load balancers see a fast failure.
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.options([("statement_timeout", STATEMENT_TIMEOUT)]))
            .await?;
        Ok(Self { pool })
    }

    /// Each request in a transaction of its own: PostgreSQL takes concurrent writers, so
    /// there is nothing to gain from batching them here.
    pub(super) async fn group_commit(
        &self,
        sql: &'static GroupCommit,
        upsert: Upsert,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let row = Query::new(
            [
                sql.head,
                &placeholders(1, sql.width, Placeholder::Numbered),
                sql.on_conflict,
            ]
            .concat(),
        )
        .bind_all(upsert.values);
        if row
            .postgres()
            .execute(&mut *transaction)
            .await?
            .rows_affected()
            == 0
        {
            return Ok(false);
        }
        if !upsert.children.is_empty() {
            let children = Query::new(
                [
                    sql.child_head,
                    &placeholders(
                        upsert.children.len(),
                        sql.child_width,
                        Placeholder::Numbered,
                    ),
                    sql.child_on_conflict,
                ]
                .concat(),
            )
            .bind_all(upsert.children.into_iter().flatten());
            children.postgres().execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(true)
    }
}
