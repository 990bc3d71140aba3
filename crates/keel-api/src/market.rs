//! Wire types: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.

use keel_domain::market::{Matrix, OURS};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A competitor in the matrix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CompetitorOut {
    /// Its id within the product's matrix (0 is our own product).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its web site, or empty.
    pub site: String,
    /// Pricing notes.
    pub pricing: String,
    /// Positioning.
    pub positioning: String,
    /// Whether this column is our own product.
    pub ours: bool,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CellOut {
    /// The competitor's id (0: our product).
    pub competitor: i64,
    /// `has`, `partial`, `lacks`, or `unknown` when never set.
    pub mark: String,
    /// Notes.
    pub notes: String,
}

/// A capability (a row of the matrix) with a cell per competitor, ours first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CapabilityOut {
    /// Its id within the product's matrix.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Linked opportunity record ids.
    pub opportunities: Vec<i64>,
    /// One cell per column, in the order of `competitors`.
    pub cells: Vec<CellOut>,
}

/// A product's competitor matrix.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatrixOut {
    /// The columns: our product first, then the competitors in the order added.
    pub competitors: Vec<CompetitorOut>,
    /// The rows.
    pub capabilities: Vec<CapabilityOut>,
    /// Version to send back with a change (0 before the first change).
    pub version: i64,
}

impl MatrixOut {
    /// From the matrix, our product's name and the record's version.
    pub fn new(m: &Matrix, ours: &str, version: i64) -> Self {
        let mut competitors = vec![CompetitorOut {
            id: OURS,
            name: ours.to_string(),
            site: String::new(),
            pricing: String::new(),
            positioning: String::new(),
            ours: true,
        }];
        competitors.extend(m.competitors.iter().map(|c| CompetitorOut {
            id: c.id,
            name: c.name.clone(),
            site: c.site.clone(),
            pricing: c.pricing.clone(),
            positioning: c.positioning.clone(),
            ours: false,
        }));
        let capabilities = m
            .capabilities
            .iter()
            .map(|cap| CapabilityOut {
                id: cap.id,
                name: cap.name.clone(),
                opportunities: cap.opportunities.iter().map(|o| o.0).collect(),
                cells: competitors
                    .iter()
                    .map(|c| match m.cell(c.id, cap.id) {
                        Some(cell) => CellOut {
                            competitor: c.id,
                            mark: cell.mark.as_str().into(),
                            notes: cell.notes.clone(),
                        },
                        None => CellOut { competitor: c.id, mark: "unknown".into(), notes: String::new() },
                    })
                    .collect(),
            })
            .collect();
        MatrixOut { competitors, capabilities, version }
    }
}

/// A new competitor, or changes to one (absent fields stay).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetitorIn {
    /// Its name (required to create).
    #[serde(default)]
    pub name: Option<String>,
    /// Its web site: an http:// or https:// address, or empty.
    #[serde(default)]
    pub site: Option<String>,
    /// Pricing notes.
    #[serde(default)]
    pub pricing: Option<String>,
    /// Positioning.
    #[serde(default)]
    pub positioning: Option<String>,
    /// The matrix version the change is based on (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A new capability, or changes to one (absent fields stay).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityIn {
    /// Its name (required to create).
    #[serde(default)]
    pub name: Option<String>,
    /// Linked opportunity record ids of the product.
    #[serde(default)]
    pub opportunities: Option<Vec<i64>>,
    /// The matrix version the change is based on (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A cell's new mark.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CellIn {
    /// `has`, `partial` or `lacks`.
    pub mark: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
    /// The matrix version the change is based on (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// One entry of a contact log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactOut {
    /// Stable within the stakeholder.
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Call, e-mail, meeting…
    pub channel: String,
    /// Notes.
    pub notes: String,
}

/// A stakeholder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StakeholderOut {
    /// Record id.
    pub id: i64,
    /// Product id.
    pub product_id: i64,
    /// The person.
    pub person: String,
    /// Their organisation.
    pub organisation: String,
    /// customer, sales, marketing, executive, support, partner or other.
    pub role: String,
    /// Power, 1–5.
    pub power: u8,
    /// Interest, 1–5.
    pub interest: u8,
    /// Their quadrant: manage_closely, keep_satisfied, keep_informed or monitor (4 and 5 are high).
    pub quadrant: String,
    /// The quadrant's strategy as people read it.
    pub strategy: String,
    /// Initiative record ids they care about.
    pub initiatives: Vec<i64>,
    /// The contact log, newest first.
    pub contacts: Vec<ContactOut>,
    /// Version to send back with a change.
    pub version: i64,
    /// When it was added (RFC 3339).
    pub created_at: String,
}

impl StakeholderOut {
    /// From the stored stakeholder.
    pub fn new(
        id: keel_domain::RecordId,
        product: i64,
        s: &keel_domain::market::Stakeholder,
        version: i64,
        created_at: keel_domain::Timestamp,
    ) -> Self {
        let q = s.quadrant();
        let mut contacts: Vec<ContactOut> = s
            .contacts
            .iter()
            .map(|c| ContactOut {
                id: c.id,
                date: c.date.to_string(),
                channel: c.channel.clone(),
                notes: c.notes.clone(),
            })
            .collect();
        contacts.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
        StakeholderOut {
            id: id.0,
            product_id: product,
            person: s.person.clone(),
            organisation: s.organisation.clone(),
            role: s.role.as_str().into(),
            power: s.power,
            interest: s.interest,
            quadrant: q.as_str().into(),
            strategy: q.strategy().into(),
            initiatives: s.initiatives.iter().map(|i| i.0).collect(),
            contacts,
            version,
            created_at: crate::rfc3339(created_at),
        }
    }
}

/// A new stakeholder, or changes to one (absent fields stay; person, power and interest are
/// required to create).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderIn {
    /// The person.
    #[serde(default)]
    pub person: Option<String>,
    /// Their organisation.
    #[serde(default)]
    pub organisation: Option<String>,
    /// customer, sales, marketing, executive, support, partner or other (default other).
    #[serde(default)]
    pub role: Option<String>,
    /// Power, 1–5.
    #[serde(default)]
    pub power: Option<i64>,
    /// Interest, 1–5.
    #[serde(default)]
    pub interest: Option<i64>,
    /// Initiative record ids of the product.
    #[serde(default)]
    pub initiatives: Option<Vec<i64>>,
    /// The version the change is based on (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

/// A new contact log entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Call, e-mail, meeting…
    pub channel: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// A stakeholder update.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StakeholderUpdateOut {
    /// Record id.
    pub id: i64,
    /// Product id.
    pub product_id: i64,
    /// `draft` or `published`.
    pub state: String,
    /// Its title.
    pub title: String,
    /// The report, in Markdown.
    pub body: String,
    /// The start of the period covered (RFC 3339), when an update was published before.
    pub since: Option<String>,
    /// When it was published (RFC 3339).
    pub published_at: Option<String>,
    /// Version to send back with a change.
    pub version: i64,
    /// When it was composed (RFC 3339).
    pub created_at: String,
}

impl StakeholderUpdateOut {
    /// From the stored update.
    pub fn new(
        id: keel_domain::RecordId,
        product: i64,
        state: &str,
        u: &keel_domain::market::StakeholderUpdate,
        version: i64,
        created_at: keel_domain::Timestamp,
    ) -> Self {
        StakeholderUpdateOut {
            id: id.0,
            product_id: product,
            state: state.to_string(),
            title: u.title.clone(),
            body: u.body.clone(),
            since: u.since.map(crate::rfc3339),
            published_at: u.published_at.map(crate::rfc3339),
            version,
            created_at: crate::rfc3339(created_at),
        }
    }
}

/// Changes to a draft update.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StakeholderUpdateIn {
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
    /// The report, in Markdown.
    #[serde(default)]
    pub body: Option<String>,
    /// The version the change is based on (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}
