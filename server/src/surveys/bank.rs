//! The question bank: every text of the card in every supported language, as data in
//! `server/bank/{lang}.json`. Adding a language is adding a file here and a line to [`FILES`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use soovita_wire::{Dimension, Messages};

/// The language every visitor falls back to.
pub const FALLBACK: &str = "en";

/// Every language file, by code; compiled into the binary.
const FILES: [(&str, &str); 9] = [
    ("en", include_str!("../../bank/en.json")),
    ("et", include_str!("../../bank/et.json")),
    ("pl", include_str!("../../bank/pl.json")),
    ("fi", include_str!("../../bank/fi.json")),
    ("lv", include_str!("../../bank/lv.json")),
    ("lt", include_str!("../../bank/lt.json")),
    ("ru", include_str!("../../bank/ru.json")),
    ("de", include_str!("../../bank/de.json")),
    ("ar", include_str!("../../bank/ar.json")),
];

/// One language of the bank.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// The language's own name for itself, for the survey editor.
    pub name: String,
    /// Whether it is written right to left.
    pub rtl: bool,
    pub messages: Messages,
    /// Loyalty statements by id (`dimension.name`).
    pub statements: BTreeMap<String, String>,
}

static BANK: LazyLock<BTreeMap<&'static str, Language>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(code, json)| {
            let language = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("server/bank/{code}.json is invalid: {e}"));
            (*code, language)
        })
        .collect()
});

/// The language with this code, if the bank has it.
pub fn language(code: &str) -> Option<(&'static str, &'static Language)> {
    BANK.get_key_value(code)
        .map(|(code, language)| (*code, language))
}

pub fn codes() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(code, _)| *code)
}

/// The first supported language among comma-separated BCP 47 tags (`et-EE,ru,en-US`), in
/// order of preference; [`FALLBACK`] if none is supported.
pub fn negotiate(preferences: &str) -> (&'static str, &'static Language) {
    preferences
        .split(',')
        .filter_map(|tag| {
            // `Accept-Language` entries carry a quality (`et;q=0.9`); browsers list them in order.
            let primary = tag
                .trim()
                .split([';', '-', '_'])
                .next()?
                .to_ascii_lowercase();
            language(&primary)
        })
        .next()
        .unwrap_or_else(|| language(FALLBACK).expect("the fallback language is in the bank"))
}

/// The ids of every statement in the bank; the same in every language (see the tests).
pub fn statement_ids() -> impl Iterator<Item = &'static str> {
    language(FALLBACK)
        .expect("the fallback language is in the bank")
        .1
        .statements
        .keys()
        .map(String::as_str)
}

/// Whether the bank has a statement with this id, and its dimension if so.
pub fn statement_dimension(id: &str) -> Option<Dimension> {
    statement_ids()
        .any(|known| known == id)
        .then(|| Dimension::of_statement(id))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message_and_statement_and_no_more() {
        let reference: Vec<&str> = statement_ids().collect();
        for code in codes() {
            // Parsing into `Messages` (deny_unknown_fields, no defaults) already fails on a
            // missing or misspelt message key.
            let (_, language) = language(code).unwrap_or_else(|| panic!("{code} did not load"));
            let ids: Vec<&str> = language.statements.keys().map(String::as_str).collect();
            assert_eq!(ids, reference, "{code} has a different set of statements");
            let messages = serde_json::to_value(&language.messages).unwrap();
            for (key, text) in messages.as_object().unwrap() {
                assert!(
                    !text.as_str().unwrap().trim().is_empty(),
                    "{code}.{key} is empty"
                );
            }
            for (id, text) in &language.statements {
                assert!(!text.trim().is_empty(), "{code} statement {id} is empty");
            }
            let m = &language.messages;
            assert!(
                m.nps_question.contains("{site}"),
                "{code}.nps_question lacks {{site}}"
            );
            assert!(
                m.contact_ack.contains("{email}"),
                "{code}.contact_ack lacks {{email}}"
            );
            assert!(m.progress.contains("{n}") && m.progress.contains("{total}"));
        }
    }

    #[test]
    fn every_dimension_has_at_least_two_statements_to_rotate() {
        for dimension in Dimension::ALL {
            let n = statement_ids()
                .filter(|id| Dimension::of_statement(id) == Some(dimension))
                .count();
            assert!(n >= 2, "{dimension:?} has {n} statements");
        }
        assert!(statement_ids().all(|id| Dimension::of_statement(id).is_some()));
    }

    #[test]
    fn languages_are_negotiated_in_order_of_preference() {
        assert_eq!(negotiate("et").0, "et");
        assert_eq!(negotiate("xx, pl-PL, en").0, "pl");
        assert_eq!(negotiate("ET_ee").0, "et");
        assert_eq!(negotiate("ja,ko").0, "en");
        // The loader's `lang` then the browser's Accept-Language, qualities and all.
        assert_eq!(negotiate(",,xx-XX,fi;q=0.9,en;q=0.8").0, "fi");
        assert_eq!(negotiate("").0, "en");
        assert!(negotiate("ar-EG").1.rtl);
        assert!(codes().count() >= 8);
    }
}
