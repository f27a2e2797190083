//! Survey definitions: what a site owner may save, and what one visitor is sent.

pub mod bank;

use std::collections::{BTreeMap, HashSet};

use soovita_wire::{
    is_hex_color, Messages, Position, Reward, Statement, SurveyConfig, SurveyDefinition, Targeting,
    Trigger, UrlMatch, MAX_DELAY_SECONDS, MAX_PAGE_RULES, MAX_PAGE_RULE_CHARS,
    MAX_PROMPTS_PER_MONTH, MAX_STATEMENTS_PER_VISITOR,
};

use crate::domain::InvalidInput;
use crate::sites::Site;

/// The longest wording override, in characters: a card question, not an essay.
const MAX_WORDING_CHARS: usize = 300;

/// Checks a definition before it is saved as a new version; names the first problem found.
pub fn check(definition: &SurveyDefinition) -> Result<(), InvalidInput> {
    let invalid = |message: String| Err(InvalidInput::Survey(message));
    if definition.statements_per_visitor > MAX_STATEMENTS_PER_VISITOR {
        return invalid(format!(
            "statements_per_visitor must be 0 to {MAX_STATEMENTS_PER_VISITOR}, got {}",
            definition.statements_per_visitor
        ));
    }
    let mut seen = HashSet::new();
    if let Some(twice) = definition.dimensions.iter().find(|d| !seen.insert(**d)) {
        return invalid(format!("dimension {} is listed twice", twice.as_str()));
    }
    let appearance = &definition.appearance;
    if !is_hex_color(&appearance.brand_color) {
        return invalid(format!(
            "appearance.brand_color must be #rrggbb, got {:?}",
            appearance.brand_color
        ));
    }
    if let Position::Inline { selector } = &appearance.position {
        if selector.trim().is_empty() || selector.len() > 200 {
            return invalid("appearance.position.selector must be a CSS selector of 1 to 200 characters, e.g. #feedback".into());
        }
    }
    match &definition.reward {
        Some(Reward::Coupon { code }) if code.trim().is_empty() || code.chars().count() > 64 => {
            return invalid("reward.code must be 1 to 64 characters".into());
        }
        Some(Reward::Link { url }) => {
            let web = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
            if !web {
                return invalid(format!(
                    "reward.url must be an https:// or http:// URL, got {url:?}"
                ));
            }
        }
        _ => {}
    }
    let message_keys = serde_json::to_value(Messages::default()).expect("messages serialise");
    for (lang, overrides) in &definition.wording {
        if bank::language(lang).is_none() {
            let known: Vec<_> = bank::codes().collect();
            return invalid(format!(
                "wording for unsupported language {lang:?}; supported: {}",
                known.join(", ")
            ));
        }
        for (key, text) in overrides {
            if message_keys.get(key).is_none() {
                return invalid(format!("wording.{lang}.{key} is not a message of the card"));
            }
            let length = text.chars().count();
            if text.trim().is_empty() || length > MAX_WORDING_CHARS {
                return invalid(format!(
                    "wording.{lang}.{key} must be 1 to {MAX_WORDING_CHARS} characters, got {length}"
                ));
            }
        }
    }
    check_targeting(&definition.targeting).map_err(InvalidInput::Survey)
}

/// Page rules, trigger and fatigue cap. A regular expression must mean the same to the
/// loader's `RegExp` as to this check, so the syntax the two disagree on is refused here
/// rather than failing silently in visitors' browsers.
fn check_targeting(targeting: &Targeting) -> Result<(), String> {
    if targeting.pages.len() > MAX_PAGE_RULES {
        return Err(format!(
            "targeting.pages may have at most {MAX_PAGE_RULES} rules, got {}",
            targeting.pages.len()
        ));
    }
    for (i, rule) in targeting.pages.iter().enumerate() {
        let length = rule.value.chars().count();
        if rule.value.is_empty() || length > MAX_PAGE_RULE_CHARS {
            return Err(format!(
                "targeting.pages[{i}].value must be 1 to {MAX_PAGE_RULE_CHARS} characters, got {length}"
            ));
        }
        if rule.kind == UrlMatch::Regex {
            if let Err(error) = regex_syntax::Parser::new().parse(&rule.value) {
                return Err(format!(
                    "targeting.pages[{i}].value is not a regular expression: {}",
                    error
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                ));
            }
            // `(?i)` and `(?P<name>…)` are Rust syntax that JavaScript rejects; `(?:…)` is both's.
            if rule.value.replace("(?:", "").contains("(?") {
                return Err(format!(
                    "targeting.pages[{i}].value {:?}: only (?:…) groups are supported, not flags or named groups",
                    rule.value
                ));
            }
        }
    }
    match targeting.trigger {
        Trigger::Delay(seconds) if seconds > MAX_DELAY_SECONDS => {
            return Err(format!(
                "targeting.trigger.delay must be 0 to {MAX_DELAY_SECONDS} seconds, got {seconds}"
            ));
        }
        Trigger::Scroll(percent) if !(1..=100).contains(&percent) => {
            return Err(format!(
                "targeting.trigger.scroll must be 1 to 100 (percent of the page), got {percent}"
            ));
        }
        _ => {}
    }
    if !(1..=MAX_PROMPTS_PER_MONTH).contains(&targeting.prompts_per_month) {
        return Err(format!(
            "targeting.prompts_per_month must be 1 to {MAX_PROMPTS_PER_MONTH}, got {}",
            targeting.prompts_per_month
        ));
    }
    Ok(())
}

/// `messages` with the owner's wording for some of them. Overrides were checked against the
/// message keys when the version was saved, so an unreadable result cannot happen; the bank's
/// wording stands in for it all the same.
fn reworded(messages: &Messages, overrides: &BTreeMap<String, String>) -> Messages {
    let mut fields = serde_json::to_value(messages).expect("messages serialise");
    if let Some(fields) = fields.as_object_mut() {
        for (key, text) in overrides {
            fields.insert(key.clone(), text.clone().into());
        }
    }
    serde_json::from_value(fields).unwrap_or_else(|_| messages.clone())
}

/// The site's current survey in the first supported language of `preferences` (comma-separated
/// language tags, most preferred first), with the owner's wording applied.
pub fn config_for(site: &Site, preferences: &str) -> SurveyConfig {
    let (lang, language) = bank::negotiate(preferences);
    let mut definition = site.survey.definition.clone();
    let wording = std::mem::take(&mut definition.wording);
    let messages = match wording.get(lang) {
        Some(overrides) => reworded(&language.messages, overrides),
        None => language.messages.clone(),
    };
    let statements = language
        .statements
        .iter()
        .filter(|(id, _)| {
            soovita_wire::Dimension::of_statement(id)
                .is_some_and(|d| definition.dimensions.contains(&d))
        })
        .map(|(id, text)| Statement {
            id: id.clone(),
            text: text.clone(),
        })
        .collect();
    SurveyConfig {
        site_id: site.id.to_string(),
        site_name: site.name.clone(),
        sample_percent: site.sample_percent,
        cooldown_days: site.cooldown_days,
        honor_do_not_track: site.honor_do_not_track,
        version: site.survey.version,
        lang: lang.to_owned(),
        rtl: language.rtl,
        survey: definition,
        messages,
        statements,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use soovita_wire::Dimension;

    use super::*;

    fn with(edit: impl FnOnce(&mut SurveyDefinition)) -> Result<(), InvalidInput> {
        let mut definition = SurveyDefinition::default();
        edit(&mut definition);
        check(&definition)
    }

    #[test]
    fn the_default_survey_is_valid() {
        assert_eq!(with(|_| {}), Ok(()));
    }

    fn rule(kind: UrlMatch, value: &str) -> soovita_wire::PageRule {
        soovita_wire::PageRule {
            kind,
            value: value.into(),
            exclude: false,
        }
    }

    #[test]
    fn page_rules_in_the_syntax_both_engines_share_are_accepted() {
        let accepted = with(|d| {
            d.targeting.pages = vec![
                rule(UrlMatch::Regex, r"^/(?:blog|news)/\d+$"),
                rule(UrlMatch::Contains, "/pricing"),
                soovita_wire::PageRule {
                    exclude: true,
                    ..rule(UrlMatch::Exact, "/checkout")
                },
            ];
            d.targeting.trigger = Trigger::Delay(MAX_DELAY_SECONDS);
        });
        assert_eq!(accepted, Ok(()));
    }

    #[test]
    fn bad_definitions_are_refused_with_the_field_named() {
        type Edit = Box<dyn FnOnce(&mut SurveyDefinition)>;
        let cases: [(&str, Edit); 13] = [
            (
                "statements_per_visitor",
                Box::new(|d| d.statements_per_visitor = 4),
            ),
            ("twice", Box::new(|d| d.dimensions.push(Dimension::Trust))),
            (
                "brand_color",
                Box::new(|d| d.appearance.brand_color = "blue".into()),
            ),
            (
                "selector",
                Box::new(|d| {
                    d.appearance.position = Position::Inline {
                        selector: " ".into(),
                    }
                }),
            ),
            (
                "reward.url",
                Box::new(|d| {
                    d.reward = Some(Reward::Link {
                        url: "javascript:alert(1)".into(),
                    })
                }),
            ),
            (
                "unsupported language",
                Box::new(|d| {
                    d.wording.insert("xx".into(), BTreeMap::new());
                }),
            ),
            (
                "targeting.pages[0].value is not a regular expression",
                Box::new(|d| d.targeting.pages.push(rule(UrlMatch::Regex, "/blog/("))),
            ),
            (
                "look-around",
                Box::new(|d| d.targeting.pages.push(rule(UrlMatch::Regex, "^/(?!admin)"))),
            ),
            (
                "only (?:…) groups",
                Box::new(|d| d.targeting.pages.push(rule(UrlMatch::Regex, "(?i)^/blog"))),
            ),
            (
                "targeting.pages[0].value must be 1 to",
                Box::new(|d| d.targeting.pages.push(rule(UrlMatch::Exact, ""))),
            ),
            (
                "targeting.trigger.scroll",
                Box::new(|d| d.targeting.trigger = Trigger::Scroll(0)),
            ),
            (
                "targeting.prompts_per_month",
                Box::new(|d| d.targeting.prompts_per_month = 0),
            ),
            (
                "not a message",
                Box::new(|d| {
                    d.wording.insert(
                        "et".into(),
                        BTreeMap::from([("nps_qestion".into(), "?".into())]),
                    );
                }),
            ),
        ];
        for (expected, edit) in cases {
            let error = with(edit).expect_err(expected).to_string();
            assert!(
                error.contains(expected),
                "{error:?} should mention {expected:?}"
            );
        }
    }
}
