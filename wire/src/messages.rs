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

impl Messages {
    /// Every text by its name in the JSON, to fill in one by one: the card reads its
    /// configuration with `Reflect` rather than serde, whose visitor for this struct alone was
    /// 12 KB of the card's code.
    pub fn fields_mut(&mut self) -> [(&'static str, &mut String); 36] {
        [
            ("survey_label", &mut self.survey_label),
            ("close", &mut self.close),
            ("nps_question", &mut self.nps_question),
            ("nps_low", &mut self.nps_low),
            ("nps_high", &mut self.nps_high),
            ("open_detractor", &mut self.open_detractor),
            ("open_passive", &mut self.open_passive),
            ("open_promoter", &mut self.open_promoter),
            ("statement_intro", &mut self.statement_intro),
            ("agree_1", &mut self.agree_1),
            ("agree_2", &mut self.agree_2),
            ("agree_3", &mut self.agree_3),
            ("agree_4", &mut self.agree_4),
            ("agree_5", &mut self.agree_5),
            ("effort_question", &mut self.effort_question),
            ("effort_low", &mut self.effort_low),
            ("effort_high", &mut self.effort_high),
            ("effort_checklist", &mut self.effort_checklist),
            ("driver_contacted_again", &mut self.driver_contacted_again),
            (
                "driver_repeated_information",
                &mut self.driver_repeated_information,
            ),
            ("driver_switched_channel", &mut self.driver_switched_channel),
            ("driver_transferred", &mut self.driver_transferred),
            ("contact_question", &mut self.contact_question),
            ("contact_yes", &mut self.contact_yes),
            ("contact_no", &mut self.contact_no),
            ("email_label", &mut self.email_label),
            ("email_invalid", &mut self.email_invalid),
            ("contact_ack", &mut self.contact_ack),
            ("next", &mut self.next),
            ("skip", &mut self.skip),
            ("send", &mut self.send),
            ("thanks", &mut self.thanks),
            ("thanks_status", &mut self.thanks_status),
            ("reward_coupon", &mut self.reward_coupon),
            ("reward_link", &mut self.reward_link),
            ("progress", &mut self.progress),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Messages;

    #[test]
    fn every_field_is_named_as_serde_names_it() {
        let mut messages = Messages::default();
        for (n, (_, slot)) in messages.fields_mut().into_iter().enumerate() {
            *slot = n.to_string();
        }
        let json = serde_json::to_value(&messages).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.len(), 36);
        for (n, (name, _)) in Messages::default().fields_mut().into_iter().enumerate() {
            assert_eq!(object[name], n.to_string(), "{name}");
        }
    }
}
