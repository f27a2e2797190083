//! A site's settings for closing the loop (admins only): the target times to first contact,
//! the automatic acknowledgement, whether mail works (with a test message to oneself), and the
//! site's own wording of the replies the composer starts from.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use soovita_wire::Category;

use crate::clock;
use crate::inbox::{CaseSettings, MAX_TARGET_HOURS};
use crate::mail::templates::{self, builtin, language, Template, PLACEHOLDERS};
use crate::mail::{MailKind, OutgoingMail, ThreadMail, MAX_SUBJECT_CHARS};
use crate::sites::Site;
use crate::state::AppState;

use super::auth::{from_this_site, AsAdmin, SiteAccess};
use super::error::ConsoleError;
use super::pages::{date, layout, SignedInAs};

fn path(site: &Site) -> String {
    format!("/console/sites/{}/closing-the-loop", site.id)
}

struct SettingsView<'a> {
    settings: (&'a str, &'a str, bool),
    problem: Option<&'a str>,
    saved: bool,
    mail_from: Option<String>,
    last_test: Option<&'a ThreadMail>,
}

fn settings_page(owner: SignedInAs<'_>, site: &Site, view: &SettingsView<'_>) -> Markup {
    let csrf = owner.csrf_token;
    let (detractor, other, acknowledge) = view.settings;
    layout(
        &format!("Closing the loop · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}", site.id)) { "← " (site.name) } }
            h1 { "Closing the loop" }
            @if view.saved { p.notice role="status" { "Saved." } }
            @if let Some(problem) = view.problem { p.error role="alert" { (problem) "; nothing was saved." } }
            form.stack method="post" action=(path(site)) {
                input type="hidden" name="csrf" value=(csrf);
                fieldset {
                    legend { "Time to first contact" }
                    p.muted { "A case not answered in time shows as overdue in the inbox, is announced to webhooks \
                        that asked for " code { "case.overdue" } " and goes into an hourly digest to the site's admins. \
                        A complaint answered within a day is the one that wins a customer back." }
                    label { "Detractors (0–6), hours" input type="number" name="detractor_hours" min="1" max=(MAX_TARGET_HOURS) required value=(detractor); }
                    label { "Passives and promoters, hours" input type="number" name="other_hours" min="1" max=(MAX_TARGET_HOURS) required value=(other); }
                }
                label.check { input type="checkbox" name="acknowledge" checked[acknowledge];
                    "Mail each visitor who asks to be contacted a short acknowledgement at once, in their language, saying when someone will write" }
                button type="submit" { "Save" }
            }
            h2 { "Mail" }
            @match &view.mail_from {
                Some(from) => {
                    p { "Mail goes out from " strong { (from) } "; a visitor's answer comes back to the owner who wrote (Reply-To)." }
                    @if let Some(test) = view.last_test {
                        p #last-test { "Last test message, " (date(test.created_at_ms)) ": " strong { (super::thread::delivery_words(test)) } }
                    }
                    form method="post" action=(format!("{}/test-mail", path(site))) {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Send a test message to myself" }
                    }
                }
                None => p { "Mail is off on this server: start it with " code { "--smtp-url" } " and " code { "--mail-from" }
                    " (README, \"Mail\"). Until then, reply from your own mail client and record the status in the inbox." },
            }
            h2 { "Replies" }
            p { a href=(format!("/console/sites/{}/templates", site.id)) { "The replies the composer starts from" } ", in every language of the card." }
        },
    )
}

async fn show_settings(
    state: &AppState,
    owner: SignedInAs<'_>,
    site: &Site,
    settings: (&str, &str, bool),
    (problem, saved): (Option<&str>, bool),
) -> Result<Response, ConsoleError> {
    let last_test = state.store.latest_mail(&site.id, MailKind::Test).await?;
    let view = SettingsView {
        settings,
        problem,
        saved,
        mail_from: state.mail.as_ref().map(|mail| mail.from.to_string()),
        last_test: last_test.as_ref(),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, settings_page(owner, site, &view)).into_response())
}

#[derive(Deserialize)]
pub(super) struct SavedQuery {
    saved: Option<u8>,
}

/// `GET /console/sites/{site_id}/closing-the-loop`.
pub(super) async fn settings(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    Query(query): Query<SavedQuery>,
) -> Result<Response, ConsoleError> {
    let settings = state
        .store
        .case_settings(&site.id)
        .await?
        .unwrap_or_default();
    let (detractor, other) = (
        settings.detractor_hours.to_string(),
        settings.other_hours.to_string(),
    );
    show_settings(
        &state,
        signed_in.header(),
        &site,
        (&detractor, &other, settings.acknowledge),
        (None, query.saved.is_some()),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct SettingsForm {
    csrf: String,
    detractor_hours: String,
    other_hours: String,
    acknowledge: Option<String>,
}

/// `POST /console/sites/{site_id}/closing-the-loop`.
pub(super) async fn save_settings(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<SettingsForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let acknowledge = form.acknowledge.is_some();
    match CaseSettings::parse(&form.detractor_hours, &form.other_hours, acknowledge) {
        Ok(settings) => {
            state
                .store
                .set_case_settings(&site.id, settings, clock::now_ms())
                .await?;
            Ok(Redirect::to(&format!("{}?saved=1", path(&site))).into_response())
        }
        Err(error) => {
            let problem = error.to_string();
            let settings = (
                form.detractor_hours.as_str(),
                form.other_hours.as_str(),
                acknowledge,
            );
            show_settings(
                &state,
                signed_in.header(),
                &site,
                settings,
                (Some(&problem), false),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

/// `POST /console/sites/{site_id}/closing-the-loop/test-mail`: queues a message to the admin
/// who asked; the page then shows where it stands.
pub(super) async fn test_mail(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    if state.mail.is_none() {
        return Err(ConsoleError::InvalidForm(
            "mail is off on this server: start it with --smtp-url and --mail-from".into(),
        ));
    }
    let me = &signed_in.owner.email;
    let mail = OutgoingMail::compose(
        MailKind::Test,
        site.id.clone(),
        None,
        me,
        me,
        &format!("Test message from Soovita for {}", site.name),
        "This is a test of the mail settings of your Soovita server. If it reached you, replies \
         to visitors will too.",
    )
    .map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    state.store.queue_mail(&mail, clock::now_ms()).await?;
    Ok(Redirect::to(&path(&site)).into_response())
}

fn category_of(name: &str) -> Result<Category, ConsoleError> {
    Category::ALL
        .into_iter()
        .find(|category| category.as_str() == name)
        .ok_or_else(|| {
            ConsoleError::InvalidForm(format!(
                "unknown category {name:?}: use detractor, passive or promoter"
            ))
        })
}

/// `GET /console/sites/{site_id}/templates`: every language and category, marked where the
/// site has its own wording.
pub(super) async fn templates(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
) -> Result<Response, ConsoleError> {
    let edited = state.store.edited_templates(&site.id).await?;
    let own = |lang: &str, category: Category| {
        edited
            .iter()
            .any(|(l, c)| l == lang && c == category.as_str())
    };
    let page = layout(
        &format!("Replies · {}", site.name),
        Some(signed_in.header()),
        html! {
            p { a href=(path(&site)) { "← Closing the loop" } }
            h1 { "Replies" }
            p.muted { "The composer opens with the reply for the visitor's language and category; the owner \
                edits it before sending. Placeholders: " code { (PLACEHOLDERS.join(" ")) } "." }
            div.table-wrap { table {
                thead { tr { th { "Language" } @for category in Category::ALL { th { (category.as_str()) } } } }
                tbody {
                    @for lang in templates::languages() {
                        tr {
                            td { (lang) }
                            @for category in Category::ALL {
                                td { a href=(format!("/console/sites/{}/templates/{lang}/{}", site.id, category.as_str())) {
                                    @if own(lang, category) { "own wording" } @else { "built-in" }
                                } }
                            }
                        }
                    }
                }
            } }
        },
    );
    Ok(page.into_response())
}

fn template_page(
    owner: SignedInAs<'_>,
    site: &Site,
    (lang, category): (&str, Category),
    template: &Template,
    (own, problem): (bool, Option<&str>),
) -> Markup {
    let csrf = owner.csrf_token;
    let action = format!(
        "/console/sites/{}/templates/{lang}/{}",
        site.id,
        category.as_str()
    );
    layout(
        &format!("Reply · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}/templates", site.id)) { "← Replies" } }
            h1 { "Reply to " (category.as_str()) "s in " (lang) }
            p.muted { @if own { "The site's own wording." } @else { "The built-in wording; saving keeps your own instead." } }
            @if let Some(problem) = problem { p.error role="alert" { (problem) "; nothing was saved." } }
            form.stack method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                label { "Subject" input type="text" name="subject" required maxlength=(MAX_SUBJECT_CHARS) value=(template.subject) dir="auto"; }
                label { "Message" textarea name="body" rows="12" required dir="auto" { (template.body) } }
                p.muted { "Placeholders: " code { (PLACEHOLDERS.join(" ")) } "; without a comment, the " code { "{comment}" } " paragraph is left out." }
                button type="submit" name="action" value="save" { "Save" }
                @if own { button type="submit" name="action" value="reset" { "Go back to the built-in wording" } }
            }
        },
    )
}

/// `GET /console/sites/{site_id}/templates/{lang}/{category}`.
pub(super) async fn template(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    Path((_, lang, category)): Path<(String, String, String)>,
) -> Result<Response, ConsoleError> {
    let lang = language(&lang).map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    let category = category_of(&category)?;
    let own = state.store.reply_template(&site.id, lang, category).await?;
    let shown = own.clone().unwrap_or_else(|| builtin(Some(lang), category));
    let page = template_page(
        signed_in.header(),
        &site,
        (lang, category),
        &shown,
        (own.is_some(), None),
    );
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub(super) struct TemplateForm {
    csrf: String,
    /// `save` or `reset`.
    action: String,
    subject: String,
    body: String,
}

/// `POST /console/sites/{site_id}/templates/{lang}/{category}`: saves the site's own wording,
/// or goes back to the built-in one.
pub(super) async fn save_template(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Path((_, lang, category)): Path<(String, String, String)>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, ConsoleError> {
    from_this_site(&headers)?;
    signed_in.check_csrf(&form.csrf)?;
    let lang = language(&lang).map_err(|error| ConsoleError::InvalidForm(error.to_string()))?;
    let category = category_of(&category)?;
    match form.action.as_str() {
        "reset" => {
            state
                .store
                .reset_reply_template(&site.id, lang, category)
                .await?
        }
        "save" => match Template::check(&form.subject, &form.body) {
            Ok(template) => {
                state
                    .store
                    .save_reply_template(&site.id, (lang, category), &template, clock::now_ms())
                    .await?
            }
            Err(error) => {
                let typed = Template {
                    subject: form.subject,
                    body: form.body,
                };
                let problem = error.to_string();
                let page = template_page(
                    signed_in.header(),
                    &site,
                    (lang, category),
                    &typed,
                    (false, Some(&problem)),
                );
                return Ok((StatusCode::BAD_REQUEST, page).into_response());
            }
        },
        other => {
            return Err(ConsoleError::InvalidForm(format!(
                "unknown action {other:?}: use save or reset"
            )))
        }
    }
    Ok(Redirect::to(&format!("/console/sites/{}/templates", site.id)).into_response())
}
