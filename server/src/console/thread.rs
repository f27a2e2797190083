//! A case's thread: the visitor's answer at the top, every message sent with who sent it, when
//! and where its delivery stands, and a composer. The first message sent marks the case
//! contacted, so the inbox's times come from real replies.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::clock;
use crate::domain::ResponseId;
use crate::inbox::{FollowUpStatus, InboxItem};
use crate::mail::templates::default_reply;
use crate::mail::{MailStatus, OutgoingMail, ThreadMail, MAX_SUBJECT_CHARS};
use crate::sites::Site;
use crate::state::AppState;

use super::auth::{from_this_site, AsMember, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages::{category, date, layout, mailto};

fn delivery(mail: &ThreadMail) -> String {
    match (mail.status, &mail.error) {
        (MailStatus::Sent, _) => {
            format!("sent {}", mail.sent_at_ms.map(date).unwrap_or_default())
        }
        (MailStatus::Queued, _) => "queued".into(),
        (MailStatus::Retrying, Some(error)) => format!("retrying: {error}"),
        (MailStatus::Retrying, None) => "retrying".into(),
        (MailStatus::Failed, Some(error)) => format!("failed: {error}"),
        (MailStatus::Failed, None) => "failed".into(),
    }
}

struct Draft<'a> {
    subject: &'a str,
    body: &'a str,
    problem: Option<String>,
}

fn page(
    signed_in: &SignedIn,
    site: &Site,
    case: &InboxItem,
    thread: &[ThreadMail],
    mail_on: bool,
    draft: &Draft<'_>,
) -> Markup {
    let (class, words) = category(case.score);
    let owner = signed_in.header();
    let csrf = owner.csrf_token;
    let action = format!(
        "/console/sites/{}/inbox/{}/thread",
        site.id, case.response_id
    );
    layout(
        &format!("Case · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}/inbox#case-{}", site.id, case.response_id)) { "← Inbox" } }
            h1 { "Case of " (date(case.created_at_ms)) }
            article.card {
                p { strong class=(class) { (case.score) } " · " (words) " · status " strong { (case.status.as_str()) } }
                @if let Some(comment) = &case.comment { p.comment { (comment) } }
                @if let Some(email) = &case.email { p.muted { "Contact: " (email) } }
            }
            h2 { "Messages" }
            @if thread.is_empty() { p.muted { "Nothing sent yet." } }
            @for mail in thread {
                article.card.message {
                    p.muted { (mail.sender_email) " · " (date(mail.created_at_ms)) " · " strong.delivery { (delivery(mail)) } }
                    p { strong { (mail.subject) } }
                    p.comment { (mail.body) }
                }
            }
            h2 { "Reply" }
            @match (&case.email, mail_on) {
                (Some(email), true) => {
                    @if let Some(problem) = &draft.problem { p.error role="alert" { (problem) "; nothing was sent." } }
                    form.stack method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "Subject" input type="text" name="subject" required maxlength=(MAX_SUBJECT_CHARS) value=(draft.subject); }
                        label { "Message to " (email) textarea name="body" rows="8" required { (draft.body) } }
                        p.muted { "The visitor's answer comes back to your own address (Reply-To)." }
                        button type="submit" { "Send" }
                    }
                }
                (Some(email), false) => p { "Mail is off on this server (no " code { "--smtp-url" } "): write from your own mail client to "
                    a href=(mailto(email)) { (email) } " and record the status in the inbox." },
                (None, _) => p.muted { "This visitor left no address." },
            }
        },
    )
}

/// The case the path names, as the inbox has it.
async fn case_of(
    state: &AppState,
    site: &Site,
    raw_id: &str,
) -> Result<(ResponseId, InboxItem), ConsoleError> {
    let response = ResponseId::parse(raw_id).map_err(|_| ConsoleError::UnknownCase)?;
    let case = state
        .store
        .case(&site.id, &response)
        .await?
        .ok_or(ConsoleError::UnknownCase)?;
    Ok((response, case))
}

async fn show(
    state: &AppState,
    signed_in: &SignedIn,
    site: &Site,
    (response, case): (&ResponseId, &InboxItem),
    draft: &Draft<'_>,
) -> Result<Response, ConsoleError> {
    let thread = state.store.thread(&site.id, response).await?;
    let page = page(signed_in, site, case, &thread, state.mail.is_some(), draft);
    let status = if draft.problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// `GET /console/sites/{site_id}/inbox/{response_id}/thread`.
pub(super) async fn thread(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,
    Path((_, response_id)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let (response, case) = case_of(&state, &site, &response_id).await?;
    // The default reply for the visitor's category, in their language, to edit before sending.
    let (subject, body) = default_reply(
        case.lang.as_deref(),
        case.score,
        &site.name,
        case.comment.as_deref(),
    );
    let draft = Draft {
        subject: &subject,
        body: &body,
        problem: None,
    };
    show(&state, &signed_in, &site, (&response, &case), &draft).await
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    csrf: String,
    subject: String,
    body: String,
}

/// `POST /console/sites/{site_id}/inbox/{response_id}/thread`: queues the reply; the first one
/// marks the case contacted.
pub(super) async fn reply(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsMember,
    headers: HeaderMap,
    Path((_, response_id)): Path<(String, String)>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let (response, case) = case_of(&state, &site, &response_id).await?;
    let refuse = |problem: String| Draft {
        subject: &form.subject,
        body: &form.body,
        problem: Some(problem),
    };
    let (Some(to), true) = (&case.email, state.mail.is_some()) else {
        let draft = refuse("Mail is off on this server, or the visitor left no address".into());
        return show(&state, &signed_in, &site, (&response, &case), &draft).await;
    };
    let mail = match OutgoingMail::compose(
        site.id.clone(),
        Some(response),
        &signed_in.owner.email,
        to,
        &form.subject,
        &form.body,
    ) {
        Ok(mail) => mail,
        Err(error) => {
            let draft = refuse(error.to_string());
            return show(&state, &signed_in, &site, (&response, &case), &draft).await;
        }
    };
    let now_ms = clock::now_ms();
    state.store.queue_mail(&mail, now_ms).await?;
    if case.status == FollowUpStatus::New {
        state
            .store
            .follow_up(
                &site.id,
                &response,
                FollowUpStatus::Contacted,
                &case.notes,
                now_ms,
            )
            .await?;
    }
    Ok(Redirect::to(&format!(
        "/console/sites/{}/inbox/{response}/thread",
        site.id
    ))
    .into_response())
}
