//! The background task that sends queued mail: every tick it claims due messages with a lease
//! (so two servers on one database never send one twice) and hands each to the SMTP server. A
//! temporary failure (4xx, a refused or timed-out connection) is tried again with growing
//! waits; a permanent one (5xx) is kept with the server's words for the owner to read.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, MessageId};
use lettre::message::Mailbox;
use lettre::{AsyncTransport, Message};

use super::{DueMail, MailOptions, MailStatus, MailStore};
use crate::clock;
use crate::db::StoreError;

/// Messages taken per claim.
const CLAIM_LIMIT: u32 = 16;

/// How long a claimed message is left to this server before another may take it.
const LEASE: Duration = Duration::from_secs(5 * 60);

pub async fn run(store: Arc<dyn MailStore>, options: MailOptions) {
    let transport = match options.transport() {
        Ok(transport) => transport,
        Err(error) => {
            let error = crate::db::redact_password(&error.to_string());
            tracing::error!(%error, "mail is off: the SMTP transport could not be built");
            return;
        }
    };
    let mut ticks = tokio::time::interval(options.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = send_due(store.as_ref(), &transport, &options).await {
            tracing::warn!(%error, "sending mail failed; retrying next tick");
        }
    }
}

async fn send_due(
    store: &dyn MailStore,
    transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    options: &MailOptions,
) -> Result<(), StoreError> {
    let now_ms = clock::now_ms();
    let lease_until = now_ms + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
    for mail in store
        .claim_due_mail(now_ms, lease_until, CLAIM_LIMIT)
        .await?
    {
        let outcome = send(transport, options, &mail).await;
        let now_ms = clock::now_ms();
        let (status, error, next) = match outcome {
            Ok(()) => (MailStatus::Sent, None, now_ms),
            Err(Failure::Permanent(reason)) => (MailStatus::Failed, Some(reason), now_ms),
            Err(Failure::Temporary(reason)) if mail.attempts + 1 >= options.attempts => (
                MailStatus::Failed,
                Some(format!(
                    "gave up after {} attempts: {reason}",
                    mail.attempts + 1
                )),
                now_ms,
            ),
            Err(Failure::Temporary(reason)) => {
                let wait = options.first_retry * 2u32.saturating_pow(mail.attempts);
                let next = now_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                (MailStatus::Retrying, Some(reason), next)
            }
        };
        metrics::counter!(SENT, "outcome" => status.as_str()).increment(1);
        store
            .record_mail(&mail.id, status, error.as_deref(), next, now_ms)
            .await?;
    }
    Ok(())
}

/// Mail sent, labelled by `outcome` (`sent`, `retrying`, `failed`).
pub const SENT: &str = "soovita_mail_attempts_total";

enum Failure {
    Permanent(String),
    Temporary(String),
}

async fn send(
    transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    options: &MailOptions,
    mail: &DueMail,
) -> Result<(), Failure> {
    // Addresses were checked when queued; one that no longer parses is refused for good.
    let address = |raw: &str| {
        raw.parse::<Mailbox>()
            .map_err(|_| Failure::Permanent(format!("{raw:?} is not an address")))
    };
    let message = Message::builder()
        .from(options.from.clone())
        .reply_to(address(&mail.sender_email)?)
        .to(address(&mail.to_email)?)
        .subject(mail.subject.as_str())
        .header(MessageId::from(mail.message_id.clone()))
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|error| Failure::Permanent(error.to_string()))?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_permanent() => Err(Failure::Permanent(error.to_string())),
        Err(error) => Err(Failure::Temporary(error.to_string())),
    }
}
