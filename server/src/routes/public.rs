//! What visitors' browsers call: the survey configuration and the answer endpoint.

use std::net::SocketAddr;

use std::sync::{Arc, LazyLock};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, USER_AGENT, VARY};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use soovita_wire::{ErrorBody, ResponseSubmission, SubmissionAccepted, SurveyConfig};

use crate::clock::now_ms;
use crate::domain::InvalidInput;
use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, QueryParams, RequestOrigin};
use crate::ingest::bots::is_bot;
use crate::ingest::submission;
use crate::sites::PublishedSurvey;
use crate::state::AppState;
use crate::surveys::config_for;

/// Answers stored (or updated) by the ingest endpoint.
pub const ACCEPTED: &str = "soovita_responses_accepted_total";
/// Submissions answered 2xx but not stored, labelled by `signal` (`user_agent`, `honeypot`).
pub const BOTS: &str = "soovita_bot_submissions_total";
/// The query of the survey endpoint.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct SurveyQuery {
    /// Comma-separated language tags, most preferred first; the loader sends `data-lang` and
    /// `<html lang>`. The browser's `Accept-Language` comes after them.
    lang: Option<String>,
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/survey", tag = "public",
    params(("site_id" = String, Path, description = "the data-site of the script tag"), SurveyQuery),
    responses(
        (status = 200, description = "the current survey in the chosen language", body = SurveyConfig),
        (status = 403, description = "origin_not_allowed", body = ErrorBody),
        (status = 404, description = "unknown_site", body = ErrorBody)))]
/// `GET /v1/sites/{site_id}/survey[?lang=et,en]`: what the loader needs to decide whether to
/// show anything, and the card's texts in the first language of `lang`, then of the browser's
/// `Accept-Language`, that the bank has.
pub async fn survey_config(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    QueryParams(query): QueryParams<SurveyQuery>,
    headers: HeaderMap,
) -> Result<
    (
        [(axum::http::HeaderName, &'static str); 2],
        Json<SurveyConfig>,
    ),
    ApiError,
> {
    let site = state.site(&site_id).await?;
    // Same-origin GETs and tools like curl send no Origin; the configuration is not secret.
    match origin {
        Some(origin) if !site.allows(&origin) => {
            return Err(ApiError::OriginNotAllowed(origin.as_str().to_owned()))
        }
        // A page of the site: the console's install page says the tag works.
        Some(_) => state.sites.note_fetch(&site.id, crate::clock::now_ms()),
        None => {}
    }
    let accepted = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let preferences = [query.lang.as_deref().unwrap_or_default(), accepted].join(",");
    Ok((
        [
            (CACHE_CONTROL, "public, max-age=60"),
            (VARY, "Accept-Language"),
        ],
        Json(config_for(&site, &preferences)),
    ))
}

#[utoipa::path(post, path = "/v1/sites/{site_id}/responses", tag = "public",
    params(("site_id" = String, Path, description = "the data-site of the script tag")),
    request_body(content = ResponseSubmission, content_type = "text/plain",
        description = "JSON, sent as text/plain so that browsers need no preflight"),
    responses(
        (status = 200, description = "stored and committed", body = SubmissionAccepted),
        (status = 400, description = "a field is invalid; the code names it", body = ErrorBody),
        (status = 403, description = "missing_origin or origin_not_allowed", body = ErrorBody),
        (status = 404, description = "unknown_site", body = ErrorBody),
        (status = 409, description = "response_id_taken", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody),
        (status = 503, description = "storage_unavailable: nothing stored, retry", body = ErrorBody)))]
/// `POST /v1/sites/{site_id}/responses`: stores or updates one visitor's answers.
/// Answers 200 only after the change is committed.
pub async fn submit_response(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(site_id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    headers: HeaderMap,
    JsonBody(submission): JsonBody<ResponseSubmission>,
) -> Result<Json<SubmissionAccepted>, ApiError> {
    let site = state.site(&site_id).await?;
    let origin = origin.ok_or(ApiError::MissingOrigin)?;
    if !site.allows(&origin) {
        return Err(ApiError::OriginNotAllowed(origin.as_str().to_owned()));
    }
    state
        .limits
        .check(peer.ip(), &headers, &site.id)
        .map_err(ApiError::RateLimited)?;
    let survey = match submission.survey_version {
        Some(version) if version != site.survey.version => {
            // A page loaded before the owner saved a new version still answers the old one.
            let definition = state
                .store
                .survey(&site.id, version)
                .await?
                .ok_or(InvalidInput::SurveyVersion(version))?;
            Arc::new(PublishedSurvey {
                version,
                definition,
            })
        }
        _ => site.survey.clone(),
    };
    let (update, honeypot_filled) = submission::validate(submission, &survey)?;
    let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
    let bot_signal = if honeypot_filled {
        Some("honeypot")
    } else if is_bot(user_agent) {
        Some("user_agent")
    } else {
        None
    };
    // Bots are told their answer was taken, so they neither learn nor retry.
    if let Some(signal) = bot_signal {
        metrics::counter!(BOTS, "signal" => signal).increment(1);
    } else {
        state
            .store
            .upsert_response(&site.id, &update, now_ms())
            .await?;
        metrics::counter!(ACCEPTED).increment(1);
    }
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}

/// What a new site answers to, built once rather than on every benchmark request.
static DEFAULT_SURVEY: LazyLock<PublishedSurvey> = LazyLock::new(|| PublishedSurvey {
    version: 1,
    definition: soovita_wire::SurveyDefinition::default(),
});

/// `POST /bench/parse-only/{site_id}` (only with `--bench-parse-only`): the same body parsing
/// and validation as [`submit_response`], against the default survey, without touching storage.
pub async fn parse_only(
    Path(_site_id): Path<String>,
    JsonBody(submission): JsonBody<ResponseSubmission>,
) -> Result<Json<SubmissionAccepted>, ApiError> {
    let (update, _) = submission::validate(submission, &DEFAULT_SURVEY)?;
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}
