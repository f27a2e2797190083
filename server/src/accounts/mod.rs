//! Site owners who sign in to the console: their accounts, passwords, sessions, and the sites
//! each may act on (memberships, each with a [`Role`]). An account sees no site it is not a
//! member of; per-site API tokens (`domain::AdminToken`) stay the way scripts get in.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::domain::TokenHash;

pub mod sign_in_guard;
mod store;

pub use store::AccountStore;

/// How long a console session lasts without signing in again.
pub const SESSION_DAYS: i64 = 14;

/// The shortest password the CLI accepts for an owner.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// An owner account as stored: the password only as an argon2id PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Random, hex.
    pub id: String,
    /// Lower case, trimmed; unique.
    pub email: String,
    /// argon2id, as a PHC string with its salt and parameters.
    pub password_hash: String,
}

impl Owner {
    /// A new account for `email` with `password` hashed (argon2id, random salt).
    pub fn new(email: &str, password: &str) -> Self {
        let salt = SaltString::generate(&mut OsRng);
        let password_hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 with default parameters hashes any password")
            .to_string();
        Self {
            id: random_hex::<16>(),
            email: normalize_email(email),
            password_hash,
        }
    }

    /// Whether `password` is this owner's.
    pub fn has_password(&self, password: &str) -> bool {
        PasswordHash::new(&self.password_hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
    }
}

/// The password given, if long enough, or a generated one.
pub fn password_or_generated(given: Option<String>) -> Result<String, String> {
    match given {
        Some(password) if password.chars().count() < MIN_PASSWORD_CHARS => Err(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )),
        Some(password) => Ok(password),
        None => Ok(random_hex::<10>()),
    }
}

/// Checks a password typed for a missing account as long as a real one takes, so the time a
/// failed sign-in takes does not tell whether the email has an account.
pub fn spend_a_password_check(password: &str) {
    static DECOY: std::sync::OnceLock<Owner> = std::sync::OnceLock::new();
    let decoy = DECOY.get_or_init(|| Owner::new("decoy@invalid", &random_hex::<16>()));
    let _ = decoy.has_password(password);
}

/// Emails compare without case or surrounding space.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// How long an invitation's link works.
pub const INVITATION_DAYS: i64 = 7;

/// An account's membership of a site, as the members page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub owner_id: String,
    pub email: String,
    pub role: Role,
}

/// What became of a change to a site's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Changed,
    /// The account is not a member of the site.
    NotAMember,
    /// It would have left the site without an admin.
    LastAdmin,
}

/// An invitation to a site, not yet accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub site_id: crate::domain::SiteId,
    /// Normalized; accepting makes or uses the account of this address.
    pub email: String,
    pub role: Role,
    pub expires_at_ms: i64,
}

impl Invitation {
    /// A new invitation and the token its link carries (only the token's hash is stored).
    pub fn new(
        site_id: crate::domain::SiteId,
        email: &str,
        role: Role,
        now_ms: i64,
    ) -> (Self, String) {
        let invitation = Self {
            site_id,
            email: normalize_email(email),
            role,
            expires_at_ms: now_ms + INVITATION_DAYS * 24 * 60 * 60 * 1000,
        };
        (invitation, random_hex::<32>())
    }
}

/// A signed-in browser: the cookie holds the token, the database only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie's token.
    pub token_hash: TokenHash,
    pub owner_id: String,
    /// Put in every console form and checked on every POST (synchronizer token).
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

impl Session {
    /// A new session for `owner` and the token its cookie carries.
    pub fn start(owner: &Owner, now_ms: i64) -> (Self, String) {
        let token = random_hex::<32>();
        let session = Self {
            token_hash: TokenHash::of(&token),
            owner_id: owner.id.clone(),
            csrf_token: random_hex::<32>(),
            expires_at_ms: now_ms + SESSION_DAYS * 24 * 60 * 60 * 1000,
        };
        (session, token)
    }
}

/// What a membership allows on its site. Ordered: an admin may do all a member may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Results, comments, exports and the inbox: nothing that changes the site's set-up.
    Member,
    /// Everything on the site: settings, survey, webhooks, tokens, members.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Member, Self::Admin]
            .into_iter()
            .find(|role| role.as_str() == name)
    }
}

/// `N` random bytes from the operating system, as hex.
pub fn random_hex<const N: usize>() -> String {
    hex::encode(rand::random::<[u8; N]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_password_signs_in_and_none_is_stored_in_the_clear() {
        let owner = Owner::new("  Mari@Kohvik.EE ", "correct horse battery");
        assert_eq!(owner.email, "mari@kohvik.ee");
        assert!(owner.password_hash.starts_with("$argon2id$"));
        assert!(!owner.password_hash.contains("correct horse"));
        assert!(owner.has_password("correct horse battery"));
        assert!(!owner.has_password("correct horse batter"));
    }

    #[test]
    fn a_session_keeps_only_the_hash_of_its_token() {
        let owner = Owner::new("mari@kohvik.ee", "correct horse battery");
        let (session, token) = Session::start(&owner, 1_000);
        assert_eq!(token.len(), 64);
        assert!(session.token_hash.matches(&token));
        assert_ne!(session.token_hash.as_str(), token);
        assert_ne!(session.csrf_token, token);
        assert_eq!(session.expires_at_ms, 1_000 + SESSION_DAYS * 86_400_000);
    }
}
