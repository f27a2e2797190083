//! The `soovita` command line.

use clap::Parser;
use soovita_server::config::{Cli, Command, SiteCommand};
use soovita_server::domain::SiteId;
use soovita_server::rate_limit::RateLimitConfig;
use soovita_server::sites::{register, SiteSettings};
use soovita_server::{demo, serve, shutdown_signal, store, ServeOptions};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

// glibc's allocator spent a sixth of the ingest benchmark's CPU in its own bookkeeping
// (consolidating and unlinking free chunks), as buffers allocated on one thread are freed on
// another; mimalloc's per-thread free lists do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SOOVITA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let store = store::open(&args.database.url).await?;
            let listener = TcpListener::bind(args.listen).await?;
            // Tests and scripts read this line to learn the port when --listen ends in :0.
            println!("soovita listening on http://{}", listener.local_addr()?);
            let options = ServeOptions {
                rate_limits: RateLimitConfig {
                    per_client_per_minute: args.rate_per_client,
                    per_site_per_second: args.rate_per_site,
                    trusted_proxies: args.trusted_proxies,
                },
                bench_parse_only: args.bench_parse_only,
                ..ServeOptions::default()
            };
            serve(listener, store, options, shutdown_signal()).await?;
        }
        Command::Site(SiteCommand::Add(args)) => {
            let store = store::open(&args.database.url).await?;
            let settings = SiteSettings {
                name: &args.name,
                origins: &args.origins,
                sample_percent: args.sample_percent,
                cooldown_days: args.cooldown_days,
                retention_days: args.retention_days,
                honor_do_not_track: args.honor_do_not_track,
            };
            let registered = register(store.as_ref(), settings).await?;
            println!("{}", serde_json::to_string_pretty(&registered)?);
        }
        Command::Site(SiteCommand::Delete(args)) => {
            let id = SiteId::parse(&args.id)?;
            let store = store::open(&args.database.url).await?;
            anyhow::ensure!(store.delete_site(&id).await?, "no site with id {id}");
            println!("deleted site {id} and all its responses");
        }
        Command::Demo(args) => demo::run(args).await?,
    }
    Ok(())
}
