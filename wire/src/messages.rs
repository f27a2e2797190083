//! Every sentence the card shows, in one language. The texts live in the server's question bank
//! (`server/bank/*.json`); this type is the list of keys every language must have.

use serde::{Deserialize, Serialize};

/// The card's wording in one language. `{site}` and `{email}` are filled in by the card.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Messages {
    /// The accessible name of the whole card.
    pub survey_label: String,
    /// The accessible name of the close button.
    pub close: String,
    /// The NPS question; contains `{site}`.
    pub nps_question: String,
    /// The 0 end of the NPS scale.
    pub nps_low: String,
    /// The 10 end of the NPS scale.
    pub nps_high: String,
    /// The open question for detractors (0–6).
    pub open_detractor: String,
    /// The open question for passives (7–8).
    pub open_passive: String,
    /// The open question for promoters (9–10).
    pub open_promoter: String,
    /// Above each loyalty statement.
    pub statement_intro: String,
    /// Agreement 1.
    pub agree_1: String,
    /// Agreement 2.
    pub agree_2: String,
    /// Agreement 3.
    pub agree_3: String,
    /// Agreement 4.
    pub agree_4: String,
    /// Agreement 5.
    pub agree_5: String,
    /// The Customer Effort Score question.
    pub effort_question: String,
    /// The 1 end of the effort scale.
    pub effort_low: String,
    /// The 7 end of the effort scale.
    pub effort_high: String,
    /// The legend of the effort-driver checklist.
    pub effort_checklist: String,
    /// Effort driver: contacted more than once.
    pub driver_contacted_again: String,
    /// Effort driver: had to repeat information.
    pub driver_repeated_information: String,
    /// Effort driver: had to switch channel.
    pub driver_switched_channel: String,
    /// Effort driver: was transferred.
    pub driver_transferred: String,
    /// "May we contact you about this?"
    pub contact_question: String,
    /// Consent given.
    pub contact_yes: String,
    /// Consent refused.
    pub contact_no: String,
    /// The label of the email field.
    pub email_label: String,
    /// Said when the email address is not one.
    pub email_invalid: String,
    /// What happens next after consent; contains `{site}` and `{email}`.
    pub contact_ack: String,
    /// Moves to the next step.
    pub next: String,
    /// Leaves a step unanswered.
    pub skip: String,
    /// Sends the last answer.
    pub send: String,
    /// The thank-you heading.
    pub thanks: String,
    /// Announced to screen readers when the answers are sent.
    pub thanks_status: String,
    /// Before a reward's coupon code.
    pub reward_coupon: String,
    /// The text of a reward link.
    pub reward_link: String,
    /// Progress, e.g. "Question 2 of 5"; contains `{n}` and `{total}`.
    pub progress: String,
}
