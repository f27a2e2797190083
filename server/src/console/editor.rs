//! The survey editor: a form over the survey definition and the site's sampling, a live
//! preview that runs the real widget on a draft, and saving as a new version.
//!
//! The console itself runs no script, so the preview is a page of its own in an iframe, with a
//! policy that allows the widget's scripts from this origin only. The draft travels in the
//! preview's path (base64url JSON), so any server behind a load balancer can render it; only a
//! signed-in owner can open it.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use soovita_wire::{Category, ColorMode, Dimension, Position, Reward, SurveyDefinition, Trigger};

use super::auth::{from_this_site, AsAdmin, SignedIn, SiteAccess};
use super::error::ConsoleError;
use super::pages::{layout, SignedInAs};
use crate::sites::{PublishedSurvey, Site};
use crate::state::AppState;

/// The preview page's policy: the widget's scripts and wasm from this origin, nothing inline,
/// and only the console may frame it.
const PREVIEW_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
    connect-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'self'; base-uri 'none'";

/// The floating positions, as the form names them; `inline` takes a selector besides.
const POSITIONS: [(&str, &str); 6] = [
    ("bottom_right", "Bottom right"),
    ("bottom_left", "Bottom left"),
    ("top_right", "Top right"),
    ("top_left", "Top left"),
    ("bottom_bar", "Bar along the bottom"),
    ("inline", "Inline, inside the element below"),
];

const CATEGORIES: [(Category, &str); 3] = [
    (Category::Detractor, "Detractors (0–6)"),
    (Category::Passive, "Passives (7–8)"),
    (Category::Promoter, "Promoters (9–10)"),
];

/// The form's fields by name, as posted (a checkbox is present when ticked).
type Fields = BTreeMap<String, String>;

/// What a definition and the site's sampling look like as form fields.
fn fields_of(definition: &SurveyDefinition, site: &Site) -> Fields {
    let mut fields = Fields::new();
    let mut tick = |name: String, on: bool| {
        if on {
            fields.insert(name, "on".into());
        }
    };
    tick("open_question".into(), definition.open_question);
    tick("effort_checklist".into(), definition.effort_checklist);
    for dimension in Dimension::ALL {
        tick(
            format!("dimension.{}", dimension.as_str()),
            definition.dimensions.contains(&dimension),
        );
    }
    for (category, _) in CATEGORIES {
        tick(
            format!("effort.{}", category.as_str()),
            definition.effort.contains(&category),
        );
        tick(
            format!("contact.{}", category.as_str()),
            definition.contact.contains(&category),
        );
    }
    let appearance = &definition.appearance;
    let (position, selector) = match &appearance.position {
        Position::Inline { selector } => ("inline".to_owned(), selector.clone()),
        other => (
            serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            String::new(),
        ),
    };
    let (reward_kind, reward_value) = match &definition.reward {
        None => ("none", String::new()),
        Some(Reward::Coupon { code }) => ("coupon", code.clone()),
        Some(Reward::Link { url }) => ("link", url.clone()),
    };
    let wording: Vec<String> = definition
        .wording
        .iter()
        .flat_map(|(lang, texts)| {
            texts
                .iter()
                .map(move |(key, text)| format!("{lang}.{key} = {text}"))
        })
        .collect();
    fields.extend([
        (
            "statements_per_visitor".to_owned(),
            definition.statements_per_visitor.to_string(),
        ),
        ("brand_color".to_owned(), appearance.brand_color.clone()),
        ("mode".to_owned(), mode_name(appearance.mode).to_owned()),
        ("position".to_owned(), position),
        ("selector".to_owned(), selector),
        ("reward_kind".to_owned(), reward_kind.to_owned()),
        ("reward_value".to_owned(), reward_value),
        ("wording".to_owned(), wording.join("\n")),
        ("sample_percent".to_owned(), site.sample_percent.to_string()),
        ("cooldown_days".to_owned(), site.cooldown_days.to_string()),
    ]);
    fields
}

fn mode_name(mode: ColorMode) -> &'static str {
    match mode {
        ColorMode::Auto => "auto",
        ColorMode::Light => "light",
        ColorMode::Dark => "dark",
    }
}

/// A survey as edited: the definition, and the site's sampling and cooldown.
struct Draft {
    definition: SurveyDefinition,
    sample_percent: u8,
    cooldown_days: u16,
}

/// Reads the form over `base`, whose page targeting and query-string setting the form leaves
/// alone; the message says which field to fix.
fn parse(base: &SurveyDefinition, fields: &Fields) -> Result<Draft, String> {
    let on = |name: &str| fields.contains_key(name);
    let text = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or_default();
    let number = |name: &str, what: &str| -> Result<u64, String> {
        text(name)
            .parse()
            .map_err(|_| format!("{what} must be a whole number, got {:?}", text(name)))
    };
    let audience = |step: &str| -> Vec<Category> {
        CATEGORIES
            .iter()
            .map(|(category, _)| *category)
            .filter(|category| on(&format!("{step}.{}", category.as_str())))
            .collect()
    };
    let position = match text("position") {
        "inline" => Position::Inline {
            selector: text("selector").to_owned(),
        },
        name => serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .map_err(|_| format!("unknown position {name:?}"))?,
    };
    let mode = match text("mode") {
        "light" => ColorMode::Light,
        "dark" => ColorMode::Dark,
        _ => ColorMode::Auto,
    };
    let reward = match (text("reward_kind"), text("reward_value")) {
        ("coupon", code) => Some(Reward::Coupon { code: code.into() }),
        ("link", url) => Some(Reward::Link { url: url.into() }),
        _ => None,
    };
    let mut wording: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (number, line) in text("wording").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (name, words) = line
            .split_once('=')
            .and_then(|(name, words)| Some((name.trim().split_once('.')?, words.trim())))
            .ok_or_else(|| {
                format!(
                    "wording line {}: write language.message = text, e.g. en.nps_question = How likely are you to recommend us?",
                    number + 1
                )
            })?;
        wording
            .entry(name.0.to_owned())
            .or_default()
            .insert(name.1.to_owned(), words.to_owned());
    }
    let statements = number("statements_per_visitor", "Statements per visitor")?;
    let sample_percent = number("sample_percent", "The share of visitors asked")?;
    let cooldown_days = number("cooldown_days", "The cooldown")?;
    let definition = SurveyDefinition {
        open_question: on("open_question"),
        statements_per_visitor: u8::try_from(statements).unwrap_or(u8::MAX),
        dimensions: Dimension::ALL
            .into_iter()
            .filter(|d| on(&format!("dimension.{}", d.as_str())))
            .collect(),
        effort: audience("effort"),
        effort_checklist: on("effort_checklist"),
        contact: audience("contact"),
        reward,
        wording,
        appearance: soovita_wire::Appearance {
            brand_color: text("brand_color").to_owned(),
            mode,
            position,
        },
        targeting: base.targeting.clone(),
        record_query_string: base.record_query_string,
    };
    crate::surveys::check(&definition).map_err(|error| error.to_string())?;
    Ok(Draft {
        definition,
        sample_percent: u8::try_from(sample_percent)
            .ok()
            .filter(|p| *p <= 100)
            .ok_or("The share of visitors asked must be 0 to 100%")?,
        cooldown_days: u16::try_from(cooldown_days)
            .map_err(|_| "The cooldown must be at most 65535 days")?,
    })
}

/// The draft as a path segment of the preview.
fn encode(definition: &SurveyDefinition) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(definition).unwrap_or_default())
}

fn decode(segment: &str) -> Result<SurveyDefinition, ConsoleError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or_else(|| ConsoleError::InvalidForm("this preview link is damaged".into()))
}

/// What the editor page shows besides the form.
struct Notice<'a> {
    error: Option<&'a str>,
    saved: Option<u32>,
}

fn page(
    owner: SignedInAs<'_>,
    site: &Site,
    fields: &Fields,
    preview: &SurveyDefinition,
    notice: &Notice<'_>,
) -> Markup {
    let csrf = owner.csrf_token.to_owned();
    let value = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let on = |name: &str| fields.contains_key(name);
    let base = format!("/console/sites/{}/survey", site.id);
    layout(
        &format!("Survey · {}", site.name),
        Some(owner),
        html! {
            p { a href=(format!("/console/sites/{}", site.id)) { "← " (site.name) } }
            h1 { "Survey" }
            p.muted { "Version " (site.survey.version) " is live. Preview shows your changes in the real widget \
                without publishing them; saving publishes them as version " (site.survey.version + 1)
                ", and answers keep the version they were given in." }
            @if let Some(error) = notice.error { p.error role="alert" { (error) } }
            @if let Some(version) = notice.saved { p.saved role="status" { "Saved as version " (version) "." } }
            div.editor {
                form.stack method="post" action=(base) {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "Who is asked" }
                        label { "Share of visitors asked (%)" input type="number" name="sample_percent" min="0" max="100" required value=(value("sample_percent")); }
                        label { "Days before a visitor is asked again" input type="number" name="cooldown_days" min="0" max="65535" required value=(value("cooldown_days")); }
                    }
                    fieldset {
                        legend { "Steps after the score" }
                        label.check { input type="checkbox" name="open_question" checked[on("open_question")]; "Ask why, tailored to the score" }
                        label { "Loyalty statements per visitor (0–3)" input type="number" name="statements_per_visitor" min="0" max="3" required value=(value("statements_per_visitor")); }
                        label.check { input type="checkbox" name="effort_checklist" checked[on("effort_checklist")]; "Effort question comes with the checklist of what made it hard" }
                    }
                    fieldset {
                        legend { "Loyalty dimensions rotated through" }
                        @for dimension in Dimension::ALL {
                            @let name = format!("dimension.{}", dimension.as_str());
                            label.check { input type="checkbox" name=(name) checked[on(&name)]; (super::pages::label(dimension.as_str())) }
                        }
                    }
                    @for (step, legend) in [("effort", "Asked how easy it was"), ("contact", "Asked whether they may be contacted")] {
                        fieldset {
                            legend { (legend) }
                            @for (category, words) in CATEGORIES {
                                @let name = format!("{step}.{}", category.as_str());
                                label.check { input type="checkbox" name=(name) checked[on(&name)]; (words) }
                            }
                        }
                    }
                    fieldset {
                        legend { "Thank-you gift" }
                        label { "Gift"
                            select name="reward_kind" {
                                @for (kind, words) in [("none", "None"), ("coupon", "A coupon code"), ("link", "A link")] {
                                    option value=(kind) selected[value("reward_kind") == kind] { (words) }
                                }
                            }
                        }
                        label { "Code or link" input type="text" name="reward_value" value=(value("reward_value")); }
                    }
                    fieldset {
                        legend { "Look" }
                        label { "Brand colour" input type="color" name="brand_color" value=(value("brand_color")); }
                        label { "Colours"
                            select name="mode" {
                                @for (mode, words) in [("auto", "Follow the visitor's system"), ("light", "Light"), ("dark", "Dark")] {
                                    option value=(mode) selected[value("mode") == mode] { (words) }
                                }
                            }
                        }
                        label { "Position"
                            select name="position" {
                                @for (position, words) in POSITIONS {
                                    option value=(position) selected[value("position") == position] { (words) }
                                }
                            }
                        }
                        label { "Element for an inline card (CSS selector)" input type="text" name="selector" placeholder="#feedback" value=(value("selector")); }
                    }
                    label { "Your wording, one per line: language.message = text"
                        textarea name="wording" rows="5" placeholder="en.nps_question = How likely are you to recommend Kohvik to a friend?" { (value("wording")) }
                    }
                    p.muted { "Messages: " (message_names().join(", ")) "." }
                    div.buttons {
                        button.secondary type="submit" formaction=(format!("{base}/preview")) { "Preview" }
                        button type="submit" { "Save as version " (site.survey.version + 1) }
                    }
                }
                div.preview {
                    h2 { "Preview" }
                    iframe title="Preview of the survey" src=(format!("{base}/preview/{}", encode(preview))) {}
                    p.muted { "Answers given here are not stored. An inline card shows in the corner here." }
                }
            }
        },
    )
}

/// The names of the card's texts, for the wording help.
fn message_names() -> Vec<String> {
    serde_json::to_value(soovita_wire::Messages::default())
        .ok()
        .and_then(|messages| {
            messages
                .as_object()
                .map(|texts| texts.keys().cloned().collect())
        })
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(super) struct EditorQuery {
    saved: Option<u32>,
}

/// `GET /console/sites/{id}/survey`: the live version in the form and the preview.
pub(super) async fn editor(
    SiteAccess { signed_in, site }: AsAdmin,
    Query(query): Query<EditorQuery>,
) -> Result<Response, ConsoleError> {
    let definition = &site.survey.definition;
    let notice = Notice {
        error: None,
        saved: query.saved,
    };
    let fields = fields_of(definition, &site);
    Ok(page(signed_in.header(), &site, &fields, definition, &notice).into_response())
}

/// A posted editor form, checked (same origin, the session's CSRF token) and read: the draft,
/// or else the editor again saying what to fix.
fn posted(
    signed_in: &SignedIn,
    site: &Site,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<Result<Draft, Response>, ConsoleError> {
    from_this_site(headers)?;
    signed_in.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
    Ok(parse(&site.survey.definition, fields)
        .map_err(|error| refused(signed_in, site, fields, &error)))
}

/// `POST /console/sites/{id}/survey/preview`: the form as posted, and the preview of it.
pub(super) async fn preview_draft(
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    let draft = posted(&signed_in, &site, &headers, &fields)?;
    Ok(match draft {
        Ok(draft) => {
            let notice = Notice {
                error: None,
                saved: None,
            };
            page(
                signed_in.header(),
                &site,
                &fields,
                &draft.definition,
                &notice,
            )
            .into_response()
        }
        Err(refused) => refused,
    })
}

/// `POST /console/sites/{id}/survey`: publishes the form as the next version.
pub(super) async fn save(
    State(state): State<AppState>,
    SiteAccess { signed_in, site }: AsAdmin,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Result<Response, ConsoleError> {
    let draft = posted(&signed_in, &site, &headers, &fields)?;
    let draft = match draft {
        Ok(draft) => draft,
        Err(refused) => return Ok(refused),
    };
    let now_ms = crate::clock::now_ms();
    let version = state
        .store
        .save_survey(&site.id, &draft.definition, now_ms)
        .await?;
    let settings = Site {
        sample_percent: draft.sample_percent,
        cooldown_days: draft.cooldown_days,
        ..site.clone()
    };
    state.store.update_site(&settings).await?;
    state.sites.forget(&site.id);
    Ok(Redirect::to(&format!(
        "/console/sites/{}/survey?saved={version}",
        site.id
    ))
    .into_response())
}

/// The editor again, with what was posted and what to fix; the preview stays on the live
/// version until the form is valid.
fn refused(signed_in: &SignedIn, site: &Site, fields: &Fields, error: &str) -> Response {
    let notice = Notice {
        error: Some(error),
        saved: None,
    };
    (
        axum::http::StatusCode::BAD_REQUEST,
        page(
            signed_in.header(),
            site,
            fields,
            &site.survey.definition,
            &notice,
        ),
    )
        .into_response()
}

/// `GET /console/sites/{id}/survey/preview/{draft}`: a bare page that loads the real widget,
/// pointed at the draft's own endpoints below.
pub(super) async fn preview_page(
    SiteAccess { site, .. }: AsAdmin,
    Path((_, draft)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    decode(&draft)?;
    let api = format!("/console/sites/{}/survey/preview/{draft}", site.id);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Preview · " (site.name) }
                link rel="stylesheet" href=(super::STYLESHEET);
            }
            body.preview {
                main {
                    h1 { (site.name) }
                    p.muted { "A page of your site, with the survey as visitors will see it." }
                }
                script src="/widget.js" data-site=(site.id) data-api=(api) async {}
            }
        }
    };
    let mut response = markup.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(PREVIEW_POLICY),
    );
    headers.insert(
        X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

/// The draft's survey configuration, as `GET /v1/sites/{id}/survey` would serve it once
/// published, except that the preview always shows the card at once.
pub(super) async fn preview_config(
    SiteAccess { site, .. }: AsAdmin,
    Path((_, draft, _)): Path<(String, String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ConsoleError> {
    let mut definition = decode(&draft)?;
    definition.targeting.trigger = Trigger::Load;
    definition.targeting.pages.clear();
    // The preview's visits count towards the fatigue cap of the server's own origin.
    definition.targeting.prompts_per_month = u8::MAX;
    if matches!(definition.appearance.position, Position::Inline { .. }) {
        definition.appearance.position = Position::BottomRight;
    }
    let previewed = Site {
        sample_percent: 100,
        cooldown_days: 0,
        honor_do_not_track: false,
        survey: std::sync::Arc::new(PublishedSurvey {
            version: site.survey.version,
            definition,
        }),
        ..site
    };
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let preferences = [query.lang.as_deref().unwrap_or_default(), accepted].join(",");
    Ok(Json(crate::surveys::config_for(&previewed, &preferences)).into_response())
}

/// Answers given in the preview: acknowledged, so the widget behaves as it will, and dropped.
pub(super) async fn preview_answer(_access: AsAdmin) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "stored": false }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            id: crate::domain::SiteId::generate(),
            name: "Kohvik".into(),
            allowed_origins: Vec::new(),
            sample_percent: 40,
            cooldown_days: 30,
            retention_days: 730,
            honor_do_not_track: false,
            admin_token_hash: crate::domain::AdminToken::generate().hash(),
            survey: std::sync::Arc::new(PublishedSurvey {
                version: 1,
                definition: SurveyDefinition::default(),
            }),
        }
    }

    #[test]
    fn the_form_reads_back_what_it_shows() {
        let mut definition = SurveyDefinition {
            reward: Some(Reward::Coupon {
                code: "KOHV10".into(),
            }),
            ..SurveyDefinition::default()
        };
        definition.appearance.position = Position::Inline {
            selector: "#feedback".into(),
        };
        definition.wording.insert(
            "et".into(),
            BTreeMap::from([(
                "nps_question".into(),
                "Kui tõenäoliselt = soovitaksite?".into(),
            )]),
        );
        let draft = parse(&definition, &fields_of(&definition, &site())).unwrap();
        assert_eq!(draft.definition, definition);
        assert_eq!((draft.sample_percent, draft.cooldown_days), (40, 30));
    }

    #[test]
    fn a_bad_field_is_named() {
        let definition = SurveyDefinition::default();
        let with = |name: &str, value: &str| {
            let mut fields = fields_of(&definition, &site());
            fields.insert(name.into(), value.into());
            parse(&definition, &fields).err().unwrap_or_default()
        };
        assert!(with("wording", "en.no_such_message = Hi").contains("not a message of the card"));
        assert!(with("wording", "just words").contains("wording line 1"));
        assert!(with("brand_color", "red").contains("brand_color"));
        assert!(with("sample_percent", "101").contains("0 to 100%"));
        assert!(with("statements_per_visitor", "many").contains("whole number"));
        assert!(with("reward_kind", "link").contains("reward.url"));
    }

    #[test]
    fn drafts_survive_the_trip_through_the_path() {
        let definition = SurveyDefinition::default();
        assert_eq!(decode(&encode(&definition)).unwrap(), definition);
        assert!(decode("not base64!").is_err());
    }
}
