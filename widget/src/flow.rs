//! The survey flow as data: every transition is in one `reduce`, testable without a browser.

use std::rc::Rc;

use soovita_wire::{
    is_valid_email, rotate_statements, Category, ContactAnswer, EffortDriver, PageContext,
    ResponseSubmission, StatementAnswer, SurveyConfig,
};
use yew::Reducible;

/// The survey configuration, shared and never changed once mounted: compared by identity, so
/// that Yew's checks for changed props and state never walk the whole configuration (a deep
/// comparison was 1.4 KB of the card's code).
#[derive(Debug, Clone)]
pub struct Config(pub Rc<SurveyConfig>);

impl PartialEq for Config {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Config {
    type Target = SurveyConfig;

    fn deref(&self) -> &SurveyConfig {
        &self.0
    }
}

/// Where the visitor is in the survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The 0–10 question.
    Score,
    /// The open question tailored to the category.
    Open,
    /// The loyalty statement with this index in [`Flow::statements`].
    Statement(usize),
    /// The Customer Effort Score, with the checklist if the survey has one.
    Effort,
    /// "May we contact you about this?"
    Contact,
    /// The thank-you, acknowledgement and reward.
    Thanks,
    /// Closed by the visitor; nothing is shown.
    Dismissed,
}

/// The whole state of one survey display.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub config: Config,
    /// Picks this visitor's statements (see [`rotate_statements`]).
    pub seed: u32,
    pub step: Step,
    /// The steps after the score, decided once the score is known; ends with `Thanks`.
    pub steps: Vec<Step>,
    /// The point under the keyboard cursor on the current scale, for `aria-checked`.
    pub selected: Option<u8>,
    pub score: Option<u8>,
    /// The answer to the open question as typed so far.
    pub comment: String,
    /// This visitor's statements, and their answers so far.
    pub statements: Vec<(String, Option<u8>)>,
    /// How many of them have been on screen.
    pub shown: usize,
    pub effort: Option<u8>,
    /// Ticked effort drivers.
    pub drivers: Vec<EffortDriver>,
    /// The email field as typed so far.
    pub email: String,
    /// The contact answer, once given.
    pub consent: Option<bool>,
    /// Whether the email field shows its error.
    pub email_invalid: bool,
    /// What the honeypot field held when the open question was left.
    pub honeypot: String,
    /// The page the survey is shown on.
    pub context: Option<PageContext>,
}

impl Flow {
    /// A fresh display of `config` on the page `context` describes.
    pub fn new(config: Config, seed: u32, context: Option<PageContext>) -> Self {
        Self {
            context,
            config,
            seed,
            step: Step::Score,
            steps: Vec::new(),
            selected: None,
            score: None,
            comment: String::new(),
            statements: Vec::new(),
            shown: 0,
            effort: None,
            drivers: Vec::new(),
            email: String::new(),
            consent: None,
            email_invalid: false,
            honeypot: String::new(),
        }
    }

    /// The visitor's category, once they have scored.
    pub fn category(&self) -> Option<Category> {
        self.score.map(Category::from_score)
    }

    /// 1-based position of the current step and the number of questions, for "Question 2 of 5".
    pub fn progress(&self) -> (usize, usize) {
        let total = self.steps.len().max(1);
        let position = self
            .steps
            .iter()
            .position(|s| *s == self.step)
            .map_or(1, |i| i + 2);
        (position, total)
    }

    /// Everything answered so far, as one submission: every post carries all of it, so a lost
    /// request costs nothing. Statements count as shown once the visitor has reached them.
    pub fn submission(&self, response_id: &str) -> Option<ResponseSubmission> {
        let score = self.score?;
        let comment = self.comment.trim();
        Some(ResponseSubmission {
            response_id: response_id.to_owned(),
            score: i32::from(score),
            survey_version: Some(self.config.version),
            lang: Some(self.config.lang.clone()),
            comment: (!comment.is_empty()).then(|| comment.to_owned()),
            statements: self.statements[..self.shown]
                .iter()
                .map(|(id, answer)| StatementAnswer {
                    id: id.clone(),
                    answer: answer.map(i32::from),
                })
                .collect(),
            effort: self.effort.map(i32::from),
            effort_drivers: self.drivers.clone(),
            contact: self.consent.map(|consent| ContactAnswer {
                consent,
                email: consent.then(|| self.email.trim().to_owned()),
            }),
            context: self.context.clone(),
            attributes: Default::default(),
            website: (!self.honeypot.is_empty()).then(|| self.honeypot.clone()),
        })
    }

    /// The steps after the score for a visitor in `category`.
    fn plan(&mut self, category: Category) {
        let plan = self.config.survey.plan(category);
        let ids: Vec<&str> = self
            .config
            .statements
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        self.statements = rotate_statements(&ids, plan.statements, self.seed)
            .into_iter()
            .map(|id| (id.to_owned(), None))
            .collect();
        self.steps.clear();
        if plan.open_question {
            self.steps.push(Step::Open);
        }
        self.steps
            .extend((0..self.statements.len()).map(Step::Statement));
        if plan.effort {
            self.steps.push(Step::Effort);
        }
        if plan.contact {
            self.steps.push(Step::Contact);
        }
        self.steps.push(Step::Thanks);
    }

    fn advance(&mut self) {
        let next = match self.step {
            Step::Score => self.steps.first(),
            _ => self
                .steps
                .iter()
                .position(|s| *s == self.step)
                .and_then(|i| self.steps.get(i + 1)),
        };
        self.step = next.copied().unwrap_or(Step::Thanks);
        if let Step::Statement(i) = self.step {
            self.shown = self.shown.max(i + 1);
        }
        self.selected = None;
    }
}

/// What the visitor did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Moved the keyboard cursor on the current scale.
    Select(u8),
    /// Chose a point on the current scale (click, tap, Space or Enter).
    Choose(u8),
    /// Typed in the open question's field.
    EditComment(String),
    /// Ticked or unticked an effort driver.
    ToggleDriver(EffortDriver),
    /// Typed in the email field.
    EditEmail(String),
    /// Said yes (with the email typed) or no to being contacted.
    Consent(bool),
    /// Left the current step with what it holds; carries the honeypot's value.
    Next(String),
    /// Left the current step without answering it.
    Skip,
    /// Closed the card.
    Dismiss,
}

impl Reducible for Flow {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match (self.step, action) {
            (_, Action::Dismiss) => next.step = Step::Dismissed,
            (Step::Score | Step::Statement(_) | Step::Effort, Action::Select(point)) => {
                next.selected = Some(point)
            }
            (Step::Score, Action::Choose(score)) => {
                let score = score.min(10);
                next.score = Some(score);
                next.plan(Category::from_score(score));
                next.advance();
            }
            (Step::Statement(i), Action::Choose(answer)) => {
                if let Some(statement) = next.statements.get_mut(i) {
                    statement.1 = Some(answer.clamp(1, 5));
                }
                next.advance();
            }
            (Step::Effort, Action::Choose(effort)) => {
                next.effort = Some(effort.clamp(1, 7));
                next.selected = next.effort;
                if !self.config.survey.effort_checklist {
                    next.advance();
                }
            }
            (Step::Effort, Action::ToggleDriver(driver)) => {
                if let Some(at) = next.drivers.iter().position(|d| *d == driver) {
                    next.drivers.remove(at);
                } else {
                    next.drivers.push(driver);
                }
            }
            (Step::Open, Action::EditComment(text)) => next.comment = text,
            (Step::Contact, Action::EditEmail(text)) => {
                next.email = text;
                next.email_invalid = false;
            }
            (Step::Contact, Action::Consent(true)) => {
                if is_valid_email(next.email.trim()) {
                    next.consent = Some(true);
                    next.advance();
                } else {
                    next.email_invalid = true;
                }
            }
            (Step::Contact, Action::Consent(false)) => {
                next.consent = Some(false);
                next.email.clear();
                next.advance();
            }
            (
                Step::Open | Step::Statement(_) | Step::Effort | Step::Contact,
                Action::Next(honeypot),
            ) => {
                if !honeypot.is_empty() {
                    next.honeypot = honeypot;
                }
                next.advance();
            }
            (Step::Open, Action::Skip) => {
                next.comment.clear();
                next.advance();
            }
            (Step::Effort, Action::Skip) => {
                next.effort = None;
                next.drivers.clear();
                next.advance();
            }
            (Step::Statement(_) | Step::Contact, Action::Skip) => next.advance(),
            // Anything else is a stale event from a step the visitor has left.
            _ => return self,
        }
        Rc::new(next)
    }
}

/// The point a key moves the cursor to on a `min..=max` scale laid out in reading order, if the
/// key moves it. Right-to-left pages mirror the horizontal arrows.
pub fn key_target(current: Option<u8>, key: &str, min: u8, max: u8, rtl: bool) -> Option<u8> {
    let current = current.unwrap_or(min).clamp(min, max);
    let forward = if current >= max { min } else { current + 1 };
    let back = if current <= min { max } else { current - 1 };
    match (key, rtl) {
        ("ArrowRight", false) | ("ArrowLeft", true) | ("ArrowDown", _) => Some(forward),
        ("ArrowLeft", false) | ("ArrowRight", true) | ("ArrowUp", _) => Some(back),
        ("Home", _) => Some(min),
        ("End", _) => Some(max),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use soovita_wire::{Messages, Statement, SurveyDefinition};

    use super::*;

    fn config(definition: SurveyDefinition) -> Config {
        let statements = [
            "trust.honest",
            "trust.competent",
            "fairness.respect",
            "cognitive.better",
        ]
        .map(|id| Statement {
            id: id.into(),
            text: id.into(),
        })
        .to_vec();
        Config(Rc::new(SurveyConfig {
            site_id: "s".into(),
            site_name: "Kohvik".into(),
            sample_percent: 100,
            cooldown_days: 0,
            honor_do_not_track: false,
            version: 4,
            lang: "et".into(),
            rtl: false,
            survey: definition,
            messages: Messages::default(),
            statements,
        }))
    }

    fn run(definition: SurveyDefinition, actions: impl IntoIterator<Item = Action>) -> Flow {
        actions
            .into_iter()
            .fold(
                Rc::new(Flow::new(config(definition), 7, None)),
                Reducible::reduce,
            )
            .as_ref()
            .clone()
    }

    fn next() -> Action {
        Action::Next(String::new())
    }

    #[test]
    fn a_detractor_goes_through_every_step_and_the_submission_holds_every_answer() {
        let flow = run(
            SurveyDefinition::default(),
            [
                Action::Choose(3),
                Action::EditComment(" Cold coffee ".into()),
                next(),
                Action::Choose(2),
                Action::Skip,
                Action::Choose(2),
                Action::ToggleDriver(EffortDriver::Transferred),
                next(),
                Action::EditEmail("mari@".into()),
                Action::Consent(true),
            ],
        );
        assert_eq!(
            flow.step,
            Step::Contact,
            "an invalid email keeps the visitor on the step"
        );
        assert!(flow.email_invalid);
        let flow = [
            Action::EditEmail("mari@example.ee".into()),
            Action::Consent(true),
        ]
        .into_iter()
        .fold(Rc::new(flow), Reducible::reduce);
        assert_eq!(flow.step, Step::Thanks);
        let sent = flow.submission("id").unwrap();
        assert_eq!(
            (sent.score, sent.survey_version, sent.lang.as_deref()),
            (3, Some(4), Some("et"))
        );
        assert_eq!(sent.comment.as_deref(), Some("Cold coffee"));
        let answers: Vec<_> = sent.statements.iter().map(|s| s.answer).collect();
        assert_eq!(
            answers,
            [Some(2), None],
            "two statements for a detractor, one skipped"
        );
        assert_eq!(
            (sent.effort, sent.effort_drivers),
            (Some(2), vec![EffortDriver::Transferred])
        );
        assert_eq!(
            sent.contact.unwrap().email.as_deref(),
            Some("mari@example.ee")
        );
    }

    #[test]
    fn a_statement_on_screen_is_sent_as_shown_before_it_is_answered() {
        let flow = run(SurveyDefinition::default(), [Action::Choose(10), next()]);
        assert_eq!(flow.step, Step::Statement(0));
        let sent = flow.submission("id").unwrap();
        assert_eq!(sent.statements.len(), 1);
        assert_eq!(sent.statements[0].answer, None);
        assert_eq!(
            flow.progress(),
            (3, 4),
            "promoter: score, open question, two statements"
        );
    }

    #[test]
    fn promoters_skip_effort_and_contact_and_steps_switched_off_are_skipped() {
        let flow = run(
            SurveyDefinition::default(),
            [Action::Choose(9), Action::Skip],
        );
        assert_eq!(
            flow.steps,
            [
                Step::Open,
                Step::Statement(0),
                Step::Statement(1),
                Step::Thanks
            ]
        );
        let bare = SurveyDefinition {
            open_question: false,
            statements_per_visitor: 0,
            effort: vec![],
            contact: vec![],
            ..SurveyDefinition::default()
        };
        assert_eq!(run(bare, [Action::Choose(2)]).step, Step::Thanks);
    }

    #[test]
    fn nothing_is_sent_before_a_score_and_declining_contact_sends_no_email() {
        assert!(run(SurveyDefinition::default(), [Action::Select(4)])
            .submission("id")
            .is_none());
        let flow = run(
            SurveyDefinition {
                statements_per_visitor: 0,
                open_question: false,
                effort: vec![],
                ..SurveyDefinition::default()
            },
            [
                Action::Choose(7),
                Action::EditEmail("x@y.ee".into()),
                Action::Consent(false),
            ],
        );
        assert_eq!(
            flow.submission("id").unwrap().contact,
            Some(ContactAnswer {
                consent: false,
                email: None
            })
        );
    }

    #[test]
    fn closing_on_a_statement_sends_only_the_statements_seen() {
        let flow = run(
            SurveyDefinition::default(),
            [Action::Choose(6), Action::Skip, Action::Dismiss],
        );
        let sent = flow.submission("id").unwrap();
        assert_eq!(
            sent.statements.len(),
            1,
            "the second statement was never on screen"
        );
    }

    #[test]
    fn dismiss_works_from_every_step_and_stale_events_are_ignored() {
        assert_eq!(
            run(SurveyDefinition::default(), [Action::Dismiss]).step,
            Step::Dismissed
        );
        let flow = run(
            SurveyDefinition::default(),
            [Action::Choose(5), Action::Dismiss],
        );
        assert_eq!(flow.step, Step::Dismissed);
        assert_eq!(
            flow.submission("id").unwrap().score,
            5,
            "an abandoned flow keeps its score"
        );
        let flow = run(
            SurveyDefinition::default(),
            [Action::Choose(5), Action::Choose(1)],
        );
        assert_eq!(
            flow.score,
            Some(5),
            "a second click after moving on must not change the score"
        );
    }

    #[test]
    fn arrow_keys_wrap_around_and_mirror_right_to_left() {
        assert_eq!(key_target(None, "ArrowRight", 0, 10, false), Some(1));
        assert_eq!(key_target(Some(10), "ArrowRight", 0, 10, false), Some(0));
        assert_eq!(key_target(Some(0), "ArrowLeft", 0, 10, false), Some(10));
        assert_eq!(key_target(Some(5), "Home", 0, 10, false), Some(0));
        assert_eq!(key_target(Some(5), "End", 1, 7, false), Some(7));
        assert_eq!(key_target(Some(3), "ArrowRight", 0, 10, true), Some(2));
        assert_eq!(key_target(None, "ArrowDown", 1, 5, false), Some(2));
        assert_eq!(key_target(Some(5), "a", 0, 10, false), None);
    }
}
