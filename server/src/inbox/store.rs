//! The inbox's cases and their follow-ups in the database.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::{FollowUpStatus, InboxItem};
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

/// The cases of a site: bind the site; append a WHERE condition or an order.
const SELECT_CASES: &str = "SELECT r.id, CAST(r.score AS BIGINT) AS score, r.comment, r.email, \
     r.page_path, r.lang, r.created_at_ms, COALESCE(f.status, 'new') AS status, \
     COALESCE(f.notes, '') AS notes, f.contacted_at_ms, f.resolved_at_ms \
     FROM responses r LEFT JOIN follow_ups f ON f.response_id = r.id \
     WHERE r.site_id = $1 AND r.contact_consent";

/// A site's responses with contact consent and their follow-ups: bind the site and a limit.
static SELECT_INBOX: LazyLock<String> = LazyLock::new(|| {
    [
        SELECT_CASES,
        " ORDER BY CASE WHEN f.status = 'resolved' THEN 1 ELSE 0 END, ",
        &category_sql("r.score"),
        ", r.created_at_ms DESC LIMIT $2",
    ]
    .concat()
});

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
        let query = Query::new([SELECT_CASES, " AND r.id = $2"].concat())
            .bind(site.as_str())
            .bind(response.to_string());
        self.fetch_optional(query)
            .await?
            .map(|row| case_of(&row))
            .transpose()
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
    let status: String = row.get("status")?;
    Ok(InboxItem {
        response_id: row.get("id")?,
        score: row.narrow("score")?,
        comment: row.get("comment")?,
        email: row.get("email")?,
        page_path: row.get("page_path")?,
        lang: row.get("lang")?,
        created_at_ms: row.get("created_at_ms")?,
        status: FollowUpStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("follow-up status {status}")))?,
        notes: row.get("notes")?,
        contacted_at_ms: row.get("contacted_at_ms")?,
        resolved_at_ms: row.get("resolved_at_ms")?,
    })
}
