//! A site's named API tokens (admins): each script gets its own, shown once when made, listed
//! with when it was made and last used, revocable one by one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::clock;
use crate::domain::{plain_text, AdminToken};
use crate::sites::{ApiToken, Site, MAX_TOKEN_NAME_CHARS};
use crate::state::AppState;

use super::auth::{from_this_site, AsAdmin, CsrfForm, SiteAccess};
use super::error::ConsoleError;
use super::pages::{day, layout, SignedInAs};

/// What the page says besides the list: a token just made, or what to fix.
enum Notice<'a> {
    None,
    Made(&'a str, &'a str),
    Refused(&'a str),
}

fn page(owner: SignedInAs<'_>, site: &Site, tokens: &[ApiToken], notice: Notice<'_>) -> Markup {
    let csrf = owner.csrf_token;
    let base = format!("/console/sites/{}/tokens", site.id);
    layout(
        &format!("API tokens · {}", site.name),
        Some(owner),
        html! {
            h1 { "API tokens of " (site.name) }
            p { "Scripts read this site's responses, results and inbox with " code { "Authorization: Bearer TOKEN" }
                ". Give each script a token of its own, so that one can be revoked without the others." }
            @match notice {
                Notice::Made(name, token) => div.notice role="status" {
                    p { "The token " strong { (name) } ", shown this once:" }
                    pre { code { (token) } }
                },
                Notice::Refused(problem) => div.error role="alert" { p { (problem) } },
                Notice::None => {},
            }
            @if tokens.is_empty() {
                p.muted { "No named tokens yet. The token made with the site keeps working; "
                    code { "soovita site rotate-token" } " replaces it." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Made" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Revoke" } } } }
                    tbody {
                        @for token in tokens {
                            tr {
                                td { (token.name) }
                                td { (day(token.created_at_ms)) }
                                td { @match token.last_used_day { Some(used) => (day(used * 86_400_000)), None => "never" } }
                                td {
                                    form.inline method="post" action=(format!("{base}/{}/revoke", token.id)) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.secondary type="submit" aria-label=(format!("Revoke {}", token.name)) { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Make a token" }
            form.stack method="post" action=(base) {
                input type="hidden" name="csrf" value=(csrf);
                label { "What it is for" input type="text" name="name" required maxlength=(MAX_TOKEN_NAME_CHARS) placeholder="help desk"; }
                button type="submit" { "Make the token" }
            }
        },
    )
}

/// `GET /console/sites/{site_id}/tokens`.
pub(super) async fn tokens(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
) -> Result<Response, ConsoleError> {
    let tokens = state.store.tokens(&site.id).await?;
    Ok(page(signed_in.header(), &site, &tokens, Notice::None).into_response())
}

#[derive(Deserialize)]
pub(super) struct TokenForm {
    csrf: String,
    name: String,
}

/// `POST /console/sites/{site_id}/tokens`: the new token, shown on the page it answers with.
pub(super) async fn make(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let name = plain_text("name", form.name.trim()).unwrap_or_default();
    if name.is_empty() || name.contains('\n') || name.chars().count() > MAX_TOKEN_NAME_CHARS {
        let tokens = state.store.tokens(&site.id).await?;
        let problem = format!(
            "Name the token in one line of 1 to {MAX_TOKEN_NAME_CHARS} characters, e.g. \
             \"help desk\"; no token was made."
        );
        let page = page(
            signed_in.header(),
            &site,
            &tokens,
            Notice::Refused(&problem),
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let token = AdminToken::generate();
    state
        .store
        .create_token(&site.id, &name, &token.hash(), clock::now_ms())
        .await?;
    let tokens = state.store.tokens(&site.id).await?;
    let notice = Notice::Made(&name, token.reveal());
    Ok(page(signed_in.header(), &site, &tokens, notice).into_response())
}

/// `POST /console/sites/{site_id}/tokens/{token_id}/revoke`.
pub(super) async fn revoke(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, token_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    if !state.store.revoke_token(&site.id, &token_id).await? {
        return Err(ConsoleError::UnknownToken);
    }
    Ok(Redirect::to(&format!("/console/sites/{}/tokens", site.id)).into_response())
}
