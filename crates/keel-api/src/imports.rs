//! Wire types of moving in: files uploaded for an import and the report of what it did (or,
//! in a dry run, would do).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One uploaded file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFileIn {
    /// Its name (problems name it).
    pub name: String,
    /// Its bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// An import: the files in one format, the mapping and (for `csv`) the column map.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportIn {
    /// `jira` (CSV and REST JSON, in any mix), `linear` (CSV export) or `csv` (any CSV, with
    /// `columns`).
    pub format: String,
    /// The files; 20 MB in all at most.
    pub files: Vec<ImportFileIn>,
    /// The mapping as TOML: `[statuses]`, `[kinds]`, `[users]`.
    #[serde(default)]
    pub mapping: Option<String>,
    /// The column map as TOML (required for `csv`): `key`, `title`, `delimiter`, ….
    #[serde(default)]
    pub columns: Option<String>,
    /// Work everything out and report it; write nothing (default false).
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Write nothing if anything is wrong (default false).
    #[serde(default)]
    pub strict: Option<bool>,
}

/// One problem met in the files or the mapping.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportProblemOut {
    /// `warning` (the row is kept, something dropped) or `error` (the row is left out).
    pub severity: String,
    /// The file (or `mapping`).
    pub file: String,
    /// The line (1-based; 0 for the whole file).
    pub line: usize,
    /// The column or field, or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// What an import did, or in a dry run would do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportReportOut {
    /// Whether anything was written.
    pub written: bool,
    /// Items in the files.
    pub items_read: usize,
    /// Items created (or to create).
    pub items_created: u64,
    /// Items already imported (by their source key), skipped.
    pub items_skipped: usize,
    /// Items left out for a problem.
    pub items_left_out: usize,
    /// History events written with the items.
    pub events: u64,
    /// Sprints created (or to create).
    pub sprints_created: usize,
    /// Releases created (or to create).
    pub releases_created: usize,
    /// Comments created (or to create).
    pub comments_created: usize,
    /// Comments already imported, skipped.
    pub comments_skipped: usize,
    /// Links created (or to create).
    pub links_created: usize,
    /// Links already there, skipped.
    pub links_skipped: usize,
    /// Statuses with no workflow state, with how often they are used.
    pub unmapped_statuses: BTreeMap<String, usize>,
    /// Issue types imported as stories, with counts.
    pub unmapped_kinds: BTreeMap<String, usize>,
    /// Users who are not members of the product, with counts.
    pub unknown_users: BTreeMap<String, usize>,
    /// Every problem, by file, line and field.
    pub problems: Vec<ImportProblemOut>,
}
