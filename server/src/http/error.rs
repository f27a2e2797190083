//! Every way a request can fail, and the one place that turns a failure into HTTP.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use soovita_wire::{ErrorBody, ErrorDetail};
use thiserror::Error;

use crate::db::StoreError;
use crate::domain::InvalidInput;
use crate::ingest::rate_limit::Limited;

/// Requests answered with an error, labelled by `reason` (the error code).
pub const REJECTED: &str = "soovita_requests_rejected_total";
/// A failed request. The `Display` text is the message the client reads.
#[derive(Debug, Error)]
pub enum ApiError {
    /// The path names a site that does not exist.
    #[error("no site with id {0:?}: check the data-site attribute of the script tag")]
    UnknownSite(String),
    #[error(
        "the Origin header is missing: answers are accepted only from browsers on the site's pages"
    )]
    MissingOrigin,
    /// The page's origin is not on the site's allow-list.
    #[error("origin {0} is not allowed for this site: add it with `soovita site add --origin`")]
    OriginNotAllowed(String),
    #[error("{0}")]
    InvalidField(#[from] InvalidInput),
    /// The body is not JSON of the expected shape.
    #[error("the body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    #[error("the request body could not be read: {0}")]
    UnreadableBody(String),
    /// The body is over the size cap of its endpoint.
    #[error("the request body is larger than {0} bytes, this endpoint's limit")]
    PayloadTooLarge(usize),
    /// A file uploaded to import in the console is over its limit.
    #[error("the file is larger than {} MB, the console's limit: import it on the server with `soovita import` (README, \"Importing history\"), which streams files of any size", .0 / 1024 / 1024)]
    UploadTooLarge(usize),
    #[error("there is no endpoint at this path: see the API table in README.md")]
    NoSuchEndpoint,
    #[error("this endpoint does not accept this method: see the API table in README.md")]
    MethodNotAllowed,
    #[error("this site has no response with id {0}")]
    UnknownResponse(String),
    /// The response id is taken by another site's response.
    #[error("response_id {0} is used by another site's response, or by one first answered over 24 hours ago, which can no longer change: generate a new UUID for a new answer")]
    ResponseIdTaken(String),
    /// Too many answers from one client or for one site.
    #[error("too many answers from this {}: retry in {} s", .0.scope, .0.retry_after.as_secs() + 1)]
    RateLimited(Limited),
    /// The admin API was called without a bearer token.
    #[error("this endpoint needs `Authorization: Bearer <admin_token>`")]
    MissingToken,
    #[error("the admin token is not valid for this site")]
    WrongToken,
    /// A query parameter has a value the endpoint does not know.
    #[error("{0}")]
    BadQuery(String),
    /// A filter parameter of the results or export cannot be applied.
    #[error("{0}")]
    InvalidFilter(#[from] crate::responses::filter::InvalidFilter),
    /// A follow-up's status or notes are out of bounds.
    #[error("{0}")]
    InvalidFollowUp(#[from] crate::inbox::InvalidFollowUp),
    #[error("{0}")]
    InvalidWebhook(#[from] crate::webhooks::InvalidWebhook),
    /// The site has no webhook or delivery with this id.
    #[error("this site has no webhook or delivery with id {0:?}")]
    UnknownWebhook(String),
    /// A delivery that is still being sent or has been re-sent as often as allowed (or is not
    /// the site's).
    #[error("this site has no delivery {0:?} that can be re-sent now: a delivery is re-sent once its attempts are over, at most 5 times")]
    NotResendable(String),
    /// The site has as many webhooks as it may have.
    #[error("a site can have at most 10 webhooks; delete one first")]
    WebhookLimit,
    /// No widget file has this name (hashed names change with every build).
    #[error("no asset named {0:?}: reload the page to get the current loader")]
    UnknownAsset(String),
    /// The widget assets were not built into this binary.
    #[error(
        "the widget assets are missing from this build: run `scripts/build-widget` and rebuild"
    )]
    AssetsMissing,
    /// Storage failed; nothing was stored and the client should retry.
    #[error("storage is unavailable, nothing was stored: retry later")]
    StorageUnavailable(#[source] StoreError),
}

impl From<crate::ingest::submission::InvalidSubmission> for ApiError {
    fn from(error: crate::ingest::submission::InvalidSubmission) -> Self {
        use crate::ingest::submission::InvalidSubmission;
        match error {
            InvalidSubmission::MalformedJson(detail) => Self::MalformedJson(detail),
            InvalidSubmission::Field(invalid) => Self::InvalidField(invalid),
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::UnknownSite(_)
            | Self::UnknownAsset(_)
            | Self::UnknownResponse(_)
            | Self::UnknownWebhook(_)
            | Self::NotResendable(_)
            | Self::NoSuchEndpoint => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::MissingOrigin | Self::OriginNotAllowed(_) | Self::WrongToken => {
                StatusCode::FORBIDDEN
            }
            Self::InvalidField(_)
            | Self::MalformedJson(_)
            | Self::UnreadableBody(_)
            | Self::BadQuery(_)
            | Self::InvalidFilter(_)
            | Self::InvalidWebhook(_)
            | Self::InvalidFollowUp(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) | Self::UploadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ResponseIdTaken(_) | Self::WebhookLimit => StatusCode::CONFLICT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::MissingToken => StatusCode::UNAUTHORIZED,
            Self::AssetsMissing | Self::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::UnknownSite(_) => "unknown_site",
            Self::MissingOrigin => "missing_origin",
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::InvalidField(InvalidInput::Score(_)) => "invalid_score",
            Self::InvalidField(InvalidInput::ResponseId(_)) => "invalid_response_id",
            Self::InvalidField(InvalidInput::CommentTooLong(_)) => "comment_too_long",
            Self::InvalidField(InvalidInput::Origin(_)) => "invalid_origin",
            Self::InvalidField(InvalidInput::SiteId(_)) => "invalid_site_id",
            Self::InvalidField(InvalidInput::Survey(_)) => "invalid_survey",
            Self::InvalidField(InvalidInput::SurveyVersion(_)) => "unknown_survey_version",
            Self::InvalidField(InvalidInput::Language(_)) => "unknown_language",
            Self::InvalidField(InvalidInput::StepNotInSurvey { .. }) => "step_not_in_survey",
            Self::InvalidField(InvalidInput::TooManyStatements { .. }) => "too_many_statements",
            Self::InvalidField(InvalidInput::UnknownStatement(_)) => "unknown_statement",
            Self::InvalidField(InvalidInput::DuplicateStatement(_)) => "duplicate_statement",
            Self::InvalidField(InvalidInput::Agreement { .. }) => "invalid_agreement",
            Self::InvalidField(InvalidInput::Effort(_)) => "invalid_effort",
            Self::InvalidField(InvalidInput::Email) => "invalid_email",
            Self::InvalidField(InvalidInput::MissingEmail) => "missing_email",
            Self::InvalidField(InvalidInput::Context(_)) => "invalid_context",
            Self::InvalidField(InvalidInput::Attributes(_)) => "invalid_attributes",
            Self::InvalidField(InvalidInput::EmailWithoutConsent) => "email_without_consent",
            Self::InvalidField(InvalidInput::ControlCharacter(_)) => "control_character",
            Self::MalformedJson(_) => "malformed_json",
            Self::UnreadableBody(_) => "unreadable_body",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UploadTooLarge(_) => "upload_too_large",
            Self::UnknownResponse(_) => "unknown_response",
            Self::NoSuchEndpoint => "no_such_endpoint",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ResponseIdTaken(_) => "response_id_taken",
            Self::RateLimited(_) => "rate_limited",
            Self::MissingToken => "missing_token",
            Self::WrongToken => "wrong_token",
            Self::BadQuery(_) => "bad_query",
            Self::InvalidFilter(_) => "invalid_filter",
            Self::InvalidWebhook(_) => "invalid_webhook",
            Self::InvalidFollowUp(_) => "invalid_follow_up",
            Self::UnknownWebhook(_) | Self::NotResendable(_) => "unknown_webhook",
            Self::WebhookLimit => "too_many_webhooks",
            Self::UnknownAsset(_) => "unknown_asset",
            Self::AssetsMissing => "assets_missing",
            Self::StorageUnavailable(_) => "storage_unavailable",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ResponseOfAnotherSite(id) => Self::ResponseIdTaken(id.to_string()),
            StoreError::UnknownSite(id) => Self::UnknownSite(id.to_string()),
            other => Self::StorageUnavailable(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Counted here because this is the one place every refusal passes through.
        metrics::counter!(REJECTED, "reason" => self.code()).increment(1);
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited(limited) = &self {
            // Whole seconds, rounded up, so a client that waits exactly this long succeeds.
            let seconds = limited.retry_after.as_secs() + 1;
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
