//! The vision board of a product: its fields, its kept versions, comparing two versions and the
//! one-page vision card.

use crate::error::text;
use crate::{Invalid, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Longest vision statement, in characters.
pub const STATEMENT_MAX: usize = 2_000;
/// Longest other field, in characters.
pub const FIELD_MAX: usize = 10_000;

/// The fields of the board, in order: (wire name, label).
pub const FIELDS: [(&str, &str); 5] = [
    ("statement", "Vision statement"),
    ("target_group", "Target group"),
    ("needs", "Needs"),
    ("product", "Product"),
    ("business_goals", "Business goals"),
];

/// What a vision board says. All fields are Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisionFields {
    /// The vision statement: one or two sentences.
    #[serde(default)]
    pub statement: String,
    /// Who the product is for.
    #[serde(default)]
    pub target_group: String,
    /// The problems it solves, the benefits it brings.
    #[serde(default)]
    pub needs: String,
    /// What it is and what makes it stand out.
    #[serde(default)]
    pub product: String,
    /// How it benefits the company.
    #[serde(default)]
    pub business_goals: String,
}

impl VisionFields {
    /// Checks the fields: a statement is required; every field is length-limited.
    pub fn parse(self) -> Invalid<Self> {
        Ok(VisionFields {
            statement: text("statement", &self.statement, 1, STATEMENT_MAX, true)?,
            target_group: text("target_group", &self.target_group, 0, FIELD_MAX, true)?,
            needs: text("needs", &self.needs, 0, FIELD_MAX, true)?,
            product: text("product", &self.product, 0, FIELD_MAX, true)?,
            business_goals: text("business_goals", &self.business_goals, 0, FIELD_MAX, true)?,
        })
    }

    /// The field with wire name `name` (empty for an unknown one).
    pub fn get(&self, name: &str) -> &str {
        match name {
            "statement" => &self.statement,
            "target_group" => &self.target_group,
            "needs" => &self.needs,
            "product" => &self.product,
            "business_goals" => &self.business_goals,
            _ => "",
        }
    }
}

/// One saved version of the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisionVersion {
    /// 1, 2, 3… in the order saved.
    pub number: i64,
    /// What it said.
    #[serde(flatten)]
    pub fields: VisionFields,
    /// Who saved it (the decider who accepted it, for a proposal).
    #[serde(default)]
    pub saved_by: Option<UserId>,
    /// When.
    pub saved_at: Timestamp,
}

/// A product's vision board with every version kept, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vision {
    /// The versions.
    #[serde(default)]
    pub versions: Vec<VisionVersion>,
}

impl Vision {
    /// The current (latest) version.
    pub fn current(&self) -> Option<&VisionVersion> {
        self.versions.last()
    }

    /// The number of the current version (0 when never saved).
    pub fn number(&self) -> i64 {
        self.current().map_or(0, |v| v.number)
    }

    /// Version `n`.
    pub fn version(&self, n: i64) -> Option<&VisionVersion> {
        self.versions.iter().find(|v| v.number == n)
    }

    /// Adds a version saying `fields`; returns its number.
    pub fn save(&mut self, fields: VisionFields, by: Option<UserId>, at: Timestamp) -> i64 {
        let number = self.number() + 1;
        self.versions.push(VisionVersion { number, fields, saved_by: by, saved_at: at });
        number
    }
}

/// The wire names of the fields that differ between `a` and `b`, in board order.
pub fn changed_fields(a: &VisionFields, b: &VisionFields) -> Vec<&'static str> {
    FIELDS.iter().filter(|(f, _)| a.get(f).trim() != b.get(f).trim()).map(|(f, _)| *f).collect()
}

/// The one-page vision card in Markdown.
pub fn card_markdown(product_name: &str, v: &VisionVersion) -> String {
    let mut out = format!("# {} — vision\n\n", product_name.trim());
    for (name, label) in FIELDS {
        let body = v.fields.get(name).trim();
        out.push_str(&format!("## {label}\n\n"));
        if body.is_empty() {
            out.push_str("_Not written yet._\n\n");
        } else {
            out.push_str(body);
            out.push_str("\n\n");
        }
    }
    out.push_str(&format!("_Version {}_\n", v.number));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(statement: &str, needs: &str) -> VisionFields {
        VisionFields { statement: statement.into(), needs: needs.into(), ..Default::default() }
    }

    #[test]
    fn saving_numbers_versions_and_keeps_them() {
        let mut v = Vision::default();
        assert_eq!(v.number(), 0);
        assert_eq!(v.save(fields("A", ""), None, Timestamp(1)), 1);
        assert_eq!(v.save(fields("B", ""), None, Timestamp(2)), 2);
        assert_eq!(v.versions.len(), 2);
        assert_eq!(v.current().unwrap().fields.statement, "B");
        assert_eq!(v.version(1).unwrap().fields.statement, "A");
        assert!(v.version(3).is_none());
    }

    #[test]
    fn compare_names_changed_fields_in_order() {
        let a = fields("A", "x");
        let mut b = fields("A ", "y");
        b.business_goals = "grow".into();
        assert_eq!(changed_fields(&a, &b), vec!["needs", "business_goals"]);
        assert!(changed_fields(&a, &a).is_empty());
    }

    #[test]
    fn statement_is_required_and_fields_trimmed() {
        assert_eq!(fields("  ", "").parse().unwrap_err().field, "statement");
        let f = fields("Be fast  \n", "").parse().unwrap();
        assert_eq!(f.statement, "Be fast");
        let long =
            VisionFields { statement: "x".into(), needs: "y".repeat(FIELD_MAX + 1), ..Default::default() };
        assert_eq!(long.parse().unwrap_err().field, "needs");
    }

    #[test]
    fn card_lists_every_section() {
        let v = VisionVersion {
            number: 3,
            fields: fields("Be fast", ""),
            saved_by: None,
            saved_at: Timestamp(0),
        };
        let md = card_markdown("Shop", &v);
        assert!(md.starts_with(
            "# Shop — vision\n\n## Vision statement\n\nBe fast\n\n## Target group\n\n_Not written yet._"
        ));
        assert!(md.ends_with("_Version 3_\n"));
    }
}
