//! The Soovita survey card, mounted by the loader (`loader/core.js`) once it has decided to
//! show a survey. It lives in a shadow root so the host page and the card cannot restyle
//! each other.

mod app;
mod config;
pub mod flow;
mod scale;
mod style;
mod transport;

use std::cell::RefCell;
use std::rc::Rc;

use soovita_wire::{
    DeviceClass, PageContext, Position, SurveyConfig, MAX_ATTRIBUTE_VALUE_CHARS, MAX_PATH_CHARS,
    MAX_QUERY_CHARS, UTM_PARAMETERS,
};
use wasm_bindgen::prelude::*;
use web_sys::{CssStyleSheet, Document, Element, ShadowRootInit, ShadowRootMode};
use yew::{AppHandle, AttrValue, Callback, Renderer};

use app::{Survey, SurveyProps};
use transport::{random_bytes, time_ordered_uuid, Endpoint};

// SAFETY: the card's wasm runs on one thread (it is built without atomics), which is what
// `AssumeSingleThreaded` requires.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// A mounted card; `destroy` removes it and everything it added to the page.
#[wasm_bindgen]
pub struct Widget {
    /// Empty until the first render, which runs in a task of its own.
    app: Rc<RefCell<Option<AppHandle<Survey>>>>,
    host: Element,
}

#[wasm_bindgen]
impl Widget {
    /// Unmounts the card and removes its host element.
    pub fn destroy(self) {
        if let Some(app) = self.app.borrow_mut().take() {
            app.destroy();
        }
        self.host.remove();
    }
}

/// A constructed stylesheet: adopted, so it needs no `style-src 'unsafe-inline'` on
/// strict-CSP pages.
fn sheet(css: &str) -> Result<CssStyleSheet, JsValue> {
    let sheet = CssStyleSheet::new()?;
    sheet.replace_sync(css)?;
    Ok(sheet)
}

/// Where the host element goes: the owner's inline target, or the end of the body. A missing
/// inline target falls back to the corner, so a renamed element does not silence the survey.
fn container(document: &Document, config: &mut SurveyConfig) -> Result<Element, JsValue> {
    let position = &mut config.survey.appearance.position;
    if let Position::Inline { selector } = position {
        if let Ok(Some(target)) = document.query_selector(selector) {
            return Ok(target);
        }
        web_sys::console::warn_2(
            &JsValue::from_str(
                "soovita: showing the survey in the corner, as no element matches the selector",
            ),
            &JsValue::from_str(selector),
        );
        *position = Position::BottomRight;
    }
    Ok(document.body().ok_or("soovita: no body")?.into())
}

/// Where the survey is shown: the path (the query string only if the survey records it), the
/// UTM parameters, the referring site if it is another one, and a coarse device class.
fn page_context(record_query: bool) -> Option<PageContext> {
    let window = web_sys::window()?;
    let location = window.location();
    let clip = |text: String, limit: usize| text.chars().take(limit).collect::<String>();
    let search = location.search().ok()?;
    let query = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    // Inserted one by one rather than collected: `collect` into a map brings a sort and a bulk
    // build into the wasm, and the attributes need `insert` anyway.
    let mut utm = std::collections::BTreeMap::new();
    for name in UTM_PARAMETERS {
        if let Some(value) = query.get(name) {
            utm.insert(String::from(name), clip(value, MAX_ATTRIBUTE_VALUE_CHARS));
        }
    }
    let host = location.host().ok()?;
    let referrer = window
        .document()
        .map(|document| document.referrer())
        .and_then(|referrer| web_sys::Url::new(&referrer).ok())
        .map(|url| url.host())
        .filter(|referrer| !referrer.is_empty() && *referrer != host);
    let coarse = window
        .match_media("(pointer: coarse)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches());
    // The screen, not the window: pages without a viewport meta tag lay out phones 980 px wide.
    let wide = window
        .screen()
        .and_then(|screen| screen.width())
        .is_ok_and(|width| width >= 768);
    let device = match (coarse, wide) {
        (false, _) => DeviceClass::Desktop,
        (true, false) => DeviceClass::Phone,
        (true, true) => DeviceClass::Tablet,
    };
    Some(PageContext {
        path: clip(location.pathname().ok()?, MAX_PATH_CHARS),
        query: search
            .strip_prefix('?')
            .filter(|search| record_query && !search.is_empty())
            .map(|search| clip(search.to_owned(), MAX_QUERY_CHARS)),
        utm,
        referrer,
        device,
    })
}

/// Shows the survey of `config` (the JSON of `GET /v1/sites/{id}/survey`). Answers for the
/// server at `api_base` go to the loader's outbox: `deliver(response_id, url, body)` sends until
/// acknowledged, `queue(response_id, url, body)` only keeps them, for the beacon the loader
/// sends of everything unacknowledged on `pagehide`.
/// Each answer carries `attributes`, an object of names and values the page may change later.
#[wasm_bindgen]
pub fn mount(
    config: JsValue,
    api_base: &str,
    deliver: js_sys::Function,
    queue: js_sys::Function,
    attributes: js_sys::Object,
) -> Result<Widget, JsValue> {
    let mut config = config::read(&config)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("soovita: no document")?;
    let parent = container(&document, &mut config)?;
    let host = document.create_element("soovita-widget")?;
    let shadow = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
    let shared = sheet(style::CSS)?;
    let appearance = sheet(&style::host_css(&config.survey.appearance))?;
    let sheets = js_sys::Array::of2(&shared, &appearance);
    shadow.set_adopted_style_sheets(&sheets);
    let root = document.create_element("div")?;
    shadow.append_child(&root)?;
    parent.append_child(&host)?;

    let removable_host = host.clone();
    let seed = u32::from_le_bytes(random_bytes());
    let record_query = config.survey.record_query_string;
    let props = SurveyProps {
        endpoint: Endpoint::new(api_base, &config.site_id, deliver, queue, attributes),
        config: flow::Config(Rc::new(config)),
        response_id: AttrValue::from(time_ordered_uuid()),
        seed,
        context: page_context(record_query),
        on_dismiss: Callback::from(move |()| removable_host.remove()),
    };
    // The first render in a task of its own: together with reading the configuration and
    // instantiating the wasm, it would hold the host page's main thread for over 50 ms on a
    // slow machine (bench/time-to-prompt.mjs counts long tasks).
    let app = Rc::new(RefCell::new(None));
    let (slot, attached) = (app.clone(), host.clone());
    let render = Closure::once_into_js(move || {
        if attached.is_connected() {
            *slot.borrow_mut() =
                Some(Renderer::<Survey>::with_root_and_props(root, props).render());
        }
    });
    web_sys::window()
        .ok_or("soovita: no window")?
        .set_timeout_with_callback(render.unchecked_ref())?;
    Ok(Widget { app, host })
}
