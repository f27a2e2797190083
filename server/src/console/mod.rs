//! The site owners' console at `/console`: sign-in, the site list and each site's results and
//! comments, rendered on the server (ARCHITECTURE.md says why). No page runs a script, so the
//! Content-Security-Policy allows none at all.

mod charts;
mod editor;
mod pages;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, ORIGIN, REFERRER_POLICY,
    RETRY_AFTER, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::accounts::{normalize_email, spend_a_password_check, Owner, Session, SESSION_DAYS};
use crate::clock;
use crate::db::StoreError;
use crate::domain::{ResponseId, SiteId, TokenHash};
use crate::inbox::{follow_up_of, INBOX_SHOWN};
use crate::rate_limit::Limited;
use crate::responses::export::{download, ExportFormat};
use crate::responses::filter::{FilterQuery, ResponseFilter};
use crate::results::TrendInterval;
use crate::routes::AppState;
use crate::sites::Site;
use crate::webhooks::{self, Webhook, WebhookEvent};
use pages::SignedInAs;

/// Where the console's one stylesheet is served.
pub const STYLESHEET: &str = "/console/console.css";

/// The session cookie: only the console's paths ever see it.
const SESSION_COOKIE: &str = "soovita_session";

/// The most comments a dashboard lists; the search finds older ones.
const COMMENTS_SHOWN: u32 = 100;

/// The most webhook deliveries the log lists.
const DELIVERIES_SHOWN: u32 = 100;

/// No scripts, no plugins, no framing; styles and forms only from here.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, with their security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(site_list))
        .route("/console/sign-in", get(sign_in_form).post(sign_in))
        .route("/console/sign-out", post(sign_out))
        .route("/console/sites/{site_id}", get(dashboard))
        .route("/console/sites/{site_id}/export", get(export))
        .route("/console/sites/{site_id}/inbox", get(inbox))
        .route(
            "/console/sites/{site_id}/inbox/{response_id}",
            post(follow_up),
        )
        .route(
            "/console/sites/{site_id}/webhooks",
            get(webhooks).post(add_webhook),
        )
        .route(
            "/console/sites/{site_id}/webhooks/{webhook_id}/delete",
            post(delete_webhook),
        )
        .route(
            "/console/sites/{site_id}/deliveries/{delivery_id}/resend",
            post(resend_delivery),
        )
        .route(
            "/console/sites/{site_id}/survey",
            get(editor::editor).post(editor::save),
        )
        .route(
            "/console/sites/{site_id}/survey/preview",
            post(editor::preview_draft),
        )
        .route(
            "/console/sites/{site_id}/survey/preview/{draft}",
            get(editor::preview_page),
        )
        .route(
            "/console/sites/{site_id}/survey/preview/{draft}/v1/sites/{previewed}/survey",
            get(editor::preview_config),
        )
        .route(
            "/console/sites/{site_id}/survey/preview/{draft}/v1/sites/{previewed}/responses",
            post(editor::preview_answer),
        )
        .route(STYLESHEET, get(stylesheet))
        .layer(middleware::from_fn(security_headers))
}

/// Why a console request was refused; each becomes a page (or a redirect) in one place,
/// [`ConsoleError::into_response`].
#[derive(Debug, Error)]
pub enum ConsoleError {
    /// No valid session cookie.
    #[error("sign in first")]
    SignInRequired,
    /// Unknown email, or the wrong password: the page does not say which.
    #[error("wrong email or password")]
    WrongCredentials(String),
    /// Too many sign-in attempts from one client, or failures for one account.
    #[error("too many sign-in attempts")]
    RateLimited(Limited),
    /// Every place for a password check is taken.
    #[error("the server is busy checking other sign-ins")]
    Busy,
    /// A form posted from another site (cross-site request forgery).
    #[error("this form can only be sent from the console itself")]
    CrossSite,
    /// The site in the path does not exist.
    #[error("no such site")]
    UnknownSite,
    /// The response in the path is not in the site's inbox.
    #[error("no such case in this site's inbox")]
    UnknownCase,
    /// The webhook or delivery in the path is not the site's.
    #[error("no such webhook or delivery for this site")]
    UnknownWebhook,
    /// A form field is out of bounds.
    #[error("{0}")]
    InvalidForm(String),
    /// The database failed.
    #[error("storage is unavailable")]
    Storage(#[from] StoreError),
}

impl ConsoleError {
    fn code(&self) -> &'static str {
        match self {
            Self::SignInRequired => "sign_in_required",
            Self::WrongCredentials(_) => "wrong_credentials",
            Self::RateLimited(_) => "rate_limited",
            Self::Busy => "busy",
            Self::CrossSite => "cross_site_form",
            Self::UnknownSite => "unknown_site",
            Self::UnknownCase => "unknown_case",
            Self::UnknownWebhook => "unknown_webhook",
            Self::InvalidForm(_) => "invalid_form",
            Self::Storage(_) => "storage_unavailable",
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::telemetry::REJECTED, "reason" => self.code()).increment(1);
        match self {
            Self::SignInRequired => Redirect::to("/console/sign-in").into_response(),
            Self::WrongCredentials(email) => (
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Wrong email or password."), &email),
            )
                .into_response(),
            Self::RateLimited(limited) => {
                let seconds = limited.retry_after.as_secs() + 1;
                let message = format!("Too many attempts. Try again in {seconds} seconds.");
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    pages::sign_in(Some(&message), ""),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(seconds));
                response
            }
            Self::Busy => {
                let message = "The server is busy checking other sign-ins. Try again in a second.";
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    pages::sign_in(Some(message), ""),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(1));
                response
            }
            Self::CrossSite => (StatusCode::FORBIDDEN, self.to_string()).into_response(),
            Self::UnknownSite | Self::UnknownCase | Self::UnknownWebhook => {
                (StatusCode::NOT_FOUND, self.to_string()).into_response()
            }
            Self::InvalidForm(_) => (StatusCode::BAD_REQUEST, self.to_string()).into_response(),
            Self::Storage(error) => {
                tracing::error!(%error, "console request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage is unavailable; try again shortly.",
                )
                    .into_response()
            }
        }
    }
}

/// The owner a valid session cookie belongs to; anyone else is sent to sign in.
pub struct SignedIn {
    owner: Owner,
    session: Session,
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

async fn sign_in_form() -> Response {
    pages::sign_in(None, "").into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn sign_in(
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
    // Known or not, an address that keeps failing waits: the answer says nothing about which.
    if let Some(retry_after) = state.sign_ins.wait(&email, clock::now_ms()) {
        return Err(ConsoleError::RateLimited(Limited {
            scope: "account",
            retry_after,
        }));
    }
    let permit = state.sign_ins.permit().ok_or(ConsoleError::Busy)?;
    let owner = state.store.owner_by_email(&email).await?;
    // argon2 takes tens of milliseconds of CPU on purpose; keep it off the async workers.
    let owner = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match owner {
            Some(owner) if owner.has_password(&form.password) => Some(owner),
            Some(_) => None,
            None => {
                spend_a_password_check(&form.password);
                None
            }
        }
    })
    .await
    .ok()
    .flatten();
    let Some(owner) = owner else {
        state.sign_ins.failed(&email, clock::now_ms());
        return Err(ConsoleError::WrongCredentials(email));
    };
    state.sign_ins.succeeded(&email);
    let (session, token) = Session::start(&owner, clock::now_ms());
    state.store.create_session(&session).await?;
    let secure = if state.limits.is_https(peer.ip(), &headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_DAYS * 24 * 60 * 60
    );
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/console")).into_response())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_out(
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

async fn site_list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ConsoleError> {
    let sites = state.store.sites().await?;
    Ok(pages::sites(signed_in.header(), &sites).into_response())
}

/// The dashboard's own parameters; the filter's come in a [`FilterQuery`] beside them.
#[derive(Deserialize)]
struct DashboardQuery {
    q: Option<String>,
    interval: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(site_id): Path<String>,
    Query(query): Query<DashboardQuery>,
    Query(filter_query): Query<FilterQuery>,
) -> Result<Response, ConsoleError> {
    let site = site(&state, &site_id).await?;
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
    let view = pages::DashboardView {
        results: &results,
        comments: &comments,
        search,
        filter: &filter_query,
        interval,
        export_query: &export_query(&filter_query),
    };
    Ok(pages::dashboard(signed_in.header(), &site, &view).into_response())
}

fn checked(filter: &FilterQuery) -> Result<ResponseFilter, ConsoleError> {
    filter
        .parse()
        .map_err(|error| ConsoleError::InvalidForm(error.to_string()))
}

/// The filter as a query string, for the export links: what the owner sees is what they get.
fn export_query(filter: &FilterQuery) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let fields = [
        ("from", &filter.from),
        ("to", &filter.to),
        ("page", &filter.page),
        ("lang", &filter.lang),
        ("device", &filter.device),
        ("version", &filter.version),
    ];
    for (name, value) in fields {
        if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

/// The responses of the current filter, as CSV or JSON, for a signed-in owner.
async fn export(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Path(site_id): Path<String>,
    Query(query): Query<ExportQuery>,
    Query(filter_query): Query<FilterQuery>,
) -> Result<Response, ConsoleError> {
    let site = site(&state, &site_id).await?;
    let filter = checked(&filter_query)?;
    let format = match query.format.as_deref() {
        None => ExportFormat::Csv,
        Some(name) => ExportFormat::named(name).ok_or_else(|| {
            ConsoleError::InvalidForm(format!("format is csv or json, not {name:?}"))
        })?,
    };
    Ok(download(state.store.clone(), site.id.clone(), filter, format).await?)
}

async fn inbox(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(site_id): Path<String>,
) -> Result<Response, ConsoleError> {
    let site = site(&state, &site_id).await?;
    let items = state.store.inbox(&site.id, INBOX_SHOWN).await?;
    let times = crate::inbox::response_times(&items);
    Ok(pages::inbox(signed_in.header(), &site, &items, &times).into_response())
}

#[derive(Deserialize)]
struct FollowUpForm {
    csrf: String,
    status: String,
    notes: String,
}

async fn follow_up(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((site_id, response_id)): Path<(String, String)>,
    Form(form): Form<FollowUpForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let site = site(&state, &site_id).await?;
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

async fn webhooks(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(site_id): Path<String>,
) -> Result<Response, ConsoleError> {
    let site = site(&state, &site_id).await?;
    let view = pages::WebhooksView {
        webhooks: &state.store.webhooks(Some(&site.id)).await?,
        deliveries: &state.store.deliveries(&site.id, DELIVERIES_SHOWN).await?,
        options: &state.webhooks,
    };
    Ok(pages::webhooks(signed_in.header(), &site, &view).into_response())
}

/// The add-a-webhook form: one checkbox per event, since a urlencoded form repeats a name for
/// a multiple choice and axum's `Form` reads each name once.
#[derive(Deserialize)]
struct WebhookForm {
    csrf: String,
    url: String,
    format: String,
    new_detractor: Option<String>,
    contact_requested: Option<String>,
    response: Option<String>,
}

async fn add_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(site_id): Path<String>,
    Form(form): Form<WebhookForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let site = site(&state, &site_id).await?;
    let ticked = [
        (WebhookEvent::NewDetractor, &form.new_detractor),
        (WebhookEvent::ContactRequested, &form.contact_requested),
        (WebhookEvent::Response, &form.response),
    ];
    let events: Vec<String> = ticked
        .into_iter()
        .filter(|(_, value)| value.is_some())
        .map(|(event, _)| event.as_str().to_owned())
        .collect();
    let now_ms = clock::now_ms();
    let webhook = Webhook::new(
        site.id.clone(),
        &form.url,
        &events,
        &form.format,
        now_ms,
        state.webhooks.allow_private,
    )
    .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    if !state.store.create_webhook(&webhook, now_ms).await? {
        return Err(ConsoleError::InvalidForm(
            webhooks::InvalidWebhook::TooMany.to_string(),
        ));
    }
    Ok(Redirect::to(&format!("/console/sites/{}/webhooks", site.id)).into_response())
}

async fn delete_webhook(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((site_id, webhook_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let site = site(&state, &site_id).await?;
    if !state.store.delete_webhook(&site.id, &webhook_id).await? {
        return Err(ConsoleError::UnknownWebhook);
    }
    Ok(Redirect::to(&format!("/console/sites/{}/webhooks", site.id)).into_response())
}

async fn resend_delivery(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path((site_id, delivery_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let site = site(&state, &site_id).await?;
    let queued = state
        .store
        .resend_delivery(
            &site.id,
            &delivery_id,
            state.webhooks.attempts,
            clock::now_ms(),
        )
        .await?;
    if !queued {
        return Err(ConsoleError::UnknownWebhook);
    }
    Ok(Redirect::to(&format!(
        "/console/sites/{}/webhooks#delivery-{delivery_id}",
        site.id
    ))
    .into_response())
}

/// The site a path segment names.
pub(super) async fn site(state: &AppState, raw_id: &str) -> Result<Site, ConsoleError> {
    let id = SiteId::parse(raw_id).map_err(|_| ConsoleError::UnknownSite)?;
    state
        .store
        .site(&id)
        .await?
        .ok_or(ConsoleError::UnknownSite)
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("../../../www/console/console.css"),
    )
        .into_response()
}

/// The policy and the headers every console response carries; pages are never cached, since
/// they show what only a signed-in owner may see.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // The survey preview sets its own, which allow the widget's scripts.
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
