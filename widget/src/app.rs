//! The survey card.

use soovita_wire::{ResponseSubmission, MAX_COMMENT_CHARS};
use web_sys::{HtmlElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent};
use yew::prelude::*;

use crate::flow::{key_target, Action, Flow, Step};
use crate::transport::Endpoint;

const NOT_LIKELY: &str = "Not at all likely";
const EXTREMELY_LIKELY: &str = "Extremely likely";

/// The accessible name of the two end points, which carry the scale's meaning.
fn end_label(score: u8) -> Option<String> {
    match score {
        0 => Some(["0, ", NOT_LIKELY].concat()),
        10 => Some(["10, ", EXTREMELY_LIKELY].concat()),
        _ => None,
    }
}

/// What the loader hands the card.
#[derive(Properties, PartialEq, Clone)]
pub struct SurveyProps {
    /// The name in the question.
    pub site_name: AttrValue,
    /// Where answers go.
    pub endpoint: Endpoint,
    /// The id every answer of this display is sent under.
    pub response_id: AttrValue,
    /// Called once the visitor closes the card, so the host element can go too.
    pub on_dismiss: Callback<()>,
}

/// The card: score, then comment, then thanks.
#[function_component]
pub fn Survey(props: &SurveyProps) -> Html {
    let flow = use_reducer(Flow::default);
    let radios = use_memo((), |()| {
        (0..=10).map(|_| NodeRef::default()).collect::<Vec<_>>()
    });
    let comment_ref = use_node_ref();
    let honeypot_ref = use_node_ref();
    let thanks_ref = use_node_ref();

    let submit = {
        let props = props.clone();
        move |score: u8, comment: Option<String>, website: Option<String>| {
            props.endpoint.send(&ResponseSubmission {
                response_id: props.response_id.to_string(),
                score: i32::from(score),
                comment,
                website,
            });
        }
    };

    // Focus moves only after the visitor has acted inside the card, never on first display.
    {
        let (comment_ref, thanks_ref) = (comment_ref.clone(), thanks_ref.clone());
        use_effect_with(flow.step, move |step| {
            let target = match step {
                Step::Comment => comment_ref.cast::<HtmlElement>(),
                Step::Thanks => thanks_ref.cast::<HtmlElement>(),
                _ => None,
            };
            if let Some(element) = target {
                let _ = element.focus();
            }
        });
    }
    {
        let on_dismiss = props.on_dismiss.clone();
        use_effect_with(flow.step, move |step| {
            if *step == Step::Dismissed {
                on_dismiss.emit(());
            }
        });
    }

    let dismiss = {
        let flow = flow.dispatcher();
        Callback::from(move |_: MouseEvent| flow.dispatch(Action::Dismiss))
    };
    let close_button = html! {
        <button type="button" class="close" aria-label="Close survey" onclick={dismiss}>{"×"}</button>
    };

    let body = match flow.step {
        Step::Score => {
            let choose = |score: u8| {
                let (flow, submit) = (flow.dispatcher(), submit.clone());
                Callback::from(move |_: MouseEvent| {
                    flow.dispatch(Action::Choose(score));
                    submit(score, None, None);
                })
            };
            let onkeydown = {
                let (flow, radios, selected) = (flow.dispatcher(), radios.clone(), flow.selected);
                Callback::from(move |event: KeyboardEvent| {
                    if let Some(target) = key_target(selected, &event.key()) {
                        event.prevent_default();
                        flow.dispatch(Action::Select(target));
                        if let Some(radio) = radios[usize::from(target)].cast::<HtmlElement>() {
                            let _ = radio.focus();
                        }
                    }
                })
            };
            // Roving tabindex: one stop in the tab order for the whole scale.
            let tab_stop = flow.selected.unwrap_or(0);
            html! {
                <>
                    <p class="question" id="soovita-question">
                        {"How likely are you to recommend "}{&props.site_name}{" to a friend or colleague?"}
                    </p>
                    <div class="scale" role="radiogroup" aria-labelledby="soovita-question" {onkeydown}>
                        { for (0..=10u8).map(|score| html! {
                            <button type="button" role="radio" ref={radios[usize::from(score)].clone()}
                                aria-checked={(flow.selected == Some(score)).to_string()}
                                tabindex={if score == tab_stop { "0" } else { "-1" }}
                                aria-label={end_label(score)}
                                onclick={choose(score)}>
                                {score}
                            </button>
                        }) }
                    </div>
                    // Shown once for the eye; screen readers hear them on the end radios instead.
                    <div class="ends" aria-hidden="true">
                        <span>{NOT_LIKELY}</span><span>{EXTREMELY_LIKELY}</span>
                    </div>
                </>
            }
        }
        Step::Comment => {
            let oninput = {
                let flow = flow.dispatcher();
                Callback::from(move |event: InputEvent| {
                    let area: HtmlTextAreaElement = event.target_unchecked_into();
                    flow.dispatch(Action::EditComment(area.value()));
                })
            };
            let send = {
                let (dispatch, submit) = (flow.dispatcher(), submit.clone());
                let (score, comment) = (flow.score.unwrap_or_default(), flow.comment.clone());
                let honeypot = honeypot_ref.clone();
                Callback::from(move |event: SubmitEvent| {
                    event.prevent_default();
                    dispatch.dispatch(Action::SubmitComment);
                    let website = honeypot
                        .cast::<HtmlInputElement>()
                        .map(|input| input.value())
                        .filter(|value| !value.is_empty());
                    if !comment.trim().is_empty() || website.is_some() {
                        submit(score, Some(comment.clone()), website);
                    }
                })
            };
            let skip = {
                let flow = flow.dispatcher();
                Callback::from(move |_: MouseEvent| flow.dispatch(Action::SkipComment))
            };
            html! {
                <form onsubmit={send}>
                    <label class="question" for="soovita-comment">
                        {"Thank you! Anything you would like to tell us?"}
                    </label>
                    <textarea id="soovita-comment" ref={comment_ref} rows="3"
                        maxlength={MAX_COMMENT_CHARS.to_string()} value={flow.comment.clone()} {oninput} />
                    // A honeypot for form-filling bots: off-screen, out of the tab order and
                    // hidden from assistive technology, so no person ever fills it in.
                    <input type="text" name="website" class="hp" tabindex="-1" autocomplete="off"
                        aria-hidden="true" ref={honeypot_ref} />
                    <div class="actions">
                        <button type="button" class="secondary" onclick={skip}>{"Skip"}</button>
                        <button type="submit" class="primary">{"Send"}</button>
                    </div>
                </form>
            }
        }
        Step::Thanks => html! {
            <p class="question" tabindex="-1" ref={thanks_ref}>{"Thank you for your feedback."}</p>
        },
        Step::Dismissed => return html! {},
    };

    html! {
        <section class="card" aria-label="Feedback survey">
            { close_button }
            { body }
            // Present from the start so that screen readers announce the change to it.
            <p class="visually-hidden" role="status" aria-live="polite">
                { if flow.step == Step::Thanks { "Thank you for your feedback. Your answer was sent." } else { "" } }
            </p>
        </section>
    }
}
