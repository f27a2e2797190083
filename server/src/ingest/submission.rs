//! From request body to validated update: the whole of ingest's input handling, in one place
//! so the handler and the fuzz target (`server/fuzz`) run the same code.

use std::collections::{BTreeMap, HashSet};

use soovita_wire::{
    is_attribute_name, is_valid_email, Category, ContactAnswer, EffortDriver, PageContext,
    ResponseSubmission, StatementAnswer, SurveyDefinition, AGREEMENT_RANGE, EFFORT_RANGE,
    MAX_ATTRIBUTES, MAX_ATTRIBUTE_NAME_CHARS, MAX_ATTRIBUTE_VALUE_CHARS, MAX_EMAIL_BYTES,
    MAX_PATH_CHARS, MAX_QUERY_CHARS, UTM_PARAMETERS,
};

use crate::domain::{plain_text, Comment, InvalidInput, ResponseId, Score};
use crate::responses::{ResponseUpdate, StatementUpdate};
use crate::sites::PublishedSurvey;
use crate::surveys::bank;

/// Why a body is not a submission; the handler gets the first two stages from axum's extractor
/// and calls [`validate`], the fuzz target calls [`parse`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSubmission {
    #[error("the body is not valid JSON for this endpoint: {0}")]
    MalformedJson(String),
    #[error(transparent)]
    Field(#[from] InvalidInput),
}

/// Parses a body as sent by the widget (any content type) into a validated update of a response
/// to `survey`.
pub fn parse(
    body: &[u8],
    survey: &PublishedSurvey,
) -> Result<(ResponseUpdate, bool), InvalidSubmission> {
    let submission: ResponseSubmission = serde_json::from_slice(body)
        .map_err(|e| InvalidSubmission::MalformedJson(e.to_string()))?;
    Ok(validate(submission, survey)?)
}

/// Validates a parsed submission against the survey version it answers; the flag says whether
/// the honeypot field was filled in. Every answer must belong to a step the survey asks a
/// visitor with this score, so a refused request names the one field that is wrong.
pub fn validate(
    submission: ResponseSubmission,
    survey: &PublishedSurvey,
) -> Result<(ResponseUpdate, bool), InvalidInput> {
    let honeypot_filled = submission.website.as_deref().is_some_and(|w| !w.is_empty());
    let id = ResponseId::parse(&submission.response_id)?;
    let score = Score::try_from(submission.score)?;
    let definition = &survey.definition;
    let plan = definition.plan(Category::from_score(score.get()));
    let not_asked = |step| InvalidInput::StepNotInSurvey {
        step,
        score: score.get(),
    };

    let comment = Comment::parse(submission.comment)?;
    if comment.is_some() && !plan.open_question {
        return Err(not_asked("the open question"));
    }
    let lang = submission
        .lang
        .map(|code| {
            bank::language(&code)
                .map(|(code, _)| code)
                .ok_or(InvalidInput::Language(code))
        })
        .transpose()?;
    if submission.statements.len() > plan.statements {
        return Err(InvalidInput::TooManyStatements {
            got: submission.statements.len(),
            max: plan.statements,
        });
    }
    let statements = statements(submission.statements, definition)?;
    let effort = submission
        .effort
        .map(|effort| {
            if !plan.effort {
                Err(not_asked("the effort question"))
            } else if EFFORT_RANGE.contains(&effort) {
                Ok(effort as u8)
            } else {
                Err(InvalidInput::Effort(effort))
            }
        })
        .transpose()?;
    let effort_drivers = effort_drivers(submission.effort_drivers);
    if effort_drivers.is_some() && !(plan.effort && definition.effort_checklist) {
        return Err(not_asked("the effort checklist"));
    }
    let (contact_consent, email) = match submission.contact {
        Some(_) if !plan.contact => return Err(not_asked("contact consent")),
        Some(contact) => {
            let email = contact_email(contact)?;
            (Some(email.is_some()), email)
        }
        None => (None, None),
    };
    let context = submission
        .context
        .map(|c| context(c, definition.record_query_string))
        .transpose()?;
    let attributes = attributes(&submission.attributes)?;
    let update = ResponseUpdate {
        id,
        score,
        comment,
        survey_version: survey.version,
        lang,
        statements,
        effort,
        effort_drivers,
        contact_consent,
        email,
        page_path: context.as_ref().map(|c| c.path.clone()),
        page_query: context.as_ref().and_then(|c| c.query.clone()),
        referrer: context.as_ref().and_then(|c| c.referrer.clone()),
        device: context.as_ref().map(|c| c.device.as_str()),
        utm: context
            .filter(|c| !c.utm.is_empty())
            .map(|c| serde_json::to_string(&c.utm).expect("a map of strings serialises")),
        attributes,
    };
    Ok((update, honeypot_filled))
}

fn statements(
    answers: Vec<StatementAnswer>,
    definition: &SurveyDefinition,
) -> Result<Vec<StatementUpdate>, InvalidInput> {
    let mut seen = HashSet::new();
    answers
        .into_iter()
        .map(|StatementAnswer { id, answer }| {
            let Some(dimension) = bank::statement_dimension(&id)
                .filter(|dimension| definition.dimensions.contains(dimension))
            else {
                return Err(InvalidInput::UnknownStatement(
                    id.chars().take(64).collect(),
                ));
            };
            if !seen.insert(id.clone()) {
                return Err(InvalidInput::DuplicateStatement(id));
            }
            let answer = answer
                .map(|answer| {
                    if AGREEMENT_RANGE.contains(&answer) {
                        Ok(answer as u8)
                    } else {
                        Err(InvalidInput::Agreement {
                            statement: id.clone(),
                            answer,
                        })
                    }
                })
                .transpose()?;
            Ok(StatementUpdate {
                id,
                dimension,
                answer,
            })
        })
        .collect()
}

/// The page context, checked: a path, known UTM parameters, and a referrer that is a bare host
/// name. A query string from a survey that does not record them (an old card, a hand-made
/// request) is dropped rather than refused: the answer still counts.
pub(crate) fn context(
    mut context: PageContext,
    record_query: bool,
) -> Result<PageContext, InvalidInput> {
    let invalid = |message: String| Err(InvalidInput::Context(message));
    if !record_query {
        context.query = None;
    }
    if context.query.as_deref().is_some_and(|query| {
        query.chars().count() > MAX_QUERY_CHARS
            || query.contains('#')
            || query.chars().any(char::is_control)
    }) {
        return invalid(format!(
            "query must be at most {MAX_QUERY_CHARS} characters, without the fragment"
        ));
    }
    let path_ok = context.path.starts_with('/')
        && context.path.chars().count() <= MAX_PATH_CHARS
        && !context.path.contains(['?', '#'])
        && !context.path.chars().any(char::is_control);
    if !path_ok {
        return invalid(format!(
            "path must be a URL path of at most {MAX_PATH_CHARS} characters starting with /, without query or fragment"
        ));
    }
    if let Some(name) = context
        .utm
        .keys()
        .find(|name| !UTM_PARAMETERS.contains(&name.as_str()))
    {
        return invalid(format!(
            "utm has {name:?}; only {} are kept",
            UTM_PARAMETERS.join(", ")
        ));
    }
    if context
        .utm
        .values()
        .any(|value| value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS)
    {
        return invalid(format!(
            "utm values must be at most {MAX_ATTRIBUTE_VALUE_CHARS} characters"
        ));
    }
    for (name, value) in &context.utm {
        plain_text(&format!("context.utm.{name}"), value)?;
    }
    let host_like = |host: &str| {
        (1..=253).contains(&host.len())
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    };
    if context
        .referrer
        .as_deref()
        .is_some_and(|host| !host_like(host))
    {
        return invalid("referrer must be a host name such as news.example".into());
    }
    Ok(context)
}

/// The attributes as stored (a JSON object), within the limits; `None` if there are none.
pub(crate) fn attributes(
    attributes: &BTreeMap<String, String>,
) -> Result<Option<String>, InvalidInput> {
    let invalid = |message: String| Err(InvalidInput::Attributes(message));
    if attributes.len() > MAX_ATTRIBUTES {
        return invalid(format!(
            "at most {MAX_ATTRIBUTES} per response, got {}",
            attributes.len()
        ));
    }
    for (name, value) in attributes {
        if !is_attribute_name(name) {
            return invalid(format!(
                "name {:?} must be 1 to {MAX_ATTRIBUTE_NAME_CHARS} letters, digits or _",
                name.chars().take(64).collect::<String>()
            ));
        }
        if value.chars().count() > MAX_ATTRIBUTE_VALUE_CHARS {
            return invalid(format!(
                "{name} is longer than {MAX_ATTRIBUTE_VALUE_CHARS} characters"
            ));
        }
        plain_text(&format!("attributes.{name}"), value)?;
    }
    Ok((!attributes.is_empty())
        .then(|| serde_json::to_string(attributes).expect("a map of strings serialises")))
}

/// The ticked drivers as stored: each once, in checklist order; `None` if none was ticked.
pub(crate) fn effort_drivers(mut ticked: Vec<EffortDriver>) -> Option<String> {
    ticked.sort_unstable();
    ticked.dedup();
    let names: Vec<&str> = ticked.iter().map(|d| d.as_str()).collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// The address to write to: required with consent, refused without it.
fn contact_email(contact: ContactAnswer) -> Result<Option<String>, InvalidInput> {
    match (contact.consent, contact.email) {
        (true, None) => Err(InvalidInput::MissingEmail),
        (true, Some(email)) => {
            let email = email.trim();
            if email.len() <= MAX_EMAIL_BYTES && is_valid_email(email) {
                Ok(Some(email.to_owned()))
            } else {
                Err(InvalidInput::Email)
            }
        }
        (false, Some(_)) => Err(InvalidInput::EmailWithoutConsent),
        (false, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ID: &str = "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60";

    fn survey() -> PublishedSurvey {
        PublishedSurvey {
            version: 3,
            definition: SurveyDefinition::default(),
        }
    }

    fn check(body: serde_json::Value) -> Result<ResponseUpdate, InvalidSubmission> {
        parse(body.to_string().as_bytes(), &survey()).map(|(update, _)| update)
    }

    fn code(body: serde_json::Value) -> String {
        let error = check(body).expect_err("should be refused");
        let json =
            axum::response::IntoResponse::into_response(crate::http::error::ApiError::from(error));
        format!("{}", json.status())
    }

    #[test]
    fn bodies_parse_into_updates_or_name_the_problem() {
        let (update, honeypot) = parse(
            json!({"response_id": ID, "score": 9, "comment": "Hea"})
                .to_string()
                .as_bytes(),
            &survey(),
        )
        .unwrap();
        assert_eq!(
            (update.score.get(), update.comment.unwrap().as_str()),
            (9, "Hea")
        );
        assert_eq!(update.survey_version, 3);
        assert!(!honeypot);
        let filled = json!({"response_id": ID, "score": 1, "website": "x"}).to_string();
        assert!(parse(filled.as_bytes(), &survey()).unwrap().1);
        assert!(matches!(
            parse(b"\xff", &survey()),
            Err(InvalidSubmission::MalformedJson(_))
        ));
        assert!(matches!(
            check(json!({"response_id": ID, "score": 12})),
            Err(InvalidSubmission::Field(InvalidInput::Score(12)))
        ));
    }

    #[test]
    fn a_full_detractor_answer_is_kept_whole() {
        let update = check(json!({
            "response_id": ID, "score": 3, "lang": "et", "comment": "Aeglane",
            "statements": [{"id": "trust.honest", "answer": 2}, {"id": "fairness.respect"}],
            "effort": 2, "effort_drivers": ["transferred", "contacted_again", "transferred"],
            "contact": {"consent": true, "email": " mari@example.ee "}
        }))
        .unwrap();
        assert_eq!(update.lang, Some("et"));
        assert_eq!(update.statements.len(), 2);
        assert_eq!(
            update.statements[1].answer, None,
            "shown but skipped is kept as shown"
        );
        assert_eq!(update.effort, Some(2));
        assert_eq!(
            update.effort_drivers.as_deref(),
            Some("contacted_again,transferred")
        );
        assert_eq!(
            (update.contact_consent, update.email.as_deref()),
            (Some(true), Some("mari@example.ee"))
        );
    }

    #[test]
    fn the_query_string_is_kept_only_where_the_survey_records_it() {
        let body = json!({
            "response_id": ID, "score": 9,
            "context": {"path": "/search", "query": "q=mari%40example.ee", "device": "desktop"}
        });
        let dropped = check(body.clone()).unwrap();
        assert_eq!(dropped.page_path.as_deref(), Some("/search"));
        assert_eq!(dropped.page_query, None);

        let recording = PublishedSurvey {
            version: 1,
            definition: SurveyDefinition {
                record_query_string: true,
                ..SurveyDefinition::default()
            },
        };
        let parse = |body: serde_json::Value| {
            validate(serde_json::from_value(body).unwrap(), &recording).map(|(update, _)| update)
        };
        let kept = parse(body).unwrap();
        assert_eq!(kept.page_query.as_deref(), Some("q=mari%40example.ee"));
        let long = "q=".to_owned() + &"x".repeat(MAX_QUERY_CHARS);
        let error = parse(json!({
            "response_id": ID, "score": 9,
            "context": {"path": "/search", "query": long, "device": "desktop"}
        }))
        .unwrap_err();
        assert!(error.to_string().contains("query"), "{error}");
    }

    #[test]
    fn context_and_attributes_are_kept_within_their_limits() {
        let update = check(json!({
            "response_id": ID, "score": 9,
            "context": {"path": "/checkout/done", "device": "tablet", "referrer": "news.example",
                "utm": {"utm_source": "newsletter"}},
            "attributes": {"plan": "pro"}
        }))
        .unwrap();
        assert_eq!(update.page_path.as_deref(), Some("/checkout/done"));
        assert_eq!(
            (update.device, update.referrer.as_deref()),
            (Some("tablet"), Some("news.example"))
        );
        assert_eq!(
            update.utm.as_deref(),
            Some(r#"{"utm_source":"newsletter"}"#)
        );
        assert_eq!(update.attributes.as_deref(), Some(r#"{"plan":"pro"}"#));
    }

    #[test]
    fn tabs_and_line_ends_are_text_and_crlf_is_stored_as_lf() {
        let body = json!({"response_id": ID, "score": 2, "comment": "one\ttwo\r\nthree\nfour"});
        let update = check(body).unwrap();
        assert_eq!(update.comment.unwrap().as_str(), "one\ttwo\nthree\nfour");
    }

    #[test]
    fn every_wrong_answer_is_refused_by_name() {
        let cases = [
            (
                json!({"contact": {"consent": true, "email": "mari@"}}),
                InvalidInput::Email,
            ),
            (
                json!({"contact": {"consent": true}}),
                InvalidInput::MissingEmail,
            ),
            (
                json!({"contact": {"consent": false, "email": "mari@example.ee"}}),
                InvalidInput::EmailWithoutConsent,
            ),
            (json!({"effort": 8}), InvalidInput::Effort(8)),
            (
                json!({"statements": [{"id": "trust.honest", "answer": 6}]}),
                InvalidInput::Agreement {
                    statement: "trust.honest".into(),
                    answer: 6,
                },
            ),
            (
                json!({"statements": [{"id": "loyalty.made_up", "answer": 3}]}),
                InvalidInput::UnknownStatement("loyalty.made_up".into()),
            ),
            (
                json!({"statements": [{"id": "trust.honest"}, {"id": "trust.honest"}]}),
                InvalidInput::DuplicateStatement("trust.honest".into()),
            ),
            (json!({"lang": "xx"}), InvalidInput::Language("xx".into())),
            (
                json!({"comment": "ok\u{0}then"}),
                InvalidInput::ControlCharacter("comment".into()),
            ),
            (
                json!({"comment": "a lone \r return"}),
                InvalidInput::ControlCharacter("comment".into()),
            ),
            (
                json!({"attributes": {"plan": "pro\u{1b}[31m"}}),
                InvalidInput::ControlCharacter("attributes.plan".into()),
            ),
            (
                json!({"context": {"path": "/", "device": "phone", "utm": {"utm_source": "x\u{7f}"}}}),
                InvalidInput::ControlCharacter("context.utm.utm_source".into()),
            ),
            (
                json!({"context": {"path": "/a?token=secret", "device": "phone"}}),
                InvalidInput::Context("path must be a URL path of at most 512 characters starting with /, without query or fragment".into()),
            ),
            (
                json!({"context": {"path": "/", "device": "phone", "utm": {"gclid": "x"}}}),
                InvalidInput::Context("utm has \"gclid\"; only utm_source, utm_medium, utm_campaign, utm_term, utm_content are kept".into()),
            ),
            (
                json!({"context": {"path": "/", "device": "phone", "referrer": "<b>"}}),
                InvalidInput::Context("referrer must be a host name such as news.example".into()),
            ),
            (
                json!({"attributes": (0..21).map(|i| (format!("a{i}"), "x".to_owned())).collect::<BTreeMap<_, _>>()}),
                InvalidInput::Attributes("at most 20 per response, got 21".into()),
            ),
            (
                json!({"attributes": {"plan tier": "pro"}}),
                InvalidInput::Attributes("name \"plan tier\" must be 1 to 40 letters, digits or _".into()),
            ),
        ];
        for (fields, expected) in cases {
            let mut body = json!({"response_id": ID, "score": 2});
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            match check(body.clone()) {
                Err(InvalidSubmission::Field(error)) => assert_eq!(error, expected, "{body}"),
                other => panic!("{body} gave {:?}", other.map(|_| ())),
            }
            assert_eq!(code(body), "400 Bad Request");
        }
    }

    #[test]
    fn answers_for_steps_the_survey_does_not_ask_are_refused() {
        // Promoters are asked neither effort nor contact by default.
        for (fields, step) in [
            (json!({"effort": 5}), "the effort question"),
            (
                json!({"effort_drivers": ["transferred"]}),
                "the effort checklist",
            ),
            (json!({"contact": {"consent": false}}), "contact consent"),
        ] {
            let mut body = json!({"response_id": ID, "score": 10});
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            assert!(
                matches!(check(body), Err(InvalidSubmission::Field(InvalidInput::StepNotInSurvey { step: s, score: 10 })) if s == step),
                "{step}"
            );
        }
        let three =
            json!([{"id": "trust.honest"}, {"id": "fairness.respect"}, {"id": "cognitive.better"}]);
        assert!(matches!(
            check(json!({"response_id": ID, "score": 10, "statements": three})),
            Err(InvalidSubmission::Field(InvalidInput::TooManyStatements {
                got: 3,
                max: 2
            }))
        ));
        let mut without_trust = survey();
        without_trust
            .definition
            .dimensions
            .retain(|d| *d != soovita_wire::Dimension::Trust);
        let body = json!({"response_id": ID, "score": 10, "statements": [{"id": "trust.honest"}]});
        assert!(matches!(
            parse(body.to_string().as_bytes(), &without_trust),
            Err(InvalidSubmission::Field(InvalidInput::UnknownStatement(_)))
        ));
    }
}
