//! The card in a real browser: `cargo test -p soovita-widget --target wasm32-unknown-unknown`
//! runs these in headless Chromium through ChromeDriver (see `scripts/test`).
#![cfg(target_arch = "wasm32")]

use soovita_wire::{Messages, Statement, SurveyConfig, SurveyDefinition};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement, KeyboardEvent, KeyboardEventInit, ShadowRoot};

wasm_bindgen_test_configure!(run_in_browser);

/// The English texts of the real question bank.
fn english() -> (Messages, Vec<Statement>) {
    let bank: serde_json::Value =
        serde_json::from_str(include_str!("../../server/bank/en.json")).unwrap();
    let messages = serde_json::from_value(bank["messages"].clone()).unwrap();
    let statements = bank["statements"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, text)| Statement {
            id: id.clone(),
            text: text.as_str().unwrap().into(),
        })
        .collect();
    (messages, statements)
}

fn config_with(survey: SurveyDefinition) -> wasm_bindgen::JsValue {
    let (messages, statements) = english();
    let config = SurveyConfig {
        site_id: "0123456789abcdef0123456789abcdef".into(),
        site_name: "Kohvik".into(),
        sample_percent: 100,
        cooldown_days: 0,
        honor_do_not_track: false,
        version: 1,
        lang: "en".into(),
        rtl: false,
        survey,
        messages,
        statements,
    };
    // As the loader hands it over: JSON parsed by the browser.
    js_sys::JSON::parse(&serde_json::to_string(&config).unwrap()).unwrap()
}

fn config() -> wasm_bindgen::JsValue {
    config_with(SurveyDefinition::default())
}

/// A stand-in for the loader's `deliver` that keeps what it is given in `window.sent`.
fn outbox() -> js_sys::Function {
    js_sys::Function::new_with_args(
        "id, url, body",
        "(window.sent = window.sent || []).push({ id, url, body: JSON.parse(body) });",
    )
}

/// What the card handed to the loader so far.
fn sent() -> Vec<serde_json::Value> {
    let window = web_sys::window().unwrap();
    let sent = js_sys::Reflect::get(&window, &"sent".into()).unwrap();
    if sent.is_undefined() {
        return Vec::new();
    }
    let json: String = js_sys::JSON::stringify(&sent).unwrap().into();
    serde_json::from_str(&json).unwrap()
}

/// The card of `config`, mounted against an unreachable server and rendered.
async fn mounted(config: wasm_bindgen::JsValue) -> soovita_widget::Widget {
    let widget = soovita_widget::mount(
        config,
        "http://127.0.0.1:9",
        outbox(),
        outbox(),
        js_sys::Object::new(),
    )
    .unwrap();
    settle().await;
    widget
}

/// Lets Yew's scheduler render.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 30)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

fn shadow() -> ShadowRoot {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document
        .query_selector("soovita-widget")
        .unwrap()
        .expect("the card is mounted");
    host.shadow_root()
        .expect("the card lives in an open shadow root")
}

fn find(root: &ShadowRoot, selector: &str) -> Option<HtmlElement> {
    root.query_selector(selector)
        .unwrap()
        .map(|e| e.unchecked_into())
}

fn radios(root: &ShadowRoot) -> Vec<Element> {
    let list = root.query_selector_all("[role=radio]").unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn press(target: &Element, key: &str) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    target
        .dispatch_event(
            &KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap(),
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn the_scale_is_a_radio_group_of_eleven_with_one_tab_stop() {
    let widget = mounted(config()).await;
    let root = shadow();
    let group = find(&root, "[role=radiogroup]").expect("a radiogroup");
    let question = root
        .get_element_by_id(&group.get_attribute("aria-labelledby").unwrap())
        .unwrap();
    assert!(question
        .text_content()
        .unwrap()
        .contains("recommend Kohvik"));
    let radios = radios(&root);
    let labels: Vec<_> = radios.iter().map(|r| r.text_content().unwrap()).collect();
    assert_eq!(labels, (0..=10).map(|n| n.to_string()).collect::<Vec<_>>());
    assert_eq!(
        radios[0].get_attribute("aria-label").as_deref(),
        Some("0, Not at all likely")
    );
    assert_eq!(
        radios[10].get_attribute("aria-label").as_deref(),
        Some("10, Extremely likely")
    );
    assert_eq!(
        radios[5].get_attribute("aria-label"),
        None,
        "the number alone names the middle"
    );
    let tab_stops = radios
        .iter()
        .filter(|r| r.get_attribute("tabindex").as_deref() == Some("0"))
        .count();
    assert_eq!(tab_stops, 1);
    widget.destroy();
    assert!(web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .query_selector("soovita-widget")
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
async fn arrow_keys_move_selection_and_focus_without_committing() {
    let widget = mounted(config()).await;
    let root = shadow();
    let first = radios(&root)[0].clone();
    press(&first, "End");
    settle().await;
    press(&radios(&root)[10], "ArrowLeft");
    settle().await;
    let checked: Vec<_> = radios(&root)
        .iter()
        .filter(|r| r.get_attribute("aria-checked").as_deref() == Some("true"))
        .map(|r| r.text_content().unwrap())
        .collect();
    assert_eq!(checked, ["9"]);
    assert_eq!(root.active_element().unwrap().text_content().unwrap(), "9");
    assert!(
        find(&root, "textarea").is_none(),
        "arrows must not commit a score"
    );
    widget.destroy();
}

#[wasm_bindgen_test]
async fn choosing_a_score_moves_focus_to_the_open_question_and_next_thanks() {
    let short = SurveyDefinition {
        statements_per_visitor: 0,
        effort: vec![],
        contact: vec![],
        ..SurveyDefinition::default()
    };
    let widget = mounted(config_with(short)).await;
    let root = shadow();
    radios(&root)[3].unchecked_ref::<HtmlElement>().click();
    settle().await;
    let textarea = find(&root, "textarea").expect("the open question");
    assert_eq!(
        root.active_element().unwrap(),
        *textarea.unchecked_ref::<Element>()
    );
    let label = find(&root, "label[for=soovita-text]").expect("the textarea is labelled");
    assert_eq!(
        label.text_content().unwrap(),
        "What disappointed you?",
        "a detractor's question"
    );
    let textarea: web_sys::HtmlTextAreaElement = textarea.unchecked_into();
    textarea.set_value("Cold coffee");
    textarea
        .dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    settle().await;
    find(&root, "button[type=submit]").unwrap().click();
    settle().await;
    let status = find(&root, "[role=status]").unwrap();
    assert!(status.text_content().unwrap().contains("Thank you"));
    let last = sent().pop().expect("the answers went to the outbox");
    assert_eq!(
        last["url"],
        "http://127.0.0.1:9/v1/sites/0123456789abcdef0123456789abcdef/responses"
    );
    assert_eq!(last["body"]["score"], 3);
    assert_eq!(last["body"]["comment"], "Cold coffee");
    assert_eq!(last["id"], last["body"]["response_id"]);
    widget.destroy();
}

#[wasm_bindgen_test]
async fn a_statement_is_a_labelled_five_point_list_that_takes_focus() {
    let widget = mounted(config()).await;
    let root = shadow();
    radios(&root)[10].unchecked_ref::<HtmlElement>().click();
    settle().await;
    find(&root, "button[type=submit]").unwrap().click();
    settle().await;
    let labels: Vec<_> = radios(&root)
        .iter()
        .map(|r| r.text_content().unwrap())
        .collect();
    assert_eq!(labels.len(), 5);
    assert_eq!(
        (labels[0].as_str(), labels[4].as_str()),
        ("Strongly disagree", "Strongly agree")
    );
    let focused = root.active_element().expect("focus moved into the card");
    assert_eq!(focused.get_attribute("role").as_deref(), Some("radio"));
    let group = find(&root, "[role=radiogroup]").unwrap();
    let names: Vec<_> = group
        .get_attribute("aria-labelledby")
        .unwrap()
        .split(' ')
        .map(|id| root.get_element_by_id(id).unwrap().text_content().unwrap())
        .collect();
    assert_eq!(names[0], "How much do you agree?");
    assert!(
        names[1].ends_with('.'),
        "the statement itself names the group: {names:?}"
    );
    widget.destroy();
}

#[wasm_bindgen_test]
async fn the_close_button_removes_the_card_from_the_page() {
    let _widget = mounted(config()).await;
    find(&shadow(), "button.close")
        .expect("a close button")
        .click();
    settle().await;
    assert!(web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .query_selector("soovita-widget")
        .unwrap()
        .is_none());
}
