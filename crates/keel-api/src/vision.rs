//! Wire types: vision board, goals, key results and KPIs.

use crate::rfc3339;
use keel_domain::vision::{Vision, VisionFields, VisionVersion};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One version of a product's vision board.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisionVersionOut {
    /// 1, 2, 3… in the order saved.
    pub number: i64,
    /// The vision statement (Markdown).
    pub statement: String,
    /// Who the product is for (Markdown).
    pub target_group: String,
    /// The needs it meets (Markdown).
    pub needs: String,
    /// What it is and what makes it stand out (Markdown).
    pub product: String,
    /// How it benefits the company (Markdown).
    pub business_goals: String,
    /// Who saved it (user id).
    pub saved_by: Option<i64>,
    /// When (RFC 3339).
    pub saved_at: String,
}

impl VisionVersionOut {
    /// From the domain version.
    pub fn new(v: &VisionVersion) -> Self {
        let f = &v.fields;
        VisionVersionOut {
            number: v.number,
            statement: f.statement.clone(),
            target_group: f.target_group.clone(),
            needs: f.needs.clone(),
            product: f.product.clone(),
            business_goals: f.business_goals.clone(),
            saved_by: v.saved_by.map(|u| u.0),
            saved_at: rfc3339(v.saved_at),
        }
    }
}

/// A product's vision board: its current version (absent when never saved).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisionOut {
    /// The current version number (0 when never saved); send it back as `version` to save.
    pub version: i64,
    /// How many versions are kept.
    pub versions: i64,
    /// The current version.
    pub current: Option<VisionVersionOut>,
}

impl VisionOut {
    /// From the domain board.
    pub fn new(v: &Vision) -> Self {
        VisionOut {
            version: v.number(),
            versions: v.versions.len() as i64,
            current: v.current().map(VisionVersionOut::new),
        }
    }
}

/// Every kept version, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisionVersionsOut {
    /// The versions.
    pub versions: Vec<VisionVersionOut>,
}

/// A new version of the vision board.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisionIn {
    /// The vision statement (required, Markdown, up to 2 000 characters).
    pub statement: String,
    /// Who the product is for.
    #[serde(default)]
    pub target_group: String,
    /// The needs it meets.
    #[serde(default)]
    pub needs: String,
    /// What it is and what makes it stand out.
    #[serde(default)]
    pub product: String,
    /// How it benefits the company.
    #[serde(default)]
    pub business_goals: String,
    /// The version number read (0 when never saved); a stale one answers 409.
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when the save becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

impl VisionIn {
    /// The board's fields (checked by the use case).
    pub fn fields(&self) -> VisionFields {
        VisionFields {
            statement: self.statement.clone(),
            target_group: self.target_group.clone(),
            needs: self.needs.clone(),
            product: self.product.clone(),
            business_goals: self.business_goals.clone(),
        }
    }
}

/// Two versions compared field by field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisionCompareOut {
    /// The older side.
    pub a: VisionVersionOut,
    /// The other side.
    pub b: VisionVersionOut,
    /// The wire names of the fields that differ.
    pub changed: Vec<String>,
}

use keel_domain::kpi::{Direction, Kpi, KpiKind, Measurement, Unit};
use keel_domain::{Date, ValidationError};

/// A KPI's definition as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiIn {
    /// Its name.
    pub name: String,
    /// `revenue`, `adoption`, `csat`, `nps`, `market_share`, `retention` or `custom` (default).
    #[serde(default)]
    pub kind: Option<String>,
    /// `currency`, `percent`, `count` (default) or `score`.
    #[serde(default)]
    pub unit: Option<String>,
    /// `up` (default) or `down`: which way is good.
    #[serde(default)]
    pub direction: Option<String>,
    /// Where it starts.
    pub baseline: f64,
    /// Where it should get to (must differ from the baseline, in the good direction).
    pub target: f64,
    /// By when, `YYYY-MM-DD`.
    #[serde(default)]
    pub due: Option<String>,
}

impl KpiIn {
    /// The domain KPI (its rules are checked by the use case).
    pub fn parse(&self) -> Result<Kpi, ValidationError> {
        Ok(Kpi {
            name: self.name.clone(),
            kind: self.kind.as_deref().map(|s| KpiKind::parse("kind", s)).transpose()?.unwrap_or_default(),
            unit: self.unit.as_deref().map(|s| Unit::parse("unit", s)).transpose()?.unwrap_or_default(),
            direction: self
                .direction
                .as_deref()
                .map(|s| Direction::parse("direction", s))
                .transpose()?
                .unwrap_or_default(),
            baseline: self.baseline,
            target: self.target,
            due: self.due.as_deref().filter(|s| !s.is_empty()).map(|s| Date::parse("due", s)).transpose()?,
            measurements: vec![],
        })
    }
}

/// One measurement as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementIn {
    /// The day, `YYYY-MM-DD` (required).
    #[serde(default)]
    pub date: Option<String>,
    /// The value, in the KPI's unit (required; a percentage is 0-100).
    #[serde(default)]
    pub value: Option<f64>,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
    /// The unit the value is in, if the sender says; it must be the KPI's.
    #[serde(default)]
    pub unit: Option<String>,
}

/// One measurement or several (`{"measurements": [...]}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MeasurementsIn {
    /// Several.
    Many {
        /// The measurements.
        measurements: Vec<MeasurementIn>,
    },
    /// One.
    One(MeasurementIn),
}

impl MeasurementsIn {
    /// The domain measurements, naming the field at fault.
    pub fn parse(&self, unit: Unit) -> Result<Vec<Measurement>, ValidationError> {
        let (list, many) = match self {
            MeasurementsIn::Many { measurements } => (measurements.as_slice(), true),
            MeasurementsIn::One(m) => (std::slice::from_ref(m), false),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, m) in list.iter().enumerate() {
            let f = |name: &str| if many { format!("measurements[{i}].{name}") } else { name.to_string() };
            let date = m
                .date
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ValidationError::new(f("date"), "is required"))?;
            let date = Date::parse(&f("date"), date)?;
            let value = m.value.ok_or_else(|| ValidationError::new(f("value"), "is required"))?;
            if let Some(u) = m.unit.as_deref() {
                if Unit::parse(&f("unit"), u)? != unit {
                    return Err(ValidationError::new(
                        f("unit"),
                        format!("must be the KPI's unit, {}", unit.as_str()),
                    ));
                }
            }
            out.push(Measurement { date, value, note: m.note.clone().unwrap_or_default() });
        }
        Ok(out)
    }
}

/// One measurement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeasurementOut {
    /// The day.
    pub date: String,
    /// The value.
    pub value: f64,
    /// A note.
    pub note: String,
}

/// A KPI with its series and progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KpiOut {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// What it measures.
    pub kind: String,
    /// Its unit.
    pub unit: String,
    /// `up` or `down`: which way is good.
    pub direction: String,
    /// Where it started.
    pub baseline: f64,
    /// Where it should get to.
    pub target: f64,
    /// By when.
    pub due: Option<String>,
    /// The latest value.
    pub latest: Option<f64>,
    /// Where the latest value stands between baseline and target, 0-100 %.
    pub progress: Option<f64>,
    /// The series, by date.
    pub measurements: Vec<MeasurementOut>,
    /// The record version.
    pub version: i64,
}

impl KpiOut {
    /// From the domain KPI.
    pub fn new(id: i64, version: i64, k: &Kpi) -> Self {
        KpiOut {
            id,
            name: k.name.clone(),
            kind: k.kind.as_str().into(),
            unit: k.unit.as_str().into(),
            direction: k.direction.as_str().into(),
            baseline: k.baseline,
            target: k.target,
            due: k.due.map(|d| d.to_string()),
            latest: k.latest().map(|m| m.value),
            progress: k.progress(),
            measurements: k
                .measurements
                .iter()
                .map(|m| MeasurementOut { date: m.date.to_string(), value: m.value, note: m.note.clone() })
                .collect(),
            version,
        }
    }
}

/// A product's KPIs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KpiListOut {
    /// The KPIs, by id.
    pub kpis: Vec<KpiOut>,
}

/// A goal as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalIn {
    /// What the product wants to achieve.
    pub title: String,
    /// Why (Markdown).
    #[serde(default)]
    pub description: String,
    /// By when, `YYYY-MM-DD`.
    #[serde(default)]
    pub due: Option<String>,
    /// Its owner: the user id of a member of the product.
    #[serde(default)]
    pub owner: Option<i64>,
}

/// A key result as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyResultIn {
    /// What is measured.
    pub title: String,
    /// The KPI (of the same product) it tracks.
    #[serde(default)]
    pub kpi_id: Option<i64>,
}

/// A key result with its progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyResultOut {
    /// Stable within its goal.
    pub id: i64,
    /// What is measured.
    pub title: String,
    /// The KPI it tracks.
    pub kpi_id: Option<i64>,
    /// Where the KPI's latest measurement stands between baseline and target, 0-100 %.
    pub progress: Option<f64>,
}

/// A goal with its key results and progress (the mean of its key results').
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalOut {
    /// Its id.
    pub id: i64,
    /// What the product wants to achieve.
    pub title: String,
    /// Why (Markdown).
    pub description: String,
    /// By when.
    pub due: Option<String>,
    /// Its owner's user id.
    pub owner: Option<i64>,
    /// The mean progress of its key results, 0-100 %.
    pub progress: Option<f64>,
    /// The key results.
    pub key_results: Vec<KeyResultOut>,
}

impl GoalOut {
    /// From the goal and its progress figures.
    pub fn new(id: i64, g: &keel_domain::pm::Goal, krs: &[Option<f64>], progress: Option<f64>) -> Self {
        GoalOut {
            id,
            title: g.title.clone(),
            description: g.description.clone(),
            due: g.due.map(|d| d.to_string()),
            owner: g.owner.map(|u| u.0),
            progress,
            key_results: g
                .key_results
                .iter()
                .enumerate()
                .map(|(i, k)| KeyResultOut {
                    id: k.id,
                    title: k.title.clone(),
                    kpi_id: k.kpi_id.map(|x| x.0),
                    progress: krs.get(i).copied().flatten(),
                })
                .collect(),
        }
    }
}

/// A product's goals.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GoalListOut {
    /// The goals, by id.
    pub goals: Vec<GoalOut>,
}

fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a KPI's definition; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiPatchIn {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// `up` or `down`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Baseline.
    #[serde(default)]
    pub baseline: Option<f64>,
    /// Target.
    #[serde(default)]
    pub target: Option<f64>,
    /// Due date (empty clears).
    #[serde(default)]
    pub due: Option<String>,
    /// The version read; a stale one answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Changes to a goal; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPatchIn {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Due date (empty clears).
    #[serde(default)]
    pub due: Option<String>,
    /// Owner (a member's user id; `null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub owner: Option<Option<i64>>,
    /// The version read; a stale one answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Changes to a key result; absent fields stay (`kpi_id: null` unlinks the KPI).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyResultPatchIn {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// The KPI it tracks.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub kpi_id: Option<Option<i64>>,
}
