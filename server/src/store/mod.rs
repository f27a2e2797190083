//! Where sites and responses live. Handlers see only the [`Store`] trait, never a backend type.

mod postgres;
mod rollup_queries;
mod sqlite;
mod webhook_queries;

use std::sync::Arc;

use async_trait::async_trait;
use soovita_wire::{Dimension, SurveyDefinition};
use thiserror::Error;

use rollup_queries::{dimension_sums, effort_counts};

use crate::accounts::{Owner, Session};
use crate::domain::{Comment, Origin, ResponseId, Score, SiteId, TokenHash};
use crate::filter::ResponseFilter;
use crate::inbox::FollowUpStatus;
use crate::webhooks::{
    AttemptOutcome, Delivery, DueDelivery, SettledResponse, Webhook, WebhookEvent,
};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Failures a caller can act on; everything else is [`StoreError::Unavailable`].
#[derive(Debug, Error)]
pub enum StoreError {
    /// The response id is already used by a response of another site, or by one first answered
    /// more than [`UPDATE_WINDOW_MS`] ago.
    #[error("response id {0} belongs to another site or can no longer change")]
    ResponseOfAnotherSite(ResponseId),
    /// The site does not exist.
    #[error("no site with id {0}")]
    UnknownSite(SiteId),
    /// The database failed or could not be reached; the caller may retry. Shared, because one
    /// failed group commit fails every request in the batch.
    #[error("storage is unavailable: {0}")]
    Unavailable(Arc<dyn std::error::Error + Send + Sync>),
    /// An owner account with this email exists already.
    #[error("an owner account for {0} exists already")]
    OwnerExists(String),
    /// A stored value no longer parses, e.g. after a manual edit of the database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unavailable(Arc::new(error))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Unavailable(Arc::new(error))
    }
}

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
    /// The hash of the admin API token.
    pub admin_token_hash: TokenHash,
    /// The current survey; [`Store::create_site`] saves it as version 1, `update_site` ignores it.
    pub survey: Arc<PublishedSurvey>,
}

/// One saved version of a site's survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedSurvey {
    /// 1 for a new site, one more with every save.
    pub version: u32,
    /// The steps, dimensions, wording and appearance.
    pub definition: SurveyDefinition,
}

impl Site {
    /// Whether a page on `origin` may use this site's survey.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.allowed_origins.contains(origin)
    }
}

/// One visitor's answers, validated.
#[derive(Debug, Clone)]
pub struct ResponseUpdate {
    /// The idempotency key.
    pub id: ResponseId,
    /// The NPS answer.
    pub score: Score,
    /// The answer to the open question; `None` keeps an earlier one.
    pub comment: Option<Comment>,
    /// The survey version answered.
    pub survey_version: u32,
    /// The language it was shown in; `None` keeps an earlier one.
    pub lang: Option<&'static str>,
    /// Statements shown; each keeps an earlier answer when this one has none.
    pub statements: Vec<StatementUpdate>,
    /// 1–7; `None` keeps an earlier one.
    pub effort: Option<u8>,
    /// The ticked effort drivers, comma-separated in a fixed order; `None` keeps earlier ones.
    pub effort_drivers: Option<String>,
    /// Contact consent; `Some(false)` also forgets an earlier email.
    pub contact_consent: Option<bool>,
    /// Where to write, with consent.
    pub email: Option<String>,
    /// The page path; `None` keeps an earlier one.
    pub page_path: Option<String>,
    /// The page's query string, where the survey records it.
    pub page_query: Option<String>,
    /// The referring site's host name.
    pub referrer: Option<String>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<&'static str>,
    /// UTM parameters as a JSON object.
    pub utm: Option<String>,
    /// The site's attributes as a JSON object.
    pub attributes: Option<String>,
}

/// A loyalty statement shown to a visitor, and their agreement (1–5) if they gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementUpdate {
    /// The bank id, e.g. `trust.honest`.
    pub id: String,
    /// The dimension it measures, stored alongside for analysis.
    pub dimension: Dimension,
    /// 1–5, if answered.
    pub answer: Option<u8>,
}

/// A response as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The id the widget generated, hyphenated.
    pub id: String,
    /// 0–10.
    pub score: u8,
    /// The latest answer to the open question.
    pub comment: Option<String>,
    /// The survey version answered.
    pub survey_version: Option<u32>,
    /// The language the survey was shown in.
    pub lang: Option<String>,
    /// Statements shown, by id, with answers.
    pub statements: Vec<StoredStatement>,
    /// 1–7.
    pub effort: Option<u8>,
    /// Comma-separated effort drivers.
    pub effort_drivers: Option<String>,
    /// Contact consent.
    pub contact_consent: Option<bool>,
    /// Where to write, with consent.
    pub email: Option<String>,
    /// The page path.
    pub page_path: Option<String>,
    /// The page's query string, where the survey records it.
    pub page_query: Option<String>,
    /// The referring site's host name.
    pub referrer: Option<String>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<String>,
    /// UTM parameters as a JSON object.
    pub utm: Option<String>,
    /// Attributes as a JSON object.
    pub attributes: Option<String>,
    /// Unix milliseconds of the first answer.
    pub created_at_ms: i64,
    /// Unix milliseconds of the latest answer.
    pub updated_at_ms: i64,
}

/// The most days one [`Store::roll_up`] step adds to the rollups: one day of a site with a
/// million responses a year takes about 90 ms on SQLite, the longest answers wait for it.
pub const MAX_DAYS_PER_STEP: i64 = 1;

/// Responses read per page by [`Store::filtered_responses`] and by streaming exports.
pub const PAGE_SIZE: u32 = 1_000;

/// Where a page of responses ends: they are ordered by first answer, then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseKey {
    /// The response's `created_at_ms`.
    pub created_at_ms: i64,
    /// The response's id.
    pub id: String,
}

impl ResponseKey {
    /// The key of a stored response.
    pub fn of(response: &StoredResponse) -> Self {
        Self {
            created_at_ms: response.created_at_ms,
            id: response.id.clone(),
        }
    }
}

/// A statement as stored with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStatement {
    /// The bank id.
    pub id: String,
    /// The dimension's snake_case name.
    pub dimension: String,
    /// 1–5, if answered.
    pub answer: Option<u8>,
}

/// The storage interface every backend implements and the conformance tests exercise.
#[async_trait]
pub trait Store: Send + Sync {
    /// Adds a site.
    async fn create_site(&self, site: &Site) -> Result<(), StoreError>;
    /// Replaces every setting of an existing site.
    async fn update_site(&self, site: &Site) -> Result<(), StoreError>;
    /// The site with this id, if any.
    async fn site(&self, id: &SiteId) -> Result<Option<Site>, StoreError>;
    /// The first site with this name, if any.
    async fn site_by_name(&self, name: &str) -> Result<Option<Site>, StoreError>;
    /// Creates the response or updates it in place; returns only once the change is durable.
    async fn upsert_response(
        &self,
        site: &SiteId,
        update: &ResponseUpdate,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// A site's responses, oldest first.
    async fn responses(&self, site: &SiteId) -> Result<Vec<StoredResponse>, StoreError> {
        self.filtered_responses(site, &ResponseFilter::default())
            .await
    }
    /// A site's responses that `filter` covers, oldest first.
    async fn filtered_responses(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<Vec<StoredResponse>, StoreError> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map(ResponseKey::of);
            let page = self
                .responses_page(site, filter, after.as_ref(), PAGE_SIZE)
                .await?;
            let last = page.len() < PAGE_SIZE as usize;
            all.extend(page);
            if last {
                return Ok(all);
            }
        }
    }
    /// The next `limit` of a site's responses that `filter` covers, oldest first, after `after`
    /// (from the first without it). Pages are read by key, so each costs the same however deep.
    async fn responses_page(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        after: Option<&ResponseKey>,
        limit: u32,
    ) -> Result<Vec<StoredResponse>, StoreError>;

    /// What the site's results are computed from.
    async fn result_sums(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
    ) -> Result<ResultSums, StoreError>;
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
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Deletes every response older than its site's retention period, and the rollups of the
    /// days that go with them; returns how many responses.
    async fn purge_expired(&self, now_ms: i64) -> Result<u64, StoreError>;
    /// One step of keeping a site's rollups up to date with its days before `until_day`: rolls
    /// up a day marked dirty again, or else up to [`MAX_DAYS_PER_STEP`] more days. `true` while
    /// there is more to do. Steps are short, as each holds the site's row (on SQLite, the write
    /// lock) while it runs.
    async fn roll_up(&self, site: &SiteId, until_day: i64) -> Result<bool, StoreError>;
    /// Deletes one response of a site (GDPR erasure); `false` if there was none.
    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError>;
    /// Deletes every response of a site that left this email address (GDPR erasure of a
    /// respondent, compared without regard to case); returns how many.
    async fn erase_by_email(&self, site: &SiteId, email: &str) -> Result<u64, StoreError>;
    /// Deletes a site and every response it has; `false` if there was none.
    async fn delete_site(&self, site: &SiteId) -> Result<bool, StoreError>;
    /// Every site, by name.
    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
    /// A site's newest comments that `filter` covers, at most `limit`, those containing
    /// `search` (any case) if given.
    async fn comments(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredComment>, StoreError>;
    /// Adds an owner account; `OwnerExists` if the email has one.
    async fn create_owner(&self, owner: &Owner, now_ms: i64) -> Result<(), StoreError>;
    /// The account of this (normalized) email, if any.
    async fn owner_by_email(&self, email: &str) -> Result<Option<Owner>, StoreError>;
    /// The account of this id, if any.
    async fn owner(&self, id: &str) -> Result<Option<Owner>, StoreError>;
    /// Replaces the password hash of the account of this (normalized) email and ends its
    /// sessions; `false` if there is no such account.
    async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError>;
    /// Records a signed-in browser.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session with this token hash, unless it has expired by `now_ms`.
    async fn session(
        &self,
        token_hash: &TokenHash,
        now_ms: i64,
    ) -> Result<Option<Session>, StoreError>;
    /// Ends a session (signing out); also clears every expired one.
    async fn end_session(&self, token_hash: &TokenHash, now_ms: i64) -> Result<(), StoreError>;
    /// A site's responses whose visitor agreed to be contacted, with what was done about each:
    /// open cases first, detractors before passives and promoters, newest first; at most `limit`.
    async fn inbox(&self, site: &SiteId, limit: u32) -> Result<Vec<InboxItem>, StoreError>;
    /// Records where the follow-up of one of those responses stands, and the owners' notes;
    /// `false` if the site has no such response with consent. The first contact's time is kept
    /// once set; the resolution's only while the case stays resolved.
    async fn follow_up(
        &self,
        site: &SiteId,
        response: &ResponseId,
        status: FollowUpStatus,
        notes: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Adds a webhook, unless its site has [`crate::webhooks::MAX_PER_SITE`] already (`false`).
    async fn create_webhook(&self, webhook: &Webhook, now_ms: i64) -> Result<bool, StoreError>;
    /// A site's webhooks, oldest first; every site's with `None`.
    async fn webhooks(&self, site: Option<&SiteId>) -> Result<Vec<Webhook>, StoreError>;
    /// Deletes a site's webhook and its delivery log; `false` if the site has no such webhook.
    async fn delete_webhook(&self, site: &SiteId, id: &str) -> Result<bool, StoreError>;
    /// A site's responses whose latest answer came after `after_ms` and by `until_ms`.
    async fn settled_responses(
        &self,
        site: &SiteId,
        after_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<SettledResponse>, StoreError>;
    /// Records a pending delivery, due now with `attempts` allowed, for each (response, event)
    /// the webhook has none for yet, and moves its scan on to `scanned_until_ms`; all or nothing.
    async fn record_events(
        &self,
        webhook_id: &str,
        events: &[(String, WebhookEvent)],
        attempts: u32,
        scanned_until_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Takes up to `limit` pending deliveries due by `now_ms`, due again at `lease_until_ms` in
    /// case this server stops while sending them.
    async fn claim_due_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Logs an attempt and where its delivery stands after it.
    async fn record_attempt(&self, outcome: &AttemptOutcome) -> Result<(), StoreError>;
    /// A site's newest deliveries with their attempts, at most `limit`.
    async fn deliveries(&self, site: &SiteId, limit: u32) -> Result<Vec<Delivery>, StoreError>;
    /// Queues a site's delivery again, due at `now_ms` with `attempts` allowed; `false` if the
    /// site has no such delivery, it is still pending, or it has had `attempts` ×
    /// (1 + [`MAX_RESENDS`](crate::webhooks::MAX_RESENDS)) attempts already.
    async fn resend_delivery(
        &self,
        site: &SiteId,
        delivery_id: &str,
        attempts: u32,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
}

/// A response in the inbox and its follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    /// The response.
    pub response_id: String,
    /// Its 0–10 score.
    pub score: u8,
    /// What the visitor wrote, if anything.
    pub comment: Option<String>,
    /// Where to reach the visitor; shown to owners only.
    pub email: Option<String>,
    /// Where the visitor answered.
    pub page_path: Option<String>,
    /// When the response came.
    pub created_at_ms: i64,
    /// Where the follow-up stands (`New` until an owner records something).
    pub status: FollowUpStatus,
    /// The owners' internal notes.
    pub notes: String,
    /// When the visitor was first contacted.
    pub contacted_at_ms: Option<i64>,
    /// When the case was resolved.
    pub resolved_at_ms: Option<i64>,
}

/// A comment as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    /// The response it belongs to.
    pub response_id: String,
    /// The response's 0–10 score.
    pub score: u8,
    /// The visitor's words, as typed.
    pub comment: String,
    /// Where the visitor answered.
    pub page_path: Option<String>,
    /// When the response was first stored.
    pub created_at_ms: i64,
}

/// Opens the database a URL names, creating and migrating it where that is safe.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return Ok(Arc::new(SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::open(url).await?));
    }
    anyhow::bail!(
        "unsupported database URL {:?}: use sqlite://PATH (e.g. sqlite://data/soovita.db) \
         or postgres://USER:PASSWORD@HOST/DATABASE",
        redact_password(url)
    )
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

/// A site's columns as every backend stores them, before parsing.
struct SiteRow {
    id: String,
    name: String,
    allowed_origins: String,
    sample_percent: i64,
    cooldown_days: i64,
    retention_days: i64,
    honor_do_not_track: bool,
    admin_token_hash: String,
    survey_version: i64,
    survey_definition: String,
}

impl SiteRow {
    /// The site, refusing values that no longer parse.
    fn parse(self) -> Result<Site, StoreError> {
        let id = self.id;
        let corrupt = |what: &str, detail: String| {
            StoreError::Corrupt(format!("{what} of site {id}: {detail}"))
        };
        let raw_origins: Vec<String> = serde_json::from_str(&self.allowed_origins)
            .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
        let allowed_origins = raw_origins
            .iter()
            .map(|o| Origin::parse(o))
            .collect::<Result<_, _>>()
            .map_err(|e| corrupt("allowed_origins", e.to_string()))?;
        let survey = PublishedSurvey {
            version: u32::try_from(self.survey_version)
                .map_err(|e| corrupt("survey version", e.to_string()))?,
            definition: serde_json::from_str(&self.survey_definition)
                .map_err(|e| corrupt("survey definition", e.to_string()))?,
        };
        Ok(Site {
            survey: Arc::new(survey),
            allowed_origins,
            sample_percent: u8::try_from(self.sample_percent)
                .map_err(|e| corrupt("sample_percent", e.to_string()))?,
            cooldown_days: u16::try_from(self.cooldown_days)
                .map_err(|e| corrupt("cooldown_days", e.to_string()))?,
            retention_days: u16::try_from(self.retention_days)
                .map_err(|e| corrupt("retention_days", e.to_string()))?,
            honor_do_not_track: self.honor_do_not_track,
            admin_token_hash: TokenHash::from_stored(self.admin_token_hash),
            name: self.name,
            id: SiteId::parse(&id).map_err(|e| corrupt("id", e.to_string()))?,
        })
    }
}

/// What a site's results are computed from, summed by the database: the 1,000,000-response
/// site must not travel to the server row by row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultSums {
    /// Responses per UTC day by score, oldest first; days without any are left out.
    pub days: Vec<DayScores>,
    /// Per dimension with answered statements.
    pub dimensions: Vec<DimensionSums>,
    /// Responses by effort answer, 1 to 7.
    pub effort: [u64; 7],
    /// Of the responses with an effort answer, how many ticked each driver, in
    /// `EffortDriver::ALL` order.
    pub effort_drivers: [u64; 4],
}

impl ResultSums {
    /// Responses by score, 0 to 10, over every day.
    pub fn histogram(&self) -> [u64; 11] {
        let mut histogram = [0; 11];
        for day in &self.days {
            for (total, n) in histogram.iter_mut().zip(day.scores) {
                *total += n;
            }
        }
        histogram
    }
}

/// One day's responses by score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayScores {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// Responses by score, 0 to 10.
    pub scores: [u64; 11],
}

/// One dimension's answered statements, with agreement `x` (1–5) and the response's score `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionSums {
    /// The dimension's name, e.g. `trust`.
    pub dimension: String,
    /// Answered statements.
    pub answers: i64,
    /// Answers of 4 or 5.
    pub agree: i64,
    /// Σx.
    pub sum_x: i64,
    /// Σx².
    pub sum_xx: i64,
    /// Σy.
    pub sum_y: i64,
    /// Σy².
    pub sum_yy: i64,
    /// Σxy.
    pub sum_xy: i64,
}

/// The conditions of a [`ResponseFilter`] on the responses aliased `r`, as parameters `$2` to
/// `$7` (bound by [`bind_filter!`]); a null parameter lets every response through.
macro_rules! filtered {
    () => {
        " AND ($2 IS NULL OR r.created_at_ms >= $2) AND ($3 IS NULL OR r.created_at_ms < $3) \
         AND ($4 IS NULL OR r.page_path = $4) AND ($5 IS NULL OR r.lang = $5) \
         AND ($6 IS NULL OR r.device_class = $6) AND ($7 IS NULL OR r.survey_version = $7)"
    };
}

/// Binds the site and a [`ResponseFilter`] as `$1` to `$7` of a query using [`filtered!`].
macro_rules! bind_filter {
    ($query:expr, $site:expr, $filter:expr) => {
        $query
            .bind($site.as_str())
            .bind($filter.from_ms)
            .bind($filter.until_ms)
            .bind($filter.page_path.as_deref())
            .bind($filter.lang.as_deref())
            .bind($filter.device)
            .bind($filter.survey_version)
    };
}
pub(crate) use bind_filter;

/// The first day results read from the responses rather than the rollups: `$8`, or the site's
/// watermark. Binding 0 reads every response (a filter whose dates are not whole UTC days).
macro_rules! cutoff {
    () => {
        "COALESCE($8, (SELECT s.rolled_until_day FROM sites s WHERE s.id = $1))"
    };
}

/// Responses not in the rollups: on or after the cutoff day.
macro_rules! unrolled {
    () => {
        concat!(" AND r.created_at_ms >= ", cutoff!(), " * 86400000")
    };
}

/// The responses of rolled-up days marked dirty, joined in by day so each is an index range.
macro_rules! dirty_days {
    () => {
        " FROM rollup_dirty d JOIN responses r ON r.site_id = d.site_id \
         AND r.created_at_ms >= d.day * 86400000 AND r.created_at_ms < (d.day + 1) * 86400000"
    };
}

/// Of the dirty days, those before the cutoff (later ones are read with the other responses).
macro_rules! dirty_before_cutoff {
    () => {
        concat!(" AND d.site_id = $1 AND d.day < ", cutoff!())
    };
}

/// Rollup rows before the cutoff, not dirty, that the filter covers: a filter's dates are whole
/// UTC days, so a day is in or out as a whole.
macro_rules! rolled {
    () => {
        concat!(
            " AND u.day < ",
            cutoff!(),
            " AND NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.site_id = $1 AND d.day = u.day) \
             AND ($2 IS NULL OR u.day * 86400000 >= $2) AND ($3 IS NULL OR u.day * 86400000 < $3) \
             AND ($4 IS NULL OR u.page_path = $4) AND ($5 IS NULL OR u.lang = $5) \
             AND ($6 IS NULL OR u.device_class = $6) AND ($7 IS NULL OR u.survey_version = $7)"
        )
    };
}

/// Responses per UTC day (days since the epoch) and score, oldest first: the histogram and the
/// trend both come from this one query, over the rollups and the responses not in them.
pub(crate) const SELECT_DAILY_SCORES: &str = concat!(
    "SELECT day, CAST(score AS BIGINT) AS score, CAST(SUM(n) AS BIGINT) AS n FROM (",
    "SELECT CAST(r.created_at_ms / 86400000 AS BIGINT) AS day, r.score AS score, \
     COUNT(*) AS n FROM responses r WHERE r.site_id = $1",
    filtered!(),
    unrolled!(),
    " GROUP BY CAST(r.created_at_ms / 86400000 AS BIGINT), r.score \
     UNION ALL SELECT CAST(r.created_at_ms / 86400000 AS BIGINT), r.score, COUNT(*)",
    dirty_days!(),
    " WHERE r.site_id = $1",
    dirty_before_cutoff!(),
    filtered!(),
    " GROUP BY CAST(r.created_at_ms / 86400000 AS BIGINT), r.score \
     UNION ALL SELECT u.day, u.score, u.n FROM rollup_scores u WHERE u.site_id = $1",
    rolled!(),
    ") t GROUP BY day, score ORDER BY day"
);

/// The sums of [`DimensionSums`], one row per dimension.
pub(crate) const SELECT_DIMENSION_SUMS: &str = concat!(
    "SELECT dimension, CAST(SUM(answers) AS BIGINT) AS answers, \
     CAST(SUM(agree) AS BIGINT) AS agree, CAST(SUM(sum_x) AS BIGINT) AS sum_x, \
     CAST(SUM(sum_xx) AS BIGINT) AS sum_xx, CAST(SUM(sum_y) AS BIGINT) AS sum_y, \
     CAST(SUM(sum_yy) AS BIGINT) AS sum_yy, CAST(SUM(sum_xy) AS BIGINT) AS sum_xy FROM (",
    "SELECT ",
    dimension_sums!(),
    " FROM response_statements rs JOIN responses r ON r.id = rs.response_id \
     WHERE r.site_id = $1 AND rs.answer IS NOT NULL",
    filtered!(),
    unrolled!(),
    " GROUP BY rs.dimension UNION ALL ",
    "SELECT ",
    dimension_sums!(),
    dirty_days!(),
    " JOIN response_statements rs ON rs.response_id = r.id \
     WHERE r.site_id = $1 AND rs.answer IS NOT NULL",
    dirty_before_cutoff!(),
    filtered!(),
    " GROUP BY rs.dimension UNION ALL SELECT u.dimension, u.answers, u.agree, u.sum_x, u.sum_xx, \
     u.sum_y, u.sum_yy, u.sum_xy FROM rollup_dimensions u WHERE u.site_id = $1",
    rolled!(),
    ") t GROUP BY dimension ORDER BY dimension"
);

/// `$8` of the results queries: `Some(0)` reads every response, for a filter whose dates are
/// not whole UTC days (the console's and the API's always are); `None` uses the rollups.
pub(crate) fn cutoff_override(filter: &ResponseFilter) -> Option<i64> {
    let whole_days = [filter.from_ms, filter.until_ms]
        .into_iter()
        .flatten()
        .all(|ms| ms % 86_400_000 == 0);
    (!whole_days).then_some(0)
}

/// Runs [`SELECT_DAILY_SCORES`], [`SELECT_DIMENSION_SUMS`] and [`SELECT_EFFORT_COUNTS`] on
/// `$pool` for `$site` and `$filter`; the column types are the same on every backend, so the
/// code is too.
macro_rules! read_result_sums {
    ($pool:expr, $site:expr, $filter:expr) => {{
        let mut sums = $crate::store::ResultSums::default();
        for row in $crate::store::bind_filter!(
            sqlx::query($crate::store::SELECT_DAILY_SCORES),
            $site,
            $filter
        )
        .bind($crate::store::cutoff_override($filter))
        .fetch_all($pool)
        .await?
        {
            let (day, score, n): (i64, i64, i64) = (
                row.try_get("day")?,
                row.try_get("score")?,
                row.try_get("n")?,
            );
            if sums.days.last().is_none_or(|last| last.day != day) {
                sums.days.push($crate::store::DayScores {
                    day,
                    scores: [0; 11],
                });
            }
            let slot = usize::try_from(score)
                .ok()
                .and_then(|score| sums.days.last_mut()?.scores.get_mut(score))
                .ok_or_else(|| $crate::store::StoreError::Corrupt(format!("score {score}")))?;
            *slot = u64::try_from(n).unwrap_or_default();
        }
        for row in $crate::store::bind_filter!(
            sqlx::query($crate::store::SELECT_DIMENSION_SUMS),
            $site,
            $filter
        )
        .bind($crate::store::cutoff_override($filter))
        .fetch_all($pool)
        .await?
        {
            sums.dimensions.push($crate::store::DimensionSums {
                dimension: row.try_get("dimension")?,
                answers: row.try_get("answers")?,
                agree: row.try_get("agree")?,
                sum_x: row.try_get("sum_x")?,
                sum_xx: row.try_get("sum_xx")?,
                sum_y: row.try_get("sum_y")?,
                sum_yy: row.try_get("sum_yy")?,
                sum_xy: row.try_get("sum_xy")?,
            });
        }
        for row in $crate::store::bind_filter!(
            sqlx::query($crate::store::SELECT_EFFORT_COUNTS),
            $site,
            $filter
        )
        .bind($crate::store::cutoff_override($filter))
        .fetch_all($pool)
        .await?
        {
            let effort: i64 = row.try_get("effort")?;
            let slot = usize::try_from(effort - 1)
                .ok()
                .and_then(|index| sums.effort.get_mut(index))
                .ok_or_else(|| $crate::store::StoreError::Corrupt(format!("effort {effort}")))?;
            *slot = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or_default();
            for (index, driver) in soovita_wire::EffortDriver::ALL.into_iter().enumerate() {
                let ticked: i64 = row.try_get(driver.as_str())?;
                sums.effort_drivers[index] += u64::try_from(ticked).unwrap_or_default();
            }
        }
        Ok(sums)
    }};
}
pub(crate) use read_result_sums;

/// Responses by effort answer with how many of them ticked each driver, a column named after
/// each.
const SELECT_EFFORT_COUNTS: &str = concat!(
    "SELECT CAST(effort AS BIGINT) AS effort, CAST(SUM(n) AS BIGINT) AS n, \
     CAST(SUM(contacted_again) AS BIGINT) AS contacted_again, \
     CAST(SUM(repeated_information) AS BIGINT) AS repeated_information, \
     CAST(SUM(switched_channel) AS BIGINT) AS switched_channel, \
     CAST(SUM(transferred) AS BIGINT) AS transferred FROM (",
    "SELECT ",
    effort_counts!(),
    " FROM responses r WHERE r.site_id = $1 AND r.effort IS NOT NULL",
    filtered!(),
    unrolled!(),
    " GROUP BY r.effort UNION ALL ",
    "SELECT ",
    effort_counts!(),
    dirty_days!(),
    " WHERE r.site_id = $1 AND r.effort IS NOT NULL",
    dirty_before_cutoff!(),
    filtered!(),
    " GROUP BY r.effort UNION ALL SELECT u.effort, u.n, u.contacted_again, \
     u.repeated_information, u.switched_channel, u.transferred FROM rollup_effort u \
     WHERE u.site_id = $1",
    rolled!(),
    ") t GROUP BY effort ORDER BY effort"
);

/// The console's queries; the column types are the same on every backend, so the code is too.
/// `$site_from_row` reads a row of [`SELECT_SITE`] on the backend at hand.
macro_rules! console_query {
    (sites, $pool:expr, $site_from_row:path) => {{
        sqlx::query(sqlx::AssertSqlSafe(
            [$crate::store::SELECT_SITE, " ORDER BY sites.name, sites.id"].concat(),
        ))
        .fetch_all($pool)
        .await?
        .iter()
        .map($site_from_row)
        .collect()
    }};
    (comments, $pool:expr, $site:expr, $filter:expr, $search:expr, $limit:expr) => {{
        // LIKE with the search's own % and _ escaped: a plain substring match on both backends.
        let pattern = $search.map_or_else(
            || "%".to_owned(),
            |search: &str| {
                let escaped = search
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            },
        );
        $crate::store::bind_filter!(sqlx::query($crate::store::SELECT_COMMENTS), $site, $filter)
            .bind(pattern)
            .bind(i64::from($limit))
            .fetch_all($pool)
            .await?
            .iter()
            .map(|row| {
                let score: i64 = row.try_get("score")?;
                Ok($crate::store::StoredComment {
                    response_id: row.try_get("id")?,
                    score: u8::try_from(score).map_err(|_| {
                        $crate::store::StoreError::Corrupt(format!("score {score}"))
                    })?,
                    comment: row.try_get("comment")?,
                    page_path: row.try_get("page_path")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                })
            })
            .collect()
    }};
    (create_owner, $pool:expr, $owner:expr, $now_ms:expr) => {{
        let inserted = sqlx::query(
            "INSERT INTO owners (id, email, password_hash, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&$owner.id)
        .bind(&$owner.email)
        .bind(&$owner.password_hash)
        .bind($now_ms)
        .execute($pool)
        .await;
        match inserted {
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                Err($crate::store::StoreError::OwnerExists($owner.email.clone()))
            }
            other => other.map(|_| ()).map_err(Into::into),
        }
    }};
    (owner, $pool:expr, $column:literal, $value:expr) => {{
        sqlx::query(concat!(
            "SELECT id, email, password_hash FROM owners WHERE ",
            $column,
            " = $1"
        ))
        .bind($value)
        .fetch_optional($pool)
        .await?
        .map(|row| {
            Ok($crate::accounts::Owner {
                id: row.try_get("id")?,
                email: row.try_get("email")?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }};
    (set_password, $pool:expr, $email:expr, $password_hash:expr) => {{
        let mut transaction = $pool.begin().await?;
        let owner: Option<String> = sqlx::query_scalar(
            "UPDATE owners SET password_hash = $1 WHERE email = $2 RETURNING id",
        )
        .bind($password_hash)
        .bind($email)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(owner) = &owner {
            sqlx::query("DELETE FROM sessions WHERE owner_id = $1")
                .bind(owner)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(owner.is_some())
    }};
    (inbox, $pool:expr, $site:expr, $limit:expr) => {{
        sqlx::query($crate::store::SELECT_INBOX)
            .bind($site.as_str())
            .bind(i64::from($limit))
            .fetch_all($pool)
            .await?
            .iter()
            .map(|row| {
                let score: i64 = row.try_get("score")?;
                let status: String = row.try_get("status")?;
                let corrupt = |what: String| $crate::store::StoreError::Corrupt(what);
                Ok($crate::store::InboxItem {
                    response_id: row.try_get("id")?,
                    score: u8::try_from(score).map_err(|_| corrupt(format!("score {score}")))?,
                    comment: row.try_get("comment")?,
                    email: row.try_get("email")?,
                    page_path: row.try_get("page_path")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    status: $crate::inbox::FollowUpStatus::parse(&status)
                        .ok_or_else(|| corrupt(format!("follow-up status {status}")))?,
                    notes: row.try_get("notes")?,
                    contacted_at_ms: row.try_get("contacted_at_ms")?,
                    resolved_at_ms: row.try_get("resolved_at_ms")?,
                })
            })
            .collect()
    }};
    (follow_up, $pool:expr, $site:expr, $response:expr, $status:expr, $notes:expr, $now_ms:expr) => {{
        use $crate::inbox::FollowUpStatus;
        let contacted = ($status != FollowUpStatus::New).then_some($now_ms);
        let resolved = ($status == FollowUpStatus::Resolved).then_some($now_ms);
        let written = sqlx::query($crate::store::UPSERT_FOLLOW_UP)
            .bind($response.to_string())
            .bind($site.as_str())
            .bind($status.as_str())
            .bind($notes)
            .bind(contacted)
            .bind(resolved)
            .bind($now_ms)
            .execute($pool)
            .await?;
        Ok(written.rows_affected() > 0)
    }};
    (create_session, $pool:expr, $session:expr) => {{
        sqlx::query(
            "INSERT INTO sessions (token_hash, owner_id, csrf_token, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind($session.token_hash.as_str())
        .bind(&$session.owner_id)
        .bind(&$session.csrf_token)
        .bind($session.expires_at_ms)
        .execute($pool)
        .await?;
        Ok(())
    }};
    (session, $pool:expr, $token_hash:expr, $now_ms:expr) => {{
        sqlx::query(
            "SELECT token_hash, owner_id, csrf_token, expires_at_ms FROM sessions \
             WHERE token_hash = $1 AND expires_at_ms > $2",
        )
        .bind($token_hash.as_str())
        .bind($now_ms)
        .fetch_optional($pool)
        .await?
        .map(|row| {
            Ok($crate::accounts::Session {
                token_hash: $crate::domain::TokenHash::from_stored(row.try_get("token_hash")?),
                owner_id: row.try_get("owner_id")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at_ms: row.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }};
    (end_session, $pool:expr, $token_hash:expr, $now_ms:expr) => {{
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at_ms <= $2")
            .bind($token_hash.as_str())
            .bind($now_ms)
            .execute($pool)
            .await?;
        Ok(())
    }};
}
pub(crate) use console_query;

/// A site's responses with contact consent and their follow-ups: bind the site and a limit.
const SELECT_INBOX: &str = "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, r.email, \
     r.page_path, r.created_at_ms, COALESCE(f.status, 'new') AS status, \
     COALESCE(f.notes, '') AS notes, f.contacted_at_ms, f.resolved_at_ms \
     FROM responses r LEFT JOIN follow_ups f ON f.response_id = r.id \
     WHERE r.site_id = $1 AND r.contact_consent \
     ORDER BY CASE WHEN f.status = 'resolved' THEN 1 ELSE 0 END, \
     CASE WHEN r.score <= 6 THEN 0 WHEN r.score <= 8 THEN 1 ELSE 2 END, r.created_at_ms DESC \
     LIMIT $2";

/// Records a follow-up, only for a response of the site with contact consent: bind the
/// response, the site, status, notes, contacted and resolved times (null unless the status
/// implies them) and now.
const UPSERT_FOLLOW_UP: &str = "INSERT INTO follow_ups (response_id, status, notes, \
     contacted_at_ms, resolved_at_ms, updated_at_ms) \
     SELECT id, $3, $4, $5, $6, $7 FROM responses \
     WHERE id = $1 AND site_id = $2 AND contact_consent \
     ON CONFLICT (response_id) DO UPDATE SET status = excluded.status, notes = excluded.notes, \
     contacted_at_ms = COALESCE(follow_ups.contacted_at_ms, excluded.contacted_at_ms), \
     resolved_at_ms = CASE WHEN excluded.status = 'resolved' \
         THEN COALESCE(follow_ups.resolved_at_ms, excluded.resolved_at_ms) END, \
     updated_at_ms = excluded.updated_at_ms";

/// A site's comments, newest first: bind the site, the filter, a lower-case LIKE pattern and a
/// limit.
const SELECT_COMMENTS: &str = concat!(
    "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, r.page_path, r.created_at_ms \
     FROM responses r WHERE r.site_id = $1 AND r.comment IS NOT NULL \
     AND lower(r.comment) LIKE $8 ESCAPE '\\'",
    filtered!(),
    " ORDER BY r.created_at_ms DESC LIMIT $9"
);

// SQL that is the same on every backend (SQLite accepts `$1` placeholders too), kept here so the
// rules it encodes cannot drift apart between them.

/// The columns of a response upsert, in the order values are bound (see [`bind_response!`]).
const RESPONSE_COLUMNS: &str = "INSERT INTO responses (id, site_id, score, comment, \
     survey_version, lang, effort, effort_drivers, contact_consent, email, page_path, \
     page_query, referrer_domain, device_class, utm, attributes, created_at_ms, updated_at_ms) \
     VALUES ";

/// How many values [`RESPONSE_COLUMNS`] takes per row.
const RESPONSE_VALUES: usize = 18;

/// How long after its first answer a response may still change: the card's steps take minutes
/// and its outbox retries for hours, but a response id that leaks later (a webhook receiver, an
/// export) must not let anyone rewrite what the visitor said.
pub const UPDATE_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The tail of every response upsert. The WHERE makes a response id that belongs to another
/// site, or a response first answered more than [`UPDATE_WINDOW_MS`] ago, a no-op instead of
/// a rewrite. A field a later post leaves out keeps its earlier value, so answers arriving out
/// of order lose nothing; withdrawn consent also forgets the email.
const UPSERT_RESPONSE_ON_CONFLICT: &str =
    " ON CONFLICT (id) DO UPDATE SET score = excluded.score, \
     comment = COALESCE(excluded.comment, responses.comment), \
     survey_version = excluded.survey_version, \
     lang = COALESCE(excluded.lang, responses.lang), \
     effort = COALESCE(excluded.effort, responses.effort), \
     effort_drivers = COALESCE(excluded.effort_drivers, responses.effort_drivers), \
     contact_consent = COALESCE(excluded.contact_consent, responses.contact_consent), \
     email = CASE WHEN excluded.contact_consent = FALSE THEN NULL \
                  ELSE COALESCE(excluded.email, responses.email) END, \
     page_path = COALESCE(excluded.page_path, responses.page_path), \
     page_query = COALESCE(excluded.page_query, responses.page_query), \
     referrer_domain = COALESCE(excluded.referrer_domain, responses.referrer_domain), \
     device_class = COALESCE(excluded.device_class, responses.device_class), \
     utm = COALESCE(excluded.utm, responses.utm), \
     attributes = COALESCE(excluded.attributes, responses.attributes), \
     updated_at_ms = excluded.updated_at_ms \
     WHERE responses.site_id = excluded.site_id \
     AND responses.created_at_ms >= excluded.updated_at_ms - 86400000";

/// The head of a statement upsert; rows of four values follow.
const STATEMENT_COLUMNS: &str =
    "INSERT INTO response_statements (response_id, statement_id, dimension, answer) VALUES ";

/// A statement shown again without an answer keeps the answer it had.
const UPSERT_STATEMENT_ON_CONFLICT: &str = " ON CONFLICT (response_id, statement_id) \
     DO UPDATE SET answer = COALESCE(excluded.answer, response_statements.answer)";

/// How a backend's multi-row statements name their values.
#[derive(Clone, Copy)]
enum Placeholder {
    /// `$1, $2, …`: PostgreSQL's only form.
    Numbered,
    /// `?, ?, …`: for SQLite, where a numbered parameter is looked up by a linear scan of the
    /// statement's parameter names each time one is bound (sqlx asks for every one), so binding
    /// a batch of hundreds of numbered values costs quadratic time on the single writer.
    Anonymous,
}

/// `count` rows of `width` placeholders, `($1, $2), ($3, $4)` or `(?, ?), (?, ?)`, for
/// multi-row inserts.
fn placeholders(count: usize, width: usize, style: Placeholder) -> String {
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

/// Binds one response's values in [`RESPONSE_COLUMNS`] order.
macro_rules! bind_response {
    ($query:expr, $site:expr, $update:expr, $now_ms:expr) => {
        $query
            .bind($update.id.to_string())
            .bind($site.as_str())
            .bind(i16::from($update.score.get()))
            .bind($update.comment.as_ref().map(|c| c.as_str()))
            .bind(i64::from($update.survey_version))
            .bind($update.lang)
            .bind($update.effort.map(i16::from))
            .bind($update.effort_drivers.as_deref())
            .bind($update.contact_consent)
            .bind($update.email.as_deref())
            .bind($update.page_path.as_deref())
            .bind($update.page_query.as_deref())
            .bind($update.referrer.as_deref())
            .bind($update.device)
            .bind($update.utm.as_deref())
            .bind($update.attributes.as_deref())
            .bind($now_ms)
            .bind($now_ms)
    };
}
pub(crate) use bind_response;

/// A site with its current survey; append a WHERE.
const SELECT_SITE: &str = "SELECT sites.*, CAST(surveys.version AS BIGINT) AS survey_version, \
     surveys.definition AS survey_definition FROM sites JOIN surveys \
     ON surveys.site_id = sites.id AND surveys.version = \
     (SELECT MAX(latest.version) FROM surveys latest WHERE latest.site_id = sites.id)";

/// Saves a definition as version 1 of a new site.
const INSERT_FIRST_SURVEY: &str =
    "INSERT INTO surveys (site_id, version, definition, created_at_ms) VALUES ($1, 1, $2, $3)";

/// Saves a definition as the next version of a site's survey.
const INSERT_NEXT_SURVEY: &str =
    "INSERT INTO surveys (site_id, version, definition, created_at_ms) \
     SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM surveys WHERE site_id = $1 \
     RETURNING CAST(version AS BIGINT) AS version";

/// One version of a site's survey.
const SELECT_SURVEY: &str = "SELECT definition FROM surveys WHERE site_id = $1 AND version = $2";

/// Responses after the key `($8, $9)` (none: from the first), in key order: the lower bound is
/// a plain range on `created_at_ms`, so the (site, created) index serves every page.
macro_rules! after_key {
    () => {
        " AND r.created_at_ms >= COALESCE($8, -9223372036854775807) \
         AND ($8 IS NULL OR r.created_at_ms > $8 OR r.id > $9)"
    };
}

/// A page of a site's responses, every integer as BIGINT so both backends decode them alike:
/// bind the filter, the key to start after and a limit ([`read_page!`]).
const SELECT_RESPONSES: &str = concat!(
    "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, \
     CAST(r.survey_version AS BIGINT) AS survey_version, r.lang, CAST(r.effort AS BIGINT) AS effort, \
     r.effort_drivers, r.contact_consent, r.email, r.page_path, r.page_query, r.referrer_domain, \
     r.device_class, r.utm, r.attributes, r.created_at_ms, r.updated_at_ms \
     FROM responses r WHERE r.site_id = $1",
    filtered!(),
    after_key!(),
    " ORDER BY r.created_at_ms, r.id LIMIT $10"
);

/// The statements shown with the responses of a page: bind as for [`SELECT_RESPONSES`], but the
/// page's last key as `($10, $11)` instead of the limit.
const SELECT_STATEMENTS: &str = concat!(
    "SELECT rs.response_id, rs.statement_id, rs.dimension, \
     CAST(rs.answer AS BIGINT) AS answer FROM response_statements rs \
     JOIN responses r ON r.id = rs.response_id WHERE r.site_id = $1",
    filtered!(),
    after_key!(),
    " AND r.created_at_ms <= $10 AND (r.created_at_ms < $10 OR r.id <= $11) \
     ORDER BY rs.response_id, rs.statement_id"
);

/// Reads one page of responses with their statements on `$pool` (both queries are the same on
/// every backend, so the code is too).
macro_rules! read_page {
    ($pool:expr, $site:expr, $filter:expr, $after:expr, $limit:expr) => {{
        let after: Option<&$crate::store::ResponseKey> = $after;
        let rows = $crate::store::bind_filter!(
            sqlx::query($crate::store::SELECT_RESPONSES),
            $site,
            $filter
        )
        .bind(after.map(|key| key.created_at_ms))
        .bind(after.map(|key| key.id.as_str()))
        .bind(i64::from($limit))
        .fetch_all($pool)
        .await?;
        let statement_rows = match rows.last() {
            None => Vec::new(),
            Some(last) => {
                let (last_created, last_id): (i64, String) =
                    (last.try_get("created_at_ms")?, last.try_get("id")?);
                $crate::store::bind_filter!(
                    sqlx::query($crate::store::SELECT_STATEMENTS),
                    $site,
                    $filter
                )
                .bind(after.map(|key| key.created_at_ms))
                .bind(after.map(|key| key.id.as_str()))
                .bind(last_created)
                .bind(last_id)
                .fetch_all($pool)
                .await?
            }
        };
        $crate::store::read_responses!(rows, statement_rows)
    }};
}
pub(crate) use read_page;

/// Reads the rows of [`SELECT_RESPONSES`] and [`SELECT_STATEMENTS`] into responses; the column
/// types are the same on every backend, so the code is too.
macro_rules! read_responses {
    ($rows:expr, $statement_rows:expr) => {{
        let mut statements: std::collections::HashMap<String, Vec<$crate::store::StoredStatement>> =
            std::collections::HashMap::new();
        for row in &$statement_rows {
            let response_id: String = row.try_get("response_id")?;
            let answer: Option<i64> = row.try_get("answer")?;
            statements
                .entry(response_id)
                .or_default()
                .push($crate::store::StoredStatement {
                    id: row.try_get("statement_id")?,
                    dimension: row.try_get("dimension")?,
                    answer: answer.and_then(|a| u8::try_from(a).ok()),
                });
        }
        $rows
            .iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let score: i64 = row.try_get("score")?;
                let corrupt = |what: &str| {
                    $crate::store::StoreError::Corrupt(format!("{what} of response {id}"))
                };
                let survey_version: Option<i64> = row.try_get("survey_version")?;
                let effort: Option<i64> = row.try_get("effort")?;
                Ok($crate::store::StoredResponse {
                    statements: statements.remove(&id).unwrap_or_default(),
                    score: u8::try_from(score).map_err(|_| corrupt("score"))?,
                    comment: row.try_get("comment")?,
                    survey_version: survey_version
                        .map(u32::try_from)
                        .transpose()
                        .map_err(|_| corrupt("survey_version"))?,
                    lang: row.try_get("lang")?,
                    effort: effort
                        .map(u8::try_from)
                        .transpose()
                        .map_err(|_| corrupt("effort"))?,
                    effort_drivers: row.try_get("effort_drivers")?,
                    contact_consent: row.try_get("contact_consent")?,
                    email: row.try_get("email")?,
                    page_path: row.try_get("page_path")?,
                    page_query: row.try_get("page_query")?,
                    referrer: row.try_get("referrer_domain")?,
                    device: row.try_get("device_class")?,
                    utm: row.try_get("utm")?,
                    attributes: row.try_get("attributes")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    updated_at_ms: row.try_get("updated_at_ms")?,
                    id,
                })
            })
            .collect::<Result<Vec<_>, $crate::store::StoreError>>()
    }};
}
pub(crate) use read_responses;

/// Deletes one response of one site.
const ERASE_RESPONSE: &str = "DELETE FROM responses WHERE site_id = $1 AND id = $2";

/// Deletes one respondent's responses of one site, found by email; statements go with them.
const ERASE_BY_EMAIL: &str =
    "DELETE FROM responses WHERE site_id = $1 AND lower(email) = lower($2)";

/// Deletes a site; its responses go with it (ON DELETE CASCADE).
const DELETE_SITE: &str = "DELETE FROM sites WHERE id = $1";

/// The stored form of a site's allowed origins.
fn origins_json(site: &Site) -> String {
    let raw: Vec<&str> = site.allowed_origins.iter().map(Origin::as_str).collect();
    serde_json::to_string(&raw).expect("a list of strings always serialises")
}

/// The stored form of a survey definition.
fn definition_json(definition: &SurveyDefinition) -> String {
    serde_json::to_string(definition).expect("a survey definition always serialises")
}

#[cfg(test)]
mod tests {
    use super::{
        placeholders, redact_password, Placeholder, UPDATE_WINDOW_MS, UPSERT_RESPONSE_ON_CONFLICT,
    };

    #[test]
    fn the_update_window_in_the_sql_is_the_constant() {
        assert!(UPSERT_RESPONSE_ON_CONFLICT
            .contains(&format!("excluded.updated_at_ms - {UPDATE_WINDOW_MS}")));
    }

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
