//! Errors as HTTP answers: every error of the API is an `application/problem+json` body (RFC
//! 9457) with a stable type, the status, and the field to blame. Internal errors are logged once
//! and answered with a generic 500 that reveals nothing.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use keel_api::Problem;
use keel_app::AppError;
use keel_store::StoreError;

/// Seconds a client is asked to wait when the database is unavailable.
pub const UNAVAILABLE_RETRY_SECS: i64 = 5;

/// An API error answer. The problem is boxed: results stay small on the happy path.
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    /// The answer carrying `p`.
    pub fn problem(p: Problem) -> Self {
        ApiError(Box::new(p))
    }

    /// A 400 for a malformed body or query.
    pub fn bad_request(detail: impl Into<String>, field: Option<String>) -> Self {
        let mut p = Problem::new("malformed-request", "The request is malformed", 400).detail(detail);
        p.field = field;
        ApiError::problem(p)
    }

    /// A 422 on `field`.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError::problem(Problem::new("validation", "An input is invalid", 422).detail(detail).field(field))
    }

    /// A 404.
    pub fn not_found() -> Self {
        ApiError::problem(Problem::new("not-found", "Not found", 404))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let p = match &e {
            AppError::Unauthenticated => Problem::new("unauthenticated", "Authentication required", 401)
                .detail("sign in, or send Authorization: Bearer <token>"),
            AppError::BadCredentials => Problem::new("bad-credentials", "Wrong e-mail or password", 401),
            AppError::Throttled { retry_after_secs } => {
                let mut p = Problem::new("throttled", "Too many failed sign-ins", 429).detail(e.to_string());
                p.retry_after = Some(*retry_after_secs);
                p
            }
            AppError::Forbidden { deciders, .. } => {
                let names: Vec<&str> = deciders.iter().map(|r| r.label()).collect();
                let who =
                    if names.is_empty() { "nobody in this product".to_string() } else { names.join(" or ") };
                let mut p = Problem::new("forbidden", "Not allowed", 403)
                    .detail(format!("{}; this is decided by the {who}", e));
                p.deciders = Some(deciders.iter().map(|r| r.as_str().to_string()).collect());
                p
            }
            AppError::NotYours(m) => Problem::new("not-yours", "Not allowed", 403).detail(m.clone()),
            AppError::AdminOnly => {
                Problem::new("admin-only", "Administrators only", 403).detail(e.to_string())
            }
            AppError::NotFound => Problem::new("not-found", "Not found", 404),
            AppError::Invalid(v) => Problem::new("validation", "An input is invalid", 422)
                .detail(v.to_string())
                .field(v.field.clone()),
            AppError::Conflict(m) => Problem::new("conflict", "Conflict", 409).detail(m.clone()),
            AppError::StaleVersion { current } => {
                let mut p = Problem::new("stale-version", "The object was changed by someone else", 409)
                    .detail(e.to_string())
                    .field("version");
                p.current_version = Some(*current);
                p
            }
            AppError::Internal(StoreError::Unavailable(reason)) => {
                tracing::warn!(reason = %reason, "database unavailable");
                let mut p = Problem::new("unavailable", "The database is unavailable", 503).detail(
                    "the database cannot be reached or takes no writes now; nothing was changed, try again",
                );
                p.retry_after = Some(UNAVAILABLE_RETRY_SECS);
                p
            }
            AppError::Internal(StoreError::StorageFull(reason)) => {
                tracing::error!(reason = %reason, "database out of space");
                Problem::new("storage-full", "The database is out of space", 507)
                    .detail("the server has no room to store this change; nothing was changed")
            }
            AppError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                Problem::new("internal", "Internal error", 500)
            }
        };
        ApiError::problem(p)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.0.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;
