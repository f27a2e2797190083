//! Prometheus metrics: what was accepted, what was refused and why, batch sizes, latency.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::http::error::ApiError;
use crate::http::extract::BearerToken;

/// Time from request to response, labelled by `route`.
pub const LATENCY: &str = "soovita_http_request_duration_seconds";

/// How often histogram samples are folded into their buckets.
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once (tests start several servers in one process), with
/// a thread that folds histogram samples into their buckets every [`UPKEEP_EVERY`]. The
/// recorder keeps every sample until then: without the thread, a server that nobody scrapes
/// grew by every request's latency (about 9 bytes each, 16 MB an hour at 500 answers a second).
/// A thread rather than a task: it must outlive the runtime of whichever test started it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(LATENCY.into()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                ],
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full(crate::db::BATCH_SIZE.into()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                )
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed, and then that one gets the metrics.
        let _ = metrics::set_global_recorder(recorder);
        let upkept = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkept.run_upkeep();
            })
            .expect("a thread can be started at start-up");
        handle
    })
}

/// `GET /metrics`; with `--metrics-token`, only for a bearer of that token (the figures say
/// how busy each site's endpoint is, which is nobody else's business).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, description = "missing_token (only with --metrics-token)", body = soovita_wire::ErrorBody),
        (status = 403, description = "wrong_token", body = soovita_wire::ErrorBody)))]
pub async fn render(
    expected: Option<Arc<str>>,
    given: Result<BearerToken, ApiError>,
) -> Result<String, ApiError> {
    if let Some(expected) = expected {
        let BearerToken(given) = given?;
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(ApiError::WrongToken);
        }
    }
    Ok(handle().render())
}

/// Records every request's latency under its route pattern (never the raw path, whose site
/// ids would make the label set unbounded).
pub async fn track_latency(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(LATENCY, "route" => route).record(started.elapsed().as_secs_f64());
    response
}
