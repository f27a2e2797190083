//! The Soovita server: ingests survey answers, serves the widget and the admin API.
//!
//! `main.rs` is only the command line; everything it runs lives here so that tests can
//! start the same server on a port of their own.

pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod extract;
pub mod routes;
pub mod sites;
pub mod store;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use routes::{AppState, WidgetAssets};
use store::Store;

/// Serves the application on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let assets = WidgetAssets::load();
    if !assets.is_complete() {
        tracing::warn!(
            "widget assets are missing: run scripts/build-widget; /widget.js answers 503"
        );
    }
    let app = routes::router(AppState {
        store,
        assets: Arc::new(assets),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
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
