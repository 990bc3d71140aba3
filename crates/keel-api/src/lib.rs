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
pub mod imports;
pub mod launch;
pub mod live;
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
///
/// Written out by hand: reports put tens of thousands of timestamps into one answer, and the
/// general formatter of the `time` crate was a fifth of a large cycle-time answer's cost.
/// Years outside 0000-9999 fall back to that formatter.
pub fn rfc3339(t: keel_domain::Timestamp) -> String {
    let ms = t.0.rem_euclid(1000);
    let secs = t.0.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return rfc3339_slow(t);
    }
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, sod / 60 % 60);
    put(17, 2, sod % 60);
    put(20, 3, ms);
    // Only ASCII digits and separators were written.
    String::from_utf8(b.to_vec()).unwrap_or_default()
}

/// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn rfc3339_slow(t: keel_domain::Timestamp) -> String {
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

    #[test]
    fn fast_path_agrees_with_the_time_crate() {
        // Leap days, century years, the epoch's edges and before it, every few hours over
        // several centuries.
        let mut t: i64 = -2_208_988_800_000; // 1900-01-01
        let step = 3 * 3_600_000 + 7_919; // not a divisor of a day: walks through every field
        while t < 7_258_118_400_000 {
            // 2200-01-01
            let ts = keel_domain::Timestamp(t);
            assert_eq!(super::rfc3339(ts), super::rfc3339_slow(ts), "{t}");
            t += step * 97;
        }
        for t in [-1, 0, 1, 951_782_400_000, 951_868_799_999, 4_107_542_399_999, 253_402_300_799_999] {
            let ts = keel_domain::Timestamp(t);
            assert_eq!(super::rfc3339(ts), super::rfc3339_slow(ts), "{t}");
        }
    }
}
