//! How long the owner's figures take for a site with many responses, on SQLite.
//!
//! ```sh
//! cargo run --release -p soovita-server --example results_bench -- [responses]
//! ```
//!
//! It seeds a fresh SQLite file with `responses` (default 1,000,000) responses over a year,
//! each with two answered statements and, for detractors, an effort answer, straight in SQL
//! (the ingest path would take minutes to fill it), rolls up the settled days as the server does
//! in the background, then times what the console asks the store for: the results unfiltered
//! and filtered, the newest comments, and the inbox, each the median of five runs; then one
//! streamed CSV export of everything. It asserts nothing.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use soovita_server::responses::export::{download, ExportFormat};
use soovita_server::responses::filter::{FilterQuery, ResponseFilter};
use soovita_server::sites::{register, SiteSettings};
use soovita_server::store;

/// Rows inserted per statement while seeding.
const CHUNK: i64 = 50_000;

async fn median_of_five<F, Fut, T>(mut run: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, store::StoreError>>,
{
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        run().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[2])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let responses: i64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/results.db", dir.path().display());
    let store = store::open(&url).await?;
    let origins = ["https://shop.example".to_owned()];
    let site = register(
        store.as_ref(),
        SiteSettings {
            name: "Bench",
            origins: &origins,
            sample_percent: 100,
            cooldown_days: 90,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await?;
    let site_id = soovita_server::domain::SiteId::parse(&site.site_id)?;

    let seeding = Instant::now();
    let pool = sqlx::SqlitePool::connect(&url).await?;
    // Responses spread over the 365 days before today (UTC).
    let today = soovita_server::clock::now_ms() / 86_400_000;
    let start_ms: i64 = (today - 365) * 86_400_000;
    for first in (0..responses).step_by(CHUNK as usize) {
        let last = (first + CHUNK).min(responses) - 1;
        let mut transaction = pool.begin().await?;
        sqlx::query(
            "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2) \
             INSERT INTO responses (id, site_id, score, survey_version, lang, device_class, \
                 page_path, comment, effort, effort_drivers, contact_consent, email, \
                 created_at_ms, updated_at_ms) \
             SELECT 'r' || i, $3, (i * 7 + i / 13) % 11, 1, CASE i % 2 WHEN 0 THEN 'et' ELSE 'en' END, \
                 CASE i % 3 WHEN 0 THEN 'phone' WHEN 1 THEN 'tablet' ELSE 'desktop' END, \
                 CASE i % 4 WHEN 0 THEN '/checkout' ELSE '/' END, \
                 CASE WHEN i % 10 = 0 THEN 'Comment number ' || i END, \
                 CASE WHEN (i * 7 + i / 13) % 11 <= 6 THEN 1 + i % 7 END, \
                 CASE WHEN (i * 7 + i / 13) % 11 <= 6 AND i % 2 = 0 THEN 'contacted_again' END, \
                 CASE WHEN i % 50 = 0 THEN TRUE END, \
                 CASE WHEN i % 50 = 0 THEN 'guest' || i || '@example.com' END, \
                 $4 + (i % 365) * 86400000 + i % 86400000, $4 + (i % 365) * 86400000 \
             FROM seq",
        )
        .bind(first)
        .bind(last)
        .bind(site_id.as_str())
        .bind(start_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "WITH RECURSIVE seq(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2) \
             INSERT INTO response_statements (response_id, statement_id, dimension, answer) \
             SELECT 'r' || i, 'trust.a', 'trust', 1 + ((i * 7 + i / 13) % 11) / 3 FROM seq \
             UNION ALL \
             SELECT 'r' || i, 'fairness.a', 'fairness', 1 + i % 5 FROM seq",
        )
        .bind(first)
        .bind(last)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
    }
    sqlx::query("ANALYZE").execute(&pool).await?;
    println!(
        "seeded {responses} responses ({} statements) in {:.1} s",
        2 * responses,
        seeding.elapsed().as_secs_f64()
    );

    // What the server's background task does every minute; the first time, for a year.
    let rolling = Instant::now();
    soovita_server::results::roll_up_all(store.as_ref(), soovita_server::clock::now_ms()).await?;
    println!(
        "rolled up the settled days in {:.1} s",
        rolling.elapsed().as_secs_f64()
    );

    let everything = ResponseFilter::default();
    let date = |day: i64| {
        time::OffsetDateTime::from_unix_timestamp(day * 86_400)
            .map(|at| at.date().to_string())
            .ok()
    };
    let phones_in_a_month = FilterQuery {
        from: date(today - 90),
        to: date(today - 61),
        device: Some("phone".into()),
        ..FilterQuery::default()
    }
    .parse()?;
    let figures = [
        (
            "results, every response",
            median_of_five(|| store.result_sums(&site_id, &everything)).await?,
        ),
        (
            "results, phones in a month",
            median_of_five(|| store.result_sums(&site_id, &phones_in_a_month)).await?,
        ),
        (
            "newest 100 comments",
            median_of_five(|| store.comments(&site_id, &everything, None, 100)).await?,
        ),
        (
            "comments containing \"99\"",
            median_of_five(|| store.comments(&site_id, &everything, Some("99"), 100)).await?,
        ),
        (
            "inbox, 500 cases",
            median_of_five(|| store.inbox(&site_id, 500)).await?,
        ),
    ];
    for (what, took) in figures {
        println!("  {what:<28} {:>8.1} ms", took.as_secs_f64() * 1e3);
    }

    // Once, not five times: it reads every response.
    let started = Instant::now();
    let response = download(
        store.clone(),
        site_id.clone(),
        everything,
        ExportFormat::Csv,
    )
    .await?;
    let first_bytes = started.elapsed();
    let mut body = response.into_body().into_data_stream();
    let mut bytes = 0;
    while let Some(chunk) = body.next().await {
        bytes += chunk?.len();
    }
    println!(
        "  CSV export, streamed         first bytes after {:.1} ms, all {:.0} MB in {:.1} s",
        first_bytes.as_secs_f64() * 1e3,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
