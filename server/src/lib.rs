//! The Soovita server: ingests survey answers, serves the widget and the admin API.
//!
//! `main.rs` is only the command line; everything it runs lives here so that tests can
//! start the same server on a port of their own.

pub mod accounts;
pub mod bank;
pub mod body_limits;
pub mod bots;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod extract;
pub mod http;
pub mod inbox;
pub mod rate_limit;
pub mod responses;
pub mod results;
pub mod routes;
pub mod sign_in_guard;
pub mod site_cache;
pub mod sites;
pub mod store;
pub mod submission;
pub mod survey;
pub mod telemetry;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use rate_limit::{RateLimitConfig, RateLimits};
use routes::{AppState, WidgetAssets};
use site_cache::SiteCache;
use store::prelude::*;

/// How long requests in flight may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How the server behaves beyond its storage.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// How long clients may take to send a request.
    pub timeouts: http::Timeouts,
    /// How many connections may be open at once.
    pub connections: http::ConnectionLimits,
    /// Limits on the ingest endpoint.
    pub rate_limits: RateLimitConfig,
    /// Adds `POST /bench/parse-only/{site_id}`, which parses and validates a submission like
    /// the real endpoint and then stores nothing: the baseline of `examples/ingest_bench.rs`.
    pub bench_parse_only: bool,
    /// When and how webhooks are sent.
    pub webhooks: webhooks::WebhookOptions,
    /// The bearer token `/metrics` asks for; open to all without one.
    pub metrics_token: Option<String>,
}

/// Serves the application on `listener` until `shutdown` completes, then gives the requests
/// in flight (and the write batches they wait for) [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    telemetry::handle();
    let assets = WidgetAssets::load();
    if !assets.is_complete() {
        tracing::warn!(
            "widget assets are missing: run scripts/build-widget; /widget.js answers 503"
        );
    }
    tokio::spawn(purge_expired_responses(store.clone()));
    tokio::spawn(roll_up_settled_days(store.clone()));
    tokio::spawn(webhooks::dispatcher::run(
        store.clone(),
        options.webhooks.clone(),
    ));
    let limits = Arc::new(RateLimits::new(options.rate_limits.clone()));
    tokio::spawn(forget_idle_clients(limits.clone()));
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let state = AppState {
        limits,
        sign_ins: Arc::new(sign_in_guard::SignInGuard::new(cores)),
        sites: Arc::new(SiteCache::new(store.clone())),
        store,
        assets: Arc::new(assets),
        webhooks: options.webhooks.clone(),
    };
    let app = routes::router(state, &options);
    let (signalled, on_signal) = oneshot::channel();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = signalled.send(());
    };
    let mut connections = options.connections.clone();
    connections
        .trusted_proxies
        .clone_from(&options.rate_limits.trusted_proxies);
    let server = http::serve(listener, app, options.timeouts, connections, shutdown);
    let grace_expired = async {
        match on_signal.await {
            Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result,
        () = grace_expired => {
            tracing::warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
            Ok(())
        }
    }
}

/// Keeps the rate limiters' memory bounded by the clients seen in the last minute or so.
async fn forget_idle_clients(limits: Arc<RateLimits>) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        limits.forget_idle();
    }
}

/// Deletes responses past their site's retention, at start and then hourly.
async fn purge_expired_responses(store: Arc<dyn Store>) {
    let mut hourly = tokio::time::interval(Duration::from_secs(60 * 60));
    loop {
        hourly.tick().await;
        match store.purge_expired(clock::now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged responses past their retention"),
            Err(error) => {
                tracing::warn!(%error, "purging expired responses failed; retrying in an hour")
            }
        }
    }
}

/// Keeps every site's rollups up to date, at start and then every minute: the results of a
/// site with a million responses read its settled days from them (ARCHITECTURE.md).
async fn roll_up_settled_days(store: Arc<dyn Store>) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        if let Err(error) = roll_up_all(store.as_ref(), clock::now_ms()).await {
            tracing::warn!(%error, "rolling up results failed; retrying in a minute");
        }
    }
}

/// Rolls up every site's days before the day before yesterday (UTC): the database marks changes
/// to days before yesterday as late (migration 0010), which leaves a day's margin for clocks.
pub async fn roll_up_all(store: &dyn Store, now_ms: i64) -> Result<(), store::StoreError> {
    let until_day = now_ms.div_euclid(86_400_000) - 2;
    for site in store.sites().await? {
        while store.roll_up(&site.id, until_day).await? {
            // Each step holds the write lock; let waiting answers in between.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
