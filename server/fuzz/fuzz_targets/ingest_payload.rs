//! Any bytes as an ingest body: parsing and validation must never panic, and whatever they
//! accept must satisfy the limits the rest of the server relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

use soovita_server::sites::PublishedSurvey;
use soovita_server::ingest::submission;
use soovita_wire::{SurveyDefinition, MAX_COMMENT_CHARS, MAX_STATEMENTS_PER_VISITOR};

/// Every step on, so that every field's validation is reachable.
static SURVEY: LazyLock<PublishedSurvey> = LazyLock::new(|| PublishedSurvey {
    version: 1,
    definition: SurveyDefinition {
        statements_per_visitor: MAX_STATEMENTS_PER_VISITOR,
        effort: vec![
            soovita_wire::Category::Detractor,
            soovita_wire::Category::Passive,
            soovita_wire::Category::Promoter,
        ],
        ..SurveyDefinition::default()
    },
});

fuzz_target!(|body: &[u8]| {
    if let Ok((update, _honeypot)) = submission::parse(body, &SURVEY) {
        assert!(update.statements.len() <= usize::from(MAX_STATEMENTS_PER_VISITOR));
        assert!(update.statements.iter().all(|s| s.answer.is_none_or(|a| (1..=5).contains(&a))));
        assert!(update.effort.is_none_or(|e| (1..=7).contains(&e)));
        assert!(update.email.is_none() || update.contact_consent == Some(true));
        assert!(update.score.get() <= 10);
        assert_eq!(update.id.to_string().len(), 36);
        if let Some(comment) = &update.comment {
            assert!(comment.as_str().chars().count() <= MAX_COMMENT_CHARS);
            assert!(!comment.as_str().trim().is_empty());
        }
    }
});
