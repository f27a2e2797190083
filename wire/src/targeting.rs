//! Who is asked, on which pages, and when. The loader applies all of it before any wasm is
//! fetched (`widget/loader/core.js`); the card itself never reads it.

use serde::{Deserialize, Serialize};

/// The most page rules a survey may have: each is checked on every navigation.
pub const MAX_PAGE_RULES: usize = 20;

/// The longest page rule value, in characters.
pub const MAX_PAGE_RULE_CHARS: usize = 500;

/// The longest trigger delay, in seconds.
pub const MAX_DELAY_SECONDS: u16 = 3600;

/// The most prompts a survey may allow per visitor per month.
pub const MAX_PROMPTS_PER_MONTH: u8 = 30;

/// Where and when the prompt appears, and how often a visitor may be asked at all.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// The pages the prompt may appear on, matched against the path (`/pricing`). No `exclude`
    /// rule may match, and when there are other rules one of them must. Empty: every page.
    #[serde(default)]
    pub pages: Vec<PageRule>,
    /// What makes the prompt appear on an eligible page.
    #[serde(default)]
    pub trigger: Trigger,
    /// Survey fatigue: the most prompts, from any Soovita survey on the host site, one visitor
    /// sees in 30 days. Counted in the visitor's browser, across every survey on the site.
    #[serde(default = "default_prompts_per_month")]
    pub prompts_per_month: u8,
}

fn default_prompts_per_month() -> u8 {
    2
}

impl Default for Targeting {
    /// Every page, as soon as the page has loaded, at most two prompts a month.
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            trigger: Trigger::default(),
            prompts_per_month: default_prompts_per_month(),
        }
    }
}

/// One page rule: `{"match": "contains", "value": "/checkout", "exclude": true}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PageRule {
    /// How `value` is compared with the path.
    #[serde(rename = "match")]
    pub kind: UrlMatch,
    /// A path, a part of one, or a regular expression.
    pub value: String,
    /// Whether a match keeps the prompt off the page instead of allowing it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude: bool,
}

/// How a page rule compares its value with the path.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UrlMatch {
    /// The path is the value.
    Exact,
    /// The path contains the value.
    Contains,
    /// The value, a regular expression (JavaScript syntax without flags, look-around or
    /// back-references), matches somewhere in the path.
    Regex,
}

/// What makes the prompt appear: `"load"`, `{"delay": 10}`, `{"scroll": 50}`,
/// `"exit_intent"` or `"api"`. `soovita('show')` shows it whatever the trigger.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// As soon as the page has loaded.
    #[default]
    Load,
    /// This many seconds after the page loaded (or, in a single-page app, was navigated to).
    Delay(u16),
    /// When the visitor has scrolled this percentage of the page, 1–100.
    Scroll(u8),
    /// When the pointer leaves the page towards the browser's tabs or address bar (desktop).
    ExitIntent,
    /// Only when the page calls `soovita('show')`.
    Api,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loader_reads_triggers_in_this_shape() {
        let shapes = [
            (Trigger::Load, r#""load""#),
            (Trigger::Delay(10), r#"{"delay":10}"#),
            (Trigger::Scroll(50), r#"{"scroll":50}"#),
            (Trigger::ExitIntent, r#""exit_intent""#),
            (Trigger::Api, r#""api""#),
        ];
        for (trigger, json) in shapes {
            assert_eq!(serde_json::to_string(&trigger).unwrap(), json);
            assert_eq!(serde_json::from_str::<Trigger>(json).unwrap(), trigger);
        }
    }

    #[test]
    fn a_definition_without_targeting_gets_the_defaults() {
        let targeting: Targeting = serde_json::from_str("{}").unwrap();
        assert_eq!(targeting, Targeting::default());
        let rule: PageRule =
            serde_json::from_str(r#"{"match":"regex","value":"^/blog/"}"#).unwrap();
        assert!(!rule.exclude);
        assert_eq!(rule.kind, UrlMatch::Regex);
    }
}
