//! Form bodies as name–value pairs, so that a missing or repeated field is never a rejection
//! of the whole request: handlers read what they need and validate it through the application.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};

/// An `application/x-www-form-urlencoded` body.
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, or empty.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.opt(name).unwrap_or("")
    }

    /// The first value of `name`, if sent.
    pub(crate) fn opt(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The `version` a form was drawn at (the object's, for its edit to be refused with 409 when
    /// someone changed it since): absent or empty is none, anything else must be a whole number.
    pub(crate) fn version(&self) -> Result<Option<i64>, keel_app::AppError> {
        match self.get("version").trim() {
            "" => Ok(None),
            v => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| keel_app::AppError::invalid("version", "must be a whole number")),
        }
    }

    /// Every value of `name` (checkbox groups).
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map(|axum::Form(v)| FormData(v))
            .map_err(IntoResponse::into_response)
    }
}
