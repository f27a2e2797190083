//! What a 2xx promises, checked against real processes: acknowledged answers survive SIGKILL,
//! and several servers on one PostgreSQL database lose and duplicate nothing.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{add_site, exported_ids, postgres_admin_url, ServerProcess, ThrowawayPostgres};

const ORIGIN: &str = "https://shop.example";

/// Posts new answers from `workers` tasks until a request fails; returns the acknowledged ids.
/// Posts one answer as the widget would, from a page on ORIGIN.
async fn post_answer(
    client: &reqwest::Client,
    responses_url: &str,
    id: &str,
    score: usize,
) -> reqwest::Result<reqwest::Response> {
    let body = serde_json::json!({"response_id": id, "score": score});
    client
        .post(responses_url)
        .header("origin", ORIGIN)
        .body(body.to_string())
        .send()
        .await
}

async fn load_until_failure(
    urls: Vec<String>,
    site_id: String,
    workers: usize,
    stop_after: Option<usize>,
) -> Vec<String> {
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let url = format!("{}/v1/sites/{site_id}/responses", urls[worker % urls.len()]);
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let client = common::browser_client();
                for sent in 0.. {
                    if stop_after.is_some_and(|limit| sent >= limit) {
                        break;
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let response = post_answer(&client, &url, &id, sent % 11).await;
                    match response {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.lock().unwrap().push(id)
                        }
                        Ok(response) => {
                            panic!("the server refused a valid answer: {}", response.status())
                        }
                        // The server was killed under us: this answer may or may not be stored.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(acknowledged).unwrap().into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_answers_survive_repeated_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/crash.db", dir.path().display());
    let (site_id, token) = add_site(&database, ORIGIN);
    let mut acknowledged = Vec::new();
    for _round in 0..5 {
        let mut server = ServerProcess::start(&database);
        let load = tokio::spawn(load_until_failure(
            vec![server.url.clone()],
            site_id.clone(),
            16,
            None,
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        server.child.kill().unwrap(); // SIGKILL: no chance to flush anything.
        server.child.wait().unwrap();
        acknowledged.extend(load.await.unwrap());
    }
    let server = ServerProcess::start(&database);
    let stored: HashSet<String> = exported_ids(&server.url, &site_id, &token)
        .await
        .into_iter()
        .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    eprintln!(
        "SIGKILL test: {} acknowledged, {} stored, {} lost",
        acknowledged.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        acknowledged.len() > 100,
        "too little load to prove anything: {}",
        acknowledged.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged answers were lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/term.db", dir.path().display());
    let (site_id, token) = add_site(&database, ORIGIN);
    let mut server = ServerProcess::start(&database);
    let load = tokio::spawn(load_until_failure(
        vec![server.url.clone()],
        site_id.clone(),
        16,
        None,
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "soovita exited with {status} after SIGTERM"
    );
    assert!(signalled.elapsed() < soovita_server::SHUTDOWN_GRACE + Duration::from_secs(2));
    let acknowledged = load.await.unwrap();

    let server = ServerProcess::start(&database);
    let stored: HashSet<String> = exported_ids(&server.url, &site_id, &token)
        .await
        .into_iter()
        .collect();
    assert!(!acknowledged.is_empty());
    assert!(
        acknowledged.iter().all(|id| stored.contains(id)),
        "an acknowledged answer was lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_database_lose_and_duplicate_nothing() {
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let database = ThrowawayPostgres::create(&admin_url).await;
    let (site_id, token) = add_site(&database.url, ORIGIN);
    let servers = [
        ServerProcess::start(&database.url),
        ServerProcess::start(&database.url),
    ];
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let acknowledged = load_until_failure(urls.clone(), site_id.clone(), 16, Some(40)).await;
    assert_eq!(acknowledged.len(), 16 * 40);

    // Each server sees the other's writes, and replays through the other server change nothing.
    let replayed = load_replays(&urls[1], &site_id, &acknowledged[..50]).await;
    assert_eq!(replayed, 50);
    for url in &urls {
        let stored = exported_ids(url, &site_id, &token).await;
        let unique: HashSet<_> = stored.iter().collect();
        assert_eq!(stored.len(), unique.len(), "duplicates in the export");
        assert_eq!(unique, acknowledged.iter().collect::<HashSet<_>>());
    }
}

async fn load_replays(url: &str, site_id: &str, ids: &[String]) -> usize {
    let client = common::browser_client();
    let mut accepted = 0;
    let url = format!("{url}/v1/sites/{site_id}/responses");
    for id in ids {
        let response = post_answer(&client, &url, id, 3).await.unwrap();
        accepted += usize::from(response.status().is_success());
    }
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_outage_answers_503_so_clients_retry() {
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let database = ThrowawayPostgres::create(&admin_url).await;
    let (site_id, _) = add_site(&database.url, ORIGIN);
    let server = ServerProcess::start(&database.url);
    let client = common::browser_client();
    let ready = client
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);

    database.drop_now().await;

    // Not a benchmark: sqlx's default wait for a connection (30 s) made every request hang
    // that long during an outage, and load balancers saw time-outs instead of 503s.
    let soon = Duration::from_secs(10);
    let ready = tokio::time::timeout(soon, client.get(format!("{}/readyz", server.url)).send())
        .await
        .expect("/readyz answers during an outage within seconds")
        .unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let id = uuid::Uuid::new_v4().to_string();
    let url = format!("{}/v1/sites/{site_id}/responses", server.url);
    let response = tokio::time::timeout(soon, post_answer(&client, &url, &id, 6))
        .await
        .expect("an answer during an outage gets its 503 within seconds")
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "storage_unavailable");
}
