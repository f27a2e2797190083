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

/// The numbers the card writes (points of the 0–10 scale, its 11 points, a step of at most
/// seven), as text, so that it needs no number formatting: `format!` and `to_string` of numbers
/// bring several kilobytes of the standard library into the wasm.
const NUMBERS: [&str; 12] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"];

/// `n` as text; the card never has a number beyond 11 to write.
pub fn number(n: usize) -> &'static str {
    NUMBERS.get(n).copied().unwrap_or_default()
}

/// `"true"` or `"false"`, for ARIA states.
pub fn state(on: bool) -> &'static str {
    if on {
        "true"
    } else {
        "false"
    }
}

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
            p if p == props.min => Some([number(p.into()), ", ", low].concat()),
            p if p == props.max => Some([number(p.into()), ", ", high].concat()),
            _ => None,
        }
    };
    html! {
        <>
            // A class per size, not a style attribute: strict CSPs block style attributes.
            <div class={classes!("scale", if list { "list".to_owned() } else { ["points-", number(count)].concat() })}
                role="radiogroup" aria-labelledby={props.labelled_by.clone()} {onkeydown}>
                { for (props.min..=props.max).map(|point| {
                    let on_choose = props.on_choose.clone();
                    let text = props.labels.as_ref().and_then(|l| l.get(usize::from(point - props.min)).cloned());
                    html! {
                        <button type="button" role="radio" ref={radios[usize::from(point - props.min)].clone()}
                            aria-checked={state(props.selected == Some(point))}
                            tabindex={if point == tab_stop { "0" } else { "-1" }}
                            aria-label={if list { None } else { end_label(point) }}
                            onclick={Callback::from(move |_: MouseEvent| on_choose.emit(point))}>
                            { text.unwrap_or(AttrValue::Static(number(point.into()))) }
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

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn every_number_the_card_writes_is_written_out() {
        // The most points (0–10 is 11) and the most steps the progress line counts.
        let largest = 11.max(soovita_wire::MAX_QUESTIONS);
        for n in 0..=largest {
            assert_eq!(number(n), n.to_string());
        }
    }
}
