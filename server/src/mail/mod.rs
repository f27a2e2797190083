//! Mail owners send to visitors from the inbox: composed and checked here, queued in the
//! database (`store.rs`) and sent over SMTP by a background task (`sender.rs`), as webhook
//! deliveries are. The `lettre` library builds every header from checked values, so an address
//! or subject with a line break can neither be stored nor sent.

pub mod sender;
mod store;
pub mod templates;

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};

use crate::accounts::random_hex;
use crate::domain::{plain_text, ResponseId, SiteId};

pub use store::MailStore;

/// The longest subject an owner may write.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest message.
pub const MAX_BODY_CHARS: usize = 20_000;

/// How this server sends mail (`--smtp-url`, `--mail-from`).
#[derive(Clone)]
pub struct MailOptions {
    /// `smtp://`, `smtp://…?tls=required` (STARTTLS) or `smtps://`, perhaps with credentials:
    /// never logged or shown.
    smtp_url: String,
    /// The sender of every message; replies go to the owner who wrote it (`Reply-To`).
    pub from: Mailbox,
    /// How often due mail is looked for.
    pub tick: Duration,
    /// The wait before the second attempt after a temporary failure; each further one waits
    /// twice as long.
    pub first_retry: Duration,
    /// Attempts before a temporary failure counts as final.
    pub attempts: u32,
    /// How long the SMTP server may take.
    pub timeout: Duration,
    /// The console's address as owners reach it (`--console-url`), for links in digests.
    pub console_url: Option<String>,
}

impl fmt::Debug for MailOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailOptions")
            .field("smtp_url", &crate::db::redact_password(&self.smtp_url))
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidMail {
    #[error("the SMTP URL is not usable ({0}): write smtp://HOST:PORT, smtp://USER:PASSWORD@HOST:587?tls=required or smtps://HOST:465")]
    SmtpUrl(String),
    #[error(
        "{0:?} is not a sender address: write it as you@example.com or \"Name <you@example.com>\""
    )]
    From(String),
    #[error("write a subject of at most {MAX_SUBJECT_CHARS} characters, on one line")]
    Subject,
    #[error("write a message of at most {MAX_BODY_CHARS} characters")]
    Body,
    #[error("remove the control character from the {0}")]
    ControlCharacter(&'static str),
    #[error("{0:?} is not the console's address: write it as https://feedback.example")]
    ConsoleUrl(String),
    #[error("{0:?} is not an address mail can go to")]
    Address(String),
}

impl MailOptions {
    /// Checks the settings once, at start, so a typo stops the server with a message rather
    /// than failing every send later.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, InvalidMail> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url).map_err(|error| {
            InvalidMail::SmtpUrl(crate::db::redact_password(&error.to_string()))
        })?;
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| InvalidMail::From(from.to_owned()))?;
        Ok(Self {
            smtp_url: smtp_url.to_owned(),
            from,
            tick: Duration::from_secs(5),
            first_retry: Duration::from_secs(60),
            attempts: 8,
            timeout: Duration::from_secs(30),
            console_url: None,
        })
    }

    /// Links in mail to owners start with `url` (`https://feedback.example`).
    pub fn with_console_url(self, url: &str) -> Result<Self, InvalidMail> {
        let parsed = url::Url::parse(url.trim())
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.has_host())
            .ok_or_else(|| InvalidMail::ConsoleUrl(url.to_owned()))?;
        Ok(Self {
            console_url: Some(parsed.as_str().trim_end_matches('/').to_owned()),
            ..self
        })
    }

    fn transport(
        &self,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        Ok(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&self.smtp_url)?
                .timeout(Some(self.timeout))
                .build(),
        )
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    Queued,
    Sent,
    /// A temporary failure; it is tried again.
    Retrying,
    /// Refused for good, or out of attempts; the server's words are kept.
    Failed,
}

impl MailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Queued, Self::Sent, Self::Retrying, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == name)
    }
}

/// What a message is for. Only a reply counts as contacting the visitor: an acknowledgement is
/// the server's, not a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// An owner's message to the visitor of a case.
    Reply,
    /// An invitation to help with a site.
    Invitation,
    /// Mailed on its own soon after a visitor asked to be contacted.
    Acknowledgement,
    /// The list of newly overdue cases, to a site's admins.
    Digest,
    /// "How likely are you now to recommend…", after a case was resolved.
    CheckBack,
    /// An admin's test of the mail settings, to themselves.
    Test,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Invitation => "invitation",
            Self::Acknowledgement => "acknowledgement",
            Self::Digest => "digest",
            Self::CheckBack => "check_back",
            Self::Test => "test",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Reply,
            Self::Invitation,
            Self::Acknowledgement,
            Self::Digest,
            Self::CheckBack,
            Self::Test,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

/// A message to queue, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Random, or derived from what it is about when one message per occasion is the rule (an
    /// acknowledgement per case): the second server to queue it then adds nothing.
    pub id: String,
    pub kind: MailKind,
    pub site_id: SiteId,
    /// The case it is about; `None` for an invitation, a digest or a test.
    pub response_id: Option<ResponseId>,
    /// The owner who wrote it, whom the visitor's answer reaches (`Reply-To`).
    pub sender_email: String,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    /// `<id@soovita>`, so a visitor's mail client threads replies.
    pub message_id: String,
}

impl OutgoingMail {
    /// A message from `sender_email` to `to_email`, checked field by field.
    pub fn compose(
        kind: MailKind,
        site_id: SiteId,
        response_id: Option<ResponseId>,
        sender_email: &str,
        to_email: &str,
        subject: &str,
        body: &str,
    ) -> Result<Self, InvalidMail> {
        let subject = plain_text("subject", subject.trim())
            .map_err(|_| InvalidMail::ControlCharacter("subject"))?;
        if subject.is_empty()
            || subject.contains('\n')
            || subject.chars().count() > MAX_SUBJECT_CHARS
        {
            return Err(InvalidMail::Subject);
        }
        let body = plain_text("message", body.trim())
            .map_err(|_| InvalidMail::ControlCharacter("message"))?;
        if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
            return Err(InvalidMail::Body);
        }
        for address in [sender_email, to_email] {
            if address.parse::<lettre::Address>().is_err() {
                return Err(InvalidMail::Address(address.to_owned()));
            }
        }
        let id = random_hex::<16>();
        Ok(Self {
            message_id: format!("<{id}@soovita>"),
            id,
            kind,
            site_id,
            response_id,
            sender_email: sender_email.to_owned(),
            to_email: to_email.to_owned(),
            subject,
            body,
        })
    }

    /// The same message under an id of the caller's, so that queueing it twice adds it once.
    pub fn with_id(self, id: String) -> Self {
        Self {
            message_id: format!("<{id}@soovita>"),
            id,
            ..self
        }
    }
}

/// A message of a case's thread, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMail {
    pub id: String,
    pub kind: MailKind,
    pub sender_email: String,
    pub subject: String,
    pub body: String,
    pub status: MailStatus,
    pub attempts: u32,
    /// The SMTP server's words, for a failure or the last temporary one.
    pub error: Option<String>,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
}

/// A message claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMail {
    pub id: String,
    pub sender_email: String,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::{InvalidMail, MailOptions, OutgoingMail};
    use crate::domain::{ResponseId, SiteId};

    fn compose(to: &str, subject: &str, body: &str) -> Result<OutgoingMail, InvalidMail> {
        OutgoingMail::compose(
            super::MailKind::Reply,
            SiteId::generate(),
            ResponseId::parse("3f2b8c1e-7a4d-4e8b-9c0a-1b2c3d4e5f60").ok(),
            "anu@kohvik.ee",
            to,
            subject,
            body,
        )
    }

    #[test]
    fn headers_cannot_carry_line_breaks_and_every_field_is_checked() {
        assert!(compose("mari@example.com", "Your order", "Sorry!").is_ok());
        assert_eq!(
            compose("mari@example.com", "Hi\r\nBcc: all@example.com", "x"),
            Err(InvalidMail::Subject),
            "a line break in a subject"
        );
        assert_eq!(
            compose("mari@example.com", "Hi\rBcc: all@example.com", "x"),
            Err(InvalidMail::ControlCharacter("subject"))
        );
        assert_eq!(
            compose("mari@example.com", "two\nlines", "x"),
            Err(InvalidMail::Subject)
        );
        assert_eq!(
            compose("mari@example.com", " ", "x"),
            Err(InvalidMail::Subject)
        );
        assert_eq!(
            compose("mari@example.com", "Hi", ""),
            Err(InvalidMail::Body)
        );
        assert!(matches!(
            compose("x?cc=all@example.com\r\n", "Hi", "x"),
            Err(InvalidMail::Address(_))
        ));
    }

    #[test]
    fn settings_are_checked_at_start_and_the_password_is_never_shown() {
        let options = MailOptions::new(
            "smtp://soovita:hunter2@mail.example:587?tls=required",
            "Kohvik <tere@kohvik.ee>",
        )
        .unwrap();
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("***"),
            "{shown}"
        );
        assert!(matches!(
            MailOptions::new("http://mail.example", "a@b.ee"),
            Err(InvalidMail::SmtpUrl(_))
        ));
        assert!(matches!(
            MailOptions::new("smtp://mail.example", "not an address"),
            Err(InvalidMail::From(_))
        ));
    }
}
