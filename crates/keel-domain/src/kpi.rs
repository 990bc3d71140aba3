//! KPIs: a measured outcome with a baseline, a target and a series of measurements; where the
//! latest measurement stands between baseline and target is the progress of a key result.

use crate::error::text;
use crate::{Date, Invalid, ValidationError};
use serde::{Deserialize, Serialize};

/// Most measurements one KPI keeps.
pub const MEASUREMENTS_MAX: usize = 5_000;
/// Longest note of a measurement.
pub const NOTE_MAX: usize = 500;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { #[default] $($v),* }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// Wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            /// Parses a wire name, naming `field` when it is none of them.
            pub fn parse(field: &str, s: &str) -> Invalid<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s).ok_or_else(|| {
                    let all: Vec<&str> = Self::ALL.iter().map(|x| x.as_str()).collect();
                    ValidationError::new(field, format!("must be one of {}", all.join(", ")))
                })
            }
        }
    };
}

wire_enum!(
    /// What a KPI measures.
    KpiKind { Custom => "custom", Revenue => "revenue", Adoption => "adoption", Csat => "csat", Nps => "nps",
        MarketShare => "market_share", Retention => "retention" }
);
wire_enum!(
    /// The unit of a KPI's values.
    Unit { Count => "count", Currency => "currency", Percent => "percent", Score => "score" }
);
wire_enum!(
    /// Which way is good.
    Direction { Up => "up", Down => "down" }
);

/// One measurement of a KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The day it was measured.
    pub date: Date,
    /// The value, in the KPI's unit.
    pub value: f64,
    /// A note.
    #[serde(default)]
    pub note: String,
}

/// A KPI as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    /// Its name.
    pub name: String,
    /// What it measures.
    #[serde(default)]
    pub kind: KpiKind,
    /// Its unit.
    #[serde(default)]
    pub unit: Unit,
    /// Which way is good.
    #[serde(default)]
    pub direction: Direction,
    /// Where it started.
    pub baseline: f64,
    /// Where it should get to.
    pub target: f64,
    /// By when.
    #[serde(default)]
    pub due: Option<Date>,
    /// The series, ordered by date (a measurement of the same day after earlier ones).
    #[serde(default)]
    pub measurements: Vec<Measurement>,
}

/// Checks a value in `unit`: a finite number, a percentage within 0-100.
pub fn check_value(field: &str, unit: Unit, v: f64) -> Invalid<f64> {
    if !v.is_finite() {
        return Err(ValidationError::new(field, "must be a finite number"));
    }
    if unit == Unit::Percent && !(0.0..=100.0).contains(&v) {
        return Err(ValidationError::new(field, "must be a percentage between 0 and 100"));
    }
    Ok(v)
}

impl Kpi {
    /// Checks the definition (not the measurements): a name, values in the unit, a target that
    /// differs from the baseline and lies in the good direction from it.
    pub fn validate(mut self) -> Invalid<Self> {
        self.name = text("name", &self.name, 1, 200, false)?;
        check_value("baseline", self.unit, self.baseline)?;
        check_value("target", self.unit, self.target)?;
        if self.target == self.baseline {
            return Err(ValidationError::new("target", "must differ from the baseline"));
        }
        let up = self.target > self.baseline;
        if up != (self.direction == Direction::Up) {
            let why = if up {
                "must be below the baseline when down is good"
            } else {
                "must be above the baseline when up is good"
            };
            return Err(ValidationError::new("target", why));
        }
        for (i, m) in self.measurements.iter().enumerate() {
            check_value(&format!("measurements[{i}].value"), self.unit, m.value)?;
        }
        Ok(self)
    }

    /// Adds measurements (checked against the unit), keeping the series ordered by date.
    pub fn add(&mut self, ms: Vec<Measurement>) -> Invalid<()> {
        for (i, m) in ms.iter().enumerate() {
            check_value(&format!("measurements[{i}].value"), self.unit, m.value)?;
            text(&format!("measurements[{i}].note"), &m.note, 0, NOTE_MAX, false)?;
        }
        if self.measurements.len() + ms.len() > MEASUREMENTS_MAX {
            return Err(ValidationError::new(
                "measurements",
                format!("a KPI keeps at most {MEASUREMENTS_MAX}"),
            ));
        }
        self.measurements.extend(ms);
        self.measurements.sort_by_key(|m| m.date);
        Ok(())
    }

    /// The latest measurement (the last of the latest day).
    pub fn latest(&self) -> Option<&Measurement> {
        self.measurements.last()
    }

    /// Progress of the latest measurement, 0-100 (`None` without measurements).
    pub fn progress(&self) -> Option<f64> {
        self.latest().map(|m| progress(self.baseline, self.target, m.value))
    }
}

/// Where `value` stands between `baseline` and `target`, in per cent, clamped to 0-100. The
/// direction is the sign of `target - baseline`: moving away from the target is 0 %.
pub fn progress(baseline: f64, target: f64, value: f64) -> f64 {
    let span = target - baseline;
    if span == 0.0 || !value.is_finite() {
        return 0.0;
    }
    ((value - baseline) / span * 100.0).clamp(0.0, 100.0)
}

/// The mean of the key results' progress (`None` when none has any).
pub fn mean_progress(parts: &[Option<f64>]) -> Option<f64> {
    let known: Vec<f64> = parts.iter().flatten().copied().collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

/// Parses CSV `date,value[,note]` (a header row is optional; blank lines are skipped). Every
/// bad row is reported as (row number from 1, message).
pub fn parse_csv(src: &str, unit: Unit) -> Result<Vec<Measurement>, Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in src.lines().enumerate() {
        let row = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ',');
        let date = parts.next().unwrap_or("").trim().trim_matches('"');
        let value = parts.next().unwrap_or("").trim().trim_matches('"');
        let note = parts.next().unwrap_or("").trim().trim_matches('"').to_string();
        if row == 1 && date.eq_ignore_ascii_case("date") {
            continue;
        }
        let d = match Date::parse("date", date) {
            Ok(d) => d,
            Err(_) if date.is_empty() => {
                errors.push((row, "date is missing".to_string()));
                continue;
            }
            Err(e) => {
                errors.push((row, format!("date {}", e.message)));
                continue;
            }
        };
        let v = match value
            .parse::<f64>()
            .map_err(|_| "value must be a number".to_string())
            .and_then(|v| check_value("value", unit, v).map_err(|e| format!("value {}", e.message)))
        {
            Ok(v) => v,
            Err(e) => {
                errors.push((row, e));
                continue;
            }
        };
        if note.chars().count() > NOTE_MAX {
            errors.push((row, format!("note is longer than {NOTE_MAX} characters")));
            continue;
        }
        out.push(Measurement { date: d, value: v, note });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("d", s).unwrap()
    }

    fn kpi(direction: Direction, baseline: f64, target: f64) -> Kpi {
        Kpi { name: "K".into(), unit: Unit::Percent, direction, baseline, target, ..Default::default() }
    }

    #[test]
    fn progress_is_where_the_value_stands_clamped() {
        // Up is good: 40 → 50, at 45 is halfway.
        assert_eq!(progress(40.0, 50.0, 45.0), 50.0);
        assert_eq!(progress(40.0, 50.0, 42.5), 25.0);
        assert_eq!(progress(40.0, 50.0, 38.0), 0.0);
        assert_eq!(progress(40.0, 50.0, 60.0), 100.0);
        // Down is good: churn 8 → 4, at 7 is a quarter of the way.
        assert_eq!(progress(8.0, 4.0, 7.0), 25.0);
        assert_eq!(progress(8.0, 4.0, 9.0), 0.0);
        assert_eq!(progress(8.0, 4.0, 2.0), 100.0);
    }

    #[test]
    fn goal_progress_is_the_mean_of_known_parts() {
        assert_eq!(mean_progress(&[Some(50.0), Some(25.0), None]), Some(37.5));
        assert_eq!(mean_progress(&[None]), None);
    }

    #[test]
    fn latest_measurement_counts() {
        let mut k = kpi(Direction::Up, 40.0, 50.0);
        assert_eq!(k.progress(), None);
        k.add(vec![
            Measurement { date: d("2026-03-01"), value: 48.0, note: String::new() },
            Measurement { date: d("2026-01-01"), value: 41.0, note: String::new() },
        ])
        .unwrap();
        assert_eq!(k.latest().unwrap().value, 48.0);
        assert_eq!(k.progress(), Some(80.0));
        assert_eq!(
            k.add(vec![Measurement { date: d("2026-04-01"), value: 101.0, note: String::new() }])
                .unwrap_err()
                .field,
            "measurements[0].value"
        );
        assert_eq!(k.measurements.len(), 2);
    }

    #[test]
    fn definitions_are_checked() {
        assert_eq!(kpi(Direction::Up, 40.0, 40.0).validate().unwrap_err().field, "target");
        assert_eq!(kpi(Direction::Up, 40.0, 30.0).validate().unwrap_err().field, "target");
        assert_eq!(kpi(Direction::Down, 40.0, 50.0).validate().unwrap_err().field, "target");
        assert_eq!(kpi(Direction::Up, 40.0, 120.0).validate().unwrap_err().field, "target");
        assert_eq!(kpi(Direction::Up, f64::NAN, 1.0).validate().unwrap_err().field, "baseline");
        assert!(kpi(Direction::Down, 8.0, 4.0).validate().is_ok());
        assert_eq!(KpiKind::parse("kind", "nps").unwrap(), KpiKind::Nps);
        assert_eq!(Unit::parse("unit", "%").unwrap_err().field, "unit");
    }

    #[test]
    fn csv_rows_are_parsed_or_reported() {
        let ok = parse_csv(
            "date,value,note\n2026-01-01,41\n\n2026-02-01,43.5,after launch, with comma\n",
            Unit::Percent,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].note, "after launch, with comma");
        let bad = parse_csv("2026-01-01,41\n,42\n2026-13-01,1\n2026-02-01,x\n2026-02-02,120", Unit::Percent)
            .unwrap_err();
        let rows: Vec<usize> = bad.iter().map(|(r, _)| *r).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
        assert_eq!(bad[0].1, "date is missing");
    }
}
