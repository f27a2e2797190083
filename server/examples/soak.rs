//! Memory over time under steady, realistic traffic: a benchmark, not a test.
//!
//! ```sh
//! cargo build --release -p soovita-server
//! cargo run --release -p soovita-server --example soak -- --minutes 30 --rate 500
//! cargo run --release -p soovita-server --example soak -- --database postgres://…/soak
//! ```
//!
//! It starts `target/release/soovita serve` (or `$SOOVITA_BIN`) behind a pretend proxy
//! (`--trusted-proxy 127.0.0.1`, every answer from one of `--clients` addresses in
//! `X-Forwarded-For`), with the default rate limits, on a fresh SQLite file unless `--database`
//! names one. Against `--sites` sites it sends `--rate` answers a second, paced on a clock
//! (mixed sizes; a fifth of them update an earlier response), a survey fetch for every tenth,
//! and every 5 s a signed-in owner's dashboard, inbox or a filtered CSV export, in turn; every site has
//! a webhook whose deliveries go to a receiver in this process. The roll-up and purge tasks run
//! in the server as always. Every 5 s it prints the server's anonymous and file-backed resident
//! memory, its open file descriptors, and the answers per second and p99 of that window; at the
//! end, the slope and range of anonymous memory after the warm-up.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Settings of the soak run.
#[derive(Parser)]
struct Args {
    /// How long to run.
    #[arg(long, default_value_t = 30)]
    minutes: u64,
    /// Answers a second, over all sites.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Sites the answers are spread over.
    #[arg(long, default_value_t = 4)]
    sites: usize,
    /// Distinct client addresses.
    #[arg(long, default_value_t = 50_000)]
    clients: u32,
    /// Minutes at the start that the slope leaves out.
    #[arg(long, default_value_t = 5)]
    warm_up_minutes: u64,
    /// The database URL; a fresh SQLite file by default.
    #[arg(long)]
    database: Option<String>,
}

const ORIGIN: &str = "https://shop.example";
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const PAGES: [&str; 8] = [
    "/",
    "/checkout",
    "/cart",
    "/help",
    "/product/1",
    "/product/2",
    "/account",
    "/blog",
];
const DEVICES: [&str; 3] = ["phone", "tablet", "desktop"];
const WORDS: [&str; 16] = [
    "delivery",
    "was",
    "slow",
    "friendly",
    "staff",
    "price",
    "website",
    "easy",
    "the",
    "and",
    "checkout",
    "broke",
    "great",
    "service",
    "tarne",
    "sõbralik",
];

/// What one sampling window saw.
#[derive(Default)]
struct Window {
    latencies: Vec<Duration>,
    errors: u64,
}

/// Refused or failed answers by status (0: no response at all), over the whole run.
type Refusals = Arc<Mutex<BTreeMap<u16, u64>>>;

struct Sample {
    seconds: f64,
    anon_mib: f64,
    file_mib: f64,
    fds: usize,
    rate: f64,
    p99_ms: f64,
}

fn comment(rng: &mut StdRng) -> String {
    let words = rng.random_range(3..80);
    (0..words)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new answer of one of the sizes the card sends, or an update of an earlier one.
fn answer(rng: &mut StdRng, earlier: &mut VecDeque<(String, i64)>) -> Value {
    if rng.random_bool(0.2) {
        if let Some((id, score)) = earlier.get(rng.random_range(0..earlier.len().max(1))) {
            let mut body = json!({"response_id": id, "score": score, "comment": comment(rng)});
            if *score <= 8 {
                body["contact"] = json!({"consent": true, "email": "visitor@example.org"});
            }
            return body;
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    let score = rng.random_range(0..=10_i64);
    earlier.push_back((id.clone(), score));
    if earlier.len() > 10_000 {
        earlier.pop_front();
    }
    let mut body = json!({"response_id": id, "score": score, "lang": "en"});
    match rng.random_range(0..10) {
        0..=3 => {}
        4..=7 => body["comment"] = json!(comment(rng)),
        _ => {
            body["comment"] = json!(comment(rng));
            body["context"] = json!({
                "path": PAGES[rng.random_range(0..PAGES.len())],
                "utm": {"utm_source": "newsletter", "utm_campaign": "winter"},
                "device": DEVICES[rng.random_range(0..DEVICES.len())],
            });
            body["attributes"] = json!({"plan": "pro", "seats": "12"});
            if score <= 6 {
                body["effort"] = json!(rng.random_range(1..=7));
            }
        }
    }
    body
}

fn proc_status(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |field: &str| -> f64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(f64::NAN)
    };
    (kib("RssAnon:") / 1024.0, kib("RssFile:") / 1024.0)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn p99(latencies: &mut [Duration]) -> f64 {
    latencies.sort_unstable();
    let index = (latencies.len() as f64 * 0.99) as usize;
    latencies
        .get(index.min(latencies.len().saturating_sub(1)))
        .map_or(f64::NAN, |latency| latency.as_secs_f64() * 1e3)
}

/// Least-squares slope of `y` over `x`.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    num / den
}

fn run(binary: &str, args: &[&str], database: &str) -> anyhow::Result<Vec<u8>> {
    let output = Command::new(binary)
        .args(args)
        .args(["--database", database])
        .env("SOOVITA_OWNER_PASSWORD", "soak-password-1234")
        .output()?;
    ensure!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output.stdout)
}

/// Counts what the webhooks deliver, answering 204 to each.
async fn webhook_receiver(delivered: Arc<AtomicU64>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let address = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            delivered.fetch_add(1, Ordering::Relaxed);
            async { axum::http::StatusCode::NO_CONTENT }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

/// Signs in to the console and, every [`SAMPLE_EVERY`], reads a dashboard, an inbox or an
/// export of one page's answers, in turn over the sites.
async fn console_reader(base: String, sites: Vec<String>, reads: Arc<AtomicU64>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let signed_in = client
        .post(format!("{base}/console/sign-in"))
        .header("origin", &base)
        .form(&[
            ("email", "owner@soak.test"),
            ("password", "soak-password-1234"),
        ])
        .send()
        .await;
    let Some(cookie) = signed_in.ok().and_then(|response| {
        let cookie = response.headers().get("set-cookie")?.to_str().ok()?;
        Some(cookie.split(';').next()?.to_owned())
    }) else {
        eprintln!("console sign-in failed; the soak goes on without console reads");
        return;
    };
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    for turn in 0_usize.. {
        every.tick().await;
        let site = &sites[turn / 3 % sites.len()];
        let page = PAGES[turn / 3 % PAGES.len()];
        let path = match turn % 3 {
            0 => format!("/console/sites/{site}"),
            1 => format!("/console/sites/{site}/inbox"),
            _ => format!("/console/sites/{site}/export?format=csv&page={page}"),
        };
        let read = client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie);
        if let Ok(response) = read.send().await {
            if response.status().is_success() && response.bytes().await.is_ok() {
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = std::env::var("SOOVITA_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/soovita").to_owned()
    });
    let dir = tempfile::tempdir()?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/soak.db", dir.path().display()));

    let delivered = Arc::new(AtomicU64::new(0));
    let receiver = webhook_receiver(delivered.clone()).await?;
    run(
        &binary,
        &["owner", "add", "--email", "owner@soak.test"],
        &database,
    )?;
    let mut sites = Vec::new();
    for index in 0..args.sites {
        let name = format!("Soak {index}");
        let added = run(
            &binary,
            &[
                "site",
                "add",
                "--name",
                &name,
                "--origin",
                ORIGIN,
                "--cooldown-days",
                "0",
            ],
            &database,
        )?;
        let site: Value = serde_json::from_slice(&added)?;
        sites.push((
            site["site_id"].as_str().context("site id")?.to_owned(),
            site["admin_token"].as_str().context("token")?.to_owned(),
        ));
    }

    let mut server: Child = Command::new(&binary)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxy",
            "127.0.0.1/32",
        ])
        .args(["--webhook-settle-seconds", "5", "--webhook-allow-private"])
        .args(["--database", &database])
        .env("SOOVITA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().context("stdout")?).read_line(&mut line)?;
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .context("address")?
        .to_owned();
    let pid = server.id();

    let client = reqwest::Client::builder()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
        .pool_max_idle_per_host(64)
        .build()?;
    for (site, token) in &sites {
        let added = client
            .post(format!("{base}/v1/sites/{site}/webhooks"))
            .bearer_auth(token)
            .json(&json!({"url": format!("http://{receiver}/hook"), "events": ["new_detractor"]}))
            .send()
            .await?;
        ensure!(
            added.status().is_success(),
            "adding a webhook: {}",
            added.status()
        );
    }

    println!(
        "soak: {} answers/s over {} sites from {} clients for {} min, database {}",
        args.rate,
        args.sites,
        args.clients,
        args.minutes,
        soovita_server::db::redact_password(&database)
            .split("://")
            .next()
            .unwrap_or("?")
    );
    println!("     s  anon MiB  file MiB    fds   answers/s   p99 ms  errors");

    let window = Arc::new(Mutex::new(Window::default()));
    let refusals = Refusals::default();
    let console_reads = Arc::new(AtomicU64::new(0));
    let site_ids: Vec<String> = sites.iter().map(|(id, _)| id.clone()).collect();
    tokio::spawn(console_reader(
        base.clone(),
        site_ids.clone(),
        console_reads.clone(),
    ));

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.minutes * 60);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(512));
    let load = {
        let (window, base, client) = (window.clone(), base.clone(), client.clone());
        let refusals = refusals.clone();
        let clients = args.clients;
        let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(7);
            let mut earlier: Vec<VecDeque<(String, i64)>> = vec![VecDeque::new(); site_ids.len()];
            for sent in 0_u64.. {
                pace.tick().await;
                if Instant::now() >= deadline {
                    break;
                }
                let site_index = rng.random_range(0..site_ids.len());
                let site = &site_ids[site_index];
                let body = answer(&mut rng, &mut earlier[site_index]).to_string();
                let forwarded = Ipv4Addr::from(0x0a00_0000 + rng.random_range(0..clients));
                let survey = (sent % 10 == 0).then(|| format!("{base}/v1/sites/{site}/survey"));
                let url = format!("{base}/v1/sites/{site}/responses");
                let (window, client) = (window.clone(), client.clone());
                let refusals = refusals.clone();
                let permit = in_flight
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed");
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Some(survey) = survey {
                        let _ = client
                            .get(survey)
                            .header("origin", ORIGIN)
                            .header("x-forwarded-for", forwarded.to_string())
                            .send()
                            .await;
                    }
                    let at = Instant::now();
                    let response = client
                        .post(url)
                        .header("origin", ORIGIN)
                        .header("content-type", "text/plain;charset=UTF-8")
                        .header("x-forwarded-for", forwarded.to_string())
                        .body(body)
                        .send()
                        .await;
                    let status = match response {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            if response.bytes().await.is_ok() {
                                status
                            } else {
                                0
                            }
                        }
                        Err(_) => 0,
                    };
                    if (200..300).contains(&status) {
                        window
                            .lock()
                            .expect("never poisoned")
                            .latencies
                            .push(at.elapsed());
                    } else {
                        window.lock().expect("never poisoned").errors += 1;
                        *refusals
                            .lock()
                            .expect("never poisoned")
                            .entry(status)
                            .or_default() += 1;
                    }
                });
            }
        })
    };

    let mut samples = Vec::new();
    let mut every = tokio::time::interval(SAMPLE_EVERY);
    every.tick().await;
    let mut last = Instant::now();
    loop {
        every.tick().await;
        if load.is_finished() {
            break;
        }
        let mut seen = std::mem::take(&mut *window.lock().expect("never poisoned"));
        let (anon_mib, file_mib) = proc_status(pid);
        let sample = Sample {
            seconds: started.elapsed().as_secs_f64(),
            anon_mib,
            file_mib,
            fds: open_fds(pid),
            rate: seen.latencies.len() as f64 / last.elapsed().as_secs_f64(),
            p99_ms: p99(&mut seen.latencies),
        };
        last = Instant::now();
        println!(
            "{:>6.0}  {:>8.1}  {:>8.1}  {:>5}  {:>10.0}  {:>7.2}  {:>6}",
            sample.seconds,
            sample.anon_mib,
            sample.file_mib,
            sample.fds,
            sample.rate,
            sample.p99_ms,
            seen.errors
        );
        samples.push(sample);
    }

    let warm = args.warm_up_minutes as f64 * 60.0;
    // The last sample covers the moment the load stopped: not a full window.
    let settled: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.seconds >= warm && s.rate > 0.0)
        .collect();
    if settled.len() >= 2 {
        let points: Vec<(f64, f64)> = settled.iter().map(|s| (s.seconds, s.anon_mib)).collect();
        let (low, high) = settled.iter().fold((f64::MAX, f64::MIN), |(lo, hi), s| {
            (lo.min(s.anon_mib), hi.max(s.anon_mib))
        });
        let mean = |part: &[&Sample], f: fn(&Sample) -> f64| {
            part.iter().map(|s| f(s)).sum::<f64>() / part.len() as f64
        };
        let head = &settled[..settled.len().min(12)];
        let tail = &settled[settled.len().saturating_sub(12)..];
        println!("after the first {} min:", args.warm_up_minutes);
        println!(
            "  anonymous RSS {low:.1}–{high:.1} MiB (range {:.1}), slope {:+.2} MiB/hour",
            high - low,
            slope(&points) * 3600.0
        );
        let means: Vec<String> = settled
            .chunks(60)
            .map(|five_minutes| format!("{:.1}", mean(five_minutes, |s| s.anon_mib)))
            .collect();
        println!(
            "  anonymous RSS, mean of each 5 minutes: {} MiB",
            means.join(", ")
        );
        println!(
            "  first minute {:.0} answers/s, p99 {:.2} ms; last minute {:.0} answers/s, p99 {:.2} ms",
            mean(head, |s| s.rate),
            mean(head, |s| s.p99_ms),
            mean(tail, |s| s.rate),
            mean(tail, |s| s.p99_ms)
        );
    }
    println!(
        "  answers not stored, by status (0: no answer): {:?}",
        refusals.lock().expect("never poisoned")
    );
    println!(
        "  webhook deliveries received: {}, console reads: {}",
        delivered.load(Ordering::Relaxed),
        console_reads.load(Ordering::Relaxed)
    );
    server.kill()?;
    Ok(())
}
