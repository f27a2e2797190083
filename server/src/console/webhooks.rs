//! The webhooks page: adding and deleting webhooks, and the delivery log with re-sends.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::clock;
use crate::state::AppState;
use crate::webhooks::{InvalidWebhook, Webhook, WebhookEvent};

use super::auth::{from_this_site, AsAdmin, CsrfForm, SiteAccess};
use super::error::ConsoleError;
use super::pages;

/// The most webhook deliveries the log lists.
const DELIVERIES_SHOWN: u32 = 100;

pub(super) async fn webhooks(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
) -> Result<Response, ConsoleError> {
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
pub(super) struct WebhookForm {
    csrf: String,
    url: String,
    format: String,
    new_detractor: Option<String>,
    contact_requested: Option<String>,
    response: Option<String>,
    #[serde(rename = "case.overdue")]
    case_overdue: Option<String>,
}

pub(super) async fn add_webhook(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,

    Form(form): Form<WebhookForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let ticked = [
        (WebhookEvent::NewDetractor, &form.new_detractor),
        (WebhookEvent::ContactRequested, &form.contact_requested),
        (WebhookEvent::Response, &form.response),
        (WebhookEvent::CaseOverdue, &form.case_overdue),
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
            InvalidWebhook::TooMany.to_string(),
        ));
    }
    Ok(Redirect::to(&format!("/console/sites/{}/webhooks", site.id)).into_response())
}

pub(super) async fn delete_webhook(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, webhook_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    if !state.store.delete_webhook(&site.id, &webhook_id).await? {
        return Err(ConsoleError::UnknownWebhook);
    }
    Ok(Redirect::to(&format!("/console/sites/{}/webhooks", site.id)).into_response())
}

pub(super) async fn resend_delivery(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, delivery_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
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
