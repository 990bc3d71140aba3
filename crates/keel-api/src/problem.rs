//! The RFC 9457 problem body every error answer carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error answer (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem, e.g. `https://keel.dev/problems/validation`.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The offending input field, when one is to blame (`title`, `criteria[2].text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a stale write: the version now current.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// For a refused action: the roles that decide it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deciders: Option<Vec<String>>,
    /// For a refusal that lifts by itself (throttling, the database unavailable): seconds to
    /// wait before trying again, also sent as `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
}

/// The base of problem type URIs.
pub const PROBLEM_BASE: &str = "https://keel.dev/problems/";

impl Problem {
    /// A problem of kind `kind` (appended to [`PROBLEM_BASE`]).
    pub fn new(kind: &str, title: &str, status: u16) -> Self {
        Problem {
            type_: format!("{PROBLEM_BASE}{kind}"),
            title: title.to_string(),
            status,
            detail: None,
            field: None,
            current_version: None,
            deciders: None,
            retry_after: None,
        }
    }

    /// With a detail.
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    /// With the field to blame.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }
}
