//! The inbox page: cases to follow up, and recording where each stands.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::clock;
use crate::domain::ResponseId;
use crate::inbox::{follow_up_of, INBOX_SHOWN};
use crate::state::AppState;

use super::auth::{from_this_site, AsMember, SiteAccess};
use super::error::ConsoleError;
use super::pages;

pub(super) async fn inbox(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,
) -> Result<Response, ConsoleError> {
    let items = state.store.inbox(&site.id, INBOX_SHOWN).await?;
    let now_ms = clock::now_ms();
    let times = crate::inbox::response_times(&items, now_ms);
    Ok(pages::inbox(signed_in.header(), &site, &items, &times, now_ms).into_response())
}

#[derive(Deserialize)]
pub(super) struct FollowUpForm {
    csrf: String,
    status: String,
    notes: String,
}

pub(super) async fn follow_up(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,
    headers: HeaderMap,
    Path((_, response_id)): Path<(String, String)>,
    Form(form): Form<FollowUpForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let response = ResponseId::parse(&response_id).map_err(|_| ConsoleError::UnknownCase)?;
    let (status, notes) = follow_up_of(&form.status, &form.notes)
        .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    let recorded = state
        .store
        .follow_up(&site.id, &response, status, &notes, clock::now_ms())
        .await?;
    if !recorded {
        return Err(ConsoleError::UnknownCase);
    }
    Ok(Redirect::to(&format!("/console/sites/{}/inbox#case-{response}", site.id)).into_response())
}
