//! The application's errors: one variant per distinct answer a caller must give.

use keel_domain::product::Role;
use keel_domain::rights::Action;
use keel_domain::ValidationError;
use keel_store::StoreError;

/// What a use case can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session or token (HTTP 401).
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong e-mail or password (HTTP 401); deliberately does not say which.
    #[error("wrong e-mail or password")]
    BadCredentials,
    /// Too many failed sign-ins (HTTP 429).
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled {
        /// Seconds until the lock lifts.
        retry_after_secs: i64,
    },
    /// The user may not do this; `deciders` hold the right (HTTP 403).
    #[error("you may not {}", action.describe())]
    Forbidden {
        /// The action refused.
        action: Action,
        /// The roles that decide it.
        deciders: Vec<Role>,
    },
    /// Only the author of an object (or an administrator) may do this (HTTP 403).
    #[error("{0}")]
    NotYours(String),
    /// Only administrators may do this (HTTP 403).
    #[error("only administrators may do this")]
    AdminOnly,
    /// The object does not exist or is not visible to the user (HTTP 404).
    #[error("not found")]
    NotFound,
    /// An input is invalid (HTTP 422), naming the field.
    #[error("{0}")]
    Invalid(ValidationError),
    /// A uniqueness rule or a state rule was broken (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The change named a stale version (HTTP 409).
    #[error("the item was changed by someone else (now at version {current})")]
    StaleVersion {
        /// The current version.
        current: i64,
    },
    /// Storage failed (HTTP 500); logged, never shown.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Contention => AppError::Conflict(StoreError::Contention.to_string()),
            StoreError::StaleVersion { current } => AppError::StaleVersion { current },
            StoreError::Invalid(v) => AppError::Invalid(v),
            other => AppError::Internal(other),
        }
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        AppError::Invalid(e)
    }
}

impl AppError {
    /// An [`AppError::Invalid`] on `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(ValidationError::new(field, message))
    }
}
