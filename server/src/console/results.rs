//! The site list, each site's dashboard (results and comments) and its export.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::checkbacks::Recovery;
use crate::clock;
use crate::inbox::{response_times, INBOX_SHOWN};
use crate::responses::export::{download, ExportFormat};
use crate::responses::filter::{FilterQuery, ResponseFilter};
use crate::results::TrendInterval;
use crate::state::AppState;

use super::auth::{AsMember, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages;

/// The most comments a dashboard lists; the search finds older ones.
const COMMENTS_SHOWN: u32 = 100;

pub(super) async fn site_list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ConsoleError> {
    let sites = state.store.sites_of(&signed_in.owner.id).await?;
    Ok(pages::sites(signed_in.header(), &sites).into_response())
}

/// The dashboard's own parameters; the filter's come in a [`FilterQuery`] beside them.
#[derive(Deserialize)]
pub(super) struct DashboardQuery {
    q: Option<String>,
    interval: Option<String>,
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,

    Query(query): Query<DashboardQuery>,
    Query(filter_query): Query<FilterQuery>,
) -> Result<Response, ConsoleError> {
    let filter = checked(&filter_query)?;
    let interval = TrendInterval::parse(query.interval.as_deref())
        .ok_or_else(|| ConsoleError::InvalidForm("the trend is by week or by month".into()))?;
    let id = &site.id;
    let results = crate::results::results(&state.store.result_sums(id, &filter).await?, interval);
    let search = query.q.as_deref().map(str::trim).unwrap_or_default();
    let comments = state
        .store
        .comments(
            id,
            &filter,
            Some(search).filter(|s| !s.is_empty()),
            COMMENTS_SHOWN,
        )
        .await?;
    let cases = state.store.inbox(id, INBOX_SHOWN).await?;
    let times = response_times(&cases, clock::now_ms());
    let recovery = Recovery::of(&state.store.check_back_answers(id).await?);
    let query = filter_query.to_query_string();
    let themes = crate::themes::of_site(state.store.as_ref(), id, &filter).await?;
    let view = pages::DashboardView {
        results: &results,
        closing: (&times, &recovery),
        comments: &comments,
        search,
        filter: &filter_query,
        interval,
        export_query: &query,
        themes: super::themes::section(&site, &themes, &query),
    };
    Ok(pages::dashboard(signed_in.header(), &site, &view).into_response())
}

fn checked(filter: &FilterQuery) -> Result<ResponseFilter, ConsoleError> {
    filter
        .parse()
        .map_err(|error| ConsoleError::InvalidForm(error.to_string()))
}

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    format: Option<String>,
}

/// The responses of the current filter, as CSV or JSON, for a signed-in owner.
pub(super) async fn export(
    State(state): State<AppState>,
    SiteAccess { site, .. }: AsMember,

    Query(query): Query<ExportQuery>,
    Query(filter_query): Query<FilterQuery>,
) -> Result<Response, ConsoleError> {
    let filter = checked(&filter_query)?;
    let format = match query.format.as_deref() {
        None => ExportFormat::Csv,
        Some(name) => ExportFormat::named(name).ok_or_else(|| {
            ConsoleError::InvalidForm(format!("format is csv or json, not {name:?}"))
        })?,
    };
    Ok(download(state.store.clone(), site.id.clone(), filter, format).await?)
}
