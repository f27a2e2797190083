//! The HTTP contract, against a real server on a random port with a throw-away SQLite file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use soovita_server::sites::{register, RegisteredSite, SiteSettings};
use soovita_server::store::{self, prelude::*};
use soovita_wire::{ExportedResponse, MAX_BODY_BYTES, MAX_COMMENT_CHARS};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SHOP: &str = "https://shop.example";
const RESPONSE_ID: &str = "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

struct TestServer {
    base: String,
    site: RegisteredSite,
    store: Arc<dyn Store>,
    http: Client,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> Self {
        Self::start_with(soovita_server::ServeOptions::default()).await
    }

    async fn start_with(options: soovita_server::ServeOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = store::open(&format!("sqlite://{}/test.db", dir.path().display()))
            .await
            .unwrap();
        let site = register_site(store.as_ref(), "Shop", SHOP).await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(soovita_server::serve(
            listener,
            store.clone(),
            options,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            base,
            site,
            store,
            http: Client::builder().user_agent(BROWSER).build().unwrap(),
            _stop: stop,
            _dir: dir,
        }
    }

    fn url(&self, site_id: &str, rest: &str) -> String {
        format!("{}/v1/sites/{site_id}/{rest}", self.base)
    }

    async fn post(
        &self,
        origin: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        self.post_to(&self.site.site_id, origin, body).await
    }

    async fn post_to(
        &self,
        site_id: &str,
        origin: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url(site_id, "responses"))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn results(&self) -> soovita_wire::SiteResults {
        let response = self
            .http
            .get(self.url(&self.site.site_id, "results"))
            .bearer_auth(&self.site.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn export(&self, token: &str) -> Vec<ExportedResponse> {
        let response = self
            .http
            .get(self.url(&self.site.site_id, "responses"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

async fn register_site(store: &dyn Store, name: &str, origin: &str) -> RegisteredSite {
    let origins = [origin.to_owned()];
    let settings = SiteSettings {
        name,
        origins: &origins,
        sample_percent: 100,
        cooldown_days: 90,
        retention_days: 730,
        honor_do_not_track: false,
    };
    register(store, settings).await.unwrap()
}

fn answer(score: i64, comment: Option<&str>) -> String {
    let mut body = json!({"response_id": RESPONSE_ID, "score": score});
    if let Some(comment) = comment {
        body["comment"] = json!(comment);
    }
    body.to_string()
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

#[tokio::test]
async fn a_score_then_a_comment_make_one_exported_response() {
    let server = TestServer::start().await;
    let (status, body) = server.post(Some(SHOP), answer(9, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response_id"], RESPONSE_ID);
    let (status, _) = server
        .post(Some(SHOP), answer(9, Some("Friendly staff")))
        .await;
    assert_eq!(status, StatusCode::OK);

    let exported = server.export(&server.site.admin_token).await;
    assert_eq!(exported.len(), 1);
    let response = &exported[0];
    assert_eq!(
        (response.response_id.as_str(), response.score),
        (RESPONSE_ID, 9)
    );
    assert_eq!(response.comment.as_deref(), Some("Friendly staff"));
    assert_eq!(response.category, soovita_wire::Category::Promoter);
    assert!(response.updated_at >= response.created_at);
}

#[tokio::test]
async fn replays_in_sequence_and_in_parallel_leave_exactly_one_row() {
    let server = Arc::new(TestServer::start().await);
    for _ in 0..3 {
        assert_eq!(
            server.post(Some(SHOP), answer(4, Some("Slow"))).await.0,
            StatusCode::OK
        );
    }
    let replays = (0..10).map(|_| {
        let server = server.clone();
        tokio::spawn(async move { server.post(Some(SHOP), answer(4, None)).await.0 })
    });
    for replay in replays {
        assert_eq!(replay.await.unwrap(), StatusCode::OK);
    }
    let exported = server.export(&server.site.admin_token).await;
    assert_eq!(exported.len(), 1);
    assert_eq!(
        exported[0].comment.as_deref(),
        Some("Slow"),
        "a score-only retry must keep the comment"
    );
}

#[tokio::test]
async fn bad_submissions_get_a_named_4xx_and_keep_what_was_stored() {
    let server = TestServer::start().await;
    assert_eq!(
        server.post(Some(SHOP), answer(6, Some("Kept"))).await.0,
        StatusCode::OK
    );

    let too_long = "x".repeat(MAX_COMMENT_CHARS + 1);
    let oversized = format!(
        r#"{{"response_id":"{RESPONSE_ID}","score":1,"comment":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "score above 10",
            Some(SHOP),
            answer(11, None),
            StatusCode::BAD_REQUEST,
            "invalid_score",
        ),
        (
            "negative score",
            Some(SHOP),
            answer(-1, None),
            StatusCode::BAD_REQUEST,
            "invalid_score",
        ),
        (
            "malformed JSON",
            Some(SHOP),
            "{\"score\":".into(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "unknown field",
            Some(SHOP),
            json!({"response_id": RESPONSE_ID, "score": 1, "extra": 1}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "missing id",
            Some(SHOP),
            json!({"score": 1}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "null id",
            Some(SHOP),
            json!({"response_id": null, "score": 1}).to_string(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "id not a UUID",
            Some(SHOP),
            json!({"response_id": "1", "score": 1}).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_response_id",
        ),
        (
            "lone surrogate",
            Some(SHOP),
            format!(r#"{{"response_id":"{RESPONSE_ID}","score":1,"comment":"\ud800"}}"#),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "comment too long",
            Some(SHOP),
            answer(1, Some(&too_long)),
            StatusCode::BAD_REQUEST,
            "comment_too_long",
        ),
        (
            "oversized body",
            Some(SHOP),
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "foreign origin",
            Some("https://evil.example"),
            answer(0, None),
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
        ),
        (
            "null origin",
            Some("null"),
            answer(0, None),
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
        ),
        (
            "no origin",
            None,
            answer(0, None),
            StatusCode::FORBIDDEN,
            "missing_origin",
        ),
    ];
    for (name, origin, body, status, code) in cases {
        let (got_status, got_body) = server.post(origin, body).await;
        assert_eq!(
            (got_status, error_code(&got_body)),
            (status, code),
            "{name}: {got_body}"
        );
        assert!(
            !got_body["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
    }
    let (status, body) = server.post(Some(SHOP), vec![0xff, 0xfe, b'{']).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json"),
        "invalid UTF-8"
    );

    let exported = server.export(&server.site.admin_token).await;
    assert_eq!(exported.len(), 1);
    assert_eq!(
        (exported[0].score, exported[0].comment.as_deref()),
        (6, Some("Kept"))
    );
}

#[tokio::test]
async fn unknown_sites_are_named_as_such() {
    let server = TestServer::start().await;
    for site_id in ["0123456789abcdef0123456789abcdef", "not-a-site"] {
        let (status, body) = server.post_to(site_id, Some(SHOP), answer(5, None)).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::NOT_FOUND, "unknown_site")
        );
        let response = server
            .http
            .get(server.url(site_id, "survey"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_response_id_of_another_site_is_refused_and_left_alone() {
    let server = TestServer::start().await;
    let other = register_site(server.store.as_ref(), "Other", "https://other.example").await;
    let (status, _) = server
        .post_to(
            &other.site_id,
            Some("https://other.example"),
            answer(2, Some("Theirs")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.post(Some(SHOP), answer(10, Some("Mine"))).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "response_id_taken")
    );
    assert!(server.export(&server.site.admin_token).await.is_empty());
}

#[tokio::test]
async fn the_survey_configuration_is_served_to_allowed_origins_only() {
    let server = TestServer::start().await;
    let survey = server.url(&server.site.site_id, "survey");
    let response = server
        .http
        .get(&survey)
        .header("origin", SHOP)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], SHOP);
    let config: soovita_wire::SurveyConfig = response.json().await.unwrap();
    assert_eq!(
        (
            config.site_name.as_str(),
            config.sample_percent,
            config.cooldown_days
        ),
        ("Shop", 100, 90)
    );

    // Every visitor downloads it, also those the loader then turns away: it goes compressed.
    let response = server
        .http
        .get(&survey)
        .header("origin", SHOP)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let compressed = response.bytes().await.unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut json,
    )
    .unwrap();
    let unpacked: soovita_wire::SurveyConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(unpacked, config);
    assert!(compressed.len() < json.len() / 2);

    let response = server
        .http
        .get(&survey)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn preflight_is_answered_for_allowed_origins_only() {
    let server = TestServer::start().await;
    let preflight = |origin: &'static str| {
        server
            .http
            .request(
                reqwest::Method::OPTIONS,
                server.url(&server.site.site_id, "responses"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(SHOP).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn export_needs_the_sites_own_token() {
    let server = TestServer::start().await;
    let other = register_site(server.store.as_ref(), "Other", "https://other.example").await;
    let url = server.url(&server.site.site_id, "responses");

    let response = server.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&response.json().await.unwrap()), "missing_token");
    for token in ["sv_wrong", other.admin_token.as_str()] {
        let response = server
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(error_code(&response.json().await.unwrap()), "wrong_token");
    }
    let response = server
        .http
        .get(format!("{url}?format=xml"))
        .bearer_auth(&server.site.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&response.json().await.unwrap()), "bad_query");
}

#[tokio::test]
async fn results_are_the_owners_alone_and_count_every_response() {
    let server = TestServer::start().await;
    let url = server.url(&server.site.site_id, "results");
    let response = server.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let empty = server.results().await;
    assert_eq!((empty.responses, empty.nps), (0, None));

    for (n, score) in [10, 9, 8, 0].into_iter().enumerate() {
        let body = json!({"response_id": format!("3f2b8c1e-7a4d-4e8b-9c0a-00000000000{n}"), "score": score});
        assert_eq!(
            server.post(Some(SHOP), body.to_string()).await.0,
            StatusCode::OK
        );
    }
    let results = server.results().await;
    assert_eq!(
        (
            results.responses,
            results.promoters,
            results.passives,
            results.detractors
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(results.nps, Some(25.0));
    assert_eq!(results.histogram, [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    assert_eq!(results.trend.len(), 1, "one month so far");
    assert_eq!(results.trend[0].responses, 4);
}

#[tokio::test]
async fn results_and_export_follow_the_filter_and_name_a_bad_one() {
    let server = TestServer::start().await;
    for (n, (score, device)) in [(10, "phone"), (2, "desktop"), (9, "phone")]
        .into_iter()
        .enumerate()
    {
        let body = json!({
            "response_id": format!("3f2b8c1e-7a4d-4e8b-9c0a-10000000000{n}"),
            "score": score,
            "context": {"path": "/", "device": device},
        });
        assert_eq!(
            server.post(Some(SHOP), body.to_string()).await.0,
            StatusCode::OK
        );
    }
    let get = |path: &str| {
        server
            .http
            .get(server.url(&server.site.site_id, path))
            .bearer_auth(&server.site.admin_token)
            .send()
    };
    let phones: soovita_wire::SiteResults = get("results?device=phone&interval=week")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((phones.responses, phones.nps), (2, Some(100.0)));
    let exported: Vec<serde_json::Value> = get("responses?format=json&device=desktop")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["score"], 2);

    for (query, named) in [
        ("results?device=watch", "device=\"watch\""),
        ("results?from=yesterday", "from=\"yesterday\""),
        (
            "responses?from=2026-11-02&to=2026-11-01",
            "from is after to",
        ),
    ] {
        let response = get(query).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_filter", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {message}");
    }
    let response = get("results?interval=day").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn csv_export_is_an_attachment_safe_for_spreadsheets() {
    let server = TestServer::start().await;
    server
        .post(Some(SHOP), answer(3, Some("=HYPERLINK(\"http://evil\")")))
        .await;
    let response = server
        .http
        .get(server.url(&server.site.site_id, "responses?format=csv"))
        .bearer_auth(&server.site.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"soovita-{}-responses.csv\"",
            server.site.site_id
        )
    );
    let csv = response.text().await.unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(
        row.starts_with(RESPONSE_ID) && row.contains(",3,detractor,"),
        "{row}"
    );
    assert!(row.contains(r#","'=HYPERLINK(""http://evil"")","#), "{row}");
}

#[tokio::test]
async fn metrics_with_a_token_are_only_for_its_bearer() {
    let server = TestServer::start_with(soovita_server::ServeOptions {
        metrics_token: Some("scrape-me-9f3a".into()),
        ..soovita_server::ServeOptions::default()
    })
    .await;
    let metrics = |token: Option<&str>| {
        let request = server.http.get(format!("{}/metrics", server.base));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, body) = metrics(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("missing_token"), "{body}");
    let (status, body) = metrics(Some("scrape-me-9f3b")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("wrong_token"), "{body}");
    assert_eq!(
        server.post(Some(SHOP), answer(10, None)).await.0,
        StatusCode::OK
    );
    let (status, body) = metrics(Some("scrape-me-9f3a")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("soovita_responses_accepted_total"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_whether_sqlite_can_write() {
    let server = TestServer::start().await;
    let ready = || async {
        let response = server.http.get(format!("{}/readyz", server.base)).send();
        response.await.unwrap().status()
    };
    assert_eq!(ready().await, StatusCode::OK);
    // Another process holds the write lock (as a backup tool or a full disk would stop writes):
    // reads go on in WAL mode, writes fail after the busy timeout.
    let path = format!("{}/test.db", server._dir.path().display());
    let locker = std::thread::spawn(move || {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.execute_batch("BEGIN EXCLUSIVE").unwrap();
        connection
    })
    .join()
    .unwrap();
    let (status, _) = server.post(Some(SHOP), answer(9, None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready().await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready while writes fail, though reads work"
    );
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    let (status, _) = server.post(Some(SHOP), answer(9, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ready().await,
        StatusCode::OK,
        "ready again once a write succeeds"
    );
}

#[tokio::test]
async fn readiness_and_metrics_report_what_happened() {
    let server = TestServer::start().await;
    let ready = server
        .http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        server.post(Some(SHOP), answer(11, None)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        server.post(Some(SHOP), answer(10, None)).await.0,
        StatusCode::OK
    );

    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str| -> f64 {
        let line = metrics
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value("soovita_requests_rejected_total{reason=\"invalid_score\"}") >= 1.0);
    assert!(value("soovita_responses_accepted_total") >= 1.0);
    assert!(value("soovita_write_batch_size_count") >= 1.0);
    assert!(
        value(
            "soovita_http_request_duration_seconds_count{route=\"/v1/sites/{site_id}/responses\"}"
        ) >= 2.0
    );
}

#[tokio::test]
async fn gzip_bodies_are_accepted_and_bombs_are_capped_after_decompression() {
    use std::io::Write;
    let gzip = |data: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    };
    let server = TestServer::start().await;
    let post = |body: Vec<u8>| {
        server
            .http
            .post(server.url(&server.site.site_id, "responses"))
            .header("origin", SHOP)
            .header("content-encoding", "gzip")
            .body(body)
            .send()
    };
    let response = post(gzip(answer(8, Some("Compressed")).as_bytes()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // 8 MiB of JSON whitespace compresses to about 8 KiB: under the cap on the wire, far over it inflated.
    let mut bomb = vec![b' '; 8 << 20];
    bomb.extend_from_slice(answer(1, None).as_bytes());
    let compressed = gzip(&bomb);
    assert!(
        compressed.len() < MAX_BODY_BYTES,
        "the bomb must be small on the wire"
    );
    let response = post(compressed).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "payload_too_large"
    );
    assert_eq!(
        server.export(&server.site.admin_token).await[0]
            .comment
            .as_deref(),
        Some("Compressed")
    );
}

#[tokio::test]
async fn bots_get_a_2xx_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let url = server.url(&server.site.site_id, "responses");
    let crawler = Client::builder()
        .user_agent("Mozilla/5.0 (compatible; Googlebot/2.1)")
        .build()
        .unwrap();
    let response = crawler
        .post(&url)
        .header("origin", SHOP)
        .body(answer(0, None))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let no_agent = Client::new()
        .post(&url)
        .header("origin", SHOP)
        .body(answer(1, None))
        .send()
        .await
        .unwrap();
    assert_eq!(no_agent.status(), StatusCode::OK);
    let honeypot =
        json!({"response_id": RESPONSE_ID, "score": 2, "website": "http://spam.example"});
    assert_eq!(
        server.post(Some(SHOP), honeypot.to_string()).await.0,
        StatusCode::OK
    );
    assert!(server.export(&server.site.admin_token).await.is_empty());

    let empty_honeypot = json!({"response_id": RESPONSE_ID, "score": 3, "website": ""});
    assert_eq!(
        server.post(Some(SHOP), empty_honeypot.to_string()).await.0,
        StatusCode::OK
    );
    assert_eq!(server.export(&server.site.admin_token).await.len(), 1);
    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"soovita_bot_submissions_total{signal="honeypot"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"soovita_bot_submissions_total{signal="user_agent"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn one_response_can_be_erased_by_its_sites_owner_only() {
    let server = TestServer::start().await;
    server
        .post(Some(SHOP), answer(5, Some("Please forget me")))
        .await;
    let url = server.url(&server.site.site_id, &format!("responses/{RESPONSE_ID}"));
    let other = register_site(server.store.as_ref(), "Other", "https://other.example").await;

    let refused = server
        .http
        .delete(&url)
        .bearer_auth(&other.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let erased = server
        .http
        .delete(&url)
        .bearer_auth(&server.site.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::NO_CONTENT);
    assert!(server.export(&server.site.admin_token).await.is_empty());
    let again = server
        .http
        .delete(&url)
        .bearer_auth(&server.site.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(&again.json().await.unwrap()), "unknown_response");
}

#[tokio::test]
async fn a_client_over_its_limit_gets_429_with_retry_after_and_spoofing_does_not_help() {
    use soovita_server::ingest::rate_limit::RateLimitConfig;
    use std::num::NonZeroU32;
    let limits = |trusted_proxies: Vec<ipnet::IpNet>| soovita_server::ServeOptions {
        rate_limits: RateLimitConfig {
            per_client_per_minute: NonZeroU32::new(2).unwrap(),
            trusted_proxies,
            ..RateLimitConfig::default()
        },
        ..Default::default()
    };
    let post = |server: &TestServer, n: u32, forwarded_for: String| {
        let body = json!({"response_id": format!("00000000-0000-4000-8000-{n:012}"), "score": 7});
        server
            .http
            .post(server.url(&server.site.site_id, "responses"))
            .header("origin", SHOP)
            .header("x-forwarded-for", forwarded_for)
            .body(body.to_string())
            .send()
    };

    let direct = TestServer::start_with(limits(vec![])).await;
    for n in 0..2 {
        assert_eq!(
            post(&direct, n, format!("198.51.100.{n}"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    let limited = post(&direct, 2, "198.51.100.99".into()).await.unwrap();
    assert_eq!(
        limited.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a made-up X-Forwarded-For must not help"
    );
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_eq!(error_code(&limited.json().await.unwrap()), "rate_limited");
    assert_eq!(
        direct.export(&direct.site.admin_token).await.len(),
        2,
        "the refused answer is not stored"
    );

    // Behind a trusted proxy, each forwarded client has its own allowance.
    let proxied = TestServer::start_with(limits(vec!["127.0.0.1/32".parse().unwrap()])).await;
    for n in 0..4 {
        let status = post(&proxied, n, format!("203.0.113.7, 198.51.100.{n}"))
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "client {n}");
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off_and_others_are_served_meanwhile() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeouts = soovita_server::http::Timeouts {
        header_read: Duration::from_millis(500),
        body_read: Duration::from_millis(500),
    };
    let server = TestServer::start_with(soovita_server::ServeOptions {
        timeouts,
        ..Default::default()
    })
    .await;
    let address = server.base.trim_start_matches("http://").to_owned();

    // Headers that never end: the server closes the connection after the header timeout.
    let mut slow_headers = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow_headers
        .write_all(b"POST /v1/sites/x/responses HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A body that never arrives: the request fails after the body timeout.
    let path = format!("/v1/sites/{}/responses", server.site.site_id);
    let mut slow_body = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: {SHOP}\r\nUser-Agent: {BROWSER}\r\nContent-Length: 100\r\n\r\n{{");
    slow_body.write_all(head.as_bytes()).await.unwrap();

    assert_eq!(
        server.post(Some(SHOP), answer(9, None)).await.0,
        StatusCode::OK,
        "others are served meanwhile"
    );

    let started = Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        slow_headers.read_to_end(&mut buffer),
    )
    .await;
    assert!(read.is_ok(), "the slow-headers connection was never closed");
    assert!(started.elapsed() < Duration::from_secs(2));

    let mut answer_text = vec![0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), slow_body.read(&mut answer_text)).await;
    let read = read.expect("the slow-body request got no answer").unwrap();
    let answer_text = String::from_utf8_lossy(&answer_text[..read]);
    assert!(answer_text.starts_with("HTTP/1.1 400"), "{answer_text}");
    assert!(answer_text.contains("unreadable_body"), "{answer_text}");
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors_too() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(format!("{}/v2/nothing", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "no_such_endpoint"
    );
    let response = server
        .http
        .put(server.url(&server.site.site_id, "responses"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        error_code(&response.json().await.unwrap()),
        "method_not_allowed"
    );
}

#[tokio::test]
async fn the_survey_comes_in_the_visitors_language_with_the_owners_wording() {
    let server = TestServer::start().await;
    let survey = |query: &'static str, accept_language: &'static str| {
        let request = server
            .http
            .get(server.url(&server.site.site_id, &format!("survey{query}")))
            .header("origin", SHOP)
            .header("accept-language", accept_language);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<soovita_wire::SurveyConfig>().await.unwrap()
        }
    };
    let estonian = survey("?lang=xx,et-EE,en", "de").await;
    assert_eq!(
        (estonian.lang.as_str(), estonian.rtl, estonian.version),
        ("et", false, 1)
    );
    assert!(
        estonian.messages.nps_question.contains("soovitaksite"),
        "{:?}",
        estonian.messages
    );
    assert_eq!(
        estonian.statements.len(),
        20,
        "every dimension is on by default"
    );
    assert_eq!(
        survey("", "pl-PL,pl;q=0.9").await.lang,
        "pl",
        "Accept-Language without lang"
    );
    assert!(survey("?lang=ar", "").await.rtl);
    assert_eq!(
        survey("?lang=ja", "").await.lang,
        "en",
        "unsupported falls back to English"
    );

    let definition_url = server.url(&server.site.site_id, "survey/definition");
    let reworded = json!({
        "open_question": true, "statements_per_visitor": 3, "dimensions": ["trust", "fairness"],
        "effort": ["detractor"], "effort_checklist": false, "contact": [],
        "reward": {"link": {"url": "https://shop.example/thanks"}},
        "wording": {"et": {"open_promoter": "Mis teile kõige rohkem meeldis?"}},
        "appearance": {"brand_color": "#8a3ffc", "mode": "dark", "position": "bottom_left"}
    });
    let unauthenticated = server
        .http
        .put(&definition_url)
        .json(&reworded)
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let saved = server
        .http
        .put(&definition_url)
        .bearer_auth(&server.site.admin_token)
        .json(&reworded)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::CREATED);
    assert_eq!(saved.json::<Value>().await.unwrap()["version"], 2);
    let mut invalid = reworded.clone();
    invalid["appearance"]["brand_color"] = json!("purple");
    let refused = server
        .http
        .put(&definition_url)
        .bearer_auth(&server.site.admin_token)
        .json(&invalid)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_survey");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("brand_color"),
        "{body}"
    );

    // The site cache holds the old version for up to SITE_TTL.
    tokio::time::sleep(soovita_server::ingest::site_cache::SITE_TTL).await;
    let updated = survey("?lang=et", "").await;
    assert_eq!(updated.version, 2);
    assert_eq!(
        updated.messages.open_promoter,
        "Mis teile kõige rohkem meeldis?"
    );
    assert_eq!(
        updated.statements.len(),
        4,
        "two dimensions, two statements each"
    );
    assert!(
        updated.survey.wording.is_empty(),
        "other languages' wording is not sent"
    );
    assert_eq!(
        survey("?lang=en", "").await.messages.open_promoter,
        "What do you value most about us?"
    );
}

#[tokio::test]
async fn each_step_updates_one_response_and_a_bad_answer_keeps_the_rest() {
    let server = TestServer::start().await;
    let post = |fields: Value| {
        let mut body = json!({"response_id": RESPONSE_ID, "score": 3, "survey_version": 1});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        server.post(Some(SHOP), body.to_string())
    };
    assert_eq!(post(json!({"lang": "et"})).await.0, StatusCode::OK);
    let shown = json!([{"id": "trust.honest", "answer": 2}, {"id": "cognitive.better"}]);
    let (status, _) = post(json!({"comment": "Külm kohv", "statements": shown})).await;
    assert_eq!(status, StatusCode::OK);

    for (fields, code) in [
        (
            json!({"contact": {"consent": true, "email": "not-an-email"}}),
            "invalid_email",
        ),
        (
            json!({"statements": [{"id": "trust.honest", "answer": 9}]}),
            "invalid_agreement",
        ),
        (json!({"effort": 0}), "invalid_effort"),
        (
            json!({"statements": [{"id": "trust.gullible", "answer": 3}]}),
            "unknown_statement",
        ),
        (json!({"score": 10, "effort": 4}), "step_not_in_survey"),
        (json!({"survey_version": 7}), "unknown_survey_version"),
        (json!({"effort_drivers": ["was_bored"]}), "malformed_json"),
    ] {
        let (status, body) = post(fields.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields}: {body}");
        assert_eq!(body["error"]["code"], code, "{fields}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let kept = &server.export(&server.site.admin_token).await[0];
    assert_eq!(kept.score, 3, "the refused score-10 post changed nothing");
    assert_eq!(kept.comment.as_deref(), Some("Külm kohv"));
    assert_eq!(kept.statements.len(), 2);

    let (status, _) = post(json!({
        "effort": 2, "effort_drivers": ["switched_channel"],
        "contact": {"consent": true, "email": "mari@example.ee"}
    }))
    .await;
    assert_eq!(status, StatusCode::OK);
    let responses = server.export(&server.site.admin_token).await;
    assert_eq!(responses.len(), 1, "every step updated the same response");
    let whole = &responses[0];
    assert_eq!(
        (whole.lang.as_deref(), whole.survey_version),
        (Some("et"), Some(1))
    );
    assert_eq!(whole.comment.as_deref(), Some("Külm kohv"));
    let statements: Vec<_> = whole
        .statements
        .iter()
        .map(|s| (s.id.as_str(), s.answer))
        .collect();
    assert_eq!(
        statements,
        [("cognitive.better", None), ("trust.honest", Some(2))]
    );
    assert_eq!(whole.effort, Some(2));
    assert_eq!(
        whole.effort_drivers,
        [soovita_wire::EffortDriver::SwitchedChannel]
    );
    assert_eq!(
        (whole.contact_consent, whole.email.as_deref()),
        (Some(true), Some("mari@example.ee"))
    );
}

#[tokio::test]
async fn a_respondent_is_erased_by_email() {
    let server = TestServer::start().await;
    let body = json!({"response_id": RESPONSE_ID, "score": 2,
        "contact": {"consent": true, "email": "mari@example.ee"}});
    assert_eq!(
        server.post(Some(SHOP), body.to_string()).await.0,
        StatusCode::OK
    );
    let erase = |query: &'static str, body: &'static str, token: &str| {
        server
            .http
            .delete(server.url(&server.site.site_id, &format!("responses{query}")))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    let missing = erase("", "", &server.site.admin_token).await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_query");
    // Proxies log query strings: an address there is refused, and nothing is erased.
    let logged = erase("?email=mari@example.ee", "", &server.site.admin_token)
        .await
        .unwrap();
    assert_eq!(logged.status(), StatusCode::BAD_REQUEST);
    let body: Value = logged.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in the body"),
        "{body}"
    );
    let foreign = erase("", r#"{"email": "mari@example.ee"}"#, "sv_not_the_token")
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(server.export(&server.site.admin_token).await.len(), 1);
    let erased = erase(
        "",
        r#"{"email": "MARI@example.ee"}"#,
        &server.site.admin_token,
    )
    .await
    .unwrap();
    assert_eq!(erased.status(), StatusCode::OK);
    assert_eq!(erased.json::<Value>().await.unwrap(), json!({"erased": 1}));
    assert!(server.export(&server.site.admin_token).await.is_empty());
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    let paths = doc["paths"].as_object().expect("a paths object");
    let mut documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    let mut served = soovita_server::routes::PATHS.to_vec();
    documented.sort_unstable();
    served.sort_unstable();
    assert_eq!(
        documented, served,
        "documented paths differ from the router's"
    );

    for (path, operations) in paths {
        let url = format!(
            "{}{}",
            server.base,
            path.replace("{site_id}", &server.site.site_id)
                .replace("{response_id}", RESPONSE_ID)
                .replace("{name}", "missing.wasm")
        );
        for method in ["get", "post", "put", "delete"] {
            let request = server
                .http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .header("origin", SHOP)
                .body("{}");
            let response = request.send().await.unwrap();
            let status = response.status();
            let code = response
                .json::<Value>()
                .await
                .ok()
                .and_then(|body| body["error"]["code"].as_str().map(str::to_owned));
            if operations.get(method).is_some() {
                assert!(
                    !matches!(
                        code.as_deref(),
                        Some("no_such_endpoint" | "method_not_allowed")
                    ),
                    "{method} {path} is documented but not served ({status})"
                );
            } else {
                assert_eq!(
                    code.as_deref(),
                    Some("method_not_allowed"),
                    "{method} {path} is served but not documented ({status})"
                );
            }
        }
    }

    // Every schema an operation refers to is in the document.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is referenced but not defined"
        );
    }
    assert!(schemas.contains_key("ResponseSubmission") && schemas.contains_key("Messages"));
}

#[tokio::test]
async fn webhooks_are_managed_with_the_admin_token_and_bad_ones_are_named() {
    let server = TestServer::start().await;
    let token = server.site.admin_token.clone();
    let call = |method: reqwest::Method, rest: &str, body: Option<Value>| {
        let mut request = server
            .http
            .request(method, server.url(&server.site.site_id, rest))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for (body, says) in [
        (
            json!({"url": "ftp://hooks.example", "events": ["response"]}),
            "http:// or https://",
        ),
        (
            json!({"url": "https://hooks.example", "events": []}),
            "at least one event",
        ),
        (
            json!({"url": "https://hooks.example", "events": ["everything"]}),
            "at least one event",
        ),
        (
            json!({"url": "https://hooks.example", "events": ["response"], "format": "xml"}),
            "json or slack",
        ),
        (
            json!({"url": "http://127.0.0.1:22/", "events": ["response"]}),
            "refused: 127.0.0.1 is a loopback, private or otherwise internal address",
        ),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data/", "events": ["response"]}),
            "refused: 169.254.169.254",
        ),
        (
            json!({"url": "http://[::ffff:10.0.0.1]/", "events": ["response"]}),
            "refused: ::ffff:10.0.0.1",
        ),
        (
            json!({"url": "http://localhost:5432/", "events": ["response"]}),
            "refused: localhost",
        ),
        (
            json!({"url": "https://admin:pw@hooks.example/", "events": ["response"]}),
            "must not carry a user name or password",
        ),
    ] {
        let (status, error) = call(reqwest::Method::POST, "webhooks", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&error), "invalid_webhook");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(says),
            "{error}"
        );
    }
    let (status, added) = call(
        reqwest::Method::POST,
        "webhooks",
        Some(json!({"url": "https://hooks.slack.com/services/T0/B0/x", "events": ["new_detractor", "contact_requested"], "format": "slack"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(
        added["events"],
        json!(["new_detractor", "contact_requested"])
    );
    assert_eq!(added["secret"].as_str().unwrap().len(), 64);
    let (_, listed) = call(reqwest::Method::GET, "webhooks", None).await;
    assert_eq!(listed, json!([added.clone()]));

    let other = register_site(server.store.as_ref(), "Other", "https://other.example").await;
    let foreign = server
        .http
        .get(server.url(&server.site.site_id, "webhooks"))
        .bearer_auth(&other.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "another site's token"
    );

    let (status, log) = call(reqwest::Method::GET, "webhook-deliveries", None).await;
    assert_eq!((status, log), (StatusCode::OK, json!([])));
    let (status, error) = call(
        reqwest::Method::POST,
        "webhook-deliveries/nope/resend",
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::NOT_FOUND, "unknown_webhook")
    );
    let id = added["id"].as_str().unwrap();
    let (status, _) = call(reqwest::Method::DELETE, &format!("webhooks/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = call(reqwest::Method::DELETE, &format!("webhooks/{id}"), None).await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::NOT_FOUND, "unknown_webhook")
    );
}

#[tokio::test]
async fn large_exports_stream_page_by_page_and_arrive_whole() {
    let server = TestServer::start().await;
    let site = soovita_server::domain::SiteId::parse(&server.site.site_id).unwrap();
    let count = 2 * soovita_server::responses::PAGE_SIZE as usize + 17;
    let now_ms = soovita_server::clock::now_ms();
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..count {
        let (store, site) = (server.store.clone(), site.clone());
        writers.spawn(async move {
            let comment = format!("=cell {n}, \"quoted\"");
            let update = common::update(
                &format!("00000000-0000-4000-8000-{n:012}"),
                i32::try_from(n % 11).unwrap(),
                Some(&comment),
            );
            // A few share a time, so pages also break inside a run of equal times. Recent
            // times: the server purges responses past their retention as it starts.
            store
                .upsert_response(&site, &update, now_ms + i64::try_from(n / 3).unwrap())
                .await
        });
    }
    for written in writers.join_all().await {
        written.unwrap();
    }
    for format in ["json", "csv"] {
        let response = server
            .http
            .get(server.url(&server.site.site_id, &format!("responses?format={format}")))
            .bearer_auth(&server.site.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers().get("content-length").is_none(),
            "{format} is streamed, not built whole first"
        );
        let body = response.text().await.unwrap();
        let ids: Vec<String> = if format == "json" {
            let rows: Vec<ExportedResponse> = serde_json::from_str(&body).unwrap();
            rows.into_iter().map(|row| row.response_id).collect()
        } else {
            let mut reader = csv::Reader::from_reader(body.as_bytes());
            reader
                .records()
                .map(|record| {
                    let record = record.unwrap();
                    assert!(record[7].starts_with("'=cell"), "{:?}", &record[7]);
                    record[0].to_owned()
                })
                .collect()
        };
        let expected: Vec<String> = (0..count)
            .map(|n| format!("00000000-0000-4000-8000-{n:012}"))
            .collect();
        assert_eq!(ids, expected, "{format}: every response once, oldest first");
    }
}

#[tokio::test]
async fn the_inbox_is_read_and_worked_through_with_the_admin_token() {
    let server = TestServer::start().await;
    let body = json!({"response_id": RESPONSE_ID, "score": 2, "comment": "Cold",
        "contact": {"consent": true, "email": "mari@example.ee"}});
    assert_eq!(
        server.post(Some(SHOP), body.to_string()).await.0,
        StatusCode::OK
    );
    let inbox = || async {
        let response = server
            .http
            .get(server.url(&server.site.site_id, "inbox"))
            .bearer_auth(&server.site.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    let before = inbox().await;
    assert_eq!(before["cases"].as_array().unwrap().len(), 1);
    let case = &before["cases"][0];
    assert_eq!(
        (&case["response_id"], &case["email"], &case["status"]),
        (
            &json!(RESPONSE_ID),
            &json!("mari@example.ee"),
            &json!("new")
        )
    );
    assert!(before["first_contact_ms"].is_null());

    let put = |id: &str, body: Value| {
        let request = server
            .http
            .put(server.url(&server.site.site_id, &format!("inbox/{id}")))
            .bearer_auth(&server.site.admin_token)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, error) = put(RESPONSE_ID, json!({"status": "done"})).await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::BAD_REQUEST, "invalid_follow_up")
    );
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("new, contacted or resolved"));
    let (status, error) = put(
        RESPONSE_ID,
        json!({"status": "contacted", "notes": "x".repeat(4_001)}),
    )
    .await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::BAD_REQUEST, "invalid_follow_up")
    );
    let other = "00000000-0000-4000-8000-00000000beef";
    let (status, error) = put(other, json!({"status": "resolved"})).await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::NOT_FOUND, "unknown_response")
    );
    let (status, _) = put(
        RESPONSE_ID,
        json!({"status": "resolved", "notes": " Refunded "}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let after = inbox().await;
    let case = &after["cases"][0];
    assert_eq!(
        (&case["status"], &case["notes"]),
        (&json!("resolved"), &json!("Refunded"))
    );
    assert!(
        case["contacted_at_ms"].as_i64().is_some() && case["resolved_at_ms"].as_i64().is_some()
    );
    assert!(after["resolution_ms"].as_i64().is_some_and(|ms| ms >= 0));
    assert_eq!(after["by_month"].as_array().unwrap().len(), 1);
}

#[test]
fn an_owner_password_is_taken_from_the_environment_never_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/owners.db", dir.path().display());
    let owner_add = |extra: &[&str], env: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_soovita"));
        command
            .args([
                "owner",
                "add",
                "--email",
                "mari@shop.example",
                "--database",
                &database,
            ])
            .args(extra)
            .env_remove("SOOVITA_OWNER_PASSWORD");
        if let Some(password) = env {
            command.env("SOOVITA_OWNER_PASSWORD", password);
        }
        command.output().unwrap()
    };
    let refused = owner_add(&["--password", "correct horse battery"], None);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("set SOOVITA_OWNER_PASSWORD"), "{said}");
    let added = owner_add(&[], Some("correct horse battery"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let said = String::from_utf8_lossy(&added.stdout);
    assert!(
        !said.contains("with password"),
        "the given password is not printed: {said}"
    );
}

#[tokio::test]
async fn an_account_that_keeps_failing_waits_even_with_the_right_password() {
    let server = TestServer::start().await;
    let owner = soovita_server::accounts::Owner::new("mari@shop.example", "right password 123");
    server.store.create_owner(&owner, 0).await.unwrap();
    let sign_in = |password: &'static str| {
        server
            .http
            .post(format!("{}/console/sign-in", server.base))
            .form(&[("email", "mari@shop.example"), ("password", password)])
            .send()
    };
    for _ in 0..6 {
        let refused = sign_in("wrong password 123").await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let waiting = sign_in("right password 123").await.unwrap();
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(waiting.headers().contains_key("retry-after"));
    assert!(waiting.text().await.unwrap().contains("Too many attempts"));
}

/// Sends `head` on a raw connection and returns it, for clients no HTTP library would be.
async fn raw_connection(base: &str, head: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection, or `None` if it has not
/// answered within `within` (a hang, which the tests below must not see).
async fn answer_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_body_trickled_byte_by_byte_is_cut_off_at_the_deadline_on_every_route() {
    let server = TestServer::start_with(soovita_server::ServeOptions {
        timeouts: soovita_server::http::Timeouts {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_millis(600),
        },
        ..soovita_server::ServeOptions::default()
    })
    .await;
    let site = server.site.site_id.clone();
    for (method, path) in [
        ("POST", format!("/v1/sites/{site}/responses")),
        ("PUT", format!("/v1/sites/{site}/survey/definition")),
        ("POST", "/console/sign-in".to_owned()),
    ] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nOrigin: {SHOP}\r\nContent-Length: 1000\r\n\r\n"
        );
        let stream = raw_connection(&server.base, &head).await;
        let (mut reader, mut writer) = stream.into_split();
        // A byte every 200 ms, well inside a per-frame timeout, for longer than the deadline:
        // a slow client by design, so this loop waits on purpose.
        let trickle = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for _ in 0..50 {
                if writer.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), async {
            use tokio::io::AsyncReadExt;
            let _ = reader.read_to_end(&mut answer).await;
        })
        .await;
        trickle.abort();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            read.is_ok(),
            "{method} {path}: still open while the client trickles"
        );
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{method} {path}: {answer}"
        );
        assert!(answer.contains("did not arrive within 600 ms"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_read_and_the_connection_closed() {
    let server = TestServer::start().await;
    let site = server.site.site_id.clone();
    for path in [
        format!("/v1/sites/{site}/responses"),
        "/console/sign-in".to_owned(),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: {SHOP}\r\nContent-Length: 10000000\r\n\r\n"
        );
        let mut stream = raw_connection(&server.base, &head).await;
        let answer = answer_within(&mut stream, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{path}: no answer without the body"));
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
    // Over the limit only once decompressed: refused inside, and the connection still closed.
    let big = json!({"response_id": RESPONSE_ID, "score": 3, "comment": "x".repeat(20_000)});
    let response = server
        .http
        .post(server.url(&site, "responses"))
        .header("origin", SHOP)
        .body(big.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()["connection"], "close");
}

#[tokio::test]
async fn connections_over_the_per_client_cap_get_503_not_a_hang() {
    let server = TestServer::start_with(soovita_server::ServeOptions {
        connections: soovita_server::http::ConnectionLimits {
            total: 100,
            per_client: 2,
            trusted_proxies: Vec::new(),
        },
        ..soovita_server::ServeOptions::default()
    })
    .await;
    let _first = raw_connection(&server.base, "").await;
    let _second = raw_connection(&server.base, "").await;
    let mut third = raw_connection(&server.base, "").await;
    let answer = answer_within(&mut third, Duration::from_secs(5))
        .await
        .expect("refused at once");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
}
