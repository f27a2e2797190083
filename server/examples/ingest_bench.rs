//! Ingest throughput and latency against the parse-only baseline, measured in one run.
//!
//! ```sh
//! cargo build --release -p soovita-server
//! cargo run --release -p soovita-server --example ingest_bench -- [seconds] [connections]
//! ```
//!
//! It starts `target/release/soovita serve` (or `$SOOVITA_BIN`) on a fresh SQLite file (or
//! `$BENCH_DATABASE`, e.g. a PostgreSQL URL), then drives, for the same time and with the same
//! number of connections, first the parse-only endpoint and then the real, durable one. It prints
//! figures and asserts nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

struct Figures {
    requests: usize,
    errors: usize,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

async fn drive(
    url: Arc<String>,
    origin: &'static str,
    connections: usize,
    seconds: u64,
) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                // One client each: one keep-alive connection per worker, like separate visitors.
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
                    .build()
                    .unwrap();
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while Instant::now() < deadline {
                    let body = json!({
                        "response_id": uuid::Uuid::now_v7().to_string(),
                        "score": latencies.len() % 11,
                        "comment": "Fast delivery, friendly staff, would buy again.",
                    });
                    let sent = Instant::now();
                    let response = client
                        .post(url.as_str())
                        .header("origin", origin)
                        .header("content-type", "text/plain;charset=UTF-8")
                        .body(body.to_string())
                        .send()
                        .await;
                    match response {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (worker_latencies, worker_errors) = worker.await.unwrap();
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Figures {
        requests: latencies.len(),
        errors,
        seconds,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn peak_rss_mib(child: &Child) -> f64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn print(name: &str, figures: &Figures) -> f64 {
    let rate = figures.requests as f64 / figures.seconds;
    println!(
        "  {name:<12} {rate:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}",
        figures.p50.as_secs_f64() * 1e3,
        figures.p99.as_secs_f64() * 1e3,
        figures.errors
    );
    rate
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let connections: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let binary = std::env::var("SOOVITA_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/soovita").to_owned()
    });
    let dir = tempfile::tempdir()?;
    let database = std::env::var("BENCH_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    const ORIGIN: &str = "https://shop.example";

    let added = Command::new(&binary)
        .args([
            "site",
            "add",
            "--name",
            "Bench",
            "--origin",
            ORIGIN,
            "--database",
            &database,
        ])
        .output()?;
    anyhow::ensure!(
        added.status.success(),
        "site add failed: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let site: serde_json::Value = serde_json::from_slice(&added.stdout)?;
    let site_id = site["site_id"].as_str().unwrap().to_owned();

    let mut server = Command::new(&binary)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--bench-parse-only",
            "--database",
            &database,
        ])
        // The benchmark is the load; limits would only measure themselves.
        .args([
            "--rate-per-client",
            "1000000000",
            "--rate-per-site",
            "1000000000",
        ])
        .env("SOOVITA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line)?;
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();

    println!(
        "ingest benchmark: {connections} connections, {seconds} s each, database {}",
        soovita_server::db::redact_password(&database)
            .split("://")
            .next()
            .unwrap_or("?")
    );
    // The baseline runs before and after ingest, so warm-up and drift count against neither.
    let parse_only_url = Arc::new(format!("{base}/bench/parse-only/{site_id}"));
    let ingest_url = Arc::new(format!("{base}/v1/sites/{site_id}/responses"));
    let before = print(
        "parse-only",
        &drive(parse_only_url.clone(), ORIGIN, connections, seconds).await,
    );
    let ingest = drive(ingest_url, ORIGIN, connections, seconds).await;
    let durable = print("ingest", &ingest);
    let after = print(
        "parse-only",
        &drive(parse_only_url, ORIGIN, connections, seconds).await,
    );
    println!(
        "  durable ingest / parse-only: {:.2}",
        durable / ((before + after) / 2.0)
    );

    let peak_rss = peak_rss_mib(&server);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await?
        .text()
        .await?;
    let metric = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (batches, batched) = (
        metric("soovita_write_batch_size_count"),
        metric("soovita_write_batch_size_sum"),
    );
    println!(
        "  write batches: {batches:.0}, mean size {:.1}",
        batched / batches
    );
    let token = site["admin_token"].as_str().unwrap();
    let stored: Vec<serde_json::Value> = reqwest::Client::new()
        .get(format!("{base}/v1/sites/{site_id}/responses"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "  acknowledged {} answers, stored {}",
        ingest.requests,
        stored.len()
    );
    println!("  server peak RSS during the runs: {peak_rss:.1} MiB");
    server.kill()?;
    Ok(())
}
