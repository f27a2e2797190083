//! The site owners' console at `/console`: sign-in, the site list and each site's results and
//! comments, rendered on the server (ARCHITECTURE.md says why). No page runs a script, so the
//! Content-Security-Policy allows none at all.

mod auth;
mod charts;
mod check_back;
mod closing;
mod editor;
mod error;
mod import;
mod inbox;
mod members;
mod pages;
mod results;
mod sites;
mod themes;
mod thread;
mod tokens;
mod webhooks;

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;

use crate::state::AppState;

/// Where the console's one stylesheet is served.
pub const STYLESHEET: &str = "/console/console.css";

/// No scripts, no plugins, no framing; styles and forms only from here.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Builds one route's handlers.
type Handlers = fn() -> MethodRouter<AppState>;

/// Every console route. The router is built from this list and the isolation test
/// (`server/tests/isolation.rs`) walks it, so no route escapes the test: every one with a
/// `{site_id}` must answer an account that is not a member of that site as it answers an
/// unknown site, and a member as the admin role requires, and change nothing.
pub static ROUTES: [(&str, Handlers); 35] = [
    (
        "/console/sites/{site_id}/inbox/{response_id}/thread",
        || get(thread::thread).post(thread::reply),
    ),
    (
        "/console/sites/{site_id}/inbox/{response_id}/thread/check-back",
        || post(thread::check_back),
    ),
    ("/check-back/{link}", || {
        get(check_back::show).post(check_back::record)
    }),
    ("/console/sites/{site_id}/closing-the-loop", || {
        get(closing::settings).post(closing::save_settings)
    }),
    (
        "/console/sites/{site_id}/closing-the-loop/test-mail",
        || post(closing::test_mail),
    ),
    ("/console/sites/{site_id}/templates", || {
        get(closing::templates)
    }),
    (
        "/console/sites/{site_id}/templates/{lang}/{category}",
        || get(closing::template).post(closing::save_template),
    ),
    ("/console/sites/{site_id}/import", || {
        get(import::form).post(import::upload)
    }),
    ("/console/sites/{site_id}/import/{import_id}", || {
        get(import::show).post(import::start)
    }),
    ("/console/invitations/{token}", || {
        get(members::invitation).post(members::accept)
    }),
    ("/console/sites/{site_id}/members", || {
        get(members::members).post(members::invite)
    }),
    ("/console/sites/{site_id}/members/{owner_id}", || {
        post(members::change)
    }),
    ("/console/sites/{site_id}/tokens", || {
        get(tokens::tokens).post(tokens::make)
    }),
    ("/console/sites/{site_id}/tokens/{token_id}/revoke", || {
        post(tokens::revoke)
    }),
    ("/console", || get(results::site_list)),
    ("/console/sites/new", || get(sites::new_site)),
    ("/console/sites", || post(sites::add_site)),
    ("/console/sites/{site_id}/install", || get(sites::install)),
    ("/console/sites/{site_id}/settings", || {
        get(sites::settings).post(sites::save_settings)
    }),
    ("/console/sites/{site_id}/delete", || post(sites::delete)),
    ("/console/sign-in", || {
        get(auth::sign_in_form).post(auth::sign_in)
    }),
    ("/console/sign-out", || post(auth::sign_out)),
    ("/console/sites/{site_id}", || get(results::dashboard)),
    ("/console/sites/{site_id}/export", || get(results::export)),
    ("/console/sites/{site_id}/themes/{lang}/{term}", || {
        get(themes::term)
    }),
    ("/console/sites/{site_id}/inbox", || get(inbox::inbox)),
    ("/console/sites/{site_id}/inbox/{response_id}", || {
        post(inbox::follow_up)
    }),
    ("/console/sites/{site_id}/webhooks", || {
        get(webhooks::webhooks).post(webhooks::add_webhook)
    }),
    (
        "/console/sites/{site_id}/webhooks/{webhook_id}/delete",
        || post(webhooks::delete_webhook),
    ),
    (
        "/console/sites/{site_id}/deliveries/{delivery_id}/resend",
        || post(webhooks::resend_delivery),
    ),
    ("/console/sites/{site_id}/survey", || {
        get(editor::editor).post(editor::save)
    }),
    ("/console/sites/{site_id}/survey/preview", || {
        post(editor::preview_draft)
    }),
    ("/console/sites/{site_id}/survey/preview/{draft}", || {
        get(editor::preview_page)
    }),
    (
        "/console/sites/{site_id}/survey/preview/{draft}/v1/sites/{previewed}/survey",
        || get(editor::preview_config),
    ),
    (
        "/console/sites/{site_id}/survey/preview/{draft}/v1/sites/{previewed}/responses",
        || post(editor::preview_answer),
    ),
];

/// The console's routes, with their security headers.
pub fn router() -> Router<AppState> {
    ROUTES
        .iter()
        .fold(Router::new(), |router, (path, handlers)| {
            router.route(path, handlers())
        })
        .route(STYLESHEET, get(stylesheet))
        .layer(middleware::from_fn(security_headers))
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
