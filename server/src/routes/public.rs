//! What visitors' browsers call: the survey configuration and the answer endpoint.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{CACHE_CONTROL, USER_AGENT};
use axum::http::HeaderMap;
use axum::Json;
use soovita_wire::{ResponseSubmission, SubmissionAccepted, SurveyConfig};

use super::AppState;
use crate::bots::is_bot;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::extract::{JsonBody, RequestOrigin};
use crate::submission;

/// `GET /v1/sites/{site_id}/survey`: what the loader needs to decide whether to show anything.
pub async fn survey_config(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
) -> Result<
    (
        [(axum::http::HeaderName, &'static str); 1],
        Json<SurveyConfig>,
    ),
    ApiError,
> {
    let site = state.site(&site_id).await?;
    // Same-origin GETs and tools like curl send no Origin; the configuration is not secret.
    if let Some(origin) = origin.filter(|origin| !site.allows(origin)) {
        return Err(ApiError::OriginNotAllowed(origin.as_str().to_owned()));
    }
    let config = SurveyConfig {
        site_id: site.id.to_string(),
        site_name: site.name.clone(),
        sample_percent: site.sample_percent,
        cooldown_days: site.cooldown_days,
        honor_do_not_track: site.honor_do_not_track,
    };
    Ok(([(CACHE_CONTROL, "public, max-age=60")], Json(config)))
}

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
    let (update, honeypot_filled) = submission::validate(submission)?;
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
        metrics::counter!(crate::telemetry::BOTS, "signal" => signal).increment(1);
    } else {
        state
            .store
            .upsert_response(&site.id, &update, now_ms())
            .await?;
        metrics::counter!(crate::telemetry::ACCEPTED).increment(1);
    }
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}

/// `POST /bench/parse-only/{site_id}` (only with `--bench-parse-only`): the same body parsing
/// and validation as [`submit_response`], without touching storage.
pub async fn parse_only(
    Path(_site_id): Path<String>,
    JsonBody(submission): JsonBody<ResponseSubmission>,
) -> Result<Json<SubmissionAccepted>, ApiError> {
    let (update, _) = submission::validate(submission)?;
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}
