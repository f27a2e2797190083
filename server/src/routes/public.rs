//! What visitors' browsers call: the survey configuration and the answer endpoint.

use axum::extract::{Path, State};
use axum::http::header::CACHE_CONTROL;
use axum::Json;
use soovita_wire::{ResponseSubmission, SubmissionAccepted, SurveyConfig};

use super::AppState;
use crate::clock::now_ms;
use crate::domain::{Comment, ResponseId, Score};
use crate::error::ApiError;
use crate::extract::{JsonBody, RequestOrigin};
use crate::store::ResponseUpdate;

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
        site_name: site.name,
        sample_percent: site.sample_percent,
        cooldown_days: site.cooldown_days,
    };
    Ok(([(CACHE_CONTROL, "public, max-age=60")], Json(config)))
}

/// `POST /v1/sites/{site_id}/responses`: stores or updates one visitor's answers.
/// Answers 200 only after the change is committed.
pub async fn submit_response(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    RequestOrigin(origin): RequestOrigin,
    JsonBody(submission): JsonBody<ResponseSubmission>,
) -> Result<Json<SubmissionAccepted>, ApiError> {
    let site = state.site(&site_id).await?;
    let origin = origin.ok_or(ApiError::MissingOrigin)?;
    if !site.allows(&origin) {
        return Err(ApiError::OriginNotAllowed(origin.as_str().to_owned()));
    }
    let update = parse_submission(submission)?;
    state
        .store
        .upsert_response(&site.id, &update, now_ms())
        .await?;
    metrics::counter!(crate::telemetry::ACCEPTED).increment(1);
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}

fn parse_submission(submission: ResponseSubmission) -> Result<ResponseUpdate, ApiError> {
    Ok(ResponseUpdate {
        id: ResponseId::parse(&submission.response_id)?,
        score: Score::try_from(submission.score)?,
        comment: Comment::parse(submission.comment)?,
    })
}

/// `POST /bench/parse-only/{site_id}` (only with `--bench-parse-only`): the same body parsing
/// and validation as [`submit_response`], without touching storage.
pub async fn parse_only(
    Path(_site_id): Path<String>,
    JsonBody(submission): JsonBody<ResponseSubmission>,
) -> Result<Json<SubmissionAccepted>, ApiError> {
    let update = parse_submission(submission)?;
    Ok(Json(SubmissionAccepted {
        response_id: update.id.to_string(),
    }))
}
