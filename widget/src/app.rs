//! The survey card: one step at a time, every text from the survey configuration.

use soovita_wire::{Category, ColorMode, EffortDriver, Messages, PageContext, Position, Reward};
use web_sys::{HtmlElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::flow::{Action, Config, Flow, Step};
use crate::scale::{number, state, Scale};
use crate::transport::Endpoint;

/// What the loader hands the card.
#[derive(Properties, PartialEq, Clone)]
pub struct SurveyProps {
    /// The survey, in the visitor's language.
    pub config: Config,
    /// Where answers go.
    pub endpoint: Endpoint,
    /// The id every answer of this display is sent under.
    pub response_id: AttrValue,
    /// Random per display; picks the loyalty statements.
    pub seed: u32,
    /// The page the survey is shown on.
    pub context: Option<PageContext>,
    /// Called once the visitor closes the card, so the host element can go too.
    pub on_dismiss: Callback<()>,
}

/// [`soovita_wire::MAX_COMMENT_CHARS`] and [`soovita_wire::MAX_EMAIL_BYTES`] as the attributes want them, written out:
/// formatting numbers would cost the card kilobytes (tested below).
const COMMENT_LIMIT: &str = "2000";
const EMAIL_LIMIT: &str = "254";

/// `template` with each `{name}` replaced.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(name, value)
        })
}

fn driver_text(messages: &Messages, driver: EffortDriver) -> &str {
    match driver {
        EffortDriver::ContactedAgain => &messages.driver_contacted_again,
        EffortDriver::RepeatedInformation => &messages.driver_repeated_information,
        EffortDriver::SwitchedChannel => &messages.driver_switched_channel,
        EffortDriver::Transferred => &messages.driver_transferred,
    }
}

#[function_component]
pub fn Survey(props: &SurveyProps) -> Html {
    let flow = {
        let (config, seed, context) = (props.config.clone(), props.seed, props.context.clone());
        use_reducer(move || Flow::new(config, seed, context))
    };
    let text_ref = use_node_ref();
    let honeypot_ref = use_node_ref();
    let thanks_ref = use_node_ref();
    let config = &props.config;
    let m = &config.messages;

    // Every step change sends everything answered so far, so leaving the page at any point
    // keeps what was given, and statements on screen are recorded as shown.
    {
        let (flow, endpoint, id, on_dismiss) = (
            flow.clone(),
            props.endpoint.clone(),
            props.response_id.clone(),
            props.on_dismiss.clone(),
        );
        use_effect_with(flow.step, move |step| {
            if *step != Step::Score {
                if let Some(submission) = flow.submission(&id) {
                    endpoint.send(submission);
                }
            }
            if *step == Step::Dismissed {
                on_dismiss.emit(());
            }
        });
    }
    // What is on screen but not yet sent (a comment being typed) waits in the outbox as it
    // changes, for the beacon the loader sends on `pagehide`: one beacon per response, carrying
    // the newest answers. Browsers call `pagehide` listeners in the order they were added, so
    // a listener of the card's own would run after the loader's, too late.
    {
        let (endpoint, id) = (props.endpoint.clone(), props.response_id.clone());
        use_effect_with((*flow).clone(), move |flow| {
            if !matches!(flow.step, Step::Score | Step::Thanks | Step::Dismissed) {
                if let Some(submission) = flow.submission(&id) {
                    endpoint.queue(submission);
                }
            }
        });
    }
    // Focus follows the visitor from step to step, but never moves before they acted: the
    // score step does not take focus from the host page. Scales focus themselves.
    {
        let (text_ref, thanks_ref) = (text_ref.clone(), thanks_ref.clone());
        use_effect_with((flow.step, flow.email_invalid), move |(step, _)| {
            let target = match step {
                Step::Open | Step::Contact => text_ref.cast::<HtmlElement>(),
                Step::Thanks => thanks_ref.cast::<HtmlElement>(),
                _ => None,
            };
            if let Some(element) = target {
                let _ = element.focus();
            }
        });
    }

    let dispatch = |action: Action| {
        let flow = flow.dispatcher();
        Callback::from(move |_: MouseEvent| flow.dispatch(action.clone()))
    };
    let select = {
        let flow = flow.dispatcher();
        Callback::from(move |point| flow.dispatch(Action::Select(point)))
    };
    let choose = {
        let flow = flow.dispatcher();
        Callback::from(move |point| flow.dispatch(Action::Choose(point)))
    };
    let skip = html! {
        <button type="button" class="secondary" onclick={dispatch(Action::Skip)}>{&m.skip}</button>
    };
    let next = |label: &str| {
        let (flow, honeypot) = (flow.dispatcher(), honeypot_ref.clone());
        let onclick = Callback::from(move |event: MouseEvent| {
            event.prevent_default();
            let bot_text = honeypot
                .cast::<HtmlInputElement>()
                .map(|i| i.value())
                .unwrap_or_default();
            flow.dispatch(Action::Next(bot_text));
        });
        html! { <button type="submit" class="primary" {onclick}>{label.to_owned()}</button> }
    };
    let rtl = config.rtl;

    let body = match flow.step {
        Step::Score => html! {
            <>
                <p class="question" id="soovita-q">{fill(&m.nps_question, &[("{site}", &config.site_name)])}</p>
                <Scale min={0} max={10} selected={flow.selected} labelled_by="soovita-q" {rtl}
                    ends={Some((AttrValue::from(m.nps_low.clone()), AttrValue::from(m.nps_high.clone())))}
                    focus_on_show={false} on_select={select.clone()} on_choose={choose.clone()} />
            </>
        },
        Step::Open => {
            let question = match flow.category() {
                Some(Category::Detractor) => &m.open_detractor,
                Some(Category::Passive) => &m.open_passive,
                _ => &m.open_promoter,
            };
            let oninput = {
                let flow = flow.dispatcher();
                Callback::from(move |event: InputEvent| {
                    let area: HtmlTextAreaElement = event.target_unchecked_into();
                    flow.dispatch(Action::EditComment(area.value()));
                })
            };
            html! {
                <form>
                    <label class="question" for="soovita-text">{question}</label>
                    <textarea id="soovita-text" ref={text_ref.clone()} rows="3"
                        maxlength={COMMENT_LIMIT} value={flow.comment.clone()} {oninput} />
                    // A honeypot for form-filling bots: off-screen, out of the tab order and
                    // hidden from assistive technology, so no person ever fills it in.
                    <input type="text" name="website" class="hp" tabindex="-1" autocomplete="off"
                        aria-hidden="true" ref={honeypot_ref.clone()} />
                    <div class="actions">{skip.clone()}{next(&m.next)}</div>
                </form>
            }
        }
        Step::Statement(index) => {
            let statement = flow
                .statements
                .get(index)
                .and_then(|(id, _)| config.statements.iter().find(|s| &s.id == id));
            let labels = [&m.agree_1, &m.agree_2, &m.agree_3, &m.agree_4, &m.agree_5]
                .map(|label| AttrValue::from(label.clone()))
                .to_vec();
            html! {
                <>
                    <p class="hint" id="soovita-intro">{&m.statement_intro}</p>
                    <p class="question" id="soovita-q">{statement.map(|s| s.text.clone()).unwrap_or_default()}</p>
                    <Scale key={index} min={1} max={5} selected={flow.selected} labelled_by="soovita-intro soovita-q"
                        labels={Some(labels)} {rtl} focus_on_show={true}
                        on_select={select.clone()} on_choose={choose.clone()} />
                    <div class="actions">{skip.clone()}</div>
                </>
            }
        }
        Step::Effort => {
            let checklist = config.survey.effort_checklist.then(|| html! {
                <fieldset class="checklist">
                    <legend>{&m.effort_checklist}</legend>
                    { for EffortDriver::ALL.into_iter().map(|driver| {
                        let id = ["soovita-driver-", driver.as_str()].concat();
                        let flow_dispatch = flow.dispatcher();
                        let onchange = Callback::from(move |_: Event| flow_dispatch.dispatch(Action::ToggleDriver(driver)));
                        html! {
                            <div class="check">
                                <input type="checkbox" id={id.clone()} checked={flow.drivers.contains(&driver)} {onchange} />
                                <label for={id}>{driver_text(m, driver)}</label>
                            </div>
                        }
                    }) }
                </fieldset>
            });
            html! {
                <form>
                    <p class="question" id="soovita-q">{&m.effort_question}</p>
                    <Scale min={1} max={7} selected={flow.selected} labelled_by="soovita-q" {rtl}
                        ends={Some((AttrValue::from(m.effort_low.clone()), AttrValue::from(m.effort_high.clone())))}
                        focus_on_show={true} on_select={select.clone()} on_choose={choose.clone()} />
                    { checklist }
                    <div class="actions">{skip.clone()}{ if config.survey.effort_checklist { next(&m.next) } else { html! {} } }</div>
                </form>
            }
        }
        Step::Contact => {
            let oninput = {
                let flow = flow.dispatcher();
                Callback::from(move |event: InputEvent| {
                    let input: HtmlInputElement = event.target_unchecked_into();
                    flow.dispatch(Action::EditEmail(input.value()));
                })
            };
            let onsubmit = {
                let flow = flow.dispatcher();
                Callback::from(move |event: SubmitEvent| {
                    event.prevent_default();
                    flow.dispatch(Action::Consent(true));
                })
            };
            // `novalidate`: the card's own error, announced and translated, replaces the
            // browser's bubble.
            html! {
                <form novalidate=true {onsubmit}>
                    <p class="question" id="soovita-q">{&m.contact_question}</p>
                    <label for="soovita-text">{&m.email_label}</label>
                    <input type="email" id="soovita-text" ref={text_ref.clone()} autocomplete="email"
                        maxlength={EMAIL_LIMIT} value={flow.email.clone()} {oninput}
                        aria-invalid={state(flow.email_invalid)} aria-describedby="soovita-email-error" />
                    <p class="error" id="soovita-email-error" role="alert">
                        { if flow.email_invalid { m.email_invalid.as_str() } else { "" } }
                    </p>
                    <div class="actions">
                        <button type="button" class="secondary" onclick={dispatch(Action::Consent(false))}>{&m.contact_no}</button>
                        <button type="submit" class="primary">{&m.contact_yes}</button>
                    </div>
                </form>
            }
        }
        Step::Thanks => {
            let ack = (flow.consent == Some(true)).then(|| {
                fill(
                    &m.contact_ack,
                    &[
                        ("{site}", &config.site_name),
                        ("{email}", flow.email.trim()),
                    ],
                )
            });
            let reward = match &config.survey.reward {
                Some(Reward::Coupon { code }) => html! {
                    <p class="reward">{&m.reward_coupon}{" "}<strong class="code">{code}</strong></p>
                },
                Some(Reward::Link { url }) => html! {
                    <p class="reward"><a href={url.clone()} target="_blank" rel="noopener noreferrer">{&m.reward_link}</a></p>
                },
                None => html! {},
            };
            html! {
                <>
                    <p class="question" tabindex="-1" ref={thanks_ref.clone()}>{&m.thanks}</p>
                    if let Some(ack) = ack { <p class="ack">{ack}</p> }
                    { reward }
                </>
            }
        }
        Step::Dismissed => return html! {},
    };

    let (position, total) = flow.progress();
    let progress = (!matches!(flow.step, Step::Score | Step::Thanks)).then(|| {
        let text = fill(
            &m.progress,
            &[("{n}", number(position)), ("{total}", number(total))],
        );
        html! { <p class="progress">{text}</p> }
    });
    let appearance = &config.survey.appearance;
    let mode = match appearance.mode {
        ColorMode::Auto => "auto",
        ColorMode::Light => "light",
        ColorMode::Dark => "dark",
    };
    let layout = match appearance.position {
        Position::BottomBar => Some("bar"),
        Position::Inline { .. } => Some("inline"),
        _ => None,
    };
    html! {
        <section class={classes!("card", mode, layout)} aria-label={m.survey_label.clone()}
            lang={config.lang.clone()} dir={if rtl { "rtl" } else { "ltr" }}>
            <button type="button" class="close" aria-label={m.close.clone()} onclick={dispatch(Action::Dismiss)}>{"×"}</button>
            { progress }
            { body }
            // Present from the start so that screen readers announce the change to it.
            <p class="visually-hidden" role="status" aria-live="polite">
                { if flow.step == Step::Thanks { m.thanks_status.as_str() } else { "" } }
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use soovita_wire::{MAX_COMMENT_CHARS, MAX_EMAIL_BYTES};

    #[test]
    fn the_written_out_limits_are_the_wire_limits() {
        assert_eq!(COMMENT_LIMIT, MAX_COMMENT_CHARS.to_string());
        assert_eq!(EMAIL_LIMIT, MAX_EMAIL_BYTES.to_string());
    }
}
