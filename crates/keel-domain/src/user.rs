//! Users and their credentials.

use crate::error::{text, Invalid, ValidationError};
use crate::{Timestamp, TokenId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid e-mail address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, a non-empty local part, a domain without spaces, 254
    /// characters at most. `admin@localhost` is valid, on purpose.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        let s = s.trim().to_lowercase();
        let err = |m: &str| Err(ValidationError::new(field, m));
        if s.is_empty() {
            return err("must not be empty");
        }
        if s.len() > 254 {
            return err("must be at most 254 characters");
        }
        let Some((local, domain)) = s.split_once('@') else { return err("must contain @") };
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return err("is not an e-mail address");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == '"') {
            return err("must not contain spaces, quotes or angle brackets");
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return err("has an invalid domain");
        }
        Ok(Email(s))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a value read back from the store, which only ever holds parsed addresses.
    pub fn from_trusted(s: String) -> Self {
        Email(s)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A person's display name: 1 to 100 characters.
pub fn parse_name(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, 100, false)
}

/// Minimum and maximum password lengths, in characters.
pub const PASSWORD_MIN: usize = 10;
/// Passwords longer than this are refused, so hashing cannot be made a denial of service.
pub const PASSWORD_MAX: usize = 200;

/// Checks a new password's length. (Strength beyond length is the user's business; length is ours.)
pub fn check_password(field: &str, s: &str) -> Invalid<()> {
    let n = s.chars().count();
    if n < PASSWORD_MIN {
        return Err(ValidationError::new(field, format!("must be at least {PASSWORD_MIN} characters")));
    }
    if n > PASSWORD_MAX {
        return Err(ValidationError::new(field, format!("must be at most {PASSWORD_MAX} characters")));
    }
    Ok(())
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Unique, lower-cased e-mail address used to sign in.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// The argon2id hash in PHC string form.
    pub password_hash: String,
    /// Administrators manage users, products and memberships.
    pub is_admin: bool,
    /// Deactivated users cannot sign in or use tokens; their history stays.
    pub is_active: bool,
    /// When the account was made.
    pub created_at: Timestamp,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail address.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// argon2id PHC hash of the password.
    pub password_hash: String,
    /// Administrator or not.
    pub is_admin: bool,
}

/// A change to a user's account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New display name.
    pub name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Grant or remove administration.
    pub is_admin: Option<bool>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
}

/// An API token as stored: the secret itself is never kept, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id, which is also the public part of the token string.
    pub id: TokenId,
    /// Whose token it is.
    pub user_id: UserId,
    /// A label chosen by the user ("CI", "laptop").
    pub name: String,
    /// SHA-256 of the secret part, hex-encoded.
    pub secret_hash: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

/// A name for a token: 1 to 100 characters.
pub fn parse_token_name(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, 100, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("e", " Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        assert!(Email::parse("e", "admin@localhost").is_ok());
        for bad in ["", "ann", "@x", "a@", "a b@x", "a@@x", "a@x..y", "<a>@x"] {
            assert_eq!(Email::parse("email", bad).unwrap_err().field, "email", "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(check_password("p", "short").is_err());
        assert!(check_password("p", "long enough pass").is_ok());
        assert!(check_password("p", &"x".repeat(201)).is_err());
    }
}
