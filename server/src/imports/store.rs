//! Writing imported rows: new ones inserted with their own times and source, one already there
//! left as it is, and every settled day that gained a response marked to be rolled up again.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;

use crate::db::{placeholders, Db, Query, StoreError, Value};
use crate::domain::SiteId;
use crate::responses::{StoredResponse, StoredStatement};

/// What a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub added: usize,
    /// Already there (an earlier import, or a repeat within the file): left as they are.
    pub existing: usize,
}

/// A file uploaded in the console, as its page shows it (the file itself is read apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: String,
    pub file_name: String,
    /// The format and options, as JSON.
    pub settings: String,
    pub status: UploadStatus,
    /// The preview's report, then the import's, as JSON.
    pub report: String,
    /// Rows written so far.
    pub written: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStatus {
    Previewed,
    Importing,
    Done,
    Failed,
}

impl UploadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Previewed => "previewed",
            Self::Importing => "importing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::Previewed, Self::Importing, Self::Done, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Keeps an uploaded file with its preview; uploads of the site older than `forget_before_ms`
    /// that are not being imported go.
    async fn create_upload(
        &self,
        site: &SiteId,
        owner_id: &str,
        upload: &Upload,
        data: &str,
        forget_before_ms: i64,
    ) -> Result<(), StoreError>;
    async fn upload(&self, site: &SiteId, id: &str) -> Result<Option<Upload>, StoreError>;
    /// The file of an upload not yet imported.
    async fn upload_data(&self, site: &SiteId, id: &str) -> Result<Option<String>, StoreError>;
    /// Takes an upload for importing: one previewed, or one whose import stopped moving before
    /// `stale_before_ms` (its server stopped); `false` if another request took it.
    async fn start_upload(
        &self,
        site: &SiteId,
        id: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<bool, StoreError>;
    async fn record_upload_progress(
        &self,
        id: &str,
        written: u64,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Drops uploads created before `before_ms` that are not being imported, and any whose
    /// import stopped moving then: an uploaded file holds respondents' answers and addresses,
    /// so it is not kept longer than its import needs. Returns how many.
    async fn forget_uploads(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Drops a site's uploads whose file mentions `email` (compared without case): erasing a
    /// respondent reaches files not yet imported too.
    async fn forget_uploads_mentioning(
        &self,
        site: &SiteId,
        email: &str,
    ) -> Result<u64, StoreError>;
    /// The import's end: its report, and the file dropped once done.
    async fn finish_upload(
        &self,
        id: &str,
        status: UploadStatus,
        report: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The site each of these response ids belongs to, for those that exist.
    async fn owners_of(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError>;
    /// Inserts the rows the site does not have yet, in one transaction.
    async fn import_rows(
        &self,
        site: &SiteId,
        rows: &[StoredResponse],
    ) -> Result<Written, StoreError>;
}

/// The columns of an imported row, in the order [`values`] binds them.
const COLUMNS: &str = "INSERT INTO responses (id, site_id, score, comment, survey_version, \
     lang, effort, effort_drivers, contact_consent, email, page_path, page_query, \
     referrer_domain, device_class, utm, attributes, created_at_ms, updated_at_ms, source) VALUES ";
const WIDTH: usize = 19;

fn values(site: &SiteId, row: &StoredResponse) -> [Value; WIDTH] {
    [
        row.id.as_str().into(),
        site.as_str().into(),
        row.score.into(),
        row.comment.as_deref().into(),
        row.survey_version.into(),
        row.lang.as_deref().into(),
        row.effort.into(),
        row.effort_drivers.as_deref().into(),
        row.contact_consent.into(),
        row.email.as_deref().into(),
        row.page_path.as_deref().into(),
        row.page_query.as_deref().into(),
        row.referrer.as_deref().into(),
        row.device.as_deref().into(),
        row.utm.as_deref().into(),
        row.attributes.as_deref().into(),
        row.created_at_ms.into(),
        row.updated_at_ms.into(),
        row.source.as_deref().into(),
    ]
}

/// A settled day that gained responses is rolled up again (bind the site and the day).
const MARK_DAY: &str = "INSERT INTO rollup_dirty (site_id, day, marks) \
     SELECT id, $2, 1 FROM sites WHERE id = $1 AND rolled_until_day > $2 \
     ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1";

const SELECT_UPLOAD: &str = "SELECT id, file_name, settings, status, report, written, \
     created_at_ms, updated_at_ms FROM imports WHERE site_id = $1 AND id = $2";

#[async_trait]
impl ImportStore for Db {
    async fn create_upload(
        &self,
        site: &SiteId,
        owner_id: &str,
        upload: &Upload,
        data: &str,
        forget_before_ms: i64,
    ) -> Result<(), StoreError> {
        let forget = Query::new(
            "DELETE FROM imports WHERE site_id = $1 AND created_at_ms < $2 \
             AND status <> 'importing'",
        )
        .bind(site.as_str())
        .bind(forget_before_ms);
        self.execute(forget).await?;
        let insert = Query::new(
            "INSERT INTO imports (id, site_id, owner_id, file_name, settings, data, status, \
             report, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(upload.id.as_str())
        .bind(site.as_str())
        .bind(owner_id)
        .bind(upload.file_name.as_str())
        .bind(upload.settings.as_str())
        .bind(data)
        .bind(upload.status.as_str())
        .bind(upload.report.as_str())
        .bind(upload.created_at_ms);
        self.execute(insert).await.map(|_| ())
    }

    async fn upload(&self, site: &SiteId, id: &str) -> Result<Option<Upload>, StoreError> {
        let query = Query::new(SELECT_UPLOAD).bind(site.as_str()).bind(id);
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        Ok(Some(Upload {
            id: row.get("id")?,
            file_name: row.get("file_name")?,
            settings: row.get("settings")?,
            status: row.parsed("status", UploadStatus::parse)?,
            report: row.get("report")?,
            written: row.narrow("written")?,
            created_at_ms: row.get("created_at_ms")?,
            updated_at_ms: row.get("updated_at_ms")?,
        }))
    }

    async fn upload_data(&self, site: &SiteId, id: &str) -> Result<Option<String>, StoreError> {
        let query = Query::new("SELECT data FROM imports WHERE site_id = $1 AND id = $2")
            .bind(site.as_str())
            .bind(id);
        match self.fetch_optional(query).await? {
            Some(row) => row.get("data"),
            None => Ok(None),
        }
    }

    async fn start_upload(
        &self,
        site: &SiteId,
        id: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = Query::new(
            "UPDATE imports SET status = 'importing', updated_at_ms = $3 \
             WHERE site_id = $1 AND id = $2 AND data IS NOT NULL \
             AND (status = 'previewed' OR (status = 'importing' AND updated_at_ms < $4))",
        )
        .bind(site.as_str())
        .bind(id)
        .bind(now_ms)
        .bind(stale_before_ms);
        Ok(self.execute(query).await? > 0)
    }

    async fn record_upload_progress(
        &self,
        id: &str,
        written: u64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new("UPDATE imports SET written = $2, updated_at_ms = $3 WHERE id = $1")
            .bind(id)
            .bind(i64::try_from(written).unwrap_or(i64::MAX))
            .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn forget_uploads(&self, before_ms: i64) -> Result<u64, StoreError> {
        let query = Query::new(
            "DELETE FROM imports WHERE (status <> 'importing' AND created_at_ms < $1) \
             OR (status = 'importing' AND updated_at_ms < $1)",
        )
        .bind(before_ms);
        self.execute(query).await
    }

    async fn forget_uploads_mentioning(
        &self,
        site: &SiteId,
        email: &str,
    ) -> Result<u64, StoreError> {
        let pattern = format!(
            "%{}%",
            email
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let query = Query::new(
            "DELETE FROM imports WHERE site_id = $1 AND data IS NOT NULL \
             AND lower(data) LIKE $2 ESCAPE '\\'",
        )
        .bind(site.as_str())
        .bind(pattern);
        self.execute(query).await
    }

    async fn finish_upload(
        &self,
        id: &str,
        status: UploadStatus,
        report: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(
            "UPDATE imports SET status = $2, report = $3, updated_at_ms = $4, \
             data = CASE WHEN $2 = 'done' THEN NULL ELSE data END WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_str())
        .bind(report)
        .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn owners_of(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let mut owners = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = placeholders(1, chunk.len(), self.placeholder());
            let query = Query::new(format!(
                "SELECT id, site_id FROM responses WHERE id IN {list}"
            ))
            .bind_all(chunk.iter().map(|id| id.as_str().into()));
            for row in self.fetch_all(query).await? {
                owners.insert(row.get("id")?, row.get("site_id")?);
            }
        }
        Ok(owners)
    }

    async fn import_rows(
        &self,
        site: &SiteId,
        rows: &[StoredResponse],
    ) -> Result<Written, StoreError> {
        if rows.is_empty() {
            return Ok(Written::default());
        }
        let mut transaction = self.begin().await?;
        let mut added = HashSet::new();
        // A statement per thousand rows (19,000 values, within SQLite's 32,766): a round trip
        // per row made a million rows take minutes.
        for chunk in rows.chunks(1_000) {
            let insert = Query::new(format!(
                "{COLUMNS}{} ON CONFLICT (id) DO NOTHING RETURNING id",
                placeholders(chunk.len(), WIDTH, self.placeholder())
            ))
            .bind_all(chunk.iter().flat_map(|row| values(site, row)));
            for row in transaction.fetch_all(insert).await? {
                added.insert(row.get::<String>("id")?);
            }
        }
        let statements: Vec<(&StoredResponse, &StoredStatement)> = rows
            .iter()
            .filter(|row| added.contains(&row.id))
            .flat_map(|row| row.statements.iter().map(move |statement| (row, statement)))
            .collect();
        for chunk in statements.chunks(1_000) {
            let query = Query::new(format!(
                "INSERT INTO response_statements (response_id, statement_id, dimension, answer) \
                 VALUES {} ON CONFLICT (response_id, statement_id) DO NOTHING",
                placeholders(chunk.len(), 4, self.placeholder())
            ))
            .bind_all(chunk.iter().flat_map(|(row, statement)| {
                [
                    Value::from(row.id.as_str()),
                    statement.id.as_str().into(),
                    statement.dimension.as_str().into(),
                    statement.answer.into(),
                ]
            }));
            transaction.execute(query).await?;
        }
        let days: BTreeSet<i64> = rows
            .iter()
            .filter(|row| added.contains(&row.id))
            .map(|row| row.created_at_ms.div_euclid(86_400_000))
            .collect();
        for day in days {
            transaction
                .execute(Query::new(MARK_DAY).bind(site.as_str()).bind(day))
                .await?;
        }
        transaction.commit().await?;
        Ok(Written {
            added: added.len(),
            existing: rows.len() - added.len(),
        })
    }
}
