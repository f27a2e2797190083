//! The webhooks' SQL, the same on every backend, and [`webhook_query!`], which runs it on
//! either backend's pool (the column types are the same, so the code is too).

/// A webhook's columns, every integer as BIGINT so both backends decode them alike.
pub(super) const SELECT_WEBHOOKS: &str =
    "SELECT id, site_id, url, secret, events, format, scanned_until_ms FROM webhooks";

/// Responses of a site whose last answer came in `($2, $3]`. A response first answered over a
/// day before its latest answer is left out, so the scan stays on the (site, created) index.
pub(super) const SELECT_SETTLED: &str =
    "SELECT id, CAST(score AS BIGINT) AS score, COALESCE(contact_consent, FALSE) AS contact_consent \
     FROM responses WHERE site_id = $1 AND created_at_ms > $2 - 86400000 \
     AND updated_at_ms > $2 AND updated_at_ms <= $3 ORDER BY updated_at_ms, id";

/// Records one event of one response, unless it is recorded already or the response or webhook
/// has gone meanwhile: bind a new id, the webhook, the response, the event, attempts and now.
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, \
     response_id, event, status, attempts, attempts_left, next_attempt_at_ms, created_at_ms) \
     SELECT $1, w.id, r.id, $4, 'pending', 0, $5, $6, $6 FROM webhooks w \
     JOIN responses r ON r.id = $3 AND r.site_id = w.site_id WHERE w.id = $2 \
     ON CONFLICT (webhook_id, response_id, event) DO NOTHING";

/// Moves a webhook's scan forward, never back (several servers may scan one database).
pub(super) const ADVANCE_SCAN: &str = "UPDATE webhooks SET scanned_until_ms = $2 \
     WHERE id = $1 AND scanned_until_ms < $2";

/// Takes up to `$3` due deliveries by pushing their next attempt to `$2`, so another server's
/// dispatcher (or this one's next tick) leaves them alone while they are sent. The outer
/// condition is evaluated again on each locked row in PostgreSQL, so two servers never take
/// the same delivery.
pub(super) const CLAIM_DUE: &str = "UPDATE webhook_deliveries SET next_attempt_at_ms = $2 \
     WHERE status = 'pending' AND next_attempt_at_ms <= $1 AND id IN (SELECT id \
     FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at_ms <= $1 \
     ORDER BY next_attempt_at_ms LIMIT $3) RETURNING id";

/// Everything a claimed delivery needs to be sent.
pub(super) const SELECT_DUE: &str = "SELECT d.id, d.event, CAST(d.attempts AS BIGINT) AS attempts, \
     CAST(d.attempts_left AS BIGINT) AS attempts_left, w.url, w.secret, w.format, \
     s.id AS site_id, s.name AS site_name, r.id AS response_id, \
     CAST(r.score AS BIGINT) AS score, r.comment, COALESCE(r.contact_consent, FALSE) AS contact_consent, \
     r.email, r.page_path, r.lang, r.device_class, r.created_at_ms \
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     JOIN sites s ON s.id = w.site_id JOIN responses r ON r.id = d.response_id WHERE d.id = $1";

/// Logs an attempt: bind the delivery, its number, time, status code and error.
pub(super) const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts \
     (delivery_id, attempt, at_ms, status_code, error) VALUES ($1, $2, $3, $4, $5)";

/// Where a delivery stands after an attempt: bind it, status, attempts left and next time.
pub(super) const UPDATE_DELIVERY: &str = "UPDATE webhook_deliveries SET \
     attempts = attempts + 1, status = $2, attempts_left = $3, next_attempt_at_ms = $4 \
     WHERE id = $1";

/// A site's newest deliveries: bind the site and a limit.
pub(super) const SELECT_DELIVERIES: &str = "SELECT d.id, w.url, d.event, d.response_id, \
     d.status, d.next_attempt_at_ms, d.created_at_ms FROM webhook_deliveries d \
     JOIN webhooks w ON w.id = d.webhook_id WHERE w.site_id = $1 \
     ORDER BY d.created_at_ms DESC, d.id LIMIT $2";

/// The attempts of the deliveries [`SELECT_DELIVERIES`] lists, with the same bindings.
pub(super) const SELECT_ATTEMPTS: &str =
    "SELECT a.delivery_id, CAST(a.attempt AS BIGINT) AS attempt, \
     a.at_ms, CAST(a.status_code AS BIGINT) AS status_code, a.error FROM webhook_attempts a \
     WHERE a.delivery_id IN (SELECT d.id FROM webhook_deliveries d \
     JOIN webhooks w ON w.id = d.webhook_id WHERE w.site_id = $1 \
     ORDER BY d.created_at_ms DESC, d.id LIMIT $2) ORDER BY a.delivery_id, a.attempt";

/// Queues a site's delivery again with a fresh allowance: bind it, the site, attempts and now.
pub(super) const RESEND: &str = "UPDATE webhook_deliveries SET status = 'pending', \
     attempts_left = $3, next_attempt_at_ms = $4 WHERE id = $1 \
     AND webhook_id IN (SELECT id FROM webhooks WHERE site_id = $2) \
     AND status <> 'pending' \
     AND (SELECT COUNT(*) FROM webhook_attempts a WHERE a.delivery_id = $1) < $5";

/// Runs one webhook operation on `$pool`.
macro_rules! webhook_query {
    (create, $pool:expr, $webhook:expr, $now_ms:expr) => {{
        let inserted = sqlx::query(
            "INSERT INTO webhooks (id, site_id, url, secret, events, format, scanned_until_ms, \
             created_at_ms) SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
             WHERE (SELECT COUNT(*) FROM webhooks WHERE site_id = $2) < $9",
        )
        .bind(&$webhook.id)
        .bind($webhook.site_id.as_str())
        .bind(&$webhook.url)
        .bind(&$webhook.secret)
        .bind($webhook.events_column())
        .bind($webhook.format.as_str())
        .bind($webhook.scanned_until_ms)
        .bind($now_ms)
        .bind(i64::try_from($crate::webhooks::MAX_PER_SITE).unwrap_or(i64::MAX))
        .execute($pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }};
    (list, $pool:expr, $site:expr) => {{
        let rows = match $site {
            Some(site) => {
                sqlx::query(sqlx::AssertSqlSafe(
                    [
                        $crate::store::webhook_queries::SELECT_WEBHOOKS,
                        " WHERE site_id = $1 ORDER BY created_at_ms, id",
                    ]
                    .concat(),
                ))
                .bind(site.as_str())
                .fetch_all($pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(
                    [
                        $crate::store::webhook_queries::SELECT_WEBHOOKS,
                        " ORDER BY id",
                    ]
                    .concat(),
                ))
                .fetch_all($pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let site: String = row.try_get("site_id")?;
                let format: String = row.try_get("format")?;
                let corrupt = |what: String| $crate::store::StoreError::Corrupt(what);
                Ok($crate::webhooks::Webhook {
                    id: row.try_get("id")?,
                    site_id: $crate::domain::SiteId::parse(&site)
                        .map_err(|_| corrupt(format!("site id {site}")))?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    events: $crate::webhooks::Webhook::parse_events(row.try_get("events")?),
                    format: $crate::webhooks::WebhookFormat::parse(&format)
                        .ok_or_else(|| corrupt(format!("webhook format {format}")))?,
                    scanned_until_ms: row.try_get("scanned_until_ms")?,
                })
            })
            .collect()
    }};
    (delete, $pool:expr, $site:expr, $id:expr) => {{
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND site_id = $2")
            .bind($id)
            .bind($site.as_str())
            .execute($pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }};
    (settled, $pool:expr, $site:expr, $after_ms:expr, $until_ms:expr) => {{
        sqlx::query($crate::store::webhook_queries::SELECT_SETTLED)
            .bind($site.as_str())
            .bind($after_ms)
            .bind($until_ms)
            .fetch_all($pool)
            .await?
            .iter()
            .map(|row| {
                let score: i64 = row.try_get("score")?;
                Ok($crate::webhooks::SettledResponse {
                    id: row.try_get("id")?,
                    score: u8::try_from(score).map_err(|_| {
                        $crate::store::StoreError::Corrupt(format!("score {score}"))
                    })?,
                    contact_consent: row.try_get("contact_consent")?,
                })
            })
            .collect()
    }};
    (record_events, $pool:expr, $webhook_id:expr, $events:expr, $attempts:expr, $scanned_until_ms:expr, $now_ms:expr) => {{
        let mut transaction = $pool.begin().await?;
        for (response_id, event) in $events {
            sqlx::query($crate::store::webhook_queries::INSERT_DELIVERY)
                .bind($crate::accounts::random_hex::<16>())
                .bind($webhook_id)
                .bind(response_id.as_str())
                .bind(event.as_str())
                .bind(i64::from($attempts))
                .bind($now_ms)
                .execute(&mut *transaction)
                .await?;
        }
        sqlx::query($crate::store::webhook_queries::ADVANCE_SCAN)
            .bind($webhook_id)
            .bind($scanned_until_ms)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }};
    (claim, $pool:expr, $now_ms:expr, $lease_until_ms:expr, $limit:expr) => {{
        let claimed: Vec<String> = sqlx::query_scalar($crate::store::webhook_queries::CLAIM_DUE)
            .bind($now_ms)
            .bind($lease_until_ms)
            .bind(i64::from($limit))
            .fetch_all($pool)
            .await?;
        let mut due = Vec::with_capacity(claimed.len());
        for id in claimed {
            let Some(row) = sqlx::query($crate::store::webhook_queries::SELECT_DUE)
                .bind(&id)
                .fetch_optional($pool)
                .await?
            else {
                continue;
            };
            let corrupt = |what: String| $crate::store::StoreError::Corrupt(what);
            let event: String = row.try_get("event")?;
            let format: String = row.try_get("format")?;
            let score: i64 = row.try_get("score")?;
            let count = |column: &str| -> Result<u32, $crate::store::StoreError> {
                let value: i64 = row.try_get(column)?;
                u32::try_from(value).map_err(|_| corrupt(format!("{column} {value}")))
            };
            due.push($crate::webhooks::DueDelivery {
                id: row.try_get("id")?,
                event: $crate::webhooks::WebhookEvent::parse(&event)
                    .ok_or_else(|| corrupt(format!("webhook event {event}")))?,
                attempts: count("attempts")?,
                attempts_left: count("attempts_left")?,
                url: row.try_get("url")?,
                secret: row.try_get("secret")?,
                format: $crate::webhooks::WebhookFormat::parse(&format)
                    .ok_or_else(|| corrupt(format!("webhook format {format}")))?,
                site_id: row.try_get("site_id")?,
                site_name: row.try_get("site_name")?,
                response: $crate::webhooks::AnnouncedResponse {
                    id: row.try_get("response_id")?,
                    score: u8::try_from(score).map_err(|_| corrupt(format!("score {score}")))?,
                    comment: row.try_get("comment")?,
                    contact_consent: row.try_get("contact_consent")?,
                    email: row.try_get("email")?,
                    page_path: row.try_get("page_path")?,
                    lang: row.try_get("lang")?,
                    device: row.try_get("device_class")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                },
            });
        }
        Ok(due)
    }};
    (record_attempt, $pool:expr, $outcome:expr) => {{
        let mut transaction = $pool.begin().await?;
        sqlx::query($crate::store::webhook_queries::INSERT_ATTEMPT)
            .bind(&$outcome.delivery_id)
            .bind(i64::from($outcome.attempt.number))
            .bind($outcome.attempt.at_ms)
            .bind($outcome.attempt.status_code.map(i64::from))
            .bind($outcome.attempt.error.as_deref())
            .execute(&mut *transaction)
            .await?;
        sqlx::query($crate::store::webhook_queries::UPDATE_DELIVERY)
            .bind(&$outcome.delivery_id)
            .bind($outcome.status.as_str())
            .bind(i64::from($outcome.attempts_left))
            .bind($outcome.next_attempt_at_ms)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }};
    (deliveries, $pool:expr, $site:expr, $limit:expr) => {{
        let mut attempts: std::collections::HashMap<String, Vec<$crate::webhooks::Attempt>> =
            std::collections::HashMap::new();
        for row in sqlx::query($crate::store::webhook_queries::SELECT_ATTEMPTS)
            .bind($site.as_str())
            .bind(i64::from($limit))
            .fetch_all($pool)
            .await?
        {
            let number: i64 = row.try_get("attempt")?;
            let status_code: Option<i64> = row.try_get("status_code")?;
            attempts
                .entry(row.try_get("delivery_id")?)
                .or_default()
                .push($crate::webhooks::Attempt {
                    number: u32::try_from(number).unwrap_or_default(),
                    at_ms: row.try_get("at_ms")?,
                    status_code: status_code.and_then(|code| u16::try_from(code).ok()),
                    error: row.try_get("error")?,
                });
        }
        sqlx::query($crate::store::webhook_queries::SELECT_DELIVERIES)
            .bind($site.as_str())
            .bind(i64::from($limit))
            .fetch_all($pool)
            .await?
            .iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                let event: String = row.try_get("event")?;
                let status: String = row.try_get("status")?;
                let corrupt = |what: String| $crate::store::StoreError::Corrupt(what);
                Ok($crate::webhooks::Delivery {
                    url: row.try_get("url")?,
                    event: $crate::webhooks::WebhookEvent::parse(&event)
                        .ok_or_else(|| corrupt(format!("webhook event {event}")))?,
                    response_id: row.try_get("response_id")?,
                    status: $crate::webhooks::DeliveryStatus::parse(&status)
                        .ok_or_else(|| corrupt(format!("delivery status {status}")))?,
                    next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
                    created_at_ms: row.try_get("created_at_ms")?,
                    attempts: attempts.remove(&id).unwrap_or_default(),
                    id,
                })
            })
            .collect()
    }};
    (resend, $pool:expr, $site:expr, $delivery_id:expr, $attempts:expr, $now_ms:expr) => {{
        let queued = sqlx::query($crate::store::webhook_queries::RESEND)
            .bind($delivery_id)
            .bind($site.as_str())
            .bind(i64::from($attempts))
            .bind($now_ms)
            .bind(i64::from($attempts) * i64::from(1 + $crate::webhooks::MAX_RESENDS))
            .execute($pool)
            .await?;
        Ok(queued.rows_affected() > 0)
    }};
}
pub(crate) use webhook_query;
