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
