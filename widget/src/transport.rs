//! The only place the widget speaks HTTP.

use soovita_wire::ResponseSubmission;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

/// Where answers go.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Endpoint {
    url: String,
}

impl Endpoint {
    /// The responses endpoint of `site_id` on the server at `api_base`.
    pub fn new(api_base: &str, site_id: &str) -> Self {
        Self {
            url: [
                api_base.trim_end_matches('/'),
                "/v1/sites/",
                site_id,
                "/responses",
            ]
            .concat(),
        }
    }

    /// Sends the visitor's answers so far. A string body goes as `text/plain`, a CORS-safelisted
    /// type, so the browser sends no preflight; `keepalive` lets it finish if the page closes.
    pub fn send(&self, submission: &ResponseSubmission) {
        let Some(body) = serde_wasm_bindgen::to_value(submission)
            .ok()
            .and_then(|value| js_sys::JSON::stringify(&value).ok())
        else {
            return;
        };
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&body);
        // web-sys has no setter for `keepalive` yet.
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
        let Some(window) = web_sys::window() else {
            return;
        };
        let request = window.fetch_with_str_and_init(&self.url, &init);
        wasm_bindgen_futures::spawn_local(async move {
            match JsFuture::from(request)
                .await
                .map(JsCast::unchecked_into::<Response>)
            {
                Ok(response) if response.ok() => {}
                Ok(response) => warn(&JsValue::from(response.status())),
                Err(error) => warn(&error),
            }
        });
    }
}

fn warn(detail: &JsValue) {
    web_sys::console::warn_2(&JsValue::from_str("soovita: answer not stored"), detail);
}

/// `N` random bytes from `crypto.getRandomValues`, or `Math.random` where there is no crypto.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        bytes
            .iter_mut()
            .for_each(|b| *b = (js_sys::Math::random() * 256.0) as u8);
    }
    bytes
}

/// A random version-4 UUID. `crypto.randomUUID` exists only in secure contexts, and
/// widgets also run on plain-HTTP pages, so this builds one from `getRandomValues`.
pub fn random_uuid() -> String {
    let mut bytes: [u8; 16] = random_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut uuid = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            uuid.push('-');
        }
        uuid.push(HEX[usize::from(byte >> 4)] as char);
        uuid.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    uuid
}
