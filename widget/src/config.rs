//! The survey configuration as the loader hands it over (the JSON of `GET …/survey`, parsed by
//! the browser), read field by field with `Reflect`, and the answers written back the same way.
//! serde's visitors and serializers for these types were about a fifth of the card's code, and
//! brought float formatting with their error messages; the card reads only what it shows, and
//! a missing or mistyped field reads as its default instead of failing the whole survey. The
//! server's tests of `SurveyConfig`'s JSON and the browser tests keep the names honest.

use js_sys::{Array, Object, Reflect};
use soovita_wire::{
    Appearance, Audience, Category, ColorMode, Dimension, EffortDriver, Messages, Position,
    ResponseSubmission, Reward, Statement, SurveyConfig, SurveyDefinition,
};
use wasm_bindgen::{JsCast, JsValue};

// Not inlined: called for every field, each copy would cost the card bytes.
#[inline(never)]
fn get(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

#[inline(never)]
fn text(object: &JsValue, name: &str) -> String {
    get(object, name).as_string().unwrap_or_default()
}

#[inline(never)]
fn flag(object: &JsValue, name: &str) -> bool {
    get(object, name).as_bool().unwrap_or(false)
}

#[inline(never)]
fn whole(object: &JsValue, name: &str) -> u32 {
    get(object, name).as_f64().map_or(0, |n| n as u32)
}

#[inline(never)]
fn list(object: &JsValue, name: &str) -> Array {
    let value = get(object, name);
    if Array::is_array(&value) {
        value.unchecked_into()
    } else {
        Array::new()
    }
}

/// The names in `object[name]` that `all` knows, as `name_of` writes them.
fn named<T: Copy>(
    object: &JsValue,
    name: &str,
    all: &[T],
    name_of: fn(T) -> &'static str,
) -> Vec<T> {
    list(object, name)
        .iter()
        .filter_map(|value| {
            let value = value.as_string()?;
            all.iter().copied().find(|known| name_of(*known) == value)
        })
        .collect()
}

/// The configuration the loader fetched; only a value that is no object at all is refused.
pub fn read(config: &JsValue) -> Result<SurveyConfig, JsValue> {
    if !config.is_object() {
        return Err(JsValue::from_str(
            "soovita: the survey configuration is not an object",
        ));
    }
    let texts = get(config, "messages");
    let mut messages = Messages::default();
    for (name, slot) in messages.fields_mut() {
        *slot = text(&texts, name);
    }
    Ok(SurveyConfig {
        site_id: text(config, "site_id"),
        site_name: text(config, "site_name"),
        sample_percent: whole(config, "sample_percent") as u8,
        cooldown_days: whole(config, "cooldown_days") as u16,
        honor_do_not_track: flag(config, "honor_do_not_track"),
        version: whole(config, "version"),
        lang: text(config, "lang"),
        rtl: flag(config, "rtl"),
        survey: definition(&get(config, "survey")),
        messages,
        statements: list(config, "statements")
            .iter()
            .map(|statement| Statement {
                id: text(&statement, "id"),
                text: text(&statement, "text"),
            })
            .collect(),
    })
}

/// What the card applies of the survey; its wording is already in the messages, and its
/// targeting is the loader's.
fn definition(survey: &JsValue) -> SurveyDefinition {
    let audience = |name| -> Audience { named(survey, name, &Category::ALL, Category::as_str) };
    let reward = get(survey, "reward");
    let (coupon, link) = (get(&reward, "coupon"), get(&reward, "link"));
    SurveyDefinition {
        open_question: flag(survey, "open_question"),
        statements_per_visitor: whole(survey, "statements_per_visitor") as u8,
        dimensions: named(survey, "dimensions", &Dimension::ALL, Dimension::as_str),
        effort: audience("effort"),
        effort_checklist: flag(survey, "effort_checklist"),
        contact: audience("contact"),
        reward: if coupon.is_object() {
            Some(Reward::Coupon {
                code: text(&coupon, "code"),
            })
        } else if link.is_object() {
            Some(Reward::Link {
                url: text(&link, "url"),
            })
        } else {
            None
        },
        appearance: appearance(&get(survey, "appearance")),
        record_query_string: flag(survey, "record_query_string"),
        ..SurveyDefinition::default()
    }
}

fn appearance(appearance: &JsValue) -> Appearance {
    let defaults = Appearance::default();
    let position = get(appearance, "position");
    let inline = get(&position, "inline");
    Appearance {
        brand_color: get(appearance, "brand_color")
            .as_string()
            .unwrap_or(defaults.brand_color),
        mode: match text(appearance, "mode").as_str() {
            "light" => ColorMode::Light,
            "dark" => ColorMode::Dark,
            _ => ColorMode::Auto,
        },
        position: match position.as_string().as_deref() {
            _ if inline.is_object() => Position::Inline {
                selector: text(&inline, "selector"),
            },
            Some("bottom_left") => Position::BottomLeft,
            Some("top_right") => Position::TopRight,
            Some("top_left") => Position::TopLeft,
            Some("bottom_bar") => Position::BottomBar,
            _ => Position::BottomRight,
        },
    }
}

fn set(object: &Object, name: &str, value: impl Into<JsValue>) {
    // Setting a property of a fresh plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(name), &value.into());
}

fn set_some(object: &Object, name: &str, value: Option<impl Into<JsValue>>) {
    if let Some(value) = value {
        set(object, name, value);
    }
}

/// `pairs` as an object, or nothing when there are none (the server's JSON leaves it out too).
fn pairs<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Option<Object> {
    let object = Object::new();
    let mut any = false;
    for (name, value) in pairs {
        set(&object, name, value.as_str());
        any = true;
    }
    any.then_some(object)
}

/// The answers as the JSON body of `POST …/responses`.
pub fn body(submission: &ResponseSubmission) -> Option<String> {
    let object = Object::new();
    set(&object, "response_id", submission.response_id.as_str());
    set(&object, "score", submission.score);
    set_some(&object, "survey_version", submission.survey_version);
    set_some(&object, "lang", submission.lang.as_deref());
    set_some(&object, "comment", submission.comment.as_deref());
    if !submission.statements.is_empty() {
        let statements: Array = submission
            .statements
            .iter()
            .map(|statement| {
                let answer = Object::new();
                set(&answer, "id", statement.id.as_str());
                set_some(&answer, "answer", statement.answer);
                JsValue::from(answer)
            })
            .collect();
        set(&object, "statements", statements);
    }
    set_some(&object, "effort", submission.effort);
    if !submission.effort_drivers.is_empty() {
        let drivers: Array = submission
            .effort_drivers
            .iter()
            .map(|driver| JsValue::from_str(EffortDriver::as_str(*driver)))
            .collect();
        set(&object, "effort_drivers", drivers);
    }
    if let Some(contact) = &submission.contact {
        let answer = Object::new();
        set(&answer, "consent", contact.consent);
        set_some(&answer, "email", contact.email.as_deref());
        set(&object, "contact", answer);
    }
    if let Some(page) = &submission.context {
        let context = Object::new();
        set(&context, "path", page.path.as_str());
        set_some(&context, "query", page.query.as_deref());
        set_some(&context, "utm", pairs(&page.utm));
        set_some(&context, "referrer", page.referrer.as_deref());
        set(&context, "device", page.device.as_str());
        set(&object, "context", context);
    }
    set_some(&object, "attributes", pairs(&submission.attributes));
    set_some(&object, "website", submission.website.as_deref());
    js_sys::JSON::stringify(&object).ok().map(String::from)
}
