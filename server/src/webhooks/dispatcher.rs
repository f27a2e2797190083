//! The background task that turns settled responses into deliveries and sends those due.
//!
//! Everything it knows is in the database, so it picks up where it left off after a restart,
//! and several servers on one PostgreSQL database share the work: each event is recorded once
//! (a unique key) and each due delivery is taken by one server (a lease, see
//! `Store::claim_due_deliveries`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use tokio::task::JoinSet;

use super::payload::{self, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use super::receiver::{refuse_internal_host, PrivateAddress, PublicOnly};
use super::WebhookStore;
use super::{Attempt, AttemptOutcome, DeliveryStatus, DueDelivery, WebhookOptions};
use crate::clock;
use crate::db::StoreError;

/// Webhook delivery attempts, labelled by `outcome` (`delivered`, `retrying`, `failed`).
pub const WEBHOOK_ATTEMPTS: &str = "soovita_webhook_attempts_total";
/// Deliveries taken per claim; sent side by side.
const CLAIM_LIMIT: u32 = 16;

/// Runs forever: every tick, scans for events and sends what is due.
pub async fn run(store: Arc<dyn WebhookStore>, options: WebhookOptions) {
    let client = match client(&options) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks are off: the HTTP client could not be built");
            return;
        }
    };
    let wall_clock: Clock = Arc::new(clock::now_ms);
    let mut ticks = tokio::time::interval(options.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match scan(store.as_ref(), &options, clock::now_ms()).await {
            // Deliveries go with their webhook, so without one there is nothing to send, and
            // no claim needs SQLite's write lock.
            Ok(0) => continue,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "looking for webhook events failed; retrying next tick")
            }
        }
        if let Err(error) = send_due(store.as_ref(), &client, &options, &wall_clock).await {
            tracing::warn!(%error, "sending webhooks failed; retrying next tick");
        }
    }
}

/// The client deliveries go out with. Redirects are not followed: a receiver that moved must
/// be updated by the owner, not silently sent elsewhere with the payload.
pub fn client(options: &WebhookOptions) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Soovita-Webhooks/", env!("CARGO_PKG_VERSION")));
    if options.allow_private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// Records a delivery for every event of every response that settled since each webhook was
/// last scanned: quiet for [`WebhookOptions::settle`] by `now_ms`. Returns how many webhooks
/// there are.
pub async fn scan(
    store: &dyn WebhookStore,
    options: &WebhookOptions,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let until_ms = now_ms - millis(options.settle);
    let webhooks = store.webhooks(None).await?;
    for webhook in &webhooks {
        if until_ms <= webhook.scanned_until_ms {
            continue;
        }
        let settled = store
            .settled_responses(&webhook.site_id, webhook.scanned_until_ms, until_ms)
            .await?;
        // Nothing settled: the scan may stay where it is (the next one covers the same
        // stretch), which spares a write every tick on a quiet site.
        if settled.is_empty() {
            continue;
        }
        let events: Vec<_> = settled
            .iter()
            .flat_map(|response| {
                webhook
                    .events
                    .iter()
                    .filter(|event| event.happened(response.score, response.contact_consent))
                    .map(|event| (response.id.clone(), *event))
            })
            .collect();
        store
            .record_events(&webhook.id, &events, options.attempts, until_ms, now_ms)
            .await?;
    }
    Ok(webhooks.len())
}

/// What time it is, in Unix milliseconds: [`clock::now_ms`], or a test's.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Sends every delivery due by `now()`, [`CLAIM_LIMIT`] at a time, and logs each attempt.
/// The clock is a parameter so that tests can send what is due at a time of their choosing.
pub async fn send_due(
    store: &dyn WebhookStore,
    client: &reqwest::Client,
    options: &WebhookOptions,
    now: &Clock,
) -> Result<(), StoreError> {
    loop {
        let now_ms = now();
        // Long enough for the attempts in flight to finish and be recorded.
        let lease_until_ms = now_ms + 2 * millis(options.timeout) + 30_000;
        let due = store
            .claim_due_deliveries(now_ms, lease_until_ms, CLAIM_LIMIT)
            .await?;
        let claimed = due.len();
        let mut sending = JoinSet::new();
        for delivery in due {
            sending.spawn(attempt(
                client.clone(),
                delivery,
                options.clone(),
                now.clone(),
            ));
        }
        while let Some(outcome) = sending.join_next().await {
            if let Ok(outcome) = outcome {
                store.record_attempt(&outcome).await?;
            }
        }
        if claimed < CLAIM_LIMIT as usize {
            return Ok(());
        }
    }
}

/// Posts one delivery and says where it stands after: the attempt is logged, and the next one
/// timed, from when the answer came.
async fn attempt(
    client: reqwest::Client,
    delivery: DueDelivery,
    options: WebhookOptions,
    now: Clock,
) -> AttemptOutcome {
    let body = payload::body(&delivery);
    let signature = payload::signature(&delivery.secret, now() / 1000, &body);
    // The resolver checks names; an address written into the URL never reaches it. A webhook
    // saved while internal receivers were allowed is refused once they no longer are.
    let internal = match url::Url::parse(&delivery.url) {
        Ok(url) if !options.allow_private => refuse_internal_host(&url).err(),
        _ => None,
    };
    let sent = match internal {
        Some(refused) => Err(refused.to_string()),
        None => client
            .post(&delivery.url)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, &delivery.id)
            .header(EVENT_HEADER, delivery.event.as_str())
            .body(body)
            .send()
            .await
            .map_err(|error| why(&error)),
    };
    let at_ms = now();
    let (status_code, error) = match sent {
        Ok(answer) => (Some(answer.status().as_u16()), None),
        Err(error) => (None, Some(error)),
    };
    let delivered = status_code.is_some_and(|code| (200..300).contains(&code));
    let attempts_left = if delivered {
        delivery.attempts_left
    } else {
        delivery.attempts_left.saturating_sub(1)
    };
    let status = match (delivered, attempts_left) {
        (true, _) => DeliveryStatus::Delivered,
        (false, 0) => DeliveryStatus::Failed,
        (false, _) => DeliveryStatus::Pending,
    };
    let outcome = match status {
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Pending => "retrying",
    };
    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
    let failed_in_allowance = options.attempts.saturating_sub(attempts_left);
    AttemptOutcome {
        attempt: Attempt {
            number: delivery.attempts + 1,
            at_ms,
            status_code,
            error,
        },
        status,
        attempts_left,
        next_attempt_at_ms: at_ms + millis(options.backoff(failed_in_allowance)),
        delivery_id: delivery.id,
    }
}

/// Why no answer came, in words for the delivery log. The URL is left out: a Slack webhook's
/// URL is its password.
fn why(error: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<PrivateAddress>() {
            return refused.to_string();
        }
        source = cause.source();
    }
    if error.is_timeout() {
        "no answer in time".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(url.as_str(), "the webhook URL");
        }
        text
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
