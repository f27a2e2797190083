//! Webhooks: a site's new responses announced to a URL of the owner's (a help desk, Slack, a
//! script), so an unhappy customer is followed up within minutes rather than at the next look at
//! the console.
//!
//! Delivery is at least once and survives restarts: [`dispatcher`] looks at responses that have
//! settled, records one delivery per event in the database, and sends due deliveries, retrying
//! with exponential backoff. Receivers tell a repeat by the `Soovita-Delivery` header.

pub mod dispatcher;
pub mod payload;
pub mod receiver;
mod store;

pub use store::WebhookStore;

use std::time::Duration;

use soovita_wire::Category;
use thiserror::Error;

use crate::accounts::random_hex;
use crate::domain::SiteId;

/// The most webhooks one site may have.
pub const MAX_PER_SITE: usize = 10;

/// The longest URL a webhook may have.
const MAX_URL_CHARS: usize = 2_000;

/// What a webhook can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    /// A response scored 0–6.
    NewDetractor,
    /// The visitor agreed to be contacted and left an address.
    ContactRequested,
    /// Every response.
    Response,
    /// A case passed its site's target time without a first contact (announced once, by the
    /// watch over open cases rather than when the response settles).
    CaseOverdue,
}

impl WebhookEvent {
    /// Every event, in the order the console lists them.
    pub const ALL: [Self; 4] = [
        Self::NewDetractor,
        Self::ContactRequested,
        Self::Response,
        Self::CaseOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewDetractor => "new_detractor",
            Self::ContactRequested => "contact_requested",
            Self::Response => "response",
            Self::CaseOverdue => "case.overdue",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }

    /// How the console describes it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NewDetractor => "a new detractor (0–6)",
            Self::ContactRequested => "a visitor asks to be contacted",
            Self::Response => "every response",
            Self::CaseOverdue => "a case passes its target time without a first contact",
        }
    }

    /// Whether a settled response with this score and consent is an occasion of the event.
    pub fn happened(self, score: u8, contact_consent: bool) -> bool {
        match self {
            Self::NewDetractor => Category::from_score(score) == Category::Detractor,
            Self::ContactRequested => contact_consent,
            Self::Response => true,
            Self::CaseOverdue => false,
        }
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Soovita's own JSON ([`payload::Announcement`]).
    Json,
    /// `{"text": …}`, which Slack's (and Mattermost's, and Discord's `/slack`) incoming
    /// webhooks post as a message.
    Slack,
}

impl WebhookFormat {
    pub const ALL: [Self; 2] = [Self::Json, Self::Slack];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Random, 32 hex digits.
    pub id: String,
    /// The site whose responses it announces.
    pub site_id: SiteId,
    /// Where deliveries are posted.
    pub url: String,
    /// The HMAC-SHA256 key deliveries are signed with; shown to the site's owners.
    pub secret: String,
    /// What it is told about; never empty.
    pub events: Vec<WebhookEvent>,
    pub format: WebhookFormat,
    /// Responses that settled up to this time have been looked at.
    pub scanned_until_ms: i64,
}

/// Re-sends a delivery may have: each brings a full allowance of attempts, so without a limit
/// the re-send button would make the server post to a receiver as often as anyone clicks.
pub const MAX_RESENDS: u32 = 5;

/// Why a webhook cannot be added.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InvalidWebhook {
    #[error("the webhook URL must be an absolute http:// or https:// URL, not {0:?}")]
    Url(String),
    /// Over [`MAX_URL_CHARS`].
    #[error("the webhook URL is {0} characters; at most 2000 are allowed")]
    UrlTooLong(usize),
    #[error(
        "choose at least one event of new_detractor, contact_requested, response, case.overdue"
    )]
    Events,
    /// An unknown format.
    #[error("the format is json or slack, not {0:?}")]
    Format(String),
    #[error("a site can have at most 10 webhooks; delete one first")]
    TooMany,
    /// A user name or password in the URL, which the delivery log and console would show.
    #[error("the webhook URL must not carry a user name or password; the signature header proves a delivery is ours")]
    Credentials,
    #[error("the webhook URL's host is {0}")]
    Internal(receiver::PrivateAddress),
}

impl Webhook {
    /// A new webhook with a fresh secret, announcing responses that settle from `now_ms` on;
    /// an internal receiver only if `allow_private` (see [`receiver`]).
    pub fn new(
        site_id: SiteId,
        url: &str,
        events: &[String],
        format: &str,
        now_ms: i64,
        allow_private: bool,
    ) -> Result<Self, InvalidWebhook> {
        let chars = url.chars().count();
        if chars > MAX_URL_CHARS {
            return Err(InvalidWebhook::UrlTooLong(chars));
        }
        let url = url.trim();
        let parsed = url::Url::parse(url).map_err(|_| InvalidWebhook::Url(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(InvalidWebhook::Url(url.to_owned()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(InvalidWebhook::Credentials);
        }
        if !allow_private {
            receiver::refuse_internal_host(&parsed).map_err(InvalidWebhook::Internal)?;
        }
        let mut chosen: Vec<WebhookEvent> = Vec::new();
        for name in events {
            let event = WebhookEvent::parse(name).ok_or(InvalidWebhook::Events)?;
            if !chosen.contains(&event) {
                chosen.push(event);
            }
        }
        if chosen.is_empty() {
            return Err(InvalidWebhook::Events);
        }
        Ok(Self {
            id: random_hex::<16>(),
            site_id,
            url: parsed.to_string(),
            secret: random_hex::<32>(),
            events: chosen,
            format: WebhookFormat::parse(format)
                .ok_or_else(|| InvalidWebhook::Format(format.to_owned()))?,
            scanned_until_ms: now_ms,
        })
    }

    /// The events as stored: comma-separated names.
    pub fn events_column(&self) -> String {
        self.events
            .iter()
            .map(|event| event.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The events of a stored column; unknown names (from a newer version) are left out.
    pub fn parse_events(column: &str) -> Vec<WebhookEvent> {
        column.split(',').filter_map(WebhookEvent::parse).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed; a re-send from the console tries again.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// One attempt to deliver, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt, counting on across re-sends.
    pub number: u32,
    pub at_ms: i64,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// Why there was no answer (timeout, refused connection), if there was none.
    pub error: Option<String>,
}

/// One event of one response for one webhook, with its attempts: a line of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Random, 32 hex digits; sent as `Soovita-Delivery`.
    pub id: String,
    pub url: String,
    pub event: WebhookEvent,
    pub response_id: String,
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending.
    pub next_attempt_at_ms: i64,
    /// When the event was recorded.
    pub created_at_ms: i64,
    /// Every attempt, first first.
    pub attempts: Vec<Attempt>,
}

/// A delivery whose attempt is due, with all that goes into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: String,
    pub event: WebhookEvent,
    /// Attempts made so far, over every allowance.
    pub attempts: u32,
    /// Attempts left in the current allowance, this one included.
    pub attempts_left: u32,
    /// Where to, how, and signed with what.
    pub url: String,
    /// The signing key.
    pub secret: String,
    pub format: WebhookFormat,
    pub site_id: String,
    pub site_name: String,
    /// The response as it is now.
    pub response: AnnouncedResponse,
}

/// What a delivery tells about a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedResponse {
    pub id: String,
    /// 0–10.
    pub score: u8,
    /// What the visitor wrote.
    pub comment: Option<String>,
    pub contact_consent: bool,
    /// Where to reach the visitor, given only with consent.
    pub email: Option<String>,
    /// Where the visitor answered.
    pub page_path: Option<String>,
    /// The survey's language.
    pub lang: Option<String>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<String>,
    /// When the first answer came.
    pub created_at_ms: i64,
}

/// A response that settled since a webhook was last scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledResponse {
    pub id: String,
    /// 0–10.
    pub score: u8,
    pub contact_consent: bool,
}

/// What one attempt came to, as the dispatcher records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub delivery_id: String,
    /// The attempt as logged.
    pub attempt: Attempt,
    /// Where the delivery stands after it.
    pub status: DeliveryStatus,
    /// Attempts left after it.
    pub attempts_left: u32,
    /// When to try again, if pending.
    pub next_attempt_at_ms: i64,
}

/// How webhooks are scanned for and sent.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// A response is announced once it has had no new answer for this long, so the payload
    /// carries the comment and contact details that follow the score.
    pub settle: Duration,
    /// How often settled responses are looked for and due deliveries sent.
    pub tick: Duration,
    /// The wait before the second attempt; each further one waits twice as long.
    pub first_retry: Duration,
    /// Attempts before a delivery counts as failed.
    pub attempts: u32,
    /// How long a receiver may take to answer.
    pub timeout: Duration,
    /// Whether receivers on loopback, private and other internal addresses are allowed
    /// (`--webhook-allow-private`); off by default.
    pub allow_private: bool,
}

impl Default for WebhookOptions {
    /// Two minutes of quiet, then nine attempts, 30 s, 1, 2, 4 … 64 minutes apart: about two
    /// hours, enough to ride out a receiver's deploy or short outage.
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(120),
            tick: Duration::from_secs(5),
            first_retry: Duration::from_secs(30),
            attempts: 9,
            timeout: Duration::from_secs(10),
            allow_private: false,
        }
    }
}

impl WebhookOptions {
    /// The wait after the `failed`th failed attempt of the current allowance (1 = the first).
    pub fn backoff(&self, failed: u32) -> Duration {
        self.first_retry.saturating_mul(
            1_u32
                .checked_shl(failed.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> SiteId {
        SiteId::parse("0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_webhook_needs_a_web_url_and_a_known_event() {
        let events = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let made = Webhook::new(
            site(),
            " https://hooks.example/x ",
            &events(&["response", "new_detractor", "response"]),
            "slack",
            5,
            false,
        )
        .unwrap();
        assert_eq!(made.url, "https://hooks.example/x");
        assert_eq!(made.events_column(), "response,new_detractor");
        assert_eq!(made.secret.len(), 64);
        assert_eq!(made.scanned_until_ms, 5);
        let bad = |url: &str, names: &[&str], format: &str| {
            Webhook::new(site(), url, &events(names), format, 0, false).unwrap_err()
        };
        assert_eq!(
            bad("https://user:pw@hooks.example/x", &["response"], "json"),
            InvalidWebhook::Credentials
        );
        assert!(matches!(
            bad("http://127.0.0.1:9/x", &["response"], "json"),
            InvalidWebhook::Internal(_)
        ));
        assert!(Webhook::new(
            site(),
            "http://127.0.0.1:9/x",
            &events(&["response"]),
            "json",
            0,
            true
        )
        .is_ok());
        assert_eq!(
            bad("ftp://x.example", &["response"], "json"),
            InvalidWebhook::Url("ftp://x.example".into())
        );
        assert_eq!(
            bad("/relative", &["response"], "json"),
            InvalidWebhook::Url("/relative".into())
        );
        assert_eq!(
            bad("https://x.example", &[], "json"),
            InvalidWebhook::Events
        );
        assert_eq!(
            bad("https://x.example", &["everything"], "json"),
            InvalidWebhook::Events
        );
        assert_eq!(
            bad("https://x.example", &["response"], "xml"),
            InvalidWebhook::Format("xml".into())
        );
        let long = format!("https://x.example/{}", "a".repeat(2_000));
        assert_eq!(
            bad(&long, &["response"], "json"),
            InvalidWebhook::UrlTooLong(2_018)
        );
    }

    #[test]
    fn events_are_told_apart_by_score_and_consent() {
        use WebhookEvent::*;
        assert!(NewDetractor.happened(6, false));
        assert!(!NewDetractor.happened(7, true));
        assert!(ContactRequested.happened(10, true));
        assert!(!ContactRequested.happened(0, false));
        assert!(Response.happened(8, false));
        assert_eq!(
            Webhook::parse_events("response,unknown,contact_requested"),
            vec![Response, ContactRequested]
        );
    }

    #[test]
    fn retries_wait_twice_as_long_each_time() {
        let options = WebhookOptions::default();
        let waits: Vec<u64> = (1..=9).map(|n| options.backoff(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3840, 7680]);
        assert_eq!(options.backoff(0).as_secs(), 30);
        assert!(options.backoff(40) >= options.backoff(9));
    }
}
