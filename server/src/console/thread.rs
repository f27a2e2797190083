//! A case's thread: the visitor's answer at the top, every message sent with who sent it, when
//! and where its delivery stands, a composer that opens with the site's reply for the visitor's
//! language and category and shows the message as it will go out before it is sent, and the
//! check-back once the case is resolved. The first reply sent marks the case contacted, so the
//! inbox's times come from real replies.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use crate::checkbacks::{self, Link, LINK_DAYS};
use crate::clock;
use crate::domain::ResponseId;
use crate::inbox::{FollowUpStatus, InboxItem};
use crate::mail::templates::for_case;
use crate::mail::{MailKind, MailStatus, OutgoingMail, ThreadMail, MAX_SUBJECT_CHARS};
use crate::sites::Site;
use crate::state::AppState;

use super::auth::{from_this_site, AsMember, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages::{category, date, due, layout, mailto};
use super::sites::base_url;

pub(super) fn delivery_words(mail: &ThreadMail) -> String {
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

fn kind(mail: &ThreadMail) -> &'static str {
    match mail.kind {
        MailKind::Acknowledgement => "automatic acknowledgement",
        MailKind::CheckBack => "check-back",
        _ => "reply",
    }
}

/// What the composer holds, and what to say about it.
struct Draft<'a> {
    subject: &'a str,
    body: &'a str,
    problem: Option<String>,
    /// Shown as it will go out, with a button that sends it.
    preview: bool,
}

struct View<'a> {
    site: &'a Site,
    case: &'a InboxItem,
    thread: &'a [ThreadMail],
    check_back: Option<&'a checkbacks::store::CheckBack>,
    /// The sender of every message, when mail is on.
    from: Option<String>,
}

fn page(signed_in: &SignedIn, view: &View<'_>, draft: &Draft<'_>) -> Markup {
    let View {
        site,
        case,
        thread,
        check_back,
        from,
    } = view;
    let (class, words) = category(case.score);
    let owner = signed_in.header();
    let csrf = owner.csrf_token;
    let action = format!(
        "/console/sites/{}/inbox/{}/thread",
        site.id, case.response_id
    );
    let sender = signed_in.owner.email.as_str();
    layout(
        &format!("Case · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}/inbox#case-{}", site.id, case.response_id)) { "← Inbox" } }
            h1 { "Case of " (date(case.created_at_ms)) }
            article.card {
                p { strong class=(class) { (case.score) } " · " (words) " · status " strong { (case.status.as_str()) }
                    @if let Some((late, text)) = due(case, clock::now_ms()) {
                        " · " strong.due.overdue[late] { (text) }
                    }
                }
                @if let Some(comment) = &case.comment { p.comment { (comment) } }
                @if let Some(email) = &case.email { p.muted { "Contact: " (email) } }
            }
            h2 { "Messages" }
            @if thread.is_empty() { p.muted { "Nothing sent yet." } }
            @for mail in *thread {
                article.card.message {
                    p.muted { (kind(mail)) " · " (mail.sender_email) " · " (date(mail.created_at_ms)) " · " strong.delivery { (delivery_words(mail)) } }
                    p { strong { (mail.subject) } }
                    p.comment { (mail.body) }
                }
            }
            h2 { "Reply" }
            @match (&case.email, from) {
                (Some(email), Some(from)) => {
                    @if let Some(problem) = &draft.problem { p.error role="alert" { (problem) "; nothing was sent." } }
                    @if draft.preview {
                        section.card.preview aria-labelledby="preview-title" {
                            h3 #preview-title { "The message as it will go out" }
                            dl {
                                dt { "From" } dd { (from) }
                                dt { "Reply-To" } dd { (sender) }
                                dt { "To" } dd { (email) }
                                dt { "Subject" } dd { (draft.subject) }
                            }
                            p.comment { (draft.body) }
                            form method="post" action=(action) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="step" value="send";
                                input type="hidden" name="subject" value=(draft.subject);
                                input type="hidden" name="body" value=(draft.body);
                                button type="submit" { "Send" }
                            }
                        }
                        h3 { "Or change it" }
                    }
                    form.stack method="post" action=(action) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="step" value="preview";
                        label { "Subject" input type="text" name="subject" required maxlength=(MAX_SUBJECT_CHARS) value=(draft.subject); }
                        label { "Message to " (email) textarea name="body" rows="10" required { (draft.body) } }
                        p.muted { "Written from the site's reply for the visitor's language and category ("
                            a href=(format!("/console/sites/{}/templates", site.id)) { "reply templates" }
                            "). The visitor's answer comes back to your own address (Reply-To)." }
                        button type="submit" { "Preview" }
                    }
                }
                (Some(email), None) => p { "Mail is off on this server (no " code { "--smtp-url" } "): write from your own mail client to "
                    a href=(mailto(email)) { (email) } " and record the status in the inbox." },
                (None, _) => p.muted { "This visitor left no address." },
            }
            h2 { "Check-back" }
            @match (check_back, case.status) {
                (Some(sent), _) if sent.score.is_some() => p #check-back-answer {
                    "Asked on " (date(sent.sent_at_ms)) ". Answer: " strong { (sent.score.unwrap_or_default()) }
                    " (was " (case.score) ")" @if let Some(at) = sent.answered_at_ms { ", " (date(at)) } "."
                },
                (Some(sent), _) => p.muted { "Asked on " (date(sent.sent_at_ms)) "; no answer yet. The links work for " (LINK_DAYS) " days." },
                (None, FollowUpStatus::Resolved) => p.muted { "Ask the visitor once more how likely they now are to recommend "
                    (site.name) ": one mail with eleven links, in their language; a click records the answer once." },
                (None, _) => p.muted { "Once the case is resolved you can ask the visitor again how likely they are to recommend " (site.name) "." },
            }
            @if let (Some(_), Some(_), FollowUpStatus::Resolved) = (&case.email, from, case.status) {
                @if check_back.is_none_or(|sent| sent.score.is_none()) {
                    form method="post" action=(format!("{action}/check-back")) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { @if check_back.is_some() { "Send the check-back again" } @else { "Send a check-back" } }
                    }
                }
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
    let check_back = state.store.check_back(&site.id, response).await?;
    let view = View {
        site,
        case,
        thread: &thread,
        check_back: check_back.as_ref(),
        from: state.mail.as_ref().map(|mail| mail.from.to_string()),
    };
    let page = page(signed_in, &view, draft);
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
    let template = for_case(
        state.store.as_ref(),
        &site.id,
        case.lang.as_deref(),
        case.score,
    )
    .await?;
    let (subject, body) = template.fill(&site.name, case.score, case.comment.as_deref());
    let draft = Draft {
        subject: &subject,
        body: &body,
        problem: None,
        preview: false,
    };
    show(&state, &signed_in, &site, (&response, &case), &draft).await
}

#[derive(Deserialize)]
pub(super) struct ReplyForm {
    csrf: String,
    /// `preview` shows the message as it will go out; `send` queues it.
    step: String,
    subject: String,
    body: String,
}

/// `POST /console/sites/{site_id}/inbox/{response_id}/thread`: shows the reply as it will go
/// out, or queues it; the first one sent marks the case contacted.
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
        preview: false,
    };
    let (Some(to), true) = (&case.email, state.mail.is_some()) else {
        let draft = refuse("Mail is off on this server, or the visitor left no address".into());
        return show(&state, &signed_in, &site, (&response, &case), &draft).await;
    };
    let mail = match OutgoingMail::compose(
        MailKind::Reply,
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
    match form.step.as_str() {
        "preview" => {
            let draft = Draft {
                subject: &mail.subject,
                body: &mail.body,
                problem: None,
                preview: true,
            };
            return show(&state, &signed_in, &site, (&response, &case), &draft).await;
        }
        "send" => {}
        other => {
            let draft = refuse(format!("unknown step {other:?}: use preview or send"));
            return show(&state, &signed_in, &site, (&response, &case), &draft).await;
        }
    }
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

#[derive(Deserialize)]
pub(super) struct CheckBackForm {
    csrf: String,
}

/// `POST /console/sites/{site_id}/inbox/{response_id}/thread/check-back`: mails the visitor of
/// a resolved case the 0–10 question again, as eleven signed links.
pub(super) async fn check_back(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    SiteAccess { signed_in, site }: AsMember,
    headers: HeaderMap,
    Path((_, response_id)): Path<(String, String)>,
    Form(form): Form<CheckBackForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let (response, case) = case_of(&state, &site, &response_id).await?;
    let refuse = |problem: &str| Draft {
        subject: "",
        body: "",
        problem: Some(problem.to_owned()),
        preview: false,
    };
    let (Some(to), true, FollowUpStatus::Resolved) =
        (&case.email, state.mail.is_some(), case.status)
    else {
        let draft = refuse("A check-back needs mail on, the visitor's address and a resolved case");
        return show(&state, &signed_in, &site, (&response, &case), &draft).await;
    };
    let now_ms = clock::now_ms();
    let expires_at_ms = now_ms + LINK_DAYS * 86_400_000;
    if !state
        .store
        .start_check_back(&site.id, &response, now_ms, expires_at_ms)
        .await?
    {
        let draft = refuse("The visitor has answered the check-back already");
        return show(&state, &signed_in, &site, (&response, &case), &draft).await;
    }
    let key = state.store.server_key(checkbacks::KEY_NAME).await?;
    let base = base_url(&state, peer, &headers);
    let link_of = |score: u8| {
        let link = Link {
            response,
            score,
            expires_at_s: expires_at_ms / 1000,
        };
        format!("{base}/check-back/{}", link.sign(&key))
    };
    let (subject, body) = checkbacks::mail_text(case.lang.as_deref(), &site.name, link_of);
    let mail = OutgoingMail::compose(
        MailKind::CheckBack,
        site.id.clone(),
        Some(response),
        &signed_in.owner.email,
        to,
        &subject,
        &body,
    )
    .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    state.store.queue_mail(&mail, now_ms).await?;
    Ok(Redirect::to(&format!(
        "/console/sites/{}/inbox/{response}/thread",
        site.id
    ))
    .into_response())
}
