//! Opportunities (problems worth solving) and the frameworks that score and rank them: RICE,
//! WSJF, ICE, value ÷ effort, MoSCoW and Kano. Pure: each score is a function of its parts.

use crate::{ItemId, ValidationError};
use serde::{Deserialize, Serialize};

/// The RICE impact scale.
pub const RICE_IMPACTS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 3.0];

/// RICE: reach × impact × confidence ÷ effort.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rice {
    /// People or events per period (≥ 0).
    pub reach: f64,
    /// One of 0.25, 0.5, 1, 2, 3.
    pub impact: f64,
    /// Per cent, 0–100.
    pub confidence: f64,
    /// Person-months (> 0).
    pub effort: f64,
}

/// WSJF: cost of delay (business value + time criticality + risk reduction) ÷ job size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wsjf {
    /// 1–100.
    pub business_value: f64,
    /// 1–100.
    pub time_criticality: f64,
    /// Risk reduction or opportunity enablement, 1–100.
    pub risk_reduction: f64,
    /// 1–100 (> 0).
    pub job_size: f64,
}

/// ICE: impact × confidence × ease, each 1–10.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ice {
    /// 1–10.
    pub impact: f64,
    /// 1–10.
    pub confidence: f64,
    /// 1–10.
    pub ease: f64,
}

/// Value ÷ effort, each 1–100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValueEffort {
    /// 1–100.
    pub value: f64,
    /// 1–100 (> 0).
    pub effort: f64,
}

/// MoSCoW.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moscow {
    /// Must have.
    Must,
    /// Should have.
    Should,
    /// Could have.
    Could,
    /// Won't have (this time).
    Wont,
}

impl Moscow {
    /// Every value, best first.
    pub const ALL: [Moscow; 4] = [Moscow::Must, Moscow::Should, Moscow::Could, Moscow::Wont];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Moscow::Must => "must",
            Moscow::Should => "should",
            Moscow::Could => "could",
            Moscow::Wont => "wont",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be one of must, should, could, wont"))
    }

    /// Its ranking score: must 4, should 3, could 2, won't 1.
    pub fn score(self) -> f64 {
        match self {
            Moscow::Must => 4.0,
            Moscow::Should => 3.0,
            Moscow::Could => 2.0,
            Moscow::Wont => 1.0,
        }
    }
}

/// Kano category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kano {
    /// Expected: its absence dissatisfies.
    MustBe,
    /// More is better.
    Performance,
    /// Delights when present.
    Attractive,
    /// Nobody cares.
    Indifferent,
    /// Some dislike it.
    Reverse,
}

impl Kano {
    /// Every category, in ranking order.
    pub const ALL: [Kano; 5] =
        [Kano::MustBe, Kano::Performance, Kano::Attractive, Kano::Indifferent, Kano::Reverse];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kano::MustBe => "must_be",
            Kano::Performance => "performance",
            Kano::Attractive => "attractive",
            Kano::Indifferent => "indifferent",
            Kano::Reverse => "reverse",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                field,
                "must be one of must_be, performance, attractive, indifferent, reverse",
            )
        })
    }

    /// Its ranking score: must-be 4, performance 3, attractive 2, indifferent 1, reverse 0.
    pub fn score(self) -> f64 {
        match self {
            Kano::MustBe => 4.0,
            Kano::Performance => 3.0,
            Kano::Attractive => 2.0,
            Kano::Indifferent => 1.0,
            Kano::Reverse => 0.0,
        }
    }
}

/// An opportunity's scores under every framework (each optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// RICE.
    #[serde(default)]
    pub rice: Option<Rice>,
    /// WSJF.
    #[serde(default)]
    pub wsjf: Option<Wsjf>,
    /// ICE.
    #[serde(default)]
    pub ice: Option<Ice>,
    /// Value ÷ effort.
    #[serde(default)]
    pub value_effort: Option<ValueEffort>,
    /// MoSCoW.
    #[serde(default)]
    pub moscow: Option<Moscow>,
    /// Kano.
    #[serde(default)]
    pub kano: Option<Kano>,
}

fn in_range(field: &str, v: f64, min: f64, max: f64) -> crate::Invalid<()> {
    if !v.is_finite() || v < min || v > max {
        return Err(ValidationError::new(field, format!("must be between {min} and {max}")));
    }
    Ok(())
}

fn positive(field: &str, v: f64, max: f64) -> crate::Invalid<()> {
    if !v.is_finite() || v <= 0.0 {
        return Err(ValidationError::new(field, "must be greater than 0"));
    }
    in_range(field, v, 0.0, max)
}

impl Rice {
    /// Checks every part against its scale (fields named `scores.rice.<part>`).
    pub fn validate(&self) -> crate::Invalid<()> {
        in_range("scores.rice.reach", self.reach, 0.0, 1e12)?;
        if !RICE_IMPACTS.contains(&self.impact) {
            return Err(ValidationError::new("scores.rice.impact", "must be one of 0.25, 0.5, 1, 2, 3"));
        }
        in_range("scores.rice.confidence", self.confidence, 0.0, 100.0)?;
        positive("scores.rice.effort", self.effort, 1e6)
    }

    /// reach × impact × confidence ÷ effort (confidence as a fraction).
    pub fn score(&self) -> f64 {
        self.reach * self.impact * (self.confidence / 100.0) / self.effort
    }
}

impl Wsjf {
    /// Checks every part against its scale.
    pub fn validate(&self) -> crate::Invalid<()> {
        in_range("scores.wsjf.business_value", self.business_value, 1.0, 100.0)?;
        in_range("scores.wsjf.time_criticality", self.time_criticality, 1.0, 100.0)?;
        in_range("scores.wsjf.risk_reduction", self.risk_reduction, 1.0, 100.0)?;
        positive("scores.wsjf.job_size", self.job_size, 100.0)
    }

    /// Cost of delay: business value + time criticality + risk reduction.
    pub fn cost_of_delay(&self) -> f64 {
        self.business_value + self.time_criticality + self.risk_reduction
    }

    /// Cost of delay ÷ job size.
    pub fn score(&self) -> f64 {
        self.cost_of_delay() / self.job_size
    }
}

impl Ice {
    /// Checks every part against its scale.
    pub fn validate(&self) -> crate::Invalid<()> {
        in_range("scores.ice.impact", self.impact, 1.0, 10.0)?;
        in_range("scores.ice.confidence", self.confidence, 1.0, 10.0)?;
        in_range("scores.ice.ease", self.ease, 1.0, 10.0)
    }

    /// impact × confidence × ease.
    pub fn score(&self) -> f64 {
        self.impact * self.confidence * self.ease
    }
}

impl ValueEffort {
    /// Checks every part against its scale.
    pub fn validate(&self) -> crate::Invalid<()> {
        in_range("scores.value_effort.value", self.value, 1.0, 100.0)?;
        positive("scores.value_effort.effort", self.effort, 100.0)
    }

    /// value ÷ effort.
    pub fn score(&self) -> f64 {
        self.value / self.effort
    }
}

impl Scores {
    /// Checks every score given.
    pub fn validate(&self) -> crate::Invalid<()> {
        if let Some(r) = &self.rice {
            r.validate()?;
        }
        if let Some(w) = &self.wsjf {
            w.validate()?;
        }
        if let Some(i) = &self.ice {
            i.validate()?;
        }
        if let Some(v) = &self.value_effort {
            v.validate()?;
        }
        Ok(())
    }

    /// The score under `f`, if scored under it.
    pub fn score(&self, f: Framework) -> Option<f64> {
        match f {
            Framework::Rice => self.rice.map(|r| r.score()),
            Framework::Wsjf => self.wsjf.map(|w| w.score()),
            Framework::Ice => self.ice.map(|i| i.score()),
            Framework::ValueEffort => self.value_effort.map(|v| v.score()),
            Framework::Moscow => self.moscow.map(Moscow::score),
            Framework::Kano => self.kano.map(Kano::score),
        }
    }

    /// The parts of the score under `f`, by name, as shown next to it.
    pub fn parts(&self, f: Framework) -> Vec<(&'static str, String)> {
        match f {
            Framework::Rice => self.rice.map_or_else(Vec::new, |r| {
                vec![
                    ("reach", num(r.reach)),
                    ("impact", num(r.impact)),
                    ("confidence", format!("{} %", num(r.confidence))),
                    ("effort", num(r.effort)),
                ]
            }),
            Framework::Wsjf => self.wsjf.map_or_else(Vec::new, |w| {
                vec![
                    ("business value", num(w.business_value)),
                    ("time criticality", num(w.time_criticality)),
                    ("risk reduction", num(w.risk_reduction)),
                    ("cost of delay", num(w.cost_of_delay())),
                    ("job size", num(w.job_size)),
                ]
            }),
            Framework::Ice => self.ice.map_or_else(Vec::new, |i| {
                vec![("impact", num(i.impact)), ("confidence", num(i.confidence)), ("ease", num(i.ease))]
            }),
            Framework::ValueEffort => self
                .value_effort
                .map_or_else(Vec::new, |v| vec![("value", num(v.value)), ("effort", num(v.effort))]),
            Framework::Moscow => self.moscow.map_or_else(Vec::new, |m| vec![("moscow", m.as_str().into())]),
            Framework::Kano => self.kano.map_or_else(Vec::new, |k| vec![("kano", k.as_str().into())]),
        }
    }
}

/// A number as shown: up to two decimals, without trailing zeros.
pub fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// A ranking framework.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// RICE.
    #[default]
    Rice,
    /// WSJF.
    Wsjf,
    /// ICE.
    Ice,
    /// Value ÷ effort.
    ValueEffort,
    /// MoSCoW.
    Moscow,
    /// Kano.
    Kano,
}

impl Framework {
    /// Every framework.
    pub const ALL: [Framework; 6] = [
        Framework::Rice,
        Framework::Wsjf,
        Framework::Ice,
        Framework::ValueEffort,
        Framework::Moscow,
        Framework::Kano,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Rice => "rice",
            Framework::Wsjf => "wsjf",
            Framework::Ice => "ice",
            Framework::ValueEffort => "value_effort",
            Framework::Moscow => "moscow",
            Framework::Kano => "kano",
        }
    }

    /// Shown name.
    pub fn label(self) -> &'static str {
        match self {
            Framework::Rice => "RICE",
            Framework::Wsjf => "WSJF",
            Framework::Ice => "ICE",
            Framework::ValueEffort => "Value ÷ effort",
            Framework::Moscow => "MoSCoW",
            Framework::Kano => "Kano",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            ValidationError::new(field, "must be one of rice, wsjf, ice, value_effort, moscow, kano")
        })
    }
}

/// The product's chosen ranking framework (a setting record, unique key `ranking:{product}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    /// The framework.
    pub framework: Framework,
}

/// An opportunity: a problem worth solving. State `open`, `promoted` or `merged`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Opportunity {
    /// Its name.
    pub title: String,
    /// The problem, in Markdown.
    #[serde(default)]
    pub description: String,
    /// Its scores.
    #[serde(default)]
    pub scores: Scores,
    /// The epic it was promoted to.
    #[serde(default)]
    pub epic: Option<ItemId>,
}

/// Ranks `(id, score)` pairs: highest score first, unscored last, ties by id.
pub fn rank<T: Copy + Ord>(mut v: Vec<(T, Option<f64>)>) -> Vec<(T, Option<f64>)> {
    v.sort_by(|a, b| match (a.1, b.1) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.0.cmp(&b.0)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.0.cmp(&b.0),
    });
    v
}

/// Where a piece of feedback came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The embeddable widget.
    Widget,
    /// The API.
    #[default]
    Api,
    /// A CSV import.
    Import,
    /// Notes from a sales call.
    SalesCall,
    /// Typed in by hand.
    Manual,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 5] =
        [Source::Widget, Source::Api, Source::Import, Source::SalesCall, Source::Manual];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Widget => "widget",
            Source::Api => "api",
            Source::Import => "import",
            Source::SalesCall => "sales_call",
            Source::Manual => "manual",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> crate::Invalid<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            ValidationError::new(field, "must be one of widget, api, import, sales_call, manual")
        })
    }
}

/// A piece of customer feedback. Its text is plain text (escaped wherever shown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The person who gave it.
    #[serde(default)]
    pub person: String,
    /// Their company.
    #[serde(default)]
    pub company: String,
    /// The customer segment.
    #[serde(default)]
    pub segment: String,
    /// The company's revenue weight (≥ 0, e.g. annual revenue).
    #[serde(default)]
    pub revenue: f64,
    /// Where it came from.
    #[serde(default)]
    pub source: Source,
    /// What they said.
    pub text: String,
    /// The opportunity records it is evidence for.
    #[serde(default)]
    pub opportunities: Vec<crate::RecordId>,
    /// The person's e-mail address, when they gave it (through the widget).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// The page they were on (through the widget).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub page_url: String,
}

/// Longest feedback text.
pub const FEEDBACK_TEXT_MAX: usize = 10_000;

impl Feedback {
    /// Checks and trims the customer fields and the text (fields named as given, after `prefix`).
    pub fn validate(mut self, prefix: &str) -> crate::Invalid<Self> {
        let f = |n: &str| format!("{prefix}{n}");
        self.person = crate::error::text(&f("person"), &self.person, 0, 200, false)?;
        self.company = crate::error::text(&f("company"), &self.company, 0, 200, false)?;
        self.segment = crate::error::text(&f("segment"), &self.segment, 0, 100, false)?;
        if !self.revenue.is_finite() || self.revenue < 0.0 {
            return Err(ValidationError::new(f("revenue"), "must be a number of at least 0"));
        }
        self.text = crate::error::text(&f("text"), self.text.trim(), 1, FEEDBACK_TEXT_MAX, true)?;
        Ok(self)
    }
}

/// The demand behind an opportunity: how much feedback is linked, and the revenue of the
/// companies behind it (each company counted once, at its highest weight; feedback without a
/// company counts on its own).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demand {
    /// Linked feedback.
    pub count: usize,
    /// Revenue behind it.
    pub revenue: f64,
}

/// The demand behind opportunity `id` from `feedback`.
pub fn demand<'a>(id: crate::RecordId, feedback: impl IntoIterator<Item = &'a Feedback>) -> Demand {
    let mut count = 0;
    let mut companies: Vec<(String, f64)> = Vec::new();
    let mut loose = 0.0;
    for f in feedback.into_iter().filter(|f| f.opportunities.contains(&id)) {
        count += 1;
        let c = f.company.trim().to_lowercase();
        if c.is_empty() {
            loose += f.revenue;
        } else if let Some(e) = companies.iter_mut().find(|e| e.0 == c) {
            e.1 = e.1.max(f.revenue);
        } else {
            companies.push((c, f.revenue));
        }
    }
    Demand { count, revenue: loose + companies.iter().map(|e| e.1).sum::<f64>() }
}

/// Parses CSV (RFC 4180: commas, double-quoted fields with `""` for a quote, CRLF or LF) into
/// rows of fields; a quote left open is an error naming the row (from 1).
pub fn parse_csv(src: &str) -> Result<Vec<Vec<String>>, ValidationError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = src.chars().peekable();
    let mut line = 1;
    let mut row_start = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                line += 1;
                row_start = line;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(ValidationError::new("csv", format!("row {row_start}: a quoted field is not closed")));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rice_by_hand() {
        // 1000 × 2 × 0.8 ÷ 4 = 400
        let r = Rice { reach: 1000.0, impact: 2.0, confidence: 80.0, effort: 4.0 };
        assert_eq!(r.score(), 400.0);
        assert!(r.validate().is_ok());
        // 200 × 0.25 × 0.5 ÷ 0.5 = 50
        let r = Rice { reach: 200.0, impact: 0.25, confidence: 50.0, effort: 0.5 };
        assert_eq!(r.score(), 50.0);
    }

    #[test]
    fn rice_scales() {
        let ok = Rice { reach: 10.0, impact: 1.0, confidence: 100.0, effort: 1.0 };
        let f = |r: Rice| r.validate().unwrap_err().field;
        assert_eq!(f(Rice { impact: 0.0, ..ok }), "scores.rice.impact");
        assert_eq!(f(Rice { impact: 4.0, ..ok }), "scores.rice.impact");
        assert_eq!(f(Rice { impact: 1.5, ..ok }), "scores.rice.impact");
        assert_eq!(f(Rice { confidence: 101.0, ..ok }), "scores.rice.confidence");
        assert_eq!(f(Rice { confidence: -1.0, ..ok }), "scores.rice.confidence");
        assert_eq!(f(Rice { effort: 0.0, ..ok }), "scores.rice.effort");
        assert_eq!(f(Rice { reach: -5.0, ..ok }), "scores.rice.reach");
        assert_eq!(f(Rice { reach: f64::NAN, ..ok }), "scores.rice.reach");
        assert!(Rice { confidence: 0.0, ..ok }.validate().is_ok());
    }

    #[test]
    fn wsjf_by_hand() {
        // (8 + 5 + 3) ÷ 4 = 4
        let w = Wsjf { business_value: 8.0, time_criticality: 5.0, risk_reduction: 3.0, job_size: 4.0 };
        assert_eq!(w.cost_of_delay(), 16.0);
        assert_eq!(w.score(), 4.0);
        assert_eq!(Wsjf { job_size: 0.0, ..w }.validate().unwrap_err().field, "scores.wsjf.job_size");
        assert_eq!(
            Wsjf { business_value: 0.0, ..w }.validate().unwrap_err().field,
            "scores.wsjf.business_value"
        );
    }

    #[test]
    fn ice_and_value_effort_by_hand() {
        // 8 × 6 × 5 = 240
        assert_eq!(Ice { impact: 8.0, confidence: 6.0, ease: 5.0 }.score(), 240.0);
        assert_eq!(
            Ice { impact: 11.0, confidence: 6.0, ease: 5.0 }.validate().unwrap_err().field,
            "scores.ice.impact"
        );
        // 30 ÷ 12 = 2.5
        assert_eq!(ValueEffort { value: 30.0, effort: 12.0 }.score(), 2.5);
        assert_eq!(
            ValueEffort { value: 30.0, effort: 0.0 }.validate().unwrap_err().field,
            "scores.value_effort.effort"
        );
    }

    #[test]
    fn categories_and_parts() {
        let s = Scores { moscow: Some(Moscow::Should), kano: Some(Kano::Attractive), ..Default::default() };
        assert_eq!(s.score(Framework::Moscow), Some(3.0));
        assert_eq!(s.score(Framework::Kano), Some(2.0));
        assert_eq!(s.score(Framework::Rice), None);
        let s = Scores {
            wsjf: Some(Wsjf {
                business_value: 8.0,
                time_criticality: 5.0,
                risk_reduction: 3.0,
                job_size: 3.0,
            }),
            ..Default::default()
        };
        assert_eq!(num(s.score(Framework::Wsjf).unwrap()), "5.33");
        assert_eq!(s.parts(Framework::Wsjf)[3], ("cost of delay", "16".to_string()));
        assert_eq!(Framework::parse("f", "value_effort"), Ok(Framework::ValueEffort));
        assert!(Framework::parse("f", "x").is_err());
    }

    #[test]
    fn ranking_puts_unscored_last() {
        let r = rank(vec![(1, None), (2, Some(3.0)), (3, Some(9.0)), (4, Some(3.0))]);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3, 2, 4, 1]);
    }

    #[test]
    fn demand_counts_each_company_once() {
        let o = crate::RecordId(7);
        let fb = |company: &str, revenue: f64, linked: bool| Feedback {
            company: company.into(),
            revenue,
            text: "x".into(),
            opportunities: if linked { vec![o] } else { vec![] },
            ..Default::default()
        };
        let all = [
            fb("Acme", 100.0, true),
            fb("acme ", 250.0, true),
            fb("Globex", 40.0, true),
            fb("", 5.0, true),
            fb("Initech", 1000.0, false),
        ];
        // Acme once at 250 + Globex 40 + a loose 5 = 295, from 4 linked.
        assert_eq!(demand(o, &all), Demand { count: 4, revenue: 295.0 });
        assert_eq!(demand(crate::RecordId(8), &all), Demand::default());
    }

    #[test]
    fn csv_rows_and_quotes() {
        let rows = parse_csv("a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\n\"two\nlines\",2,3").unwrap();
        assert_eq!(rows[0], ["a", "b", "c"]);
        assert_eq!(rows[1], ["x, y", "say \"hi\"", ""]);
        assert_eq!(rows[2], ["two\nlines", "2", "3"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(parse_csv("a\n\"open").unwrap_err().message, "row 2: a quoted field is not closed");
        assert!(parse_csv("").unwrap().is_empty());
    }

    #[test]
    fn feedback_is_checked() {
        let ok = Feedback { text: " Too slow ".into(), revenue: 10.0, ..Default::default() };
        assert_eq!(ok.clone().validate("").unwrap().text, "Too slow");
        assert_eq!(Feedback { revenue: -1.0, ..ok.clone() }.validate("").unwrap_err().field, "revenue");
        assert_eq!(
            Feedback { text: "  ".into(), ..ok }.validate("rows[2].").unwrap_err().field,
            "rows[2].text"
        );
        assert_eq!(Source::parse("source", "sales_call"), Ok(Source::SalesCall));
    }
}
