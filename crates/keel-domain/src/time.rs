//! Points in time as milliseconds since the Unix epoch (UTC), the one representation stored.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds.
    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0 + secs * 1000)
    }
}

/// A calendar date (UTC), stored as days since 1970-01-01; written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

impl Date {
    /// Parses `YYYY-MM-DD` (years 1970 to 9999).
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Date> {
        let err = || crate::ValidationError::new(field, "must be a date such as 2026-03-31");
        let b = s.trim().as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = &b[r];
            part.iter().all(u8::is_ascii_digit).then(|| std::str::from_utf8(part).ok()?.parse().ok())?
        };
        let (y, m, d) = (num(0..4).ok_or_else(err)?, num(5..7).ok_or_else(err)?, num(8..10).ok_or_else(err)?);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return Err(err());
        }
        Ok(Date(days_from_civil(y, m, d) as i32))
    }

    /// The date a timestamp falls on (UTC).
    pub fn of(t: Timestamp) -> Date {
        Date(t.0.div_euclid(86_400_000) as i32)
    }

    /// Midnight (UTC) at the start of this date.
    pub fn start(self) -> Timestamp {
        Timestamp(i64::from(self.0) * 86_400_000)
    }

    /// Midnight (UTC) at the end of this date (the start of the next).
    pub fn end(self) -> Timestamp {
        Timestamp((i64::from(self.0) + 1) * 86_400_000)
    }

    /// This date plus `days`.
    pub fn plus_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i64, i64, i64) {
        civil_from_days(i64::from(self.0))
    }

    /// Day of the week, Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday.
        ((i64::from(self.0) + 3).rem_euclid(7)) as u8
    }

    /// Whether it falls on a Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        self.weekday() >= 5
    }

    /// Working days (Monday to Friday) from `self` to `end`, both included.
    pub fn working_days_to(self, end: Date) -> i32 {
        (self.0..=end.0).filter(|d| !Date(*d).is_weekend()).count() as i32
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse("date", &s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-24", "2024-12-31", "9999-12-31"] {
            assert_eq!(Date::parse("d", s).unwrap().to_string(), s);
        }
        assert_eq!(Date::parse("d", "1970-01-02").unwrap(), Date(1));
        for bad in
            ["2026-02-29", "2026-13-01", "2026-00-10", "26-01-01", "2026-1-1", "", "2026-01-32", "abcd-ef-gh"]
        {
            assert!(Date::parse("d", bad).is_err(), "{bad}");
        }
        // 2026-11-24 is a Tuesday.
        assert_eq!(Date::parse("d", "2026-11-24").unwrap().weekday(), 1);
        let mon = Date::parse("d", "2026-11-23").unwrap();
        assert_eq!(mon.working_days_to(mon.plus_days(13)), 10);
        assert_eq!(Date::of(Timestamp(86_400_000 * 3 + 5)), Date(3));
    }
}
