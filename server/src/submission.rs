//! From request body to validated update: the whole of ingest's input handling, in one place
//! so the handler and the fuzz target (`server/fuzz`) run the same code.

use soovita_wire::ResponseSubmission;

use crate::domain::{Comment, InvalidInput, ResponseId, Score};
use crate::error::ApiError;
use crate::store::ResponseUpdate;

/// Parses a body as sent by the widget (any content type) into a validated update.
pub fn parse(body: &[u8]) -> Result<(ResponseUpdate, bool), ApiError> {
    let submission: ResponseSubmission =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(validate(submission)?)
}

/// Validates a parsed submission; the flag says whether the honeypot field was filled in.
pub fn validate(submission: ResponseSubmission) -> Result<(ResponseUpdate, bool), InvalidInput> {
    let honeypot_filled = submission.website.as_deref().is_some_and(|w| !w.is_empty());
    let update = ResponseUpdate {
        id: ResponseId::parse(&submission.response_id)?,
        score: Score::try_from(submission.score)?,
        comment: Comment::parse(submission.comment)?,
    };
    Ok((update, honeypot_filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_parse_into_updates_or_name_the_problem() {
        let (update, honeypot) = parse(
            br#"{"response_id":"3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60","score":9,"comment":"Hea"}"#,
        )
        .unwrap();
        assert_eq!(
            (update.score.get(), update.comment.unwrap().as_str()),
            (9, "Hea")
        );
        assert!(!honeypot);
        let filled =
            br#"{"response_id":"3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60","score":1,"website":"x"}"#;
        assert!(parse(filled).unwrap().1);
        assert!(matches!(parse(b"\xff"), Err(ApiError::MalformedJson(_))));
        let bad_score = br#"{"response_id":"3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60","score":12}"#;
        assert!(matches!(
            parse(bad_score),
            Err(ApiError::InvalidField(InvalidInput::Score(12)))
        ));
    }
}
