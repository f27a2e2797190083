//! What a delivery posts: the body in the webhook's format and the headers that sign it.
//!
//! The signature follows the scheme Stripe made familiar: `Soovita-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the webhook's secret>`. Signing the time with
//! the body lets a receiver refuse a replayed delivery by its age.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use soovita_wire::Category;

use super::{AnnouncedResponse, DueDelivery, WebhookEvent, WebhookFormat};

pub const SIGNATURE_HEADER: &str = "soovita-signature";
/// The header with the delivery's id: the same on every attempt, so receivers can drop repeats.
pub const DELIVERY_HEADER: &str = "soovita-delivery";
pub const EVENT_HEADER: &str = "soovita-event";

/// The body of a `json` webhook.
#[derive(Debug, Serialize)]
pub struct Announcement<'a> {
    /// The delivery's id, as in `Soovita-Delivery`.
    pub id: &'a str,
    /// `new_detractor`, `contact_requested`, `response` or `case.overdue`.
    pub event: &'a str,
    pub site: AnnouncedSite<'a>,
    /// The response as it is when sent.
    pub response: ResponseBody<'a>,
}

/// The site, in an [`Announcement`].
#[derive(Debug, Serialize)]
pub struct AnnouncedSite<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The response, in an [`Announcement`].
#[derive(Debug, Serialize)]
pub struct ResponseBody<'a> {
    pub id: &'a str,
    /// 0–10.
    pub score: u8,
    /// `promoter`, `passive` or `detractor`.
    pub category: &'static str,
    pub comment: Option<&'a str>,
    pub contact_consent: bool,
    /// Where to reach the visitor; only with consent.
    pub email: Option<&'a str>,
    /// Where the visitor answered.
    pub page_path: Option<&'a str>,
    /// The survey's language.
    pub lang: Option<&'a str>,
    /// `phone`, `tablet` or `desktop`.
    pub device: Option<&'a str>,
    /// When the first answer came, RFC 3339 in UTC with milliseconds, as in exports.
    pub created_at: String,
}

/// The body to post for `delivery`, in its webhook's format.
pub fn body(delivery: &DueDelivery) -> Vec<u8> {
    let value = match delivery.format {
        WebhookFormat::Json => serde_json::to_value(Announcement {
            id: &delivery.id,
            event: delivery.event.as_str(),
            site: AnnouncedSite {
                id: &delivery.site_id,
                name: &delivery.site_name,
            },
            response: response_body(&delivery.response),
        }),
        WebhookFormat::Slack => Ok(slack_message(
            delivery.event,
            &delivery.site_name,
            &delivery.response,
        )),
    };
    // Every field is a string, number, bool or null: serializing cannot fail.
    value
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_default()
}

fn response_body(response: &AnnouncedResponse) -> ResponseBody<'_> {
    ResponseBody {
        id: &response.id,
        score: response.score,
        category: Category::from_score(response.score).as_str(),
        comment: response.comment.as_deref(),
        contact_consent: response.contact_consent,
        email: response
            .email
            .as_deref()
            .filter(|_| response.contact_consent),
        page_path: response.page_path.as_deref(),
        lang: response.lang.as_deref(),
        device: response.device.as_deref(),
        created_at: crate::responses::export::rfc3339(response.created_at_ms),
    }
}

/// One Slack message in Block Kit: our headline in `mrkdwn` (with `verbatim`, so nothing in it
/// is linked or mentioned), and everything the visitor wrote in `plain_text` objects, where
/// Slack applies no formatting (`*bold*`, `<!channel>`, links) at all; `://` is defanged on top,
/// so no client turns a visitor's URL into a link. `text` is the notification's fallback and
/// carries none of the visitor's words.
fn slack_message(
    event: WebhookEvent,
    site: &str,
    response: &AnnouncedResponse,
) -> serde_json::Value {
    let headline = match event {
        WebhookEvent::NewDetractor => "New detractor",
        WebhookEvent::ContactRequested => "A visitor asks to be contacted",
        WebhookEvent::Response => "New response",
        WebhookEvent::CaseOverdue => "Overdue: nobody has contacted this visitor yet",
    };
    let summary = format!(
        "on {}: {}/10 ({})",
        slack_escape(site),
        response.score,
        Category::from_score(response.score).as_str()
    );
    let plain = |text: &str| serde_json::json!({"type": "plain_text", "text": text.replace("://", "[:]//"), "emoji": false});
    let mut blocks = vec![serde_json::json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": format!("*{headline}* {summary}"), "verbatim": true},
    })];
    if let Some(comment) = &response.comment {
        blocks.push(serde_json::json!({"type": "section", "text": plain(comment)}));
    }
    let mut details = Vec::new();
    if let Some(email) = response
        .email
        .as_deref()
        .filter(|_| response.contact_consent)
    {
        details.push(plain(&format!("Contact: {email}")));
    }
    if let Some(path) = &response.page_path {
        details.push(plain(&format!("Page: {path}")));
    }
    if !details.is_empty() {
        blocks.push(serde_json::json!({"type": "context", "elements": details}));
    }
    serde_json::json!({"text": format!("{headline} {summary}"), "blocks": blocks})
}

/// Slack reads `<…>` as links and mentions (`<!channel>`) and `&` as an entity in `mrkdwn`, so
/// the site's name is escaped as Slack documents.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `Soovita-Signature` value for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(format: WebhookFormat, comment: &str, consent: bool) -> DueDelivery {
        DueDelivery {
            id: "d1".into(),
            event: WebhookEvent::NewDetractor,
            attempts: 0,
            attempts_left: 9,
            url: "https://hooks.example".into(),
            secret: "s".into(),
            format,
            site_id: "site".into(),
            site_name: "Shop & Co".into(),
            response: AnnouncedResponse {
                id: "r1".into(),
                score: 3,
                comment: Some(comment.into()),
                contact_consent: consent,
                email: Some("ann@example.com".into()),
                page_path: Some("/checkout".into()),
                lang: Some("et".into()),
                device: Some("phone".into()),
                created_at_ms: 1_700_000_000_123,
            },
        }
    }

    #[test]
    fn json_carries_the_response_and_the_email_only_with_consent() {
        let with = |consent| -> serde_json::Value {
            serde_json::from_slice(&body(&delivery(WebhookFormat::Json, "slow", consent))).unwrap()
        };
        let sent = with(true);
        assert_eq!(sent["id"], "d1");
        assert_eq!(sent["event"], "new_detractor");
        assert_eq!(sent["site"]["name"], "Shop & Co");
        assert_eq!(sent["response"]["score"], 3);
        assert_eq!(sent["response"]["category"], "detractor");
        assert_eq!(sent["response"]["comment"], "slow");
        assert_eq!(sent["response"]["email"], "ann@example.com");
        assert_eq!(sent["response"]["created_at"], "2023-11-14T22:13:20.123Z");
        assert!(with(false)["response"]["email"].is_null());
    }

    #[test]
    fn a_visitors_words_reach_slack_as_plain_text_only() {
        let sent: serde_json::Value = serde_json::from_slice(&body(&delivery(
            WebhookFormat::Slack,
            "<!channel> see *this* https://evil.example/x and <https://evil.example|here>\nnow",
            true,
        )))
        .unwrap();
        assert_eq!(
            sent,
            serde_json::json!({
                "text": "New detractor on Shop &amp; Co: 3/10 (detractor)",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "verbatim": true,
                        "text": "*New detractor* on Shop &amp; Co: 3/10 (detractor)"}},
                    {"type": "section", "text": {"type": "plain_text", "emoji": false,
                        "text": "<!channel> see *this* https[:]//evil.example/x and <https[:]//evil.example|here>\nnow"}},
                    {"type": "context", "elements": [
                        {"type": "plain_text", "emoji": false, "text": "Contact: ann@example.com"},
                        {"type": "plain_text", "emoji": false, "text": "Page: /checkout"}]}
                ]
            })
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // From `printf '1700000000.{"text":"hi"}' | openssl dgst -sha256 -hmac Jefe`.
        assert_eq!(
            signature("Jefe", 1_700_000_000, br#"{"text":"hi"}"#),
            "t=1700000000,v1=78c16fb1347cc108e4fe45972cb2c71d070d22cb5c714af583367a3b7d491ce5"
        );
    }
}
