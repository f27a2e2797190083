//! The one place console refusals become pages or redirects.

use super::pages;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use thiserror::Error;

use crate::db::StoreError;
use crate::ingest::rate_limit::Limited;

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
    #[error("the server is busy checking other sign-ins")]
    Busy,
    /// A form posted from another site (cross-site request forgery).
    #[error("this form can only be sent from the console itself")]
    CrossSite,
    /// Also a site the account is not a member of: it must not learn that the site exists.
    #[error("no such site")]
    UnknownSite,
    /// A member trying what only the site's admins may do.
    #[error("this needs the admin role of the site; ask one of its admins")]
    NeedsAdmin,
    /// The response in the path is not in the site's inbox.
    #[error("no such case in this site's inbox")]
    UnknownCase,
    #[error("this site has no such import")]
    UnknownImport,
    #[error("this site has no such API token")]
    UnknownToken,
    #[error("this account is not a member of the site")]
    UnknownMember,
    /// The webhook or delivery in the path is not the site's.
    #[error("no such webhook or delivery for this site")]
    UnknownWebhook,
    #[error("{0}")]
    InvalidForm(String),
    #[error("storage is unavailable")]
    Storage(#[from] StoreError),
}

impl ConsoleError {
    pub(super) fn code(&self) -> &'static str {
        match self {
            Self::SignInRequired => "sign_in_required",
            Self::WrongCredentials(_) => "wrong_credentials",
            Self::RateLimited(_) => "rate_limited",
            Self::Busy => "busy",
            Self::CrossSite => "cross_site_form",
            Self::UnknownSite => "unknown_site",
            Self::NeedsAdmin => "needs_admin",
            Self::UnknownCase => "unknown_case",
            Self::UnknownWebhook => "unknown_webhook",
            Self::UnknownImport => "unknown_import",
            Self::UnknownToken => "unknown_token",
            Self::UnknownMember => "unknown_member",
            Self::InvalidForm(_) => "invalid_form",
            Self::Storage(_) => "storage_unavailable",
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::http::error::REJECTED, "reason" => self.code()).increment(1);
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
            Self::CrossSite | Self::NeedsAdmin => refusal(StatusCode::FORBIDDEN, &self),
            Self::UnknownSite
            | Self::UnknownCase
            | Self::UnknownWebhook
            | Self::UnknownImport
            | Self::UnknownToken
            | Self::UnknownMember => refusal(StatusCode::NOT_FOUND, &self),
            Self::InvalidForm(_) => refusal(StatusCode::BAD_REQUEST, &self),
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

/// A page saying what was refused. It names nothing of the site asked for, so a site the
/// account may not see is answered exactly as one that does not exist.
fn refusal(status: StatusCode, error: &ConsoleError) -> Response {
    let message = error.to_string();
    let mut said = message.chars();
    let sentence: String = said
        .next()
        .map(|first| first.to_uppercase().chain(said).collect())
        .unwrap_or_default();
    let page = pages::layout(
        "Refused",
        None,
        maud::html! {
            h1 { (sentence) "." }
            p { a href="/console" { "Back to your sites" } }
        },
    );
    (status, page).into_response()
}
