//! Webhooks, their deliveries and attempts in the database.

use std::collections::HashMap;

use async_trait::async_trait;

use super::{
    AnnouncedResponse, Attempt, AttemptOutcome, Delivery, DeliveryStatus, DueDelivery,
    SettledResponse, Webhook, WebhookEvent, WebhookFormat, MAX_PER_SITE, MAX_RESENDS,
};
use crate::accounts::random_hex;
use crate::db::{Db, Query, Row, StoreError};
use crate::domain::SiteId;

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Adds a webhook, unless its site has [`MAX_PER_SITE`] already (`false`).
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
    /// Records a delivery of `event` about one response for every webhook of its site that
    /// asked for it; a webhook told about it before is not told again.
    async fn announce(
        &self,
        site: &SiteId,
        response_id: &str,
        event: WebhookEvent,
        attempts: u32,
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
    /// (1 + [`MAX_RESENDS`]) attempts already.
    async fn resend_delivery(
        &self,
        site: &SiteId,
        delivery_id: &str,
        attempts: u32,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
}

/// Adds a webhook unless its site has `$9` already.
const INSERT_WEBHOOK: &str = "INSERT INTO webhooks (id, site_id, url, secret, events, format, \
     scanned_until_ms, created_at_ms) SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
     WHERE (SELECT COUNT(*) FROM webhooks WHERE site_id = $2) < $9";

/// A webhook's columns, every integer as BIGINT so both backends decode them alike.
const SELECT_WEBHOOKS: &str =
    "SELECT id, site_id, url, secret, events, format, scanned_until_ms FROM webhooks";

/// Responses of a site whose last answer came in `($2, $3]`. A response first answered over a
/// day before its latest answer is left out, so the scan stays on the (site, created) index.
const SELECT_SETTLED: &str =
    "SELECT id, CAST(score AS BIGINT) AS score, COALESCE(contact_consent, FALSE) AS contact_consent \
     FROM responses WHERE site_id = $1 AND created_at_ms > $2 - 86400000 \
     AND updated_at_ms > $2 AND updated_at_ms <= $3 ORDER BY updated_at_ms, id";

/// Records one event of one response, unless it is recorded already or the response or webhook
/// has gone meanwhile: bind a new id, the webhook, the response, the event, attempts and now.
const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, \
     response_id, event, status, attempts, attempts_left, next_attempt_at_ms, created_at_ms) \
     SELECT $1, w.id, r.id, $4, 'pending', 0, $5, $6, $6 FROM webhooks w \
     JOIN responses r ON r.id = $3 AND r.site_id = w.site_id WHERE w.id = $2 \
     ON CONFLICT (webhook_id, response_id, event) DO NOTHING";

/// Moves a webhook's scan forward, never back (several servers may scan one database).
const ADVANCE_SCAN: &str = "UPDATE webhooks SET scanned_until_ms = $2 \
     WHERE id = $1 AND scanned_until_ms < $2";

/// Takes up to `$3` due deliveries by pushing their next attempt to `$2`, so another server's
/// dispatcher (or this one's next tick) leaves them alone while they are sent. The outer
/// condition is evaluated again on each locked row in PostgreSQL, so two servers never take
/// the same delivery.
const CLAIM_DUE: &str = "UPDATE webhook_deliveries SET next_attempt_at_ms = $2 \
     WHERE status = 'pending' AND next_attempt_at_ms <= $1 AND id IN (SELECT id \
     FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
     ORDER BY next_attempt_at_ms LIMIT $3) RETURNING id";

/// Everything a claimed delivery needs to be sent.
const SELECT_DUE: &str = "SELECT d.id, d.event, CAST(d.attempts AS BIGINT) AS attempts, \
     CAST(d.attempts_left AS BIGINT) AS attempts_left, w.url, w.secret, w.format, \
     s.id AS site_id, s.name AS site_name, r.id AS response_id, \
     CAST(r.score AS BIGINT) AS score, r.comment, COALESCE(r.contact_consent, FALSE) AS contact_consent, \
     r.email, r.page_path, r.lang, r.device_class, r.created_at_ms \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     JOIN sites s ON s.id = w.site_id JOIN responses r ON r.id = d.response_id WHERE d.id = $1";

/// Logs an attempt: bind the delivery, its number, time, status code and error.
const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts \
     (delivery_id, attempt, at_ms, status_code, error) VALUES ($1, $2, $3, $4, $5)";

/// Where a delivery stands after an attempt: bind it, status, attempts left and next time.
const UPDATE_DELIVERY: &str = "UPDATE webhook_deliveries SET \
     attempts = attempts + 1, status = $2, attempts_left = $3, next_attempt_at_ms = $4 \
     WHERE id = $1";

/// A site's newest deliveries: bind the site and a limit.
const SELECT_DELIVERIES: &str = "SELECT d.id, w.url, d.event, d.response_id, \
     d.status, d.next_attempt_at_ms, d.created_at_ms FROM webhook_deliveries d \
     JOIN webhooks w ON w.id = d.webhook_id WHERE w.site_id = $1 \
     ORDER BY d.created_at_ms DESC, d.id LIMIT $2";

/// The attempts of the deliveries [`SELECT_DELIVERIES`] lists, with the same bindings.
const SELECT_ATTEMPTS: &str = "SELECT a.delivery_id, CAST(a.attempt AS BIGINT) AS attempt, \
     a.at_ms, CAST(a.status_code AS BIGINT) AS status_code, a.error FROM webhook_attempts a \
     WHERE a.delivery_id IN (SELECT d.id FROM webhook_deliveries d \
     JOIN webhooks w ON w.id = d.webhook_id WHERE w.site_id = $1 \
     ORDER BY d.created_at_ms DESC, d.id LIMIT $2) ORDER BY a.delivery_id, a.attempt";

/// Queues a site's delivery again with a fresh allowance: bind it, the site, attempts and now.
const RESEND: &str = "UPDATE webhook_deliveries SET status = 'pending', \
     attempts_left = $3, next_attempt_at_ms = $4 WHERE id = $1 \
     AND webhook_id IN (SELECT id FROM webhooks WHERE site_id = $2) \
     AND status <> 'pending' \
     AND (SELECT COUNT(*) FROM webhook_attempts a WHERE a.delivery_id = $1) < $5";

#[async_trait]
impl WebhookStore for Db {
    async fn create_webhook(&self, webhook: &Webhook, now_ms: i64) -> Result<bool, StoreError> {
        let query = Query::new(INSERT_WEBHOOK)
            .bind(&webhook.id)
            .bind(webhook.site_id.as_str())
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(webhook.events_column())
            .bind(webhook.format.as_str())
            .bind(webhook.scanned_until_ms)
            .bind(now_ms)
            .bind(i64::try_from(MAX_PER_SITE).unwrap_or(i64::MAX));
        Ok(self.execute(query).await? > 0)
    }

    async fn webhooks(&self, site: Option<&SiteId>) -> Result<Vec<Webhook>, StoreError> {
        let query = match site {
            Some(site) => Query::new(
                [
                    SELECT_WEBHOOKS,
                    " WHERE site_id = $1 ORDER BY created_at_ms, id",
                ]
                .concat(),
            )
            .bind(site.as_str()),
            None => Query::new([SELECT_WEBHOOKS, " ORDER BY id"].concat()),
        };
        self.fetch_all(query)
            .await?
            .iter()
            .map(webhook_of)
            .collect()
    }

    async fn delete_webhook(&self, site: &SiteId, id: &str) -> Result<bool, StoreError> {
        let query = Query::new("DELETE FROM webhooks WHERE id = $1 AND site_id = $2")
            .bind(id)
            .bind(site.as_str());
        Ok(self.execute(query).await? > 0)
    }

    async fn settled_responses(
        &self,
        site: &SiteId,
        after_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<SettledResponse>, StoreError> {
        let query = Query::new(SELECT_SETTLED)
            .bind(site.as_str())
            .bind(after_ms)
            .bind(until_ms);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                Ok(SettledResponse {
                    id: row.get("id")?,
                    score: row.narrow("score")?,
                    contact_consent: row.get("contact_consent")?,
                })
            })
            .collect()
    }

    async fn announce(
        &self,
        site: &SiteId,
        response_id: &str,
        event: WebhookEvent,
        attempts: u32,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        for webhook in self.webhooks(Some(site)).await? {
            if webhook.events.contains(&event) {
                let query = Query::new(INSERT_DELIVERY)
                    .bind(random_hex::<16>())
                    .bind(webhook.id.as_str())
                    .bind(response_id)
                    .bind(event.as_str())
                    .bind(attempts)
                    .bind(now_ms);
                self.execute(query).await?;
            }
        }
        Ok(())
    }

    async fn record_events(
        &self,
        webhook_id: &str,
        events: &[(String, WebhookEvent)],
        attempts: u32,
        scanned_until_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin().await?;
        for (response_id, event) in events {
            let query = Query::new(INSERT_DELIVERY)
                .bind(random_hex::<16>())
                .bind(webhook_id)
                .bind(response_id.as_str())
                .bind(event.as_str())
                .bind(attempts)
                .bind(now_ms);
            transaction.execute(query).await?;
        }
        let advance = Query::new(ADVANCE_SCAN)
            .bind(webhook_id)
            .bind(scanned_until_ms);
        transaction.execute(advance).await?;
        transaction.commit().await
    }

    async fn claim_due_deliveries(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let claim = Query::new(CLAIM_DUE)
            .bind(now_ms)
            .bind(lease_until_ms)
            .bind(limit);
        let claimed = self.fetch_all(claim).await?;
        let mut due = Vec::with_capacity(claimed.len());
        for id in claimed {
            let id: String = id.get("id")?;
            if let Some(row) = self.fetch_optional(Query::new(SELECT_DUE).bind(id)).await? {
                due.push(due_delivery_of(&row)?);
            }
        }
        Ok(due)
    }

    async fn record_attempt(&self, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        let mut transaction = self.begin().await?;
        let attempt = Query::new(INSERT_ATTEMPT)
            .bind(&outcome.delivery_id)
            .bind(outcome.attempt.number)
            .bind(outcome.attempt.at_ms)
            .bind(outcome.attempt.status_code.map(i64::from))
            .bind(outcome.attempt.error.as_deref());
        transaction.execute(attempt).await?;
        let delivery = Query::new(UPDATE_DELIVERY)
            .bind(&outcome.delivery_id)
            .bind(outcome.status.as_str())
            .bind(outcome.attempts_left)
            .bind(outcome.next_attempt_at_ms);
        transaction.execute(delivery).await?;
        transaction.commit().await
    }

    async fn deliveries(&self, site: &SiteId, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let mut attempts: HashMap<String, Vec<Attempt>> = HashMap::new();
        let query = Query::new(SELECT_ATTEMPTS).bind(site.as_str()).bind(limit);
        for row in self.fetch_all(query).await? {
            attempts
                .entry(row.get("delivery_id")?)
                .or_default()
                .push(Attempt {
                    number: row.narrow("attempt")?,
                    at_ms: row.get("at_ms")?,
                    status_code: row.narrow_opt("status_code")?,
                    error: row.get("error")?,
                });
        }
        let query = Query::new(SELECT_DELIVERIES)
            .bind(site.as_str())
            .bind(limit);
        self.fetch_all(query)
            .await?
            .iter()
            .map(|row| {
                let id: String = row.get("id")?;
                Ok(Delivery {
                    url: row.get("url")?,
                    event: row.parsed("event", WebhookEvent::parse)?,
                    response_id: row.get("response_id")?,
                    status: row.parsed("status", DeliveryStatus::parse)?,
                    next_attempt_at_ms: row.get("next_attempt_at_ms")?,
                    created_at_ms: row.get("created_at_ms")?,
                    attempts: attempts.remove(&id).unwrap_or_default(),
                    id,
                })
            })
            .collect()
    }

    async fn resend_delivery(
        &self,
        site: &SiteId,
        delivery_id: &str,
        attempts: u32,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let query = Query::new(RESEND)
            .bind(delivery_id)
            .bind(site.as_str())
            .bind(attempts)
            .bind(now_ms)
            .bind(i64::from(attempts) * i64::from(1 + MAX_RESENDS));
        Ok(self.execute(query).await? > 0)
    }
}

fn webhook_of(row: &Row) -> Result<Webhook, StoreError> {
    Ok(Webhook {
        id: row.get("id")?,
        site_id: row.parsed("site_id", |s| SiteId::parse(s).ok())?,
        url: row.get("url")?,
        secret: row.get("secret")?,
        events: Webhook::parse_events(&row.get::<String>("events")?),
        format: row.parsed("format", WebhookFormat::parse)?,
        scanned_until_ms: row.get("scanned_until_ms")?,
    })
}

fn due_delivery_of(row: &Row) -> Result<DueDelivery, StoreError> {
    Ok(DueDelivery {
        id: row.get("id")?,
        event: row.parsed("event", WebhookEvent::parse)?,
        attempts: row.narrow("attempts")?,
        attempts_left: row.narrow("attempts_left")?,
        url: row.get("url")?,
        secret: row.get("secret")?,
        format: row.parsed("format", WebhookFormat::parse)?,
        site_id: row.get("site_id")?,
        site_name: row.get("site_name")?,
        response: AnnouncedResponse {
            id: row.get("response_id")?,
            score: row.narrow("score")?,
            comment: row.get("comment")?,
            contact_consent: row.get("contact_consent")?,
            email: row.get("email")?,
            page_path: row.get("page_path")?,
            lang: row.get("lang")?,
            device: row.get("device_class")?,
            created_at_ms: row.get("created_at_ms")?,
        },
    })
}
