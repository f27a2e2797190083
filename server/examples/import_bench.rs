//! How long `soovita import` takes for a big Delighted export, and how much memory it holds:
//! writes a CSV of N rows (default 1,000,000) in Delighted's layout to a temporary directory,
//! then imports it into a new site of a new SQLite database, as the command does (two passes:
//! check, then write). Prints the time of each and the process's peak resident memory.
//!
//! cargo run --release -p soovita-server --example import_bench [ROWS]

use std::io::{BufWriter, Read, Write};
use std::sync::Arc;
use std::time::Instant;

use soovita_server::imports::{import, Format, Opener, Options, Target};
use soovita_server::sites::{register, SiteSettings};
use soovita_server::store;

const DAY: i64 = 86_400_000;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("delighted.csv");
    let now = soovita_server::clock::now_ms();
    let words = [
        "delivery", "price", "friendly", "slow", "coffee", "website", "staff", "late",
    ];
    {
        let mut file = BufWriter::new(std::fs::File::create(&path)?);
        writeln!(
            file,
            "Response ID,Score,Comment,Response timestamp,Email,Name,Survey type,Permalink,Plan,Country"
        )?;
        for n in 0..rows {
            let at = (now - (n as i64 % 360 + 1) * DAY - n as i64 % 86_000 * 1_000) / 1000;
            let comment = if n % 5 == 0 {
                format!("The {} was {}", words[n % 8], words[(n / 8) % 8])
            } else {
                String::new()
            };
            let email = if n % 4 == 0 {
                format!("p{n}@example.com")
            } else {
                String::new()
            };
            writeln!(
                file,
                "{},{},{comment},{at},{email},Person {n},nps,https://app.delighted.com/r/{n},{},{}",
                10_000_000 + n,
                n * 7 % 11,
                ["basic", "pro"][n % 2],
                ["EE", "LV", "FI"][n % 3]
            )?;
        }
    }
    let size = std::fs::metadata(&path)?.len();
    let store =
        store::open_for_import(&format!("sqlite://{}/bench.db", dir.path().display())).await?;
    let registered = register(
        store.as_ref(),
        SiteSettings {
            name: "Kohvik",
            origins: &["https://kohvik.ee".to_owned()],
            sample_percent: 100,
            cooldown_days: 0,
            retention_days: 730,
            honor_do_not_track: false,
        },
    )
    .await?;
    let site = soovita_server::domain::SiteId::parse(&registered.site_id)?;
    let target = Target {
        site,
        oldest_ms: now - 730 * DAY,
        retention_days: 730,
        newest_ms: now + DAY,
    };
    let opened = path.clone();
    let open: Opener = Arc::new(move || {
        Ok(
            Box::new(std::io::BufReader::new(std::fs::File::open(&opened)?))
                as Box<dyn Read + Send>,
        )
    });
    let before = peak_rss_mib();
    let started = Instant::now();
    let dry = Options {
        dry_run: true,
        ..Options::default()
    };
    let checked = import(
        store.clone(),
        &target,
        &Format::Delighted,
        open.clone(),
        &dry,
        None,
    )
    .await?;
    let check_time = started.elapsed();
    let after_check = peak_rss_mib();
    let started = Instant::now();
    let report = import(
        store.clone(),
        &target,
        &Format::Delighted,
        open,
        &Options::default(),
        None,
    )
    .await?;
    let total = started.elapsed();
    println!(
        "{rows} rows ({:.0} MB): check alone {:.1} s; import (check + write) {:.1} s = {:.0} rows/s; \
         added {}, refused {}; peak RSS {:.0} MiB (before the import {:.0} MiB, after the check alone {:.0} MiB)",
        size as f64 / 1e6,
        check_time.as_secs_f64(),
        total.as_secs_f64(),
        rows as f64 / total.as_secs_f64(),
        report.added,
        checked.refused,
        peak_rss_mib(),
        before,
        after_check
    );
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines().filter(|l| l.starts_with("Rss")) {
        println!("{line}");
    }
    Ok(())
}
