//! Running sites from the console: adding one (any signed-in account, which becomes its admin),
//! its settings and deleting it (admins), and the snippet that installs it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::sites::form::{SettingsForm, MAX_NAME_CHARS};
use crate::sites::{create_for, Site};
use crate::state::AppState;

use super::auth::{from_this_site, AsAdmin, AsMember, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages::{date, layout, SignedInAs};

/// The form, blank or as posted, with what to fix.
fn settings_fields(form: &SettingsForm) -> Markup {
    html! {
        label { "Name, as visitors see it in the question"
            input type="text" name="name" value=(form.name) required maxlength=(MAX_NAME_CHARS); }
        label { "Allowed origins, one per line: pages there may show the survey and send answers"
            textarea name="origins" rows="3" required placeholder="https://shop.example" { (form.origins) } }
        label { "Share of visitors asked (%)"
            input type="number" name="sample_percent" min="0" max="100" value=(form.sample_percent); }
        label { "Days between two surveys to one visitor"
            input type="number" name="cooldown_days" min="0" max="3650" value=(form.cooldown_days); }
        label { "Days a response is kept"
            input type="number" name="retention_days" min="1" max="3650" value=(form.retention_days); }
        label.check { input type="checkbox" name="honor_do_not_track" checked[form.honor_do_not_track.is_some()];
            "Never ask visitors whose browser sends Do Not Track or Global Privacy Control" }
    }
}

fn problems(list: &[String]) -> Markup {
    html! {
        @if !list.is_empty() {
            div.error role="alert" {
                p { "Nothing was saved. Please fix:" }
                ul { @for problem in list { li { (problem) } } }
            }
        }
    }
}

fn new_site_page(owner: SignedInAs<'_>, form: &SettingsForm, refused: &[String]) -> Markup {
    let csrf = owner.csrf_token;
    layout(
        "Add a site",
        Some(owner),
        html! {
            h1 { "Add a site" }
            (problems(refused))
            form.stack method="post" action="/console/sites" {
                input type="hidden" name="csrf" value=(csrf);
                (settings_fields(form))
                button type="submit" { "Add the site" }
            }
        },
    )
}

#[derive(Deserialize)]
pub(super) struct SiteForm {
    csrf: String,
    #[serde(flatten)]
    settings: SettingsForm,
}

/// `GET /console/sites/new`.
pub(super) async fn new_site(signed_in: SignedIn) -> Response {
    let form = SettingsForm {
        sample_percent: "100".into(),
        cooldown_days: "90".into(),
        retention_days: "730".into(),
        honor_do_not_track: Some("on".into()),
        ..SettingsForm::default()
    };
    new_site_page(signed_in.header(), &form, &[]).into_response()
}

/// `POST /console/sites`: the new site, its admin the account that added it, and the page to
/// install it with its admin token, shown this once.
pub(super) async fn add_site(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Form(form): Form<SiteForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let checked = match form.settings.check() {
        Ok(checked) => checked,
        Err(refused) => {
            let page = new_site_page(signed_in.header(), &form.settings, &refused);
            return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let (site, token) = create_for(state.store.as_ref(), &signed_in.owner.id, checked).await?;
    let base = base_url(&state, peer, &headers);
    let page = install_page(signed_in.header(), &site, &base, Some(token.reveal()), None);
    Ok(page.into_response())
}

/// This server's address as the browser reached it, for the snippets.
pub(super) fn base_url(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let local =
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with('[');
    let scheme = if state.limits.is_https(peer.ip(), headers) || !local {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

fn install_page(
    owner: SignedInAs<'_>,
    site: &Site,
    base: &str,
    token: Option<&str>,
    fetched_at_ms: Option<i64>,
) -> Markup {
    let tag = format!(
        r#"<script src="{base}/widget.js" data-site="{}" async></script>"#,
        site.id
    );
    let npm = format!(
        "import {{ init }} from 'soovita-widget';\ninit({{ site: '{}', api: '{base}' }});",
        site.id
    );
    layout(
        &format!("Install · {}", site.name),
        Some(owner),
        html! {
            h1 { "Install " (site.name) }
            @if let Some(token) = token {
                div.notice role="status" {
                    p { "The site is added. Its admin API token, shown this once (keep it where your scripts can read it):" }
                    pre { code { (token) } }
                }
            }
            p { "Paste this into every page where the survey may appear, before " code { "</body>" } ":" }
            pre { code { (tag) } }
            p { "Or, in an app built with npm (" code { "npm install soovita-widget" } "):" }
            pre { code { (npm) } }
            h2 { "Check the installation" }
            @match fetched_at_ms {
                Some(at) => p.notice role="status" { "The tag works: a page on an allowed origin last fetched the survey at "
                    (date(at)) " (noted every few minutes)." },
                None => p { "No page on an allowed origin has fetched the survey yet. Once the tag is on a page and someone opens it, this page says when." },
            }
            p.muted {
                "Pages must be on one of the site's allowed origins: "
                @for (i, origin) in site.allowed_origins.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (origin.as_str()) }
                }
                "."
            }
            p { a href=(format!("/console/sites/{}", site.id)) { "To the site's results" } }
        },
    )
}

/// `GET /console/sites/{site_id}/install`.
pub(super) async fn install(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    SiteAccess { signed_in, site }: AsMember,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let base = base_url(&state, peer, &headers);
    let fetched = state.store.config_fetched_at(&site.id).await?;
    Ok(install_page(signed_in.header(), &site, &base, None, fetched).into_response())
}

fn form_of(site: &Site) -> SettingsForm {
    let origins: Vec<&str> = site.allowed_origins.iter().map(|o| o.as_str()).collect();
    SettingsForm {
        name: site.name.clone(),
        origins: origins.join("\n"),
        sample_percent: site.sample_percent.to_string(),
        cooldown_days: site.cooldown_days.to_string(),
        retention_days: site.retention_days.to_string(),
        honor_do_not_track: site.honor_do_not_track.then(|| "on".into()),
    }
}

fn settings_page(
    owner: SignedInAs<'_>,
    site: &Site,
    form: &SettingsForm,
    refused: &[String],
    saved: bool,
) -> Markup {
    let csrf = owner.csrf_token;
    layout(
        &format!("Settings · {}", site.name),
        Some(owner),
        html! {
            h1 { "Settings of " (site.name) }
            @if saved { p.notice role="status" { "Saved." } }
            (problems(refused))
            form.stack method="post" action=(format!("/console/sites/{}/settings", site.id)) {
                input type="hidden" name="csrf" value=(csrf);
                (settings_fields(form))
                button type="submit" { "Save" }
            }
            h2 { "Delete the site" }
            p { "Deletes the site and every response it has received. This cannot be undone." }
            form.stack method="post" action=(format!("/console/sites/{}/delete", site.id)) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Type the site's name, " strong { (site.name) } ", to confirm"
                    input type="text" name="confirm" required autocomplete="off"; }
                button.danger type="submit" { "Delete the site and its responses" }
            }
        },
    )
}

#[derive(Deserialize)]
pub(super) struct SettingsQuery {
    saved: Option<u8>,
}

/// `GET /console/sites/{site_id}/settings`.
pub(super) async fn settings(
    SiteAccess { signed_in, site }: AsAdmin,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let form = form_of(&site);
    settings_page(signed_in.header(), &site, &form, &[], query.saved.is_some()).into_response()
}

/// `POST /console/sites/{site_id}/settings`.
pub(super) async fn save_settings(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<SiteForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let checked = match form.settings.check() {
        Ok(checked) => checked,
        Err(refused) => {
            let page = settings_page(signed_in.header(), &site, &form.settings, &refused, false);
            return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let updated = Site {
        name: checked.name,
        allowed_origins: checked.origins,
        sample_percent: checked.sample_percent,
        cooldown_days: checked.cooldown_days,
        retention_days: checked.retention_days,
        honor_do_not_track: checked.honor_do_not_track,
        ..site
    };
    state.store.update_site(&updated).await?;
    state.sites.forget(&updated.id);
    Ok(Redirect::to(&format!("/console/sites/{}/settings?saved=1", updated.id)).into_response())
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    csrf: String,
    confirm: String,
}

/// `POST /console/sites/{site_id}/delete`: only with the site's name typed, as
/// `soovita site delete` does.
pub(super) async fn delete(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    if form.confirm.trim() != site.name {
        let refused = [format!(
            "Delete: type the site's name, {}, exactly; nothing was deleted.",
            site.name
        )];
        let page = settings_page(signed_in.header(), &site, &form_of(&site), &refused, false);
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    }
    state.store.delete_site(&site.id).await?;
    state.sites.forget(&site.id);
    Ok(Redirect::to("/console").into_response())
}
