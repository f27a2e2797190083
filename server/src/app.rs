//! The running server: what `serve` starts (the router, the background tasks) and how it
//! stops. The crate's root only lists modules; this is where they are put together.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower_http::trace::TraceLayer;

use crate::accounts::sign_in_guard::SignInGuard;
use crate::clock;
use crate::http::assets::WidgetAssets;
use crate::http::error::ApiError;
use crate::http::{telemetry, Timeouts};
use crate::ingest::rate_limit::{RateLimitConfig, RateLimits};
use crate::ingest::site_cache::SiteCache;
use crate::state::AppState;
use crate::store::prelude::*;
use crate::webhooks;

/// How long requests in flight may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How the server behaves beyond its storage.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// How long clients may take to send a request.
    pub timeouts: Timeouts,
    pub connections: crate::http::ConnectionLimits,
    pub rate_limits: RateLimitConfig,
    /// Adds `POST /bench/parse-only/{site_id}`, which parses and validates a submission like
    /// the real endpoint and then stores nothing: the baseline of `examples/ingest_bench.rs`.
    pub bench_parse_only: bool,
    pub webhooks: webhooks::WebhookOptions,
    /// The bearer token `/metrics` asks for; open to all without one.
    pub metrics_token: Option<String>,
    /// How owners' replies are sent; `None` keeps the inbox's manual flow (mail is off).
    pub mail: Option<crate::mail::MailOptions>,
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
    if let Some(mail) = &options.mail {
        tokio::spawn(crate::mail::sender::run(store.clone(), mail.clone()));
    }
    tokio::spawn(crate::watch::run(
        store.clone(),
        options.mail.clone(),
        options.webhooks.attempts,
    ));
    let limits = Arc::new(RateLimits::new(options.rate_limits.clone()));
    tokio::spawn(forget_idle_clients(limits.clone()));
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let state = AppState {
        limits,
        sign_ins: Arc::new(SignInGuard::new(cores)),
        sites: Arc::new(SiteCache::new(store.clone())),
        store,
        assets: Arc::new(assets),
        webhooks: options.webhooks.clone(),
        mail: options.mail.clone().map(Arc::new),
    };
    let app = router(state, &options);
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
    let server = crate::http::serve(listener, app, options.timeouts, connections, shutdown);
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

/// The whole application: the API, the console, and the layers every route shares.
fn router(state: AppState, options: &ServeOptions) -> Router {
    crate::routes::router(
        &state,
        options.bench_parse_only,
        options.metrics_token.as_deref(),
    )
    .merge(crate::console::router())
    .fallback(|| async { ApiError::NoSuchEndpoint })
    .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
    .route_layer(axum::middleware::from_fn(telemetry::track_latency))
    .layer(axum::middleware::from_fn_with_state(
        options.timeouts.body_read,
        crate::http::body_limits::read_whole_body,
    ))
    .layer(TraceLayer::new_for_http())
    .with_state(state)
}

/// Keeps the rate limiters' memory bounded by the clients seen in the last minute or so.
async fn forget_idle_clients(limits: Arc<RateLimits>) {
    let mut every_minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        limits.forget_idle();
    }
}

/// Deletes responses past their site's retention, and files uploaded to import more than a day
/// ago, at start and then hourly.
async fn purge_expired_responses(store: Arc<dyn Store>) {
    let mut hourly = tokio::time::interval(Duration::from_secs(60 * 60));
    loop {
        hourly.tick().await;
        if let Err(error) = store.forget_uploads(clock::now_ms() - 86_400_000).await {
            tracing::warn!(%error, "dropping day-old import uploads failed; retrying in an hour");
        }
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
        if let Err(error) = crate::results::roll_up_all(store.as_ref(), clock::now_ms()).await {
            tracing::warn!(%error, "rolling up results failed; retrying in a minute");
        }
    }
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

#[cfg(test)]
mod tests {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};

    /// `cargo test --workspace` builds the server together with the widget, so a widget
    /// setting that compiled logging out (features are unified across one build) fails here.
    #[test]
    fn logging_is_compiled_in_however_the_workspace_is_built() {
        assert!(
            STATIC_MAX_LEVEL >= LevelFilter::INFO,
            "tracing's static maximum level is {STATIC_MAX_LEVEL}: a crate in this build \
             enables tracing's max_level_* features for the host"
        );
    }
}
