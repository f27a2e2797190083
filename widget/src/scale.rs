//! One radio group for every scale of the survey: NPS 0–10, agreement 1–5, effort 1–7.
//!
//! Roving tabindex: the group is one stop in the tab order; arrows, Home and End move the
//! cursor, Space, Enter or a click commit. Hand-written because the semantics *are* the
//! product here: a native `<input type=radio>` commits on every arrow press, which would send
//! an answer for each point the visitor passes on the way to theirs.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

use crate::flow::key_target;

/// A scale's points and how they are named.
#[derive(Properties, PartialEq, Clone)]
pub struct ScaleProps {
    pub min: u8,
    pub max: u8,
    /// The point under the keyboard cursor or committed.
    pub selected: Option<u8>,
    /// The id of the element holding the question.
    pub labelled_by: AttrValue,
    /// Words for the two ends, shown under a numeric scale and read with its end points.
    #[prop_or_default]
    pub ends: Option<(AttrValue, AttrValue)>,
    /// Words for every point, shown as a vertical list instead of numbers.
    #[prop_or_default]
    pub labels: Option<Vec<AttrValue>>,
    /// Whether the page is right to left, which mirrors the horizontal arrow keys.
    pub rtl: bool,
    /// Whether to focus the tab stop when shown: after the visitor acted, never on first display.
    pub focus_on_show: bool,
    /// The cursor moved.
    pub on_select: Callback<u8>,
    /// A point was committed.
    pub on_choose: Callback<u8>,
}

#[function_component]
pub fn Scale(props: &ScaleProps) -> Html {
    let count = usize::from(props.max - props.min) + 1;
    let radios = use_memo(count, |count| {
        (0..*count).map(|_| NodeRef::default()).collect::<Vec<_>>()
    });
    let tab_stop = props.selected.unwrap_or(props.min);
    {
        let (radios, focus, index) = (
            radios.clone(),
            props.focus_on_show,
            usize::from(tab_stop - props.min),
        );
        use_effect_with((), move |()| {
            if focus {
                if let Some(radio) = radios[index].cast::<HtmlElement>() {
                    let _ = radio.focus();
                }
            }
        });
    }
    let onkeydown = {
        let (props, radios) = (props.clone(), radios.clone());
        Callback::from(move |event: KeyboardEvent| {
            let key = event.key();
            if key == "Enter" || key == " " {
                // Buttons fire click on Enter and Space already; this keeps Enter from also
                // submitting a surrounding form.
                return;
            }
            // The focused point, which a click or a screen reader may have moved off the cursor.
            let focused = event.target().and_then(|target| {
                let target: web_sys::Node = target.unchecked_into();
                radios
                    .iter()
                    .position(|radio| radio.get().is_some_and(|r| r == target))
            });
            let current = focused.map(|i| props.min + i as u8).or(props.selected);
            if let Some(target) = key_target(current, &key, props.min, props.max, props.rtl) {
                event.prevent_default();
                props.on_select.emit(target);
                if let Some(radio) = radios[usize::from(target - props.min)].cast::<HtmlElement>() {
                    let _ = radio.focus();
                }
            }
        })
    };
    let list = props.labels.is_some();
    let end_label = |point: u8| -> Option<String> {
        let (low, high) = props.ends.as_ref()?;
        match point {
            p if p == props.min => Some(format!("{p}, {low}")),
            p if p == props.max => Some(format!("{p}, {high}")),
            _ => None,
        }
    };
    html! {
        <>
            // A class per size, not a style attribute: strict CSPs block style attributes.
            <div class={classes!("scale", if list { "list".to_owned() } else { format!("points-{count}") })}
                role="radiogroup" aria-labelledby={props.labelled_by.clone()} {onkeydown}>
                { for (props.min..=props.max).map(|point| {
                    let on_choose = props.on_choose.clone();
                    let text = props.labels.as_ref().and_then(|l| l.get(usize::from(point - props.min)).cloned());
                    html! {
                        <button type="button" role="radio" ref={radios[usize::from(point - props.min)].clone()}
                            aria-checked={(props.selected == Some(point)).to_string()}
                            tabindex={if point == tab_stop { "0" } else { "-1" }}
                            aria-label={if list { None } else { end_label(point) }}
                            onclick={Callback::from(move |_: MouseEvent| on_choose.emit(point))}>
                            { text.map_or_else(|| html! { {point} }, |t| html! { {t} }) }
                        </button>
                    }
                }) }
            </div>
            if let Some((low, high)) = props.ends.clone() {
                // Shown once for the eye; screen readers hear them on the end points instead.
                <div class="ends" aria-hidden="true"><span>{low}</span><span>{high}</span></div>
            }
        </>
    }
}
