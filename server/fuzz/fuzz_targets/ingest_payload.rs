//! Any bytes as an ingest body: parsing and validation must never panic, and whatever they
//! accept must satisfy the limits the rest of the server relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soovita_server::submission;
use soovita_wire::MAX_COMMENT_CHARS;

fuzz_target!(|body: &[u8]| {
    if let Ok((update, _honeypot)) = submission::parse(body) {
        assert!(update.score.get() <= 10);
        assert_eq!(update.id.to_string().len(), 36);
        if let Some(comment) = &update.comment {
            assert!(comment.as_str().chars().count() <= MAX_COMMENT_CHARS);
            assert!(!comment.as_str().trim().is_empty());
        }
    }
});
