//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! wire types; `GET /openapi.json` serves it. `tests/api.rs` checks it against [`super::PATHS`].

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, assets, inbox, public, webhooks};

/// Every documented operation and the schemas they use.
#[derive(OpenApi)]
#[openapi(
    info(title = "Soovita", description = "Survey ingestion and the site owner's API. Every error is an ErrorBody."),
    paths(
        public::survey_config,
        public::submit_response,
        admin::export_responses,
        admin::results,
        admin::erase_by_email,
        admin::erase_response,
        admin::survey_definition,
        admin::save_survey_definition,
        inbox::list,
        inbox::follow_up,
        webhooks::list,
        webhooks::add,
        webhooks::delete,
        webhooks::deliveries,
        webhooks::resend,
        assets::loader,
        assets::hashed_asset,
        super::healthz,
        super::readiness,
        crate::telemetry::render,
        openapi_json,
    ),
    modifiers(&AdminToken)
)]
pub struct ApiDoc;

/// Declares the bearer token the admin operations name.
struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "this document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
