//! The site owner's API for the inbox, authenticated by the site's admin token: what the
//! console's inbox page shows and records, for scripts and help desks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use soovita_wire::ErrorBody;

use crate::clock;
use crate::domain::ResponseId;
use crate::http::error::ApiError;
use crate::http::extract::{BearerToken, JsonBody};
use crate::inbox::InboxItem;
use crate::inbox::{follow_up_of, response_times, MonthTimes, Share, INBOX_SHOWN};
use crate::state::AppState;

/// The inbox: cases, open ones first and detractors first, and how fast they were handled.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Inbox {
    cases: Vec<Case>,
    /// Median milliseconds from a response to its first contact, over contacted cases.
    first_contact_ms: Option<i64>,
    /// Median milliseconds from a response to its resolution, over resolved cases.
    resolution_ms: Option<i64>,
    /// Of the cases contacted or already due, how many were contacted within the site's target.
    within_target: WithinTarget,
    /// The same figures per month (UTC) of the responses.
    by_month: Vec<Month>,
}

/// `contacted_in_time` of `judged` cases: contacted, or due by now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WithinTarget {
    contacted_in_time: usize,
    judged: usize,
}

impl From<Share> for WithinTarget {
    fn from(share: Share) -> Self {
        Self {
            contacted_in_time: share.part,
            judged: share.whole,
        }
    }
}

/// A visitor who agreed to be contacted, and where the follow-up stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Case {
    response_id: String,
    score: u8,
    comment: Option<String>,
    email: Option<String>,
    page_path: Option<String>,
    /// Unix milliseconds of the response.
    created_at_ms: i64,
    /// `new`, `contacted` or `resolved`.
    status: &'static str,
    notes: String,
    contacted_at_ms: Option<i64>,
    resolved_at_ms: Option<i64>,
    /// When the first contact is due by the site's target for the case's category.
    due_at_ms: i64,
}

/// One month's medians.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Month {
    /// `YYYY-MM`.
    month: String,
    first_contact_ms: Option<i64>,
    contacted: usize,
    resolution_ms: Option<i64>,
    resolved: usize,
    within_target: WithinTarget,
}

impl From<InboxItem> for Case {
    fn from(item: InboxItem) -> Self {
        Self {
            response_id: item.response_id,
            score: item.score,
            comment: item.comment,
            email: item.email,
            page_path: item.page_path,
            created_at_ms: item.created_at_ms,
            status: item.status.as_str(),
            notes: item.notes,
            contacted_at_ms: item.contacted_at_ms,
            resolved_at_ms: item.resolved_at_ms,
            due_at_ms: item.due_at_ms,
        }
    }
}

impl From<MonthTimes> for Month {
    fn from(month: MonthTimes) -> Self {
        Self {
            month: month.month,
            first_contact_ms: month.first_contact_ms,
            contacted: month.contacted,
            resolution_ms: month.resolution_ms,
            resolved: month.resolved,
            within_target: month.within_target.into(),
        }
    }
}

/// Where a follow-up stands now.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    /// `new`, `contacted` or `resolved`.
    #[schema(pattern = "^(new|contacted|resolved)$")]
    status: String,
    /// Internal notes, up to 4,000 characters, without control characters but tab and line
    /// ends; replaces earlier notes.
    #[serde(default)]
    #[schema(
        max_length = 4000,
        pattern = "^(?:[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F]|\\r\\n)*$"
    )]
    notes: String,
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/inbox", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])),
    responses((status = 200, description = "the newest 500 cases and the response-time medians", body = Inbox)))]
/// `GET /v1/sites/{site_id}/inbox`.
pub async fn list(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
) -> Result<Json<Inbox>, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let items = state.store.inbox(&site.id, INBOX_SHOWN).await?;
    let times = response_times(&items, clock::now_ms());
    Ok(Json(Inbox {
        cases: items.into_iter().map(Case::from).collect(),
        first_contact_ms: times.first_contact_ms,
        resolution_ms: times.resolution_ms,
        within_target: times.within_target.into(),
        by_month: times.by_month.into_iter().map(Month::from).collect(),
    }))
}

#[utoipa::path(put, path = "/v1/sites/{site_id}/inbox/{response_id}", tag = "admin",
    params(("site_id" = String, Path), ("response_id" = String, Path, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")), security(("admin_token" = [])),
    request_body = FollowUp,
    responses(
        (status = 204, description = "recorded; the first contact's and the resolution's times are kept"),
        (status = 400, description = "invalid_follow_up", body = ErrorBody),
        (status = 404, description = "unknown_response: not a case of this site's inbox", body = ErrorBody)))]
/// `PUT /v1/sites/{site_id}/inbox/{response_id}`: records where a case stands.
pub async fn follow_up(
    State(state): State<AppState>,
    Path((site_id, response_id)): Path<(String, String)>,
    BearerToken(token): BearerToken,
    JsonBody(posted): JsonBody<FollowUp>,
) -> Result<StatusCode, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let response = ResponseId::parse(&response_id)?;
    let (status, notes) = follow_up_of(&posted.status, &posted.notes)?;
    let recorded = state
        .store
        .follow_up(&site.id, &response, status, &notes, crate::clock::now_ms())
        .await?;
    if recorded {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::UnknownResponse(response.to_string()))
    }
}
