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
        admin::themes,
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
        crate::http::telemetry::render,
        openapi_json,
    ),
    modifiers(&AdminToken, &CommonAnswers)
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

/// The answers any operation can get besides its own, written once instead of on every handler:
/// the admin token's (401, 403, and 404 for a site that is not there), a parameter's or a
/// body's that fails its check (400; 413 for a body over the limit), and storage's or the
/// connection cap's 503. Schemathesis (scripts/api-check) finds any answer left out.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let answers = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    answers
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                if operation.security.is_some() {
                    add("401", "missing_token");
                    add("403", "wrong_token");
                    add("404", "unknown_site");
                }
                let checked_parameters = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| parameter.name != "site_id");
                if checked_parameters {
                    add("400", "invalid_filter, bad_query, or an id that is not one");
                }
                if operation.request_body.is_some() {
                    add(
                        "400",
                        "unreadable_body, malformed_json, or a field that fails its check",
                    );
                    add("413", "payload_too_large");
                }
                add("503", "storage_unavailable, too_many_connections");
            }
        }
    }
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "this document")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
