//! Domain values parsed from untrusted input: once a handler holds one of these, it is valid.

use std::fmt;

use sha2::{Digest, Sha256};
use soovita_wire::{MAX_COMMENT_CHARS, SCORE_RANGE};
use subtle::ConstantTimeEq;
use thiserror::Error;
use uuid::Uuid;

/// Why a value from a request or the command line was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InvalidInput {
    #[error("score must be a whole number from 0 to 10, got {0}")]
    Score(i32),
    #[error("response_id must be a UUID such as 3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60, got {0:?}")]
    ResponseId(String),
    #[error("comment must be at most {MAX_COMMENT_CHARS} characters, got {0}")]
    CommentTooLong(usize),
    #[error("{0:?} is not an origin: write it as scheme://host[:port], e.g. https://shop.example")]
    Origin(String),
    #[error("{0:?} is not a site id")]
    SiteId(String),
    /// A survey definition an owner tried to save is invalid.
    #[error("invalid survey: {0}")]
    Survey(String),
    /// The survey version is not one of the site's.
    #[error("survey_version {0} is not a version of this site's survey: reload the page")]
    SurveyVersion(u32),
    #[error("lang {0:?} is not a supported language")]
    Language(String),
    /// An answer came for a step this survey does not ask a visitor with this score.
    #[error("this survey does not ask {step} of a visitor who answered {score}: remove the field")]
    StepNotInSurvey {
        /// The step, in words.
        step: &'static str,
        /// The NPS answer, which decides the steps.
        score: u8,
    },
    #[error("this survey shows at most {max} statements to a visitor with this score, got {got}")]
    TooManyStatements {
        /// What was sent.
        got: usize,
        /// What the survey allows.
        max: usize,
    },
    /// A statement id the bank does not have, or of a dimension the survey does not ask about.
    #[error("statement {0:?} is not part of this survey")]
    UnknownStatement(String),
    #[error("statement {0:?} appears twice")]
    DuplicateStatement(String),
    /// An agreement outside 1–5.
    #[error("the answer to statement {statement:?} must be 1 (strongly disagree) to 5 (strongly agree), got {answer}")]
    Agreement {
        statement: String,
        /// What was sent.
        answer: i32,
    },
    #[error("effort must be a whole number from 1 (very difficult) to 7 (very easy), got {0}")]
    Effort(i32),
    #[error("contact.email is not an email address like name@example.com")]
    Email,
    #[error("context: {0}")]
    Context(String),
    #[error("attributes: {0}")]
    Attributes(String),
    #[error("contact.email is required when contact.consent is true")]
    MissingEmail,
    #[error("contact.email must be absent when contact.consent is false")]
    EmailWithoutConsent,
    /// A control character other than tab and newline. PostgreSQL refuses NUL outright, so
    /// accepting one would answer 503 to the widget's outbox forever.
    #[error("{0} contains a control character (only tab and newline are allowed): remove it")]
    ControlCharacter(String),
}

/// `text` with CRLF line ends made LF (what HTML forms send), refused if any other control
/// character than tab and newline is left; `field` names it in the error.
pub fn plain_text(field: &str, text: &str) -> Result<String, InvalidInput> {
    let text = text.replace("\r\n", "\n");
    if text
        .chars()
        .any(|c| c.is_control() && c != '\t' && c != '\n')
    {
        return Err(InvalidInput::ControlCharacter(field.to_owned()));
    }
    Ok(text)
}

/// An answer on the Net Promoter scale, 0–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score(u8);

impl Score {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i32> for Score {
    type Error = InvalidInput;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        if SCORE_RANGE.contains(&value) {
            Ok(Self(value as u8))
        } else {
            Err(InvalidInput::Score(value))
        }
    }
}

/// A site's public identifier, the `data-site` of its script tag: 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteId(String);

impl SiteId {
    pub fn generate() -> Self {
        Self(Uuid::new_v4().simple().to_string())
    }

    /// Parses an id from a URL or the command line.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let well_formed = raw.len() == 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::SiteId(raw.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SiteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The widget-generated id of one survey response; also its idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResponseId(Uuid);

impl ResponseId {
    /// Parses the id a client sent.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Uuid::try_parse(raw)
            .map(Self)
            .map_err(|_| InvalidInput::ResponseId(raw.chars().take(64).collect()))
    }
}

impl fmt::Display for ResponseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A visitor's free-text comment, within the length limit and never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment(String);

impl Comment {
    /// `None` for a missing or blank comment, so that "nothing written" is stored one way.
    pub fn parse(raw: Option<String>) -> Result<Option<Self>, InvalidInput> {
        let Some(text) = raw.filter(|text| !text.trim().is_empty()) else {
            return Ok(None);
        };
        let chars = text.chars().count();
        if chars > MAX_COMMENT_CHARS {
            return Err(InvalidInput::CommentTooLong(chars));
        }
        Ok(Some(Self(plain_text("comment", &text)?)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A web origin (scheme, host and port), serialised the way browsers send it in `Origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    /// Parses an origin, tolerating a trailing slash and upper case, refusing paths.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::Origin(raw.chars().take(200).collect());
        let url = url::Url::parse(raw).map_err(|_| invalid())?;
        let only_origin = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && matches!(url.scheme(), "http" | "https");
        if !only_origin {
            return Err(invalid());
        }
        Ok(Self(url.origin().ascii_serialization()))
    }

    /// The serialised origin, e.g. `https://shop.example:8443`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A site's secret for the admin API. Only its SHA-256 is stored: the token has 256 random
/// bits, so a slow password hash would add cost without adding safety.
pub struct AdminToken(String);

impl AdminToken {
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        Self(format!("sv_{}", hex::encode(bytes)))
    }

    /// The token to show its owner, once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

/// The stored form of an [`AdminToken`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of a presented token.
    pub fn of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

    /// A hash read back from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex form, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so response timing does not leak how much of a guess matched.
    pub fn matches(&self, presented: &str) -> bool {
        Self::of(presented)
            .0
            .as_bytes()
            .ct_eq(self.0.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_outside_zero_to_ten_are_refused() {
        assert_eq!(Score::try_from(0).unwrap().get(), 0);
        assert_eq!(Score::try_from(10).unwrap().get(), 10);
        assert_eq!(Score::try_from(11), Err(InvalidInput::Score(11)));
        assert_eq!(Score::try_from(-1), Err(InvalidInput::Score(-1)));
    }

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        assert_eq!(
            Origin::parse("HTTPS://Shop.Example/").unwrap().as_str(),
            "https://shop.example"
        );
        assert_eq!(
            Origin::parse("https://shop.example:443").unwrap().as_str(),
            "https://shop.example"
        );
        assert_eq!(
            Origin::parse("http://127.0.0.1:8081").unwrap().as_str(),
            "http://127.0.0.1:8081"
        );
        for bad in [
            "shop.example",
            "https://shop.example/cart",
            "ftp://shop.example",
            "null",
            "",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn comments_count_characters_not_bytes() {
        let at_limit = "õ".repeat(MAX_COMMENT_CHARS);
        assert!(Comment::parse(Some(at_limit)).unwrap().is_some());
        let over = "õ".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            Comment::parse(Some(over)),
            Err(InvalidInput::CommentTooLong(MAX_COMMENT_CHARS + 1))
        );
        assert_eq!(Comment::parse(Some("  \n".into())), Ok(None));
    }

    #[test]
    fn site_ids_are_32_lowercase_hex_digits() {
        let id = SiteId::generate();
        assert_eq!(SiteId::parse(id.as_str()), Ok(id));
        assert!(SiteId::parse("ABCDEF0123456789ABCDEF0123456789").is_err());
        assert!(SiteId::parse("../etc/passwd").is_err());
    }

    #[test]
    fn response_ids_are_uuids_printed_hyphenated() {
        let id = ResponseId::parse("3F2B8C1E7A4D4E8B9C0A1B2C3D4E5F60").unwrap();
        assert_eq!(id.to_string(), "3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60");
        assert!(ResponseId::parse("").is_err());
    }

    #[test]
    fn token_hashes_match_only_their_token() {
        let token = AdminToken::generate();
        let hash = token.hash();
        assert!(hash.matches(token.reveal()));
        assert!(!hash.matches("sv_guess"));
        assert_ne!(hash.as_str(), token.reveal());
    }
}
