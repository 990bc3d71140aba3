//! Keel's wire types: the JSON bodies of the `/api/v1` API with their OpenAPI schemas, the
//! RFC 9457 problem body, and conversions from domain types.
//!
//! Request bodies refuse unknown fields, so a typo is an error rather than a silent no-op.
#![forbid(unsafe_code)]

pub mod board;
pub mod ceremonies;
pub mod comments;
pub mod discovery;
pub mod forecast;
pub mod launch;
pub mod market;
pub mod metrics;
pub mod outcomes;
pub mod poker;
pub mod portfolio;
pub mod problem;
pub mod readiness;
pub mod roadmap;
pub mod sprints;
pub mod vision;
pub mod webhooks;
pub mod wire;

pub use problem::Problem;

/// Formats a timestamp as RFC 3339 (UTC, milliseconds).
pub fn rfc3339(t: keel_domain::Timestamp) -> String {
    let nanos = i128::from(t.0) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(dt) => {
            let fmt = time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            );
            dt.format(&fmt).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_times() {
        assert_eq!(super::rfc3339(keel_domain::Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(keel_domain::Timestamp(1_764_000_000_123)), "2025-11-24T16:00:00.123Z");
    }
}
