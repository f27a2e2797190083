//! Responses in the database: the upsert every answer goes through, pages read by key, the
//! comment search, and erasure.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;

use super::filter::{ResponseFilter, FILTERED};
use super::{
    ResponseKey, ResponseUpdate, StoredComment, StoredResponse, StoredStatement, PAGE_SIZE,
};
use crate::db::{Db, GroupCommit, Query, Row, StoreError, Upsert, Value};
use crate::domain::{ResponseId, SiteId};

#[async_trait]
pub trait ResponseStore: Send + Sync {
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
    /// A site's newest comments that `filter` covers, at most `limit`, those containing
    /// `search` (any case) if given.
    async fn comments(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredComment>, StoreError>;
    /// Deletes one response of a site (GDPR erasure); `false` if there was none.
    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError>;
    /// Deletes every response of a site that left this email address (GDPR erasure of a
    /// respondent, compared without regard to case); returns how many.
    async fn erase_by_email(&self, site: &SiteId, email: &str) -> Result<u64, StoreError>;
}

/// The columns of a response upsert, in the order [`response_values`] binds them.
const RESPONSE_COLUMNS: &str = "INSERT INTO responses (id, site_id, score, comment, \
     survey_version, lang, effort, effort_drivers, contact_consent, email, page_path, \
     page_query, referrer_domain, device_class, utm, attributes, created_at_ms, updated_at_ms) \
     VALUES ";

/// The tail of every response upsert. The WHERE makes a response id that belongs to another
/// site, or a response first answered more than [`super::UPDATE_WINDOW_MS`] ago, a no-op
/// instead of a rewrite. A field a later post leaves out keeps its earlier value; withdrawn
/// consent also forgets the email.
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

/// A response and the statements shown with it. A statement shown again without an answer
/// keeps the answer it had.
static RESPONSE_UPSERT: GroupCommit = GroupCommit {
    head: RESPONSE_COLUMNS,
    width: 18,
    on_conflict: UPSERT_RESPONSE_ON_CONFLICT,
    key_columns: "id, site_id",
    child_head: "INSERT INTO response_statements (response_id, statement_id, dimension, answer) \
                 VALUES ",
    child_width: 4,
    child_on_conflict: " ON CONFLICT (response_id, statement_id) \
         DO UPDATE SET answer = COALESCE(excluded.answer, response_statements.answer)",
};

/// One response's values in [`RESPONSE_COLUMNS`] order.
fn response_values(site: &SiteId, update: &ResponseUpdate, now_ms: i64) -> Vec<Value> {
    vec![
        update.id.to_string().into(),
        site.as_str().into(),
        update.score.get().into(),
        update.comment.as_ref().map(|c| c.as_str()).into(),
        update.survey_version.into(),
        update.lang.into(),
        update.effort.into(),
        update.effort_drivers.as_deref().into(),
        update.contact_consent.into(),
        update.email.as_deref().into(),
        update.page_path.as_deref().into(),
        update.page_query.as_deref().into(),
        update.referrer.as_deref().into(),
        update.device.into(),
        update.utm.as_deref().into(),
        update.attributes.as_deref().into(),
        now_ms.into(),
        now_ms.into(),
    ]
}

/// Responses after the key `($9, $10)` (none: from the first), in key order: the lower bound is
/// a plain range on `created_at_ms`, so the (site, created) index serves every page.
const AFTER_KEY: &str = " AND r.created_at_ms >= COALESCE($9, -9223372036854775807) \
     AND ($9 IS NULL OR r.created_at_ms > $9 OR r.id > $10)";

/// A page of a site's responses, every integer as BIGINT so both backends decode them alike:
/// bind the filter, the key to start after and a limit.
static SELECT_RESPONSES: LazyLock<String> = LazyLock::new(|| {
    [
        "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, \
         CAST(r.survey_version AS BIGINT) AS survey_version, r.lang, \
         CAST(r.effort AS BIGINT) AS effort, r.effort_drivers, r.contact_consent, r.email, \
         r.page_path, r.page_query, r.referrer_domain, r.device_class, r.utm, r.attributes, \
         r.created_at_ms, r.updated_at_ms, r.source FROM responses r WHERE r.site_id = $1",
        FILTERED,
        AFTER_KEY,
        " ORDER BY r.created_at_ms, r.id LIMIT $11",
    ]
    .concat()
});

/// The statements shown with the responses of a page: bind as for [`SELECT_RESPONSES`], but the
/// page's last key as `($11, $12)` instead of the limit.
static SELECT_STATEMENTS: LazyLock<String> = LazyLock::new(|| {
    [
        "SELECT rs.response_id, rs.statement_id, rs.dimension, \
         CAST(rs.answer AS BIGINT) AS answer FROM response_statements rs \
         JOIN responses r ON r.id = rs.response_id WHERE r.site_id = $1",
        FILTERED,
        AFTER_KEY,
        " AND r.created_at_ms <= $11 AND (r.created_at_ms < $11 OR r.id <= $12) \
         ORDER BY rs.response_id, rs.statement_id",
    ]
    .concat()
});

/// A site's comments, newest first: bind the site, the filter, a lower-case LIKE pattern and a
/// limit.
static SELECT_COMMENTS: LazyLock<String> = LazyLock::new(|| {
    [
        "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, r.page_path, \
         r.created_at_ms FROM responses r WHERE r.site_id = $1 AND r.comment IS NOT NULL \
         AND lower(r.comment) LIKE $9 ESCAPE '\\'",
        FILTERED,
        " ORDER BY r.created_at_ms DESC LIMIT $10",
    ]
    .concat()
});

const ERASE_RESPONSE: &str = "DELETE FROM responses WHERE site_id = $1 AND id = $2";

/// Statements go with the responses.
const ERASE_BY_EMAIL: &str =
    "DELETE FROM responses WHERE site_id = $1 AND lower(email) = lower($2)";

#[async_trait]
impl ResponseStore for Db {
    async fn upsert_response(
        &self,
        site: &SiteId,
        update: &ResponseUpdate,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let id = update.id.to_string();
        let children = update
            .statements
            .iter()
            .map(|shown| {
                vec![
                    id.as_str().into(),
                    shown.id.as_str().into(),
                    shown.dimension.as_str().into(),
                    shown.answer.into(),
                ]
            })
            .collect();
        let upsert = Upsert {
            key: (id, site.as_str().to_owned()),
            values: response_values(site, update, now_ms),
            children,
        };
        if self.group_commit(&RESPONSE_UPSERT, upsert).await? {
            Ok(())
        } else {
            Err(StoreError::ResponseOfAnotherSite(update.id))
        }
    }

    async fn responses_page(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        after: Option<&ResponseKey>,
        limit: u32,
    ) -> Result<Vec<StoredResponse>, StoreError> {
        let after_values = [
            Value::from(after.map(|key| key.created_at_ms)),
            Value::from(after.map(|key| key.id.as_str())),
        ];
        let rows = self
            .fetch_all(
                Query::new(SELECT_RESPONSES.as_str())
                    .bind_all(filter.site_and_values(site))
                    .bind_all(after_values.clone())
                    .bind(limit),
            )
            .await?;
        let Some(last) = rows.last() else {
            return Ok(Vec::new());
        };
        let statement_rows = self
            .fetch_all(
                Query::new(SELECT_STATEMENTS.as_str())
                    .bind_all(filter.site_and_values(site))
                    .bind_all(after_values)
                    .bind(last.get::<i64>("created_at_ms")?)
                    .bind(last.get::<String>("id")?),
            )
            .await?;
        let mut statements: HashMap<String, Vec<StoredStatement>> = HashMap::new();
        for row in &statement_rows {
            statements
                .entry(row.get("response_id")?)
                .or_default()
                .push(StoredStatement {
                    id: row.get("statement_id")?,
                    dimension: row.get("dimension")?,
                    answer: row.narrow_opt("answer")?,
                });
        }
        rows.iter()
            .map(|row| response_of(row, &mut statements))
            .collect()
    }

    async fn comments(
        &self,
        site: &SiteId,
        filter: &ResponseFilter,
        search: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredComment>, StoreError> {
        // LIKE with the search's own % and _ escaped: a plain substring match on both backends.
        let pattern = search.map_or_else(
            || "%".to_owned(),
            |search| {
                let escaped = search
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            },
        );
        let query = Query::new(SELECT_COMMENTS.as_str())
            .bind_all(filter.site_and_values(site))
            .bind(pattern)
            .bind(limit);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(StoredComment {
                    response_id: row.get("id")?,
                    score: row.narrow("score")?,
                    comment: row.get("comment")?,
                    page_path: row.get("page_path")?,
                    created_at_ms: row.get("created_at_ms")?,
                })
            })
            .collect()
    }

    async fn erase_response(&self, site: &SiteId, id: &ResponseId) -> Result<bool, StoreError> {
        let query = Query::new(ERASE_RESPONSE)
            .bind(site.as_str())
            .bind(id.to_string());
        let erased = self.execute(query).await?;
        self.forget_erased().await;
        Ok(erased > 0)
    }

    async fn erase_by_email(&self, site: &SiteId, email: &str) -> Result<u64, StoreError> {
        let query = Query::new(ERASE_BY_EMAIL).bind(site.as_str()).bind(email);
        let erased = self.execute(query).await?;
        self.forget_erased().await;
        Ok(erased)
    }
}

/// A row of [`SELECT_RESPONSES`], with its statements taken from `statements`.
fn response_of(
    row: &Row,
    statements: &mut HashMap<String, Vec<StoredStatement>>,
) -> Result<StoredResponse, StoreError> {
    let id: String = row.get("id")?;
    Ok(StoredResponse {
        statements: statements.remove(&id).unwrap_or_default(),
        score: row.narrow("score")?,
        comment: row.get("comment")?,
        survey_version: row.narrow_opt("survey_version")?,
        lang: row.get("lang")?,
        effort: row.narrow_opt("effort")?,
        effort_drivers: row.get("effort_drivers")?,
        contact_consent: row.get("contact_consent")?,
        email: row.get("email")?,
        page_path: row.get("page_path")?,
        page_query: row.get("page_query")?,
        referrer: row.get("referrer_domain")?,
        device: row.get("device_class")?,
        utm: row.get("utm")?,
        attributes: row.get("attributes")?,
        created_at_ms: row.get("created_at_ms")?,
        updated_at_ms: row.get("updated_at_ms")?,
        source: row.get("source")?,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::{RESPONSE_UPSERT, UPSERT_RESPONSE_ON_CONFLICT};
    use crate::responses::UPDATE_WINDOW_MS;

    #[test]
    fn the_update_window_in_the_sql_is_the_constant() {
        assert!(UPSERT_RESPONSE_ON_CONFLICT
            .contains(&format!("excluded.updated_at_ms - {UPDATE_WINDOW_MS}")));
    }

    #[test]
    fn the_upsert_binds_a_value_per_column() {
        let columns = RESPONSE_UPSERT.head.matches(',').count() + 1;
        assert_eq!(columns, RESPONSE_UPSERT.width);
    }
}
