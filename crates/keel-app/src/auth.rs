//! Authentication: argon2id passwords, browser sessions with CSRF tokens, API tokens, and
//! sign-in throttling per account and per address.
//!
//! Secrets (session ids, token secrets) are random 256-bit values shown once; only their SHA-256
//! is stored, and stored hashes are compared in constant time.

use crate::{now, App, AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_domain::user::{check_password, parse_token_name, ApiToken, Email, User};
use keel_domain::{Timestamp, TokenId, UserId};
use keel_store::{Session, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// Prefix of every API token, so leaked tokens are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "keel_";

/// How often a token's last-used time is written at most, in seconds.
const TOUCH_EVERY_SECS: i64 = 60;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> AppResult<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|_| AppError::invalid("password", "could not be hashed"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AppError::invalid("password", "could not be hashed"))
}

/// Checks a password against a PHC hash; false for a malformed hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash of a password nobody knows, verified against when the account does not exist so that
/// a missing account takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("not a password of anyone here").unwrap_or_default())
}

/// 32 random bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of `s`, hex.
pub fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A random password for generated accounts: 20 URL-safe characters.
pub fn random_password() -> String {
    random_secret()[..20].to_string()
}

/// A signed-in browser session: the cookie value to set (shown once) and the stored session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id for the cookie.
    pub cookie: String,
    /// The stored session, with its CSRF token.
    pub session: Session,
    /// The user.
    pub user: User,
}

/// A newly created API token: the full token string (shown once) and the stored record.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// `keel_<id>_<secret>`, for `Authorization: Bearer`.
    pub token: String,
    /// The stored token.
    pub record: ApiToken,
}

impl App {
    /// Signs in with e-mail and password from `address`; throttled per account and address.
    pub async fn sign_in(&self, email: &str, password: &str, address: &str) -> AppResult<NewSession> {
        let user = self.check_credentials(email, password, address).await?;
        let cookie = random_secret();
        let at = now();
        let session = Session {
            id_hash: sha256_hex(&cookie),
            user_id: user.id,
            csrf_token: random_secret(),
            created_at: at,
            expires_at: at.plus_secs(self.settings.session_ttl_secs),
        };
        self.store.create_session(&session).await?;
        Ok(NewSession { cookie, session, user })
    }

    /// Checks e-mail and password with throttling; the user on success.
    pub async fn check_credentials(&self, email: &str, password: &str, address: &str) -> AppResult<User> {
        let s = &self.settings;
        let at = now();
        let since = Timestamp(at.0 - s.failure_window_secs * 1000);
        let email_key = format!("acct:{}", email.trim().to_lowercase());
        let addr_key = format!("addr:{address}");
        let locked = self.store.sign_in_failures(&email_key, since).await? >= s.max_failures_per_account
            || self.store.sign_in_failures(&addr_key, since).await? >= s.max_failures_per_address;
        if locked {
            return Err(AppError::Throttled { retry_after_secs: s.failure_window_secs });
        }
        let user = match Email::parse("email", email) {
            Ok(e) => match self.store.user_by_email(&e).await {
                Ok(u) => Some(u),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let hash = user.as_ref().map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
        let pw = password.to_string();
        // argon2 takes tens of milliseconds of CPU: keep it off the async threads.
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw)).await.unwrap_or(false);
        match user {
            Some(u) if ok && u.is_active => {
                self.store.clear_sign_in_failures(&email_key).await?;
                Ok(u)
            }
            _ => {
                self.store.record_sign_in_failure(&email_key, at).await?;
                self.store.record_sign_in_failure(&addr_key, at).await?;
                Err(AppError::BadCredentials)
            }
        }
    }

    /// The session and user behind a session cookie, if live and the user active.
    pub async fn session_user(&self, cookie: &str) -> AppResult<(Session, User)> {
        if cookie.is_empty() || cookie.len() > 100 {
            return Err(AppError::Unauthenticated);
        }
        match self.store.session(&sha256_hex(cookie), now()).await {
            Ok((s, u)) if u.is_active => Ok((s, u)),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::Unauthenticated),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the session behind a cookie.
    pub async fn sign_out(&self, cookie: &str) -> AppResult<()> {
        Ok(self.store.delete_session(&sha256_hex(cookie)).await?)
    }

    /// Creates an API token for `user`.
    pub async fn create_token(&self, user: &User, name: &str) -> AppResult<NewToken> {
        let name = parse_token_name("name", name)?;
        let secret = random_secret();
        let record = self.store.create_token(user.id, &name, &sha256_hex(&secret), &self.ctx(user)).await?;
        Ok(NewToken { token: format!("{TOKEN_PREFIX}{}_{secret}", record.id), record })
    }

    /// The user behind a bearer token, if the token is valid, unrevoked, and its user active.
    pub async fn token_user(&self, bearer: &str) -> AppResult<User> {
        let rest = bearer.strip_prefix(TOKEN_PREFIX).ok_or(AppError::Unauthenticated)?;
        let (id, secret) = rest.split_once('_').ok_or(AppError::Unauthenticated)?;
        let id: i64 = id.parse().map_err(|_| AppError::Unauthenticated)?;
        if secret.len() > 100 {
            return Err(AppError::Unauthenticated);
        }
        let entry = match self.caches.token(TokenId(id)) {
            Some(hit) => hit,
            None => match self.store.token_with_user(TokenId(id)).await {
                Ok(pair) => {
                    let e = std::sync::Arc::new(pair);
                    self.caches.put_token(e.clone());
                    e
                }
                Err(StoreError::NotFound) => return Err(AppError::Unauthenticated),
                Err(e) => return Err(e.into()),
            },
        };
        let (token, user) = (&entry.0, &entry.1);
        let given = sha256_hex(secret);
        let same: bool = given.as_bytes().ct_eq(token.secret_hash.as_bytes()).into();
        if !same || token.revoked_at.is_some() || !user.is_active {
            return Err(AppError::Unauthenticated);
        }
        let at = now();
        if token.last_used_at.is_none_or(|t| at.0 - t.0 > TOUCH_EVERY_SECS * 1000) {
            self.store.touch_token(token.id, at).await?;
            let touched = ApiToken { last_used_at: Some(at), ..token.clone() };
            self.caches.put_token(std::sync::Arc::new((touched, user.clone())));
        }
        Ok(user.clone())
    }

    /// The tokens of `owner`, for `user` (themselves or an administrator).
    pub async fn tokens_of(&self, user: &User, owner: UserId) -> AppResult<Vec<ApiToken>> {
        if user.id != owner && !user.is_admin {
            return Err(AppError::NotFound);
        }
        Ok(self.store.tokens_of(owner).await?)
    }

    /// Revokes a token of `user`'s own (or any, for an administrator).
    pub async fn revoke_token(&self, user: &User, id: TokenId) -> AppResult<ApiToken> {
        let t = self.store.token(id).await?;
        if t.user_id != user.id && !user.is_admin {
            return Err(AppError::NotFound);
        }
        let r = self.store.revoke_token(id, &self.ctx(user)).await;
        self.caches.forget_token(id);
        Ok(r?)
    }

    /// Changes `target`'s password: the user themselves (who must give the current one) or an
    /// administrator. Ends the target's sessions.
    pub async fn change_password(
        &self,
        user: &User,
        target: UserId,
        current: Option<&str>,
        new: &str,
    ) -> AppResult<User> {
        check_password("password", new)?;
        let t = self.store.user(target).await?;
        if user.id != t.id && !user.is_admin {
            return Err(AppError::AdminOnly);
        }
        if user.id == t.id && !user.is_admin {
            let cur = current.ok_or_else(|| AppError::invalid("current_password", "is required"))?;
            if !verify_password(&t.password_hash, cur) {
                return Err(AppError::invalid("current_password", "is wrong"));
            }
        }
        let patch =
            keel_domain::user::UserPatch { password_hash: Some(hash_password(new)?), ..Default::default() };
        let u = self.store.update_user(t.id, patch, &self.ctx(user)).await?;
        self.caches.forget_user(t.id);
        self.store.delete_sessions_of(t.id).await?;
        Ok(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong horse battery"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn secrets_are_random_and_hashes_stable() {
        assert_ne!(random_secret(), random_secret());
        assert_eq!(random_secret().len(), 43);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
