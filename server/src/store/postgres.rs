//! The scale-out backend: several stateless `soovita` processes on one PostgreSQL database.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

/// How long a request waits for a connection before it is answered 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest any one statement may run (a page of an export, a results query at a million
/// responses and a roll-up step each take well under a second).
const STATEMENT_TIMEOUT: &str = "15s";

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};

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

/// One response upsert, assembled once from constants of ours; every value is bound.
static UPSERT_RESPONSE: LazyLock<String> = LazyLock::new(|| {
    [
        RESPONSE_COLUMNS,
        &placeholders(1, RESPONSE_VALUES, Placeholder::Numbered),
        UPSERT_RESPONSE_ON_CONFLICT,
    ]
    .concat()
});

/// Statement upserts for 1, 2 … MAX_STATEMENTS_PER_VISITOR statements.
static UPSERT_STATEMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    (1..=usize::from(soovita_wire::MAX_STATEMENTS_PER_VISITOR))
        .map(|n| {
            [
                STATEMENT_COLUMNS,
                &placeholders(n, 4, Placeholder::Numbered),
                UPSERT_STATEMENT_ON_CONFLICT,
            ]
            .concat()
        })
        .collect()
});

/// A [`Store`] on a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to and migrates the database at `url` (`postgres://…`). The database must exist:
    /// creating one is an administrator's decision, unlike a local SQLite file.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        // While the database is down, a request gets its 503 after ACQUIRE_TIMEOUT instead of
        // sqlx's default 30 s, so clients retry and load balancers see a fast failure.
        let options = PgConnectOptions::from_str(url)?;
        // Migrations on a connection of their own, without the statement timeout: one that
        // rewrites a big table may take longer, and must not fail the start half-way.
        let mut migrating = PgConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/postgres")
            .run(&mut migrating)
            .await?;
        migrating.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.options([("statement_timeout", STATEMENT_TIMEOUT)]))
            .await?;
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
        survey_version: row.try_get("survey_version")?,
        survey_definition: row.try_get("survey_definition")?,
    }
    .parse()
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_site(&self, site: &Site) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let now_ms = crate::clock::now_ms();
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
        let mut transaction = self.pool.begin().await?;
        // A foreign site's id affects no row (see UPSERT_RESPONSE_ON_CONFLICT).
        let upsert = sqlx::query(sqlx::AssertSqlSafe(UPSERT_RESPONSE.as_str()));
        let result = bind_response!(upsert, site, update, now_ms)
            .execute(&mut *transaction)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StoreError::ResponseOfAnotherSite(update.id));
        }
        if let Some(sql) = update
            .statements
            .len()
            .checked_sub(1)
            .and_then(|i| UPSERT_STATEMENTS.get(i))
        {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for statement in &update.statements {
                query = query
                    .bind(update.id.to_string())
                    .bind(&statement.id)
                    .bind(statement.dimension.as_str())
                    .bind(statement.answer.map(i16::from));
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
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
        Ok(result.rows_affected() > 0)
    }

    async fn erase_by_email(&self, site: &SiteId, email: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(ERASE_BY_EMAIL)
            .bind(site.as_str())
            .bind(email)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError> {
        let result = sqlx::query(DELETE_SITE)
            .bind(site.as_str())
            .execute(&self.pool)
            .await?;
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
