//! The market around a product: the competitor matrix (competitors × capabilities, one cell per
//! pair, kept as one record per product) and the stakeholder register with its power/interest grid.

use crate::{Date, Invalid, RecordId, ValidationError};
use serde::{Deserialize, Serialize};

/// The id standing for our own product in a matrix's cells.
pub const OURS: i64 = 0;

/// Whether a competitor (or we) has a capability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Fully.
    Has,
    /// In part.
    Partial,
    /// Not at all.
    #[default]
    Lacks,
}

impl Mark {
    /// Every mark, best first.
    pub const ALL: [Mark; 3] = [Mark::Has, Mark::Partial, Mark::Lacks];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Has => "has",
            Mark::Partial => "partial",
            Mark::Lacks => "lacks",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be one of has, partial, lacks"))
    }
}

/// A competitor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Competitor {
    /// Stable within the matrix (never [`OURS`]).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its web site (http or https), or empty.
    #[serde(default)]
    pub site: String,
    /// How it prices.
    #[serde(default)]
    pub pricing: String,
    /// How it positions itself.
    #[serde(default)]
    pub positioning: String,
}

/// A capability compared across competitors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capability {
    /// Stable within the matrix.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Opportunity records it relates to.
    #[serde(default)]
    pub opportunities: Vec<RecordId>,
}

/// One cell: a competitor's (or our) standing on a capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The competitor's id, or [`OURS`].
    pub competitor: i64,
    /// The capability's id.
    pub capability: i64,
    /// The mark.
    pub mark: Mark,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// A product's competitor matrix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// Competitors, in the order added.
    #[serde(default)]
    pub competitors: Vec<Competitor>,
    /// Capabilities, in the order added.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Cells that were set (a missing cell is unknown).
    #[serde(default)]
    pub cells: Vec<Cell>,
    /// The last id handed out.
    #[serde(default)]
    pub last_id: i64,
}

impl Matrix {
    /// A fresh id for a competitor or capability.
    pub fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// The cell of `competitor` and `capability`, if set.
    pub fn cell(&self, competitor: i64, capability: i64) -> Option<&Cell> {
        self.cells.iter().find(|c| c.competitor == competitor && c.capability == capability)
    }

    /// Whether `competitor` is ours or one of the matrix's competitors.
    pub fn has_competitor(&self, competitor: i64) -> bool {
        competitor == OURS || self.competitors.iter().any(|c| c.id == competitor)
    }

    /// Sets a cell, replacing the one there.
    pub fn set_cell(&mut self, cell: Cell) {
        match self
            .cells
            .iter_mut()
            .find(|c| c.competitor == cell.competitor && c.capability == cell.capability)
        {
            Some(c) => *c = cell,
            None => self.cells.push(cell),
        }
    }

    /// Removes a competitor and its cells; false when there was none.
    pub fn remove_competitor(&mut self, id: i64) -> bool {
        let before = self.competitors.len();
        self.competitors.retain(|c| c.id != id);
        self.cells.retain(|c| c.competitor != id);
        before != self.competitors.len()
    }

    /// Removes a capability and its cells; false when there was none.
    pub fn remove_capability(&mut self, id: i64) -> bool {
        let before = self.capabilities.len();
        self.capabilities.retain(|c| c.id != id);
        self.cells.retain(|c| c.capability != id);
        before != self.capabilities.len()
    }

    /// How many capabilities `competitor` has fully, partly and lacks (unset cells count as lacking).
    pub fn tally(&self, competitor: i64) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        for cap in &self.capabilities {
            match self.cell(competitor, cap.id).map(|c| c.mark) {
                Some(Mark::Has) => t.0 += 1,
                Some(Mark::Partial) => t.1 += 1,
                _ => t.2 += 1,
            }
        }
        t
    }
}

/// Checks a web site address: empty, or an absolute `http://` or `https://` URL with a host and
/// no spaces, at most 500 characters.
pub fn site_url(field: &str, value: &str) -> Invalid<String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let bad = || ValidationError::new(field, "must be a web address starting with http:// or https://");
    if v.chars().count() > 500 {
        return Err(ValidationError::new(field, "must be at most 500 characters"));
    }
    let lower = v.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).ok_or_else(bad)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_name = host.rsplit('@').next().unwrap_or("").split(':').next().unwrap_or("");
    if host_name.is_empty()
        || v.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>')
        || !host_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '[' || c == ']')
    {
        return Err(bad());
    }
    Ok(v.to_string())
}

/// A stakeholder's role towards the product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StakeholderRole {
    /// A customer.
    Customer,
    /// Sales.
    Sales,
    /// Marketing.
    Marketing,
    /// An executive.
    Executive,
    /// Support.
    Support,
    /// A partner.
    Partner,
    /// Anyone else.
    #[default]
    Other,
}

impl StakeholderRole {
    /// Every role.
    pub const ALL: [StakeholderRole; 7] = [
        StakeholderRole::Customer,
        StakeholderRole::Sales,
        StakeholderRole::Marketing,
        StakeholderRole::Executive,
        StakeholderRole::Support,
        StakeholderRole::Partner,
        StakeholderRole::Other,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StakeholderRole::Customer => "customer",
            StakeholderRole::Sales => "sales",
            StakeholderRole::Marketing => "marketing",
            StakeholderRole::Executive => "executive",
            StakeholderRole::Support => "support",
            StakeholderRole::Partner => "partner",
            StakeholderRole::Other => "other",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                field,
                "must be one of customer, sales, marketing, executive, support, partner, other",
            )
        })
    }
}

/// One entry of a stakeholder's contact log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Stable within the stakeholder.
    pub id: i64,
    /// When.
    pub date: Date,
    /// How (call, e-mail, meeting…).
    pub channel: String,
    /// What was said.
    #[serde(default)]
    pub notes: String,
}

/// A stakeholder of a product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stakeholder {
    /// The person's name.
    pub person: String,
    /// Their organisation.
    #[serde(default)]
    pub organisation: String,
    /// Their role.
    #[serde(default)]
    pub role: StakeholderRole,
    /// Their power over the product, 1 to 5.
    pub power: u8,
    /// Their interest in it, 1 to 5.
    pub interest: u8,
    /// The initiative records they care about.
    #[serde(default)]
    pub initiatives: Vec<RecordId>,
    /// The contact log, oldest first.
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

impl Stakeholder {
    /// Where they sit on the power/interest grid.
    pub fn quadrant(&self) -> Quadrant {
        quadrant(self.power, self.interest)
    }

    /// The latest contact, if any.
    pub fn last_contact(&self) -> Option<&Contact> {
        self.contacts.iter().max_by_key(|c| (c.date, c.id))
    }
}

/// A quadrant of the power/interest grid, with its strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    /// High power, high interest.
    ManageClosely,
    /// High power, low interest.
    KeepSatisfied,
    /// Low power, high interest.
    KeepInformed,
    /// Low power, low interest.
    Monitor,
}

impl Quadrant {
    /// Every quadrant.
    pub const ALL: [Quadrant; 4] =
        [Quadrant::ManageClosely, Quadrant::KeepSatisfied, Quadrant::KeepInformed, Quadrant::Monitor];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::ManageClosely => "manage_closely",
            Quadrant::KeepSatisfied => "keep_satisfied",
            Quadrant::KeepInformed => "keep_informed",
            Quadrant::Monitor => "monitor",
        }
    }

    /// The strategy as people read it.
    pub fn strategy(self) -> &'static str {
        match self {
            Quadrant::ManageClosely => "Manage closely",
            Quadrant::KeepSatisfied => "Keep satisfied",
            Quadrant::KeepInformed => "Keep informed",
            Quadrant::Monitor => "Monitor",
        }
    }
}

/// The lowest score that counts as high power or high interest (the scale is 1 to 5; 3, the
/// middle, counts as low, so that only clear cases are managed closely).
pub const HIGH: u8 = 4;

/// The quadrant of a power and interest, each 1 to 5.
pub fn quadrant(power: u8, interest: u8) -> Quadrant {
    match (power >= HIGH, interest >= HIGH) {
        (true, true) => Quadrant::ManageClosely,
        (true, false) => Quadrant::KeepSatisfied,
        (false, true) => Quadrant::KeepInformed,
        (false, false) => Quadrant::Monitor,
    }
}

/// Checks a 1–5 score.
pub fn score(field: &str, v: i64) -> Invalid<u8> {
    if (1..=5).contains(&v) {
        Ok(v as u8)
    } else {
        Err(ValidationError::new(field, "must be a whole number from 1 to 5"))
    }
}

/// A stakeholder update: a Markdown report composed from the data, edited, then published.
/// Its state (`draft`, `published`) is kept in the record's state column.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StakeholderUpdate {
    /// Its title.
    pub title: String,
    /// The report, in Markdown.
    pub body: String,
    /// The start of the period it covers (the previous update's publication).
    #[serde(default)]
    pub since: Option<crate::Timestamp>,
    /// When it was published.
    #[serde(default)]
    pub published_at: Option<crate::Timestamp>,
}

/// How far a key result has come: where `latest` stands between `baseline` and `target`, from 0
/// to 1 (clamped); `None` when target equals baseline.
pub fn kr_progress(baseline: f64, target: f64, latest: f64) -> Option<f64> {
    let span = target - baseline;
    if span == 0.0 || !span.is_finite() || !latest.is_finite() {
        return None;
    }
    Some(((latest - baseline) / span).clamp(0.0, 1.0))
}

/// A goal's progress: the mean of its key results' progress, those without a measurement left
/// out; `None` when none has one.
pub fn goal_progress(krs: &[Option<f64>]) -> Option<f64> {
    let known: Vec<f64> = krs.iter().flatten().copied().collect();
    if known.is_empty() {
        None
    } else {
        Some(known.iter().sum::<f64>() / known.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_must_be_http() {
        assert_eq!(
            site_url("site", " https://acme.example/pricing ").unwrap(),
            "https://acme.example/pricing"
        );
        assert_eq!(site_url("site", "http://a.b:8080").unwrap(), "http://a.b:8080");
        assert_eq!(site_url("site", "").unwrap(), "");
        for bad in ["javascript:alert(1)", "ftp://x.y", "acme.com", "https://", "https://a b.c", "http://<x>"]
        {
            let e = site_url("site", bad).unwrap_err();
            assert_eq!(e.field, "site", "{bad}");
        }
    }

    #[test]
    fn marks_parse() {
        assert_eq!(Mark::parse("mark", "partial").unwrap(), Mark::Partial);
        assert_eq!(Mark::parse("mark", "maybe").unwrap_err().field, "mark");
    }

    #[test]
    fn cells_are_replaced_and_removed_with_their_row_or_column() {
        let mut m = Matrix::default();
        let a = m.next_id();
        let cap = m.next_id();
        let cap2 = m.next_id();
        assert_eq!((a, cap, cap2), (1, 2, 3));
        m.competitors.push(Competitor { id: a, name: "Acme".into(), ..Default::default() });
        m.capabilities.push(Capability { id: cap, name: "SSO".into(), opportunities: vec![] });
        m.capabilities.push(Capability { id: cap2, name: "API".into(), opportunities: vec![] });
        m.set_cell(Cell { competitor: a, capability: cap, mark: Mark::Partial, notes: String::new() });
        m.set_cell(Cell { competitor: a, capability: cap, mark: Mark::Has, notes: "since v2".into() });
        m.set_cell(Cell { competitor: OURS, capability: cap, mark: Mark::Lacks, notes: String::new() });
        assert_eq!(m.cells.len(), 2);
        assert_eq!(m.cell(a, cap).unwrap().mark, Mark::Has);
        assert_eq!(m.tally(a), (1, 0, 1));
        assert_eq!(m.tally(OURS), (0, 0, 2));
        assert!(m.has_competitor(OURS) && m.has_competitor(a) && !m.has_competitor(9));
        assert!(m.remove_capability(cap));
        assert!(m.cells.is_empty());
        m.set_cell(Cell { competitor: a, capability: cap2, mark: Mark::Has, notes: String::new() });
        assert!(m.remove_competitor(a));
        assert!(!m.remove_competitor(a));
        assert!(m.cells.is_empty());
    }

    #[test]
    fn quadrants_split_at_four() {
        assert_eq!(quadrant(5, 5), Quadrant::ManageClosely);
        assert_eq!(quadrant(4, 4), Quadrant::ManageClosely);
        assert_eq!(quadrant(4, 3), Quadrant::KeepSatisfied);
        assert_eq!(quadrant(5, 1), Quadrant::KeepSatisfied);
        assert_eq!(quadrant(3, 4), Quadrant::KeepInformed);
        assert_eq!(quadrant(1, 5), Quadrant::KeepInformed);
        assert_eq!(quadrant(3, 3), Quadrant::Monitor);
        assert_eq!(quadrant(1, 1), Quadrant::Monitor);
        assert_eq!(Quadrant::KeepSatisfied.strategy(), "Keep satisfied");
        let s = Stakeholder { power: 2, interest: 5, ..Default::default() };
        assert_eq!(s.quadrant().as_str(), "keep_informed");
    }

    #[test]
    fn scores_and_roles_are_checked() {
        assert_eq!(score("power", 1).unwrap(), 1);
        assert_eq!(score("power", 5).unwrap(), 5);
        assert_eq!(score("power", 0).unwrap_err().field, "power");
        assert_eq!(score("interest", 6).unwrap_err().field, "interest");
        assert_eq!(StakeholderRole::parse("role", "executive").unwrap(), StakeholderRole::Executive);
        assert_eq!(StakeholderRole::parse("role", "boss").unwrap_err().field, "role");
    }

    #[test]
    fn the_last_contact_is_the_latest_date() {
        let c = |id, d: &str| Contact {
            id,
            date: Date::parse("d", d).unwrap(),
            channel: "call".into(),
            notes: String::new(),
        };
        let s = Stakeholder { contacts: vec![c(1, "2026-03-02"), c(2, "2026-01-10")], ..Default::default() };
        assert_eq!(s.last_contact().map(|c| c.id), Some(1));
        assert!(Stakeholder::default().last_contact().is_none());
    }

    #[test]
    fn key_results_and_goals_progress() {
        assert_eq!(kr_progress(40.0, 50.0, 45.0), Some(0.5));
        assert_eq!(kr_progress(10.0, 4.0, 7.0), Some(0.5), "down is good");
        assert_eq!(kr_progress(0.0, 100.0, 130.0), Some(1.0));
        assert_eq!(kr_progress(0.0, 100.0, -5.0), Some(0.0));
        assert_eq!(kr_progress(5.0, 5.0, 5.0), None);
        assert_eq!(goal_progress(&[Some(0.5), None, Some(1.0)]), Some(0.75));
        assert_eq!(goal_progress(&[None]), None);
        assert_eq!(goal_progress(&[]), None);
    }
}
