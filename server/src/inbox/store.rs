//! The inbox's cases and their follow-ups in the database.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::{CaseSettings, FollowUpStatus, InboxItem};
use crate::db::{Db, Query, Row, StoreError};
use crate::domain::{ResponseId, SiteId};
use crate::responses::category_sql;

#[async_trait]
pub trait InboxStore: Send + Sync {
    /// A site's responses whose visitor agreed to be contacted, with what was done about each:
    /// open cases first, detractors before passives and promoters, newest first; at most `limit`.
    async fn inbox(&self, site: &SiteId, limit: u32) -> Result<Vec<InboxItem>, StoreError>;
    /// One case of the site's inbox, if the response is one with consent.
    async fn case(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Option<InboxItem>, StoreError>;
    /// A site's target times and acknowledgement setting; `None` if there is no such site.
    async fn case_settings(&self, site: &SiteId) -> Result<Option<CaseSettings>, StoreError>;
    /// Saves them; acknowledgements switched on apply to responses from `now_ms` on.
    async fn set_case_settings(
        &self,
        site: &SiteId,
        settings: CaseSettings,
        now_ms: i64,
    ) -> Result<(), StoreError>;
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
}

/// When a response's first contact is due, by its site's target for its category (columns of
/// `responses r` and `sites s`).
pub static DUE_AT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "r.created_at_ms + 3600000 * CAST(CASE WHEN r.score <= {} THEN s.target_detractor_hours \
         ELSE s.target_other_hours END AS BIGINT)",
        soovita_wire::Category::DETRACTOR_MAX
    )
});

/// The cases of a site: bind the site; append a WHERE condition or an order.
static SELECT_CASES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, r.email, r.page_path, r.lang, \
         r.created_at_ms, COALESCE(f.status, 'new') AS status, COALESCE(f.notes, '') AS notes, \
         f.contacted_at_ms, f.resolved_at_ms, {due} AS due_at_ms \
         FROM responses r JOIN sites s ON s.id = r.site_id \
         LEFT JOIN follow_ups f ON f.response_id = r.id \
         WHERE r.site_id = $1 AND r.contact_consent",
        due = DUE_AT_SQL.as_str()
    )
});

/// A site's responses with contact consent and their follow-ups: bind the site and a limit.
/// Cases waiting for a first contact come first, the soonest due (the most overdue) first;
/// then the contacted ones, detractors first; the resolved last.
static SELECT_INBOX: LazyLock<String> = LazyLock::new(|| {
    [
        SELECT_CASES.as_str(),
        " ORDER BY CASE WHEN f.status = 'resolved' THEN 2 \
         WHEN f.contacted_at_ms IS NOT NULL THEN 1 ELSE 0 END, \
         CASE WHEN f.contacted_at_ms IS NULL THEN ",
        DUE_AT_SQL.as_str(),
        " ELSE 0 END, ",
        &category_sql("r.score"),
        ", r.created_at_ms DESC LIMIT $2",
    ]
    .concat()
});

const SELECT_CASE_SETTINGS: &str = "SELECT CAST(target_detractor_hours AS BIGINT) AS detractor, \
     CAST(target_other_hours AS BIGINT) AS other, acknowledge_since_ms FROM sites WHERE id = $1";

/// Bind the site, both targets, whether to acknowledge and now.
const UPDATE_CASE_SETTINGS: &str = "UPDATE sites SET target_detractor_hours = $2, \
     target_other_hours = $3, \
     acknowledge_since_ms = CASE WHEN $4 THEN COALESCE(acknowledge_since_ms, $5) END \
     WHERE id = $1";

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

#[async_trait]
impl InboxStore for Db {
    async fn inbox(&self, site: &SiteId, limit: u32) -> Result<Vec<InboxItem>, StoreError> {
        let query = Query::new(SELECT_INBOX.as_str())
            .bind(site.as_str())
            .bind(limit);
        self.fetch_all(query).await?.iter().map(case_of).collect()
    }

    async fn case(
        &self,
        site: &SiteId,
        response: &ResponseId,
    ) -> Result<Option<InboxItem>, StoreError> {
        let query = Query::new([SELECT_CASES.as_str(), " AND r.id = $2"].concat())
            .bind(site.as_str())
            .bind(response.to_string());
        self.fetch_optional(query)
            .await?
            .map(|row| case_of(&row))
            .transpose()
    }

    async fn case_settings(&self, site: &SiteId) -> Result<Option<CaseSettings>, StoreError> {
        let query = Query::new(SELECT_CASE_SETTINGS).bind(site.as_str());
        let Some(row) = self.fetch_optional(query).await? else {
            return Ok(None);
        };
        let since: Option<i64> = row.get("acknowledge_since_ms")?;
        Ok(Some(CaseSettings {
            detractor_hours: row.narrow("detractor")?,
            other_hours: row.narrow("other")?,
            acknowledge: since.is_some(),
        }))
    }

    async fn set_case_settings(
        &self,
        site: &SiteId,
        settings: CaseSettings,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let query = Query::new(UPDATE_CASE_SETTINGS)
            .bind(site.as_str())
            .bind(settings.detractor_hours)
            .bind(settings.other_hours)
            .bind(settings.acknowledge)
            .bind(now_ms);
        self.execute(query).await.map(|_| ())
    }

    async fn follow_up(
        &self,
        site: &SiteId,
        response: &ResponseId,
        status: FollowUpStatus,
        notes: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let contacted = (status != FollowUpStatus::New).then_some(now_ms);
        let resolved = (status == FollowUpStatus::Resolved).then_some(now_ms);
        let query = Query::new(UPSERT_FOLLOW_UP)
            .bind(response.to_string())
            .bind(site.as_str())
            .bind(status.as_str())
            .bind(notes)
            .bind(contacted)
            .bind(resolved)
            .bind(now_ms);
        Ok(self.execute(query).await? > 0)
    }
}

fn case_of(row: &Row) -> Result<InboxItem, StoreError> {
    Ok(InboxItem {
        response_id: row.get("id")?,
        score: row.narrow("score")?,
        comment: row.get("comment")?,
        email: row.get("email")?,
        page_path: row.get("page_path")?,
        lang: row.get("lang")?,
        created_at_ms: row.get("created_at_ms")?,
        status: row.parsed("status", FollowUpStatus::parse)?,
        notes: row.get("notes")?,
        contacted_at_ms: row.get("contacted_at_ms")?,
        resolved_at_ms: row.get("resolved_at_ms")?,
        due_at_ms: row.get("due_at_ms")?,
    })
}
