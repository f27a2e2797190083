//! The Soovita survey card, mounted by the loader (`loader/loader.js`) once it has decided to
//! show a survey. It lives in a shadow root so the host page and the card cannot restyle
//! each other.

mod app;
pub mod flow;
mod style;
mod transport;

use soovita_wire::SurveyConfig;
use wasm_bindgen::prelude::*;
use web_sys::{CssStyleSheet, Element, ShadowRootInit, ShadowRootMode};
use yew::{AppHandle, AttrValue, Callback, Renderer};

use app::{Survey, SurveyProps};
use transport::{random_uuid, Endpoint};

/// A mounted card; `destroy` removes it and everything it added to the page.
#[wasm_bindgen]
pub struct Widget {
    app: AppHandle<Survey>,
    host: Element,
}

#[wasm_bindgen]
impl Widget {
    /// Unmounts the card and removes its host element.
    pub fn destroy(self) {
        self.app.destroy();
        self.host.remove();
    }
}

/// Shows the survey of `config` (the JSON of `GET /v1/sites/{id}/survey`), posting answers
/// to the server at `api_base`.
#[wasm_bindgen]
pub fn mount(config: JsValue, api_base: &str) -> Result<Widget, JsValue> {
    let config: SurveyConfig = serde_wasm_bindgen::from_value(config)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("soovita: no document")?;
    let host = document.create_element("soovita-widget")?;
    let shadow = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
    // A constructed stylesheet needs no `style-src 'unsafe-inline'` on strict-CSP pages.
    let sheet = CssStyleSheet::new()?;
    sheet.replace_sync(style::CSS)?;
    shadow.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
    let root = document.create_element("div")?;
    shadow.append_child(&root)?;
    document
        .body()
        .ok_or("soovita: no body")?
        .append_child(&host)?;

    let removable_host = host.clone();
    let props = SurveyProps {
        site_name: AttrValue::from(config.site_name),
        endpoint: Endpoint::new(api_base, &config.site_id),
        response_id: AttrValue::from(random_uuid()),
        on_dismiss: Callback::from(move |()| removable_host.remove()),
    };
    let app = Renderer::<Survey>::with_root_and_props(root, props).render();
    Ok(Widget { app, host })
}
