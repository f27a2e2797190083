//! The survey flow as data: every transition is in one `reduce`, testable without a browser.

use std::rc::Rc;

use yew::Reducible;

/// Where the visitor is in the survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The 0–10 question.
    Score,
    /// The optional comment.
    Comment,
    /// The thank-you; the answers are sent.
    Thanks,
    /// Closed by the visitor; nothing is shown.
    Dismissed,
}

/// The whole state of one survey display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The current step.
    pub step: Step,
    /// The score under the keyboard cursor or committed by a click, for `aria-checked`.
    pub selected: Option<u8>,
    /// The committed score; `Some` once it has been sent.
    pub score: Option<u8>,
    /// The comment as typed so far.
    pub comment: String,
}

impl Default for Flow {
    fn default() -> Self {
        Self {
            step: Step::Score,
            selected: None,
            score: None,
            comment: String::new(),
        }
    }
}

/// What the visitor did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Moved the selection on the scale with the keyboard.
    Select(u8),
    /// Chose a score (click, tap, Space or Enter).
    Choose(u8),
    /// Typed in the comment field.
    EditComment(String),
    /// Sent the comment.
    SubmitComment,
    /// Skipped the comment.
    SkipComment,
    /// Closed the card.
    Dismiss,
}

impl Reducible for Flow {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match (self.step, action) {
            (_, Action::Dismiss) => next.step = Step::Dismissed,
            (Step::Score, Action::Select(score)) => next.selected = Some(score.min(10)),
            (Step::Score, Action::Choose(score)) => {
                next.selected = Some(score.min(10));
                next.score = next.selected;
                next.step = Step::Comment;
            }
            (Step::Comment, Action::EditComment(text)) => next.comment = text,
            (Step::Comment, Action::SubmitComment | Action::SkipComment) => {
                next.step = Step::Thanks
            }
            // Anything else is a stale event from a step the visitor has left.
            _ => return self,
        }
        Rc::new(next)
    }
}

/// The score a key moves the selection to on a horizontal 0–10 scale, if the key moves it.
pub fn key_target(current: Option<u8>, key: &str) -> Option<u8> {
    let current = current.unwrap_or(0);
    match key {
        "ArrowRight" | "ArrowUp" => Some(if current >= 10 { 0 } else { current + 1 }),
        "ArrowLeft" | "ArrowDown" => Some(if current == 0 { 10 } else { current - 1 }),
        "Home" => Some(0),
        "End" => Some(10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(actions: impl IntoIterator<Item = Action>) -> Flow {
        actions
            .into_iter()
            .fold(Rc::new(Flow::default()), Reducible::reduce)
            .as_ref()
            .clone()
    }

    #[test]
    fn choosing_a_score_commits_it_and_asks_for_a_comment() {
        let flow = run([Action::Select(3), Action::Choose(9)]);
        assert_eq!(flow.step, Step::Comment);
        assert_eq!(flow.score, Some(9));
    }

    #[test]
    fn selecting_with_arrows_commits_nothing() {
        let flow = run([Action::Select(4)]);
        assert_eq!(
            (flow.step, flow.selected, flow.score),
            (Step::Score, Some(4), None)
        );
    }

    #[test]
    fn comment_then_send_thanks_the_visitor() {
        let flow = run([
            Action::Choose(2),
            Action::EditComment("Slow delivery".into()),
            Action::SubmitComment,
        ]);
        assert_eq!(flow.step, Step::Thanks);
        assert_eq!(flow.comment, "Slow delivery");
        assert_eq!(flow.score, Some(2));
    }

    #[test]
    fn dismiss_works_from_every_step_and_stale_events_are_ignored() {
        assert_eq!(run([Action::Dismiss]).step, Step::Dismissed);
        assert_eq!(
            run([Action::Choose(5), Action::Dismiss]).step,
            Step::Dismissed
        );
        let flow = run([Action::Choose(5), Action::Choose(1)]);
        assert_eq!(
            flow.score,
            Some(5),
            "a second click after moving on must not change the score"
        );
    }

    #[test]
    fn arrow_keys_wrap_around_the_scale() {
        assert_eq!(key_target(None, "ArrowRight"), Some(1));
        assert_eq!(key_target(Some(10), "ArrowRight"), Some(0));
        assert_eq!(key_target(Some(0), "ArrowLeft"), Some(10));
        assert_eq!(key_target(Some(5), "Home"), Some(0));
        assert_eq!(key_target(Some(5), "End"), Some(10));
        assert_eq!(key_target(Some(5), "a"), None);
    }
}
