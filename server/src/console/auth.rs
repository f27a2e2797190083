//! Who is signed in, and what a request must show to act: a session cookie, a form from the
//! console itself with the session's CSRF token, and a membership of the site it names.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams, State};
use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::accounts::{
    normalize_email, spend_a_password_check, Owner, Role, Session, SESSION_DAYS,
};
use crate::clock;
use crate::domain::{SiteId, TokenHash};
use crate::ingest::rate_limit::Limited;
use crate::sites::Site;
use crate::state::AppState;

use super::error::ConsoleError;
use super::pages::{self, SignedInAs};

/// The session cookie: only the console's paths ever see it.
const SESSION_COOKIE: &str = "soovita_session";

/// The owner a valid session cookie belongs to; anyone else is sent to sign in.
pub struct SignedIn {
    pub(super) owner: Owner,
    pub(super) session: Session,
}

impl SignedIn {
    pub(super) fn header(&self) -> SignedInAs<'_> {
        SignedInAs {
            email: &self.owner.email,
            csrf_token: &self.session.csrf_token,
        }
    }

    /// Refuses a form that does not carry this session's CSRF token.
    pub(super) fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        if bool::from(
            presented
                .as_bytes()
                .ct_eq(self.session.csrf_token.as_bytes()),
        ) {
            Ok(())
        } else {
            Err(ConsoleError::CrossSite)
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers).ok_or(ConsoleError::SignInRequired)?;
        let session = state
            .store
            .session(&TokenHash::of(token), clock::now_ms())
            .await?
            .ok_or(ConsoleError::SignInRequired)?;
        let owner = state
            .store
            .owner(&session.owner_id)
            .await?
            .ok_or(ConsoleError::SignInRequired)?;
        Ok(Self { owner, session })
    }
}

fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// Refuses a form another site made the browser send. Browsers say where a request comes from
/// in `Sec-Fetch-Site`; older ones only in `Origin`, compared with `Host`. Forms after sign-in
/// also carry the session's CSRF token, and the cookie is `SameSite=Strict` besides.
pub(super) fn from_this_site(headers: &HeaderMap) -> Result<(), ConsoleError> {
    let same = match headers.get("sec-fetch-site").map(HeaderValue::as_bytes) {
        Some(site) => site == b"same-origin" || site == b"none",
        None => match (headers.get(ORIGIN), headers.get(HOST)) {
            (Some(origin), Some(host)) => origin
                .to_str()
                .ok()
                .and_then(|origin| origin.split_once("://"))
                .is_some_and(|(_, authority)| authority.as_bytes() == host.as_bytes()),
            _ => true,
        },
    };
    if same {
        Ok(())
    } else {
        Err(ConsoleError::CrossSite)
    }
}

pub(super) async fn sign_in_form() -> Response {
    pages::sign_in(None, "").into_response()
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    email: String,
    password: String,
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    state
        .limits
        .check_sign_in(peer.ip(), &headers)
        .map_err(ConsoleError::RateLimited)?;
    let email = normalize_email(&form.email);
    let Some(owner) = check_password(&state, &email, form.password).await? else {
        return Err(ConsoleError::WrongCredentials(email));
    };
    start_session(&state, &owner, peer, &headers, "/console").await
}

/// The account of `email` if `password` is its own, checked as every sign-in is: an address
/// that keeps failing waits, known or not (the answer says nothing about which); only as many
/// checks run at once as the guard allows, off the async workers (argon2 takes tens of
/// milliseconds of CPU on purpose), and as long for an unknown address as for a wrong password.
pub(super) async fn check_password(
    state: &AppState,
    email: &str,
    password: String,
) -> Result<Option<Owner>, ConsoleError> {
    if let Some(retry_after) = state.sign_ins.wait(email, clock::now_ms()) {
        return Err(ConsoleError::RateLimited(Limited {
            scope: "account",
            retry_after,
        }));
    }
    let permit = state.sign_ins.permit().ok_or(ConsoleError::Busy)?;
    let owner = state.store.owner_by_email(email).await?;
    let owner = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match owner {
            Some(owner) if owner.has_password(&password) => Some(owner),
            Some(_) => None,
            None => {
                spend_a_password_check(&password);
                None
            }
        }
    })
    .await
    .ok()
    .flatten();
    match &owner {
        Some(_) => state.sign_ins.succeeded(email),
        None => state.sign_ins.failed(email, clock::now_ms()),
    }
    Ok(owner)
}

/// Signs `owner` in: a new session, its cookie, and a redirect to `to`.
pub(super) async fn start_session(
    state: &AppState,
    owner: &Owner,
    peer: SocketAddr,
    headers: &HeaderMap,
    to: &str,
) -> Result<Response, ConsoleError> {
    let (session, token) = Session::start(owner, clock::now_ms());
    state.store.create_session(&session).await?;
    let secure = if state.limits.is_https(peer.ip(), headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_DAYS * 24 * 60 * 60
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to(to)).into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    pub(super) csrf: String,
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    state
        .store
        .end_session(&signed_in.session.token_hash, clock::now_ms())
        .await?;
    let expired = format!("{SESSION_COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(SET_COOKIE, expired)], Redirect::to("/console/sign-in")).into_response())
}

/// A signed-in account's access to the site the path's `{site_id}` names, with the admin role
/// if `ADMIN`: the only way a console handler gets a site, so a handler cannot forget the
/// check. A site the account is not a member of answers exactly as one that does not exist;
/// a member asking for an admin's page is told it needs the admin role. Either way the
/// handler never runs.
pub struct SiteAccess<const ADMIN: bool> {
    pub(super) signed_in: SignedIn,
    pub(super) site: Site,
}

/// Results, comments, exports and the inbox.
pub(super) type AsMember = SiteAccess<false>;
/// Everything that changes the site's set-up.
pub(super) type AsAdmin = SiteAccess<true>;

impl<const ADMIN: bool> FromRequestParts<AppState> for SiteAccess<ADMIN> {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ConsoleError::UnknownSite)?;
        let raw_id = params
            .iter()
            .find_map(|(name, value)| (name == "site_id").then_some(value))
            .ok_or(ConsoleError::UnknownSite)?;
        let id = SiteId::parse(raw_id).map_err(|_| ConsoleError::UnknownSite)?;
        let role = state
            .store
            .role(&signed_in.owner.id, &id)
            .await?
            .ok_or(ConsoleError::UnknownSite)?;
        if ADMIN && role < Role::Admin {
            return Err(ConsoleError::NeedsAdmin);
        }
        let site = state
            .store
            .site(&id)
            .await?
            .ok_or(ConsoleError::UnknownSite)?;
        Ok(Self { signed_in, site })
    }
}
