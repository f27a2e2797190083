//! Where answers go. The loader delivers them (`deliver` in `loader/core.js`): it keeps each
//! in `localStorage` until the server acknowledges it, retries, and beacons on `pagehide`, and
//! it is the part that still runs on later pages, when the card no longer loads.

use std::collections::BTreeMap;

use soovita_wire::{
    is_attribute_name, ResponseSubmission, MAX_ATTRIBUTES, MAX_ATTRIBUTE_VALUE_CHARS,
};
use wasm_bindgen::{JsCast, JsValue};

/// The responses endpoint of one site, the loader's outbox functions, and the attributes the
/// page set through `soovita('attributes', …)`.
#[derive(Clone, PartialEq, Debug)]
pub struct Endpoint {
    url: String,
    deliver: js_sys::Function,
    queue: js_sys::Function,
    attributes: js_sys::Object,
}

impl Endpoint {
    /// The responses endpoint of `site_id` on the server at `api_base`.
    pub fn new(
        api_base: &str,
        site_id: &str,
        deliver: js_sys::Function,
        queue: js_sys::Function,
        attributes: js_sys::Object,
    ) -> Self {
        Self {
            url: [
                api_base.trim_end_matches('/'),
                "/v1/sites/",
                site_id,
                "/responses",
            ]
            .concat(),
            deliver,
            queue,
            attributes,
        }
    }

    /// Hands the visitor's answers so far to the loader, which sends them as `text/plain` (a
    /// CORS-safelisted type: no preflight) until the server has them.
    pub fn send(&self, submission: ResponseSubmission) {
        self.hand_over(&self.deliver, submission);
    }

    /// Puts the answers in the outbox without sending them, for the beacon the loader sends of
    /// the whole outbox on `pagehide`, one body per response.
    pub fn queue(&self, submission: ResponseSubmission) {
        self.hand_over(&self.queue, submission);
    }

    fn hand_over(&self, function: &js_sys::Function, mut submission: ResponseSubmission) {
        // Read at every send: the page may set attributes after the card appeared.
        submission.attributes = attributes(&self.attributes);
        let Some(body) = crate::config::body(&submission) else {
            return;
        };
        let id = JsValue::from_str(&submission.response_id);
        if let Err(error) = function.call3(
            &JsValue::NULL,
            &id,
            &JsValue::from_str(&self.url),
            &JsValue::from_str(&body),
        ) {
            web_sys::console::warn_2(&JsValue::from_str("soovita: answer not queued"), &error);
        }
    }
}

/// The page's attributes as the server accepts them. One the server would refuse is left out
/// with a console warning, rather than costing the visitor's whole answer.
fn attributes(object: &js_sys::Object) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    for entry in js_sys::Object::entries(object).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let (name, value) = (entry.get(0).as_string().unwrap_or_default(), entry.get(1));
        // Numbers as JavaScript writes them, which also spares the card Rust's float formatting.
        let text = value
            .as_string()
            .or_else(|| {
                value
                    .dyn_ref::<js_sys::Number>()
                    .and_then(|number| number.to_string_with_radix(10).ok())
                    .map(String::from)
            })
            .or_else(|| {
                value
                    .as_bool()
                    .map(|flag| crate::scale::state(flag).to_owned())
            });
        match text {
            Some(text) if is_attribute_name(&name) && kept.len() < MAX_ATTRIBUTES => {
                kept.insert(name, text.chars().take(MAX_ATTRIBUTE_VALUE_CHARS).collect());
            }
            _ => web_sys::console::warn_2(
                &JsValue::from_str("soovita: attribute left out (names: 1 to 40 letters, digits or _; values: text, numbers or true/false; at most 20):"),
                &JsValue::from_str(&name),
            ),
        }
    }
    kept
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

/// A version-7 UUID: the time in milliseconds, then random bits. Ids that grow with time land
/// at the end of the server's index instead of on a random page of it, which is what keeps
/// durable writes cheap. `crypto.randomUUID` (version 4, and only in secure contexts) would not.
pub fn time_ordered_uuid() -> String {
    uuid_v7(js_sys::Date::now() as u64, random_bytes())
}

fn uuid_v7(unix_ms: u64, random: [u8; 16]) -> String {
    let mut bytes = random;
    bytes[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
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

#[cfg(test)]
mod tests {
    use super::uuid_v7;

    #[test]
    fn ids_carry_the_time_first_and_sort_by_it() {
        let id = uuid_v7(0x0193_5e2a_b4c1, [0xff; 16]);
        assert_eq!(id, "01935e2a-b4c1-7fff-bfff-ffffffffffff");
        let earlier = uuid_v7(1_764_000_000_000, [0xee; 16]);
        let later = uuid_v7(1_764_000_000_001, [0x00; 16]);
        assert!(earlier < later, "{earlier} sorts after {later}");
    }
}
