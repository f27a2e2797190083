//! The watch's queries: which cases are due an acknowledgement, which passed their target, and
//! which sites are due a digest. Each claim is a unique key or a conditional update, so two
//! servers never do one step twice.

use std::sync::LazyLock;

use async_trait::async_trait;

use crate::db::{Db, Query, StoreError};
use crate::domain::{ResponseId, SiteId};
use crate::inbox::DUE_AT_SQL;
use crate::inbox::MAX_TARGET_HOURS;

/// A case due an acknowledgement.
#[derive(Debug, Clone)]
pub struct Acknowledgement {
    pub site_id: SiteId,
    pub site_name: String,
    pub response_id: String,
    pub email: String,
    pub lang: Option<String>,
    pub score: u8,
    pub detractor_hours: u16,
    pub other_hours: u16,
    /// The site's first admin, whom the visitor's answer reaches.
    pub reply_to: Option<String>,
}

/// A line of a digest.
#[derive(Debug, Clone)]
pub struct OverdueCase {
    pub site_name: String,
    pub response_id: ResponseId,
    pub score: u8,
    pub comment: Option<String>,
    pub due_at_ms: i64,
}

#[async_trait]
pub trait WatchStore: Send + Sync {
    /// Cases of sites that acknowledge, from when they switched it on and of the last day, with
    /// an address and no acknowledgement queued yet; at most `limit`.
    async fn due_acknowledgements(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Acknowledgement>, StoreError>;
    /// Marks every case that waits for a first contact and whose due time is in
    /// (`since_ms`, `now_ms`] as overdue, once; returns those it marked now.
    async fn flag_overdue(
        &self,
        now_ms: i64,
        since_ms: i64,
    ) -> Result<Vec<(SiteId, String)>, StoreError>;
    /// Sites with overdue cases not yet in a digest, and no digest since `hour_ago_ms`.
    async fn sites_due_a_digest(&self, hour_ago_ms: i64) -> Result<Vec<SiteId>, StoreError>;
    /// Takes the site's digest for this hour; `false` if another server took it.
    async fn claim_digest(
        &self,
        site: &SiteId,
        now_ms: i64,
        hour_ago_ms: i64,
    ) -> Result<bool, StoreError>;
    /// The site's overdue cases not yet in a digest, flagged by `now_ms`, most overdue first.
    async fn undigested_overdue(
        &self,
        site: &SiteId,
        now_ms: i64,
    ) -> Result<Vec<OverdueCase>, StoreError>;
    async fn mark_digested(
        &self,
        site: &SiteId,
        responses: &[ResponseId],
        now_ms: i64,
    ) -> Result<(), StoreError>;
}

/// Bind now, the oldest response time to look at and a limit.
const DUE_ACKNOWLEDGEMENTS: &str = "SELECT r.site_id, s.name, r.id, r.email, r.lang, \
     CAST(r.score AS BIGINT) AS score, CAST(s.target_detractor_hours AS BIGINT) AS detractor, \
     CAST(s.target_other_hours AS BIGINT) AS other, \
     (SELECT o.email FROM memberships m JOIN owners o ON o.id = m.owner_id \
      WHERE m.site_id = s.id AND m.role = 'admin' ORDER BY m.created_at_ms, o.email LIMIT 1) \
      AS reply_to \
     FROM sites s JOIN responses r ON r.site_id = s.id \
     WHERE s.acknowledge_since_ms IS NOT NULL AND r.contact_consent AND r.email IS NOT NULL \
     AND r.created_at_ms >= s.acknowledge_since_ms AND r.created_at_ms >= $2 \
     AND r.created_at_ms <= $1 \
     AND NOT EXISTS (SELECT 1 FROM mails m WHERE m.id = 'ack-' || r.id) \
     ORDER BY r.created_at_ms LIMIT $3";

/// Bind now, the earliest due time to announce, and the earliest response time that can have
/// it (the due time less the longest target), which lets the index on consenting responses
/// bound the scan.
static FLAG_OVERDUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO overdue_cases (response_id, site_id, due_at_ms, flagged_at_ms) \
         SELECT r.id, r.site_id, {due}, $1 FROM responses r JOIN sites s ON s.id = r.site_id \
         LEFT JOIN follow_ups f ON f.response_id = r.id \
         WHERE r.contact_consent AND r.created_at_ms >= $3 AND r.created_at_ms <= $1 \
         AND f.contacted_at_ms IS NULL AND COALESCE(f.status, 'new') <> 'resolved' \
         AND {due} <= $1 AND {due} > $2 \
         AND NOT EXISTS (SELECT 1 FROM overdue_cases o WHERE o.response_id = r.id) \
         ON CONFLICT (response_id) DO NOTHING RETURNING site_id, response_id",
        due = DUE_AT_SQL.as_str()
    )
});

#[async_trait]
impl WatchStore for Db {
    async fn due_acknowledgements(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<Acknowledgement>, StoreError> {
        let query = Query::new(DUE_ACKNOWLEDGEMENTS)
            .bind(now_ms)
            .bind(now_ms - 86_400_000)
            .bind(limit);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(Acknowledgement {
                    site_id: row.parsed("site_id", |s| SiteId::parse(s).ok())?,
                    site_name: row.get("name")?,
                    response_id: row.get("id")?,
                    email: row.get("email")?,
                    lang: row.get("lang")?,
                    score: row.narrow("score")?,
                    detractor_hours: row.narrow("detractor")?,
                    other_hours: row.narrow("other")?,
                    reply_to: row.get("reply_to")?,
                })
            })
            .collect()
    }

    async fn flag_overdue(
        &self,
        now_ms: i64,
        since_ms: i64,
    ) -> Result<Vec<(SiteId, String)>, StoreError> {
        let longest = i64::from(MAX_TARGET_HOURS) * 3_600_000;
        let query = Query::new(FLAG_OVERDUE.as_str())
            .bind(now_ms)
            .bind(since_ms)
            .bind(since_ms - longest);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.parsed("site_id", |s| SiteId::parse(s).ok())?,
                    row.get("response_id")?,
                ))
            })
            .collect()
    }

    async fn sites_due_a_digest(&self, hour_ago_ms: i64) -> Result<Vec<SiteId>, StoreError> {
        let query = Query::new(
            "SELECT s.id FROM sites s WHERE (s.overdue_digest_at_ms IS NULL \
             OR s.overdue_digest_at_ms <= $1) AND EXISTS (SELECT 1 FROM overdue_cases o \
             WHERE o.site_id = s.id AND o.digested_at_ms IS NULL)",
        )
        .bind(hour_ago_ms);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| row.parsed("id", |s| SiteId::parse(s).ok()))
            .collect()
    }

    async fn claim_digest(
        &self,
        site: &SiteId,
        now_ms: i64,
        hour_ago_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = Query::new(
            "UPDATE sites SET overdue_digest_at_ms = $2 WHERE id = $1 \
             AND (overdue_digest_at_ms IS NULL OR overdue_digest_at_ms <= $3)",
        )
        .bind(site.as_str())
        .bind(now_ms)
        .bind(hour_ago_ms);
        Ok(self.execute(query).await? > 0)
    }

    async fn undigested_overdue(
        &self,
        site: &SiteId,
        now_ms: i64,
    ) -> Result<Vec<OverdueCase>, StoreError> {
        let query = Query::new(
            "SELECT s.name, o.response_id, CAST(r.score AS BIGINT) AS score, r.comment, \
             o.due_at_ms FROM overdue_cases o JOIN responses r ON r.id = o.response_id \
             JOIN sites s ON s.id = o.site_id \
             WHERE o.site_id = $1 AND o.digested_at_ms IS NULL AND o.flagged_at_ms <= $2 \
             ORDER BY o.due_at_ms, o.response_id",
        )
        .bind(site.as_str())
        .bind(now_ms);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(OverdueCase {
                    site_name: row.get("name")?,
                    response_id: row.parsed("response_id", |s| ResponseId::parse(s).ok())?,
                    score: row.narrow("score")?,
                    comment: row.get("comment")?,
                    due_at_ms: row.get("due_at_ms")?,
                })
            })
            .collect()
    }

    async fn mark_digested(
        &self,
        site: &SiteId,
        responses: &[ResponseId],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin().await?;
        for response in responses {
            let query = Query::new(
                "UPDATE overdue_cases SET digested_at_ms = $3 \
                 WHERE site_id = $1 AND response_id = $2",
            )
            .bind(site.as_str())
            .bind(response.to_string())
            .bind(now_ms);
            transaction.execute(query).await?;
        }
        transaction.commit().await
    }
}
