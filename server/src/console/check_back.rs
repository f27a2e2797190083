//! The page a check-back link opens, for the visitor: no sign-in (the signed link is the
//! permission), no script, the console's policy, in the visitor's language. Opening the link
//! shows the chosen score with one button; only the button's POST records it. A mail scanner
//! that opens every link of a message (many do) then records nothing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use crate::checkbacks::texts::{self, Texts};
use crate::checkbacks::{self, Answer, Link};
use crate::clock;
use crate::state::AppState;

use super::error::ConsoleError;

fn page(words: &Texts, site: &str, body: Markup) -> Markup {
    let dir = if texts::right_to_left(words) {
        "rtl"
    } else {
        "ltr"
    };
    html! {
        (DOCTYPE)
        html lang=(words.lang) dir=(dir) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (site) }
                link rel="stylesheet" href=(super::STYLESHEET);
            }
            body { main { (body) } }
        }
    }
}

/// A link that records nothing, and why, in words a visitor understands.
fn refused(status: StatusCode) -> Response {
    let words = texts::of(None);
    let body = html! { h1 { "Soovita" } p.error role="alert" { (words.invalid) } };
    (status, page(words, "Soovita", body)).into_response()
}

/// The link's case, checked; `Err` is the page to answer with.
async fn checked(
    state: &AppState,
    segment: &str,
) -> Result<(Link, checkbacks::store::CheckBackCase), Response> {
    let key = state
        .store
        .server_key(checkbacks::KEY_NAME)
        .await
        .map_err(|error| ConsoleError::from(error).into_response())?;
    let link =
        Link::verify(segment, &key, clock::now_ms()).map_err(|_| refused(StatusCode::FORBIDDEN))?;
    let case = state
        .store
        .check_back_case(&link.response)
        .await
        .map_err(|error| ConsoleError::from(error).into_response())?
        .ok_or_else(|| refused(StatusCode::NOT_FOUND))?;
    Ok((link, case))
}

fn answered(words: &Texts, site: &str, text: &str) -> Markup {
    page(
        words,
        site,
        html! { h1 { (site) } p role="status" { (text) } },
    )
}

/// `GET /check-back/{link}`.
pub(super) async fn show(State(state): State<AppState>, Path(segment): Path<String>) -> Response {
    let (link, case) = match checked(&state, &segment).await {
        Ok(checked) => checked,
        Err(page) => return page,
    };
    let words = texts::of(case.lang.as_deref());
    if case.score.is_some() {
        return answered(words, &case.site_name, words.already).into_response();
    }
    let question = words.question.replace("{site}", &case.site_name);
    page(
        words,
        &case.site_name,
        html! {
            h1 { (case.site_name) }
            form.stack method="post" {
                p #question { (question) }
                p.figure aria-describedby="question" { (link.score) " / 10" }
                p.muted { (words.scale) }
                button type="submit" { (words.confirm) }
            }
        },
    )
    .into_response()
}

/// `POST /check-back/{link}`: records the link's score, once per case.
pub(super) async fn record(State(state): State<AppState>, Path(segment): Path<String>) -> Response {
    let (link, case) = match checked(&state, &segment).await {
        Ok(checked) => checked,
        Err(page) => return page,
    };
    let words = texts::of(case.lang.as_deref());
    match state
        .store
        .answer_check_back(&link.response, link.score, clock::now_ms())
        .await
    {
        Ok(Answer::Recorded) => answered(words, &case.site_name, words.thanks).into_response(),
        Ok(Answer::AlreadyAnswered) => {
            answered(words, &case.site_name, words.already).into_response()
        }
        Ok(Answer::Unknown) => refused(StatusCode::NOT_FOUND),
        Err(error) => ConsoleError::from(error).into_response(),
    }
}
