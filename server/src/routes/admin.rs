//! The site owner's API, authenticated by the site's admin token.

use axum::extract::{Path, State};
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use soovita_wire::{ErrorBody, ExportedResponse, SiteResults, SurveyDefinition, Themes};

use crate::domain::ResponseId;
use crate::http::error::ApiError;
use crate::http::extract::{BearerToken, JsonBody, QueryParams};
use crate::responses::export::{download, ExportFormat};
use crate::responses::filter::FilterQuery;
use crate::results::TrendInterval;
use crate::state::AppState;

/// The query of the export endpoint.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `json` or `csv`; without it, `Accept: text/csv` chooses CSV.
    format: Option<String>,
}

/// The format `?format=` names, else CSV when the client accepts `text/csv`, else JSON.
fn export_format(query: Option<&str>, headers: &HeaderMap) -> Result<ExportFormat, ApiError> {
    match query {
        Some(name) => ExportFormat::named(name)
            .ok_or_else(|| ApiError::BadQuery(format!("format must be json or csv, got {name:?}"))),
        None => {
            let accept = headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.contains("text/csv") {
                ExportFormat::Csv
            } else {
                ExportFormat::Json
            })
        }
    }
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/responses", tag = "admin",
    params(("site_id" = String, Path), ExportQuery, FilterQuery), security(("admin_token" = [])),
    responses(
        (status = 200, description = "every response, JSON or CSV", body = Vec<ExportedResponse>),
        (status = 401, description = "missing_token", body = ErrorBody),
        (status = 403, description = "wrong_token", body = ErrorBody),
        (status = 404, description = "unknown_site", body = ErrorBody)))]
/// `GET /v1/sites/{site_id}/responses[?format=json|csv&filter…]`: the site's responses. A
/// filter's `from` must not come after its `to` (400 `invalid_filter`).
pub async fn export_responses(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    QueryParams(query): QueryParams<ExportQuery>,
    QueryParams(filter): QueryParams<FilterQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format = export_format(query.format.as_deref(), &headers)?;
    let filter = filter.parse()?;
    let site = state.owned_site(&site_id, &token).await?;
    Ok(download(state.store.clone(), site.id.clone(), filter, format).await?)
}

#[utoipa::path(delete, path = "/v1/sites/{site_id}/responses/{response_id}", tag = "admin",
    params(("site_id" = String, Path), ("response_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")), security(("admin_token" = [])),
    responses(
        (status = 204, description = "erased"),
        (status = 404, description = "unknown_response or unknown_site", body = ErrorBody)))]
/// `DELETE /v1/sites/{site_id}/responses/{response_id}`: erases one respondent's answers.
pub async fn erase_response(
    State(state): State<AppState>,
    Path((site_id, response_id)): Path<(String, String)>,
    BearerToken(token): BearerToken,
) -> Result<StatusCode, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let id = ResponseId::parse(&response_id)?;
    if state.store.erase_response(&site.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::UnknownResponse(id.to_string()))
    }
}

/// The query of the erasure-by-email endpoint: only to refuse an address sent in it.
#[derive(Deserialize)]
pub struct ErasureQuery {
    email: Option<String>,
}

/// Whose responses to erase.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The contact address the respondent left (matched case-insensitively).
    #[schema(pattern = "\\S")]
    email: String,
}

/// What an erasure by email deleted.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Erased {
    /// How many responses were deleted.
    erased: u64,
}

#[utoipa::path(delete, path = "/v1/sites/{site_id}/responses", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])),
    request_body = ErasureRequest,
    responses(
        (status = 200, description = "how many responses were erased", body = Erased),
        (status = 400, description = "bad_query: no email, or one in the query string; malformed_json", body = ErrorBody)))]
/// `DELETE /v1/sites/{site_id}/responses` with `{"email": …}`: erases every response a
/// respondent left with this contact address (GDPR). 200 with the count, which may be 0. The
/// address comes in the body: query strings end up in proxies' and load balancers' logs.
pub async fn erase_by_email(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    QueryParams(query): QueryParams<ErasureQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Erased>, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    if query.email.is_some() {
        return Err(ApiError::BadQuery(
            "send the address in the body, {\"email\": \"name@example.com\"}, not in the query string, which proxies log".into(),
        ));
    }
    let email = if body.is_empty() {
        None
    } else {
        let request: ErasureRequest = serde_json::from_slice(&body)
            .map_err(|error| ApiError::MalformedJson(error.to_string()))?;
        Some(request.email)
    };
    let email = email.filter(|e| !e.trim().is_empty()).ok_or_else(|| {
        ApiError::BadQuery("name the respondent: {\"email\": \"name@example.com\"}".into())
    })?;
    let erased = state.store.erase_by_email(&site.id, email.trim()).await?;
    state
        .store
        .forget_uploads_mentioning(&site.id, email.trim())
        .await?;
    Ok(Json(Erased { erased }))
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/results", tag = "admin",
    params(("site_id" = String, Path), ResultsQuery, FilterQuery), security(("admin_token" = [])),
    responses(
        (status = 200, description = "NPS with its 95% margin, the distribution, agreement per dimension, the key drivers, effort and the trend", body = SiteResults),
        (status = 400, description = "invalid_filter", body = ErrorBody)))]
/// `GET /v1/sites/{site_id}/results[?interval=week|month&filter…]`: the figures of the
/// responses the filter covers, summed by the database. A filter's `from` must not come after
/// its `to` (400 `invalid_filter`).
pub async fn results(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    QueryParams(query): QueryParams<ResultsQuery>,
    QueryParams(filter): QueryParams<FilterQuery>,
) -> Result<Json<SiteResults>, ApiError> {
    let interval = TrendInterval::parse(query.interval.as_deref())
        .ok_or_else(|| ApiError::BadQuery("interval is week or month".into()))?;
    let filter = filter.parse()?;
    let site = state.owned_site(&site_id, &token).await?;
    let sums = state.store.result_sums(&site.id, &filter).await?;
    Ok(Json(crate::results::results(&sums, interval)))
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/themes", tag = "admin",
    params(("site_id" = String, Path), FilterQuery), security(("admin_token" = [])),
    responses(
        (status = 200, description = "what detractors, promoters and passives each write about more than the others: terms by weighted log-odds with an informative Dirichlet prior", body = Themes),
        (status = 400, description = "invalid_filter", body = ErrorBody)))]
/// `GET /v1/sites/{site_id}/themes[?filter…]`: the words and two-word phrases distinctive of
/// detractors against promoters, of promoters against detractors, and of passives against
/// everyone else, in the comments the filter covers (README: "Comment themes").
pub async fn themes(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    QueryParams(filter): QueryParams<FilterQuery>,
) -> Result<Json<Themes>, ApiError> {
    let filter = filter.parse()?;
    let site = state.owned_site(&site_id, &token).await?;
    Ok(Json(
        crate::themes::of_site(state.store.as_ref(), &site.id, &filter).await?,
    ))
}

/// The trend's granularity.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `week` (from Monday) or `month` (the default).
    #[param(pattern = "^(week|month)?$")]
    interval: Option<String>,
}

/// A saved survey version, as the definition endpoints return it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionedDefinition {
    /// The version responses record.
    version: u32,
    /// The definition itself.
    definition: SurveyDefinition,
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/survey/definition", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])),
    responses((status = 200, description = "the current version", body = VersionedDefinition)))]
/// `GET /v1/sites/{site_id}/survey/definition`: the current survey, for editing.
pub async fn survey_definition(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
) -> Result<Json<VersionedDefinition>, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    Ok(Json(VersionedDefinition {
        version: site.survey.version,
        definition: site.survey.definition.clone(),
    }))
}

#[utoipa::path(put, path = "/v1/sites/{site_id}/survey/definition", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])), request_body = SurveyDefinition,
    responses(
        (status = 201, description = "saved as the next version", body = VersionedDefinition),
        (status = 400, description = "invalid_survey, naming the field", body = ErrorBody)))]
/// `PUT /v1/sites/{site_id}/survey/definition`: saves a new version of the survey. Visitors of
/// this server get it at once, those of others on the same database within the site cache's
/// lifetime; answers to the old version stay valid. Beyond its schema: page rules of kind
/// `regex` must be regular expressions that Rust and JavaScript read alike (no flags or named
/// groups), and wording is keyed by a supported language and the card's message names
/// (400 `invalid_survey` names the field).
pub async fn save_survey_definition(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    JsonBody(definition): JsonBody<SurveyDefinition>,
) -> Result<(StatusCode, Json<VersionedDefinition>), ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    crate::surveys::check(&definition)?;
    let version = state
        .store
        .save_survey(&site.id, &definition, crate::clock::now_ms())
        .await?;
    state.sites.forget(&site.id);
    Ok((
        StatusCode::CREATED,
        Json(VersionedDefinition {
            version,
            definition,
        }),
    ))
}
