//! The site owner's API for webhooks, authenticated by the site's admin token: what the
//! console's webhooks page does, for scripts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use soovita_wire::ErrorBody;

use crate::http::error::ApiError;
use crate::http::extract::{BearerToken, JsonBody};
use crate::state::AppState;
use crate::webhooks::{self, Attempt, Delivery, Webhook};

/// The most deliveries the log returns.
const DELIVERIES_LISTED: u32 = 100;

/// A webhook to add.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An absolute http:// or https:// URL of a public host, without a user name or password.
    #[schema(
        max_length = 2000,
        pattern = r"^[ \t\n\r]*https?://[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*\.[a-z][a-z0-9]*(/[A-Za-z0-9._~-]*)*[ \t\n\r]*$"
    )]
    url: String,
    /// One or more of `new_detractor`, `contact_requested`, `response`, `case.overdue`.
    #[schema(min_items = 1, inline, value_type = Vec<WebhookEventName>)]
    events: Vec<String>,
    /// `json` (the default) or `slack`.
    #[schema(pattern = "^(json|slack)$")]
    format: Option<String>,
}

/// An event a webhook can be told about.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)]
enum WebhookEventName {
    new_detractor,
    contact_requested,
    response,
    #[serde(rename = "case.overdue")]
    case_overdue,
}

/// A webhook, with the secret its deliveries are signed with.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookInfo {
    id: String,
    url: String,
    events: Vec<&'static str>,
    format: &'static str,
    /// The HMAC-SHA256 key of `Soovita-Signature`.
    secret: String,
}

impl From<Webhook> for WebhookInfo {
    fn from(webhook: Webhook) -> Self {
        Self {
            events: webhook.events.iter().map(|event| event.as_str()).collect(),
            format: webhook.format.as_str(),
            id: webhook.id,
            url: webhook.url,
            secret: webhook.secret,
        }
    }
}

/// One delivery of the log.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryInfo {
    /// As sent in `Soovita-Delivery`.
    id: String,
    url: String,
    event: &'static str,
    response_id: String,
    /// `pending`, `delivered` or `failed`.
    status: &'static str,
    /// Unix milliseconds of the next attempt, while pending.
    next_attempt_at_ms: Option<i64>,
    /// Unix milliseconds when the event was recorded.
    created_at_ms: i64,
    attempts: Vec<AttemptInfo>,
}

/// One attempt to deliver.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptInfo {
    number: u32,
    at_ms: i64,
    /// The receiver's HTTP status, if it answered.
    status_code: Option<u16>,
    /// Why there was no answer, if there was none.
    error: Option<String>,
}

impl From<Delivery> for DeliveryInfo {
    fn from(delivery: Delivery) -> Self {
        let pending = delivery.status == webhooks::DeliveryStatus::Pending;
        Self {
            url: delivery.url,
            event: delivery.event.as_str(),
            response_id: delivery.response_id,
            status: delivery.status.as_str(),
            next_attempt_at_ms: pending.then_some(delivery.next_attempt_at_ms),
            created_at_ms: delivery.created_at_ms,
            attempts: delivery
                .attempts
                .into_iter()
                .map(|attempt: Attempt| AttemptInfo {
                    number: attempt.number,
                    at_ms: attempt.at_ms,
                    status_code: attempt.status_code,
                    error: attempt.error,
                })
                .collect(),
            id: delivery.id,
        }
    }
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/webhooks", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])),
    responses((status = 200, description = "the site's webhooks", body = Vec<WebhookInfo>)))]
/// `GET /v1/sites/{site_id}/webhooks`.
pub async fn list(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
) -> Result<Json<Vec<WebhookInfo>>, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let webhooks = state.store.webhooks(Some(&site.id)).await?;
    Ok(Json(webhooks.into_iter().map(WebhookInfo::from).collect()))
}

#[utoipa::path(post, path = "/v1/sites/{site_id}/webhooks", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])), request_body = NewWebhook,
    responses(
        (status = 201, description = "added; announces responses that settle from now on", body = WebhookInfo),
        (status = 400, description = "invalid_webhook, saying what to change; an internal or private receiver is refused (the server's --webhook-allow-private allows one)", body = ErrorBody),
        (status = 409, description = "too_many_webhooks: the site has 10; delete one first", body = ErrorBody)))]
/// `POST /v1/sites/{site_id}/webhooks`: adds a webhook with a fresh secret.
pub async fn add(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
    JsonBody(new): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookInfo>), ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let now_ms = crate::clock::now_ms();
    let format = new.format.as_deref().unwrap_or("json");
    let webhook = Webhook::new(
        site.id.clone(),
        &new.url,
        &new.events,
        format,
        now_ms,
        state.webhooks.allow_private,
    )?;
    if !state.store.create_webhook(&webhook, now_ms).await? {
        return Err(ApiError::WebhookLimit);
    }
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

#[utoipa::path(delete, path = "/v1/sites/{site_id}/webhooks/{webhook_id}", tag = "admin",
    params(("site_id" = String, Path), ("webhook_id" = String, Path)), security(("admin_token" = [])),
    responses(
        (status = 204, description = "deleted, with its delivery log"),
        (status = 404, description = "unknown_webhook", body = ErrorBody)))]
/// `DELETE /v1/sites/{site_id}/webhooks/{webhook_id}`.
pub async fn delete(
    State(state): State<AppState>,
    Path((site_id, webhook_id)): Path<(String, String)>,
    BearerToken(token): BearerToken,
) -> Result<StatusCode, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    if state.store.delete_webhook(&site.id, &webhook_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::UnknownWebhook(webhook_id))
    }
}

#[utoipa::path(get, path = "/v1/sites/{site_id}/webhook-deliveries", tag = "admin",
    params(("site_id" = String, Path)), security(("admin_token" = [])),
    responses((status = 200, description = "the newest 100 deliveries, newest first, with every attempt", body = Vec<DeliveryInfo>)))]
/// `GET /v1/sites/{site_id}/webhook-deliveries`: the delivery log.
pub async fn deliveries(
    State(state): State<AppState>,
    Path(site_id): Path<String>,
    BearerToken(token): BearerToken,
) -> Result<Json<Vec<DeliveryInfo>>, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let log = state.store.deliveries(&site.id, DELIVERIES_LISTED).await?;
    Ok(Json(log.into_iter().map(DeliveryInfo::from).collect()))
}

#[utoipa::path(post, path = "/v1/sites/{site_id}/webhook-deliveries/{delivery_id}/resend", tag = "admin",
    params(("site_id" = String, Path), ("delivery_id" = String, Path)), security(("admin_token" = [])),
    responses(
        (status = 202, description = "queued with a fresh allowance of attempts"),
        (status = 404, description = "unknown_webhook", body = ErrorBody)))]
/// `POST /v1/sites/{site_id}/webhook-deliveries/{delivery_id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    Path((site_id, delivery_id)): Path<(String, String)>,
    BearerToken(token): BearerToken,
) -> Result<StatusCode, ApiError> {
    let site = state.owned_site(&site_id, &token).await?;
    let queued = state
        .store
        .resend_delivery(
            &site.id,
            &delivery_id,
            state.webhooks.attempts,
            crate::clock::now_ms(),
        )
        .await?;
    if queued {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError::NotResendable(delivery_id))
    }
}
