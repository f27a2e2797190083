//! The HTTP surface: which path goes to which handler, with which layers.

mod admin;
mod inbox;
mod openapi;
mod public;
mod webhooks;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use soovita_wire::MAX_BODY_BYTES;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::decompression::RequestDecompressionLayer;

use crate::domain::{Origin, SiteId};
use crate::http::error::ApiError;
use crate::http::{assets, telemetry};
use crate::ingest::site_cache::SiteCache;
use crate::state::AppState;

pub use openapi::ApiDoc;

/// Every path of the API the router serves (benchmark endpoints and the console's HTML pages
/// aside), in one place so that the OpenAPI document can be checked against it (`tests/api.rs`).
pub const PATHS: [&str; 18] = [
    SURVEY,
    SURVEY_DEFINITION,
    RESPONSES,
    RESPONSE,
    RESULTS,
    THEMES,
    INBOX,
    CASE,
    WEBHOOKS,
    WEBHOOK,
    DELIVERIES,
    RESEND,
    LOADER,
    ASSET,
    HEALTHZ,
    READYZ,
    METRICS,
    OPENAPI,
];

const SURVEY: &str = "/v1/sites/{site_id}/survey";
const SURVEY_DEFINITION: &str = "/v1/sites/{site_id}/survey/definition";
const RESPONSES: &str = "/v1/sites/{site_id}/responses";
const RESPONSE: &str = "/v1/sites/{site_id}/responses/{response_id}";
const RESULTS: &str = "/v1/sites/{site_id}/results";
const THEMES: &str = "/v1/sites/{site_id}/themes";
const INBOX: &str = "/v1/sites/{site_id}/inbox";
const CASE: &str = "/v1/sites/{site_id}/inbox/{response_id}";
const WEBHOOKS: &str = "/v1/sites/{site_id}/webhooks";
const WEBHOOK: &str = "/v1/sites/{site_id}/webhooks/{webhook_id}";
const DELIVERIES: &str = "/v1/sites/{site_id}/webhook-deliveries";
const RESEND: &str = "/v1/sites/{site_id}/webhook-deliveries/{delivery_id}/resend";
const LOADER: &str = "/widget.js";
const ASSET: &str = "/assets/{name}";
const HEALTHZ: &str = "/healthz";
const READYZ: &str = "/readyz";
const METRICS: &str = "/metrics";
const OPENAPI: &str = "/openapi.json";

/// The API's routes; `app::router` adds the console and the layers every route shares.
pub fn router(
    state: &AppState,
    bench_parse_only: bool,
    metrics_token: Option<&str>,
) -> Router<AppState> {
    let responses = ingest_body(post(public::submit_response).options(|| async {}))
        .layer::<_, Infallible>(public_cors(state.sites.clone()))
        .get(admin::export_responses)
        .delete(admin::erase_by_email);
    // Compressed, because every visitor the loader then turns away downloads it for nothing.
    let survey = get(public::survey_config)
        .options(|| async {})
        .layer::<_, Infallible>(public_cors(state.sites.clone()))
        .layer(CompressionLayer::new());
    // Assets are public and fetched cross-origin by `import()` and `fetch()`, which need CORS.
    let assets = Router::new()
        .route(LOADER, get(assets::loader))
        .route(ASSET, get(assets::hashed_asset))
        .layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::any())
                .allow_methods([Method::GET]),
        )
        .layer(CompressionLayer::new());
    let metrics_token = metrics_token.map(Arc::<str>::from);
    let metrics = get(move |token| telemetry::render(metrics_token.clone(), token));
    let mut router = Router::new();
    if bench_parse_only {
        router = router.route(
            "/bench/parse-only/{site_id}",
            ingest_body(post(public::parse_only)),
        );
    }
    router
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readiness))
        .route(METRICS, metrics)
        .route(OPENAPI, get(openapi::openapi_json))
        .route(SURVEY, survey)
        .route(
            SURVEY_DEFINITION,
            get(admin::survey_definition).put(admin::save_survey_definition),
        )
        .route(RESPONSES, responses)
        .route(RESPONSE, delete(admin::erase_response))
        .route(RESULTS, get(admin::results))
        .route(THEMES, get(admin::themes))
        .route(INBOX, get(inbox::list))
        .route(CASE, put(inbox::follow_up))
        .route(WEBHOOKS, get(webhooks::list).post(webhooks::add))
        .route(WEBHOOK, delete(webhooks::delete))
        .route(DELIVERIES, get(webhooks::deliveries))
        .route(RESEND, post(webhooks::resend))
        .merge(assets)
}

/// `GET /healthz`: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ok", content_type = "text/plain")))]
async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for storage before it says 503.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 while storage answers, 503 (so load balancers look elsewhere) when not.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", content_type = "text/plain"),
        (status = 503, description = "storage_unavailable", body = soovita_wire::ErrorBody)))]
async fn readiness(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    // A load balancer's probe has a deadline of its own; answer before it, whatever hangs.
    tokio::time::timeout(READY_WITHIN, state.store.ping())
        .await
        .map_err(|_| {
            ApiError::StorageUnavailable(crate::db::StoreError::Unavailable(Arc::new(
                std::io::Error::other("storage did not answer in time"),
            )))
        })??;
    Ok("ready")
}

/// How ingest reads bodies: gzip and brotli accepted, at most 16 KiB once decompressed (the
/// limit sits inside the decompression, so a small gzip bomb still gets 413 after at most
/// 16 KiB of output; `body_limits` has already bounded the bytes on the wire and the time they
/// took). Unknown encodings pass through and fail as malformed JSON, with our error body.
fn ingest_body(route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route
        .layer::<_, Infallible>(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer::<_, Infallible>(RequestDecompressionLayer::new().pass_through_unaccepted(true))
}

/// CORS for the endpoints a site's pages call: only that site's allowed origins get an
/// `Access-Control-Allow-Origin`, so a page elsewhere cannot even read the survey.
fn public_cors(sites: Arc<SiteCache>) -> CorsLayer {
    let predicate = move |origin: HeaderValue, parts: &Parts| {
        let sites = sites.clone();
        let site_id = parts
            .uri
            .path()
            .split('/')
            .nth(3)
            .and_then(|raw| SiteId::parse(raw).ok());
        async move {
            let (Some(site_id), Ok(origin)) =
                (site_id, Origin::parse(origin.to_str().unwrap_or_default()))
            else {
                return false;
            };
            matches!(sites.get(&site_id).await, Ok(Some(site)) if site.allows(&origin))
        }
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(predicate))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([CONTENT_TYPE])
        // The loader's retry waits as long as a 429 or 503 says, which it can only read if
        // the header is exposed to cross-origin scripts.
        .expose_headers([RETRY_AFTER])
        .max_age(Duration::from_secs(24 * 60 * 60))
}
