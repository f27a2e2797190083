//! Webhooks end to end: answers posted to a real server reach a real local HTTP receiver that
//! fails the first two attempts, signed, retried with growing waits, logged, and re-sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use soovita_server::sites::{register, SiteSettings};
use soovita_server::store::{self, prelude::*};
use soovita_server::webhooks::{dispatcher, DeliveryStatus, Webhook, WebhookOptions};
use soovita_server::ServeOptions;
use tokio::net::TcpListener;

const SHOP: &str = "https://shop.example";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
const FIRST_RETRY: Duration = Duration::from_millis(300);

/// One request the receiver got.
struct Received {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on a port of its own that answers 500 to the first two requests.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/soovita", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hooks/soovita", post(receive))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    async fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.count() < count {
            assert!(
                Instant::now() < deadline,
                "the receiver got {} requests, not {count}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut received = receiver.received.lock().unwrap();
    received.push(Received {
        at: Instant::now(),
        headers,
        body,
    });
    if received.len() <= 2 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Checks `Soovita-Signature: t=…,v1=…` against the secret, as a receiver would.
fn signature_is_valid(headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let header = headers["soovita-signature"].to_str().unwrap();
    let (t, v1) = header
        .split_once(",v1=")
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1)))
        .unwrap_or_else(|| panic!("malformed signature header {header:?}"));
    let sent_at: u64 = t.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(sent_at) < 60, "signed at {sent_at}, now {now}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

/// A fresh SQLite store in `dir` with one site for pages on [`SHOP`].
async fn store_with_site(
    dir: &tempfile::TempDir,
) -> (
    Arc<dyn Store>,
    soovita_server::sites::RegisteredSite,
    soovita_server::domain::SiteId,
) {
    let store: Arc<dyn Store> = store::open(&format!("sqlite://{}/hooks.db", dir.path().display()))
        .await
        .unwrap();
    let origins = [SHOP.to_owned()];
    let site = register(
        store.as_ref(),
        SiteSettings {
            name: "Shop",
            origins: &origins,
            sample_percent: 100,
            cooldown_days: 90,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await
    .unwrap();
    let site_id = soovita_server::domain::SiteId::parse(&site.site_id).unwrap();
    (store, site, site_id)
}

#[tokio::test]
async fn a_detractor_reaches_a_failing_receiver_signed_retried_logged_and_resent() {
    let receiver = Receiver::default();
    let receiver_url = receiver.start().await;

    let dir = tempfile::tempdir().unwrap();
    let (store, site, site_id) = store_with_site(&dir).await;
    let webhook = Webhook::new(
        site_id.clone(),
        &receiver_url,
        &["new_detractor".to_owned()],
        "json",
        soovita_server::clock::now_ms(),
        true,
    )
    .unwrap();
    assert!(store
        .create_webhook(&webhook, soovita_server::clock::now_ms())
        .await
        .unwrap());

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let options = ServeOptions {
        webhooks: WebhookOptions {
            settle: Duration::from_millis(800),
            tick: Duration::from_millis(50),
            first_retry: FIRST_RETRY,
            attempts: 5,
            timeout: Duration::from_secs(5),
            allow_private: true,
        },
        ..ServeOptions::default()
    };
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(soovita_server::serve(
        listener,
        store.clone(),
        options,
        async {
            let _ = stopped.await;
        },
    ));

    // A detractor's score, then their comment within the settling time; and a promoter, whom
    // a webhook for new detractors never hears of.
    let http = reqwest::Client::builder()
        .user_agent(BROWSER)
        .build()
        .unwrap();
    let detractor = "0190a0b0-0000-7000-8000-000000000001";
    let promoter = "0190a0b0-0000-7000-8000-000000000002";
    for body in [
        json!({"response_id": detractor, "score": 3}),
        json!({"response_id": promoter, "score": 10}),
        json!({"response_id": detractor, "score": 3, "comment": "Delivery took <b>three</b> weeks"}),
    ] {
        let response = http
            .post(format!("{base}/v1/sites/{}/responses", site.site_id))
            .header("origin", SHOP)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }

    receiver.wait_for(3).await;
    let deliveries = store.deliveries(&site_id, 10).await.unwrap();
    assert_eq!(
        deliveries.len(),
        1,
        "one event: the promoter is not a detractor"
    );
    let delivery = &deliveries[0];
    {
        let received = receiver.received.lock().unwrap();
        for request in received.iter() {
            assert_eq!(request.headers["soovita-delivery"], delivery.id.as_str());
            assert_eq!(request.headers["soovita-event"], "new_detractor");
            assert_eq!(request.headers["content-type"], "application/json");
            assert!(
                signature_is_valid(&request.headers, &request.body, &webhook.secret),
                "the signature verifies with the webhook's secret"
            );
            assert!(!signature_is_valid(
                &request.headers,
                &request.body,
                "another secret"
            ));
        }
        let sent: Value = serde_json::from_slice(&received[0].body).unwrap();
        assert_eq!(sent["event"], "new_detractor");
        assert_eq!(sent["site"]["id"], site.site_id.as_str());
        assert_eq!(sent["response"]["id"], detractor);
        assert_eq!(sent["response"]["score"], 3);
        assert_eq!(
            sent["response"]["comment"], "Delivery took <b>three</b> weeks",
            "announced once settled, with the comment that followed the score"
        );
        let first_wait = received[1].at - received[0].at;
        let second_wait = received[2].at - received[1].at;
        assert!(
            first_wait >= FIRST_RETRY && second_wait >= 2 * FIRST_RETRY,
            "backoff grows: waited {first_wait:?}, then {second_wait:?}"
        );
    }
    let logged = || async {
        let deliveries = store.deliveries(&site_id, 10).await.unwrap();
        let delivery = deliveries[0].clone();
        let codes: Vec<_> = delivery
            .attempts
            .iter()
            .map(|a| (a.number, a.status_code))
            .collect();
        (delivery.status, codes)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while logged().await.0 != DeliveryStatus::Delivered {
        assert!(Instant::now() < deadline, "delivered: {:?}", logged().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        logged().await,
        (
            DeliveryStatus::Delivered,
            vec![(1, Some(500)), (2, Some(500)), (3, Some(204))]
        )
    );

    assert!(store
        .resend_delivery(&site_id, &delivery.id, 5, soovita_server::clock::now_ms())
        .await
        .unwrap());
    receiver.wait_for(4).await;
    assert_eq!(
        receiver.received.lock().unwrap()[3].headers["soovita-delivery"],
        delivery.id.as_str(),
        "a re-send is the same delivery, so receivers can drop it as a repeat"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.count(), 4, "nothing else was sent");
}

#[tokio::test]
async fn an_internal_receiver_is_refused_when_sent_unless_allowed() {
    let receiver = Receiver::default();
    let receiver_url = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _, site_id) = store_with_site(&dir).await;
    // Saved while internal receivers were allowed; the server then runs without the flag.
    let webhook = Webhook::new(
        site_id.clone(),
        &receiver_url,
        &["new_detractor".to_owned()],
        "json",
        0,
        true,
    )
    .unwrap();
    assert!(store.create_webhook(&webhook, 0).await.unwrap());
    let now_ms = soovita_server::clock::now_ms();
    let detractor = common::update("0190a0b0-0000-7000-8000-00000000000a", 2, None);
    store
        .upsert_response(&site_id, &detractor, now_ms - 60_000)
        .await
        .unwrap();

    let refusing = WebhookOptions {
        settle: Duration::ZERO,
        ..WebhookOptions::default()
    };
    dispatcher::scan(store.as_ref(), &refusing, now_ms)
        .await
        .unwrap();
    let client = dispatcher::client(&refusing).unwrap();
    dispatcher::send_due(
        store.as_ref(),
        &client,
        &refusing,
        &(std::sync::Arc::new(soovita_server::clock::now_ms) as dispatcher::Clock),
    )
    .await
    .unwrap();
    let deliveries = store.deliveries(&site_id, 10).await.unwrap();
    let attempt = &deliveries[0].attempts[0];
    assert_eq!(attempt.status_code, None);
    let error = attempt.error.as_deref().unwrap();
    assert!(
        error.starts_with("refused: 127.0.0.1 is a loopback"),
        "{error}"
    );
    assert_eq!(receiver.count(), 0, "nothing reached the internal receiver");
    assert_eq!(
        deliveries[0].status,
        DeliveryStatus::Pending,
        "retried later"
    );
}
