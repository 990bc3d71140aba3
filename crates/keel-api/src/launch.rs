//! Wire types: launch checklist templates, release checklists and go / no-go decisions, PRDs.

use crate::rfc3339;
use keel_domain::launch::{Checklist, LaunchDecision, LaunchTemplate, TemplateItem};
use keel_domain::prd::DocSection;
use keel_domain::product::Role;
use keel_domain::{Date, UserId};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One item of a launch template.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateItemWire {
    /// What has to happen.
    pub title: String,
    /// The role that usually owns it (`pm`, `po`, `team`, `stakeholder`), or `null`.
    #[serde(default)]
    pub owner_role: Option<String>,
    /// Due this many days before the release's target date (negative: after it), -365 to 365.
    #[serde(default)]
    pub due_offset_days: i64,
}

/// A product's launch checklist template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LaunchTemplateOut {
    /// Its items, in order.
    pub items: Vec<TemplateItemWire>,
    /// Whether it is the built-in default (never saved).
    pub default: bool,
    /// Version to send back with a change (0 while it is the default).
    pub version: i64,
}

impl LaunchTemplateOut {
    /// From the template and its version.
    pub fn new(t: &LaunchTemplate, version: i64) -> Self {
        LaunchTemplateOut {
            items: t
                .items
                .iter()
                .map(|i| TemplateItemWire {
                    title: i.title.clone(),
                    owner_role: i.owner_role.map(|r| r.as_str().to_string()),
                    due_offset_days: i.due_offset_days as i64,
                })
                .collect(),
            default: version == 0,
            version,
        }
    }
}

/// Replaces a product's launch template.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchTemplateIn {
    /// The items, in order.
    pub items: Vec<TemplateItemWire>,
    /// The version read (409 when stale).
    #[serde(default)]
    pub version: Option<i64>,
}

impl LaunchTemplateIn {
    /// The domain template (roles checked; the rest is validated by the domain).
    pub fn template(&self) -> keel_domain::Invalid<LaunchTemplate> {
        let mut items = Vec::new();
        for (n, i) in self.items.iter().enumerate() {
            let owner_role = match i.owner_role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                Some(r) => Some(Role::parse(&format!("items[{n}].owner_role"), r)?),
                None => None,
            };
            let due =
                keel_domain::launch::check_offset(&format!("items[{n}].due_offset_days"), i.due_offset_days)?;
            items.push(TemplateItem { title: i.title.clone(), owner_role, due_offset_days: due });
        }
        Ok(LaunchTemplate { items })
    }
}

/// One item of a release's checklist.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LaunchItemOut {
    /// Its id within the checklist.
    pub id: i64,
    /// What has to happen.
    pub title: String,
    /// Its owner's user id.
    pub owner: Option<i64>,
    /// Its owner's name.
    pub owner_name: Option<String>,
    /// Due date (`YYYY-MM-DD`).
    pub due: Option<String>,
    /// Done or not.
    pub done: bool,
    /// Who ticked it.
    pub done_by: Option<i64>,
    /// When (RFC 3339).
    pub done_at: Option<String>,
    /// A note.
    pub note: String,
    /// Open and past its due date.
    pub overdue: bool,
}

/// A go / no-go decision or recommendation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LaunchDecisionOut {
    /// Its id within the checklist.
    pub id: i64,
    /// `go` or `no_go`.
    pub decision: String,
    /// Why.
    pub note: String,
    /// Who (user id).
    pub by: i64,
    /// Their name.
    pub by_name: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// A recommendation from someone who may only propose the decision, not the decision.
    pub proposed: bool,
    /// Checklist items still open when it was made.
    pub open_items: Vec<String>,
}

impl LaunchDecisionOut {
    /// From the domain decision; `name` gives a user's name.
    pub fn new(d: &LaunchDecision, name: &dyn Fn(UserId) -> Option<String>) -> Self {
        LaunchDecisionOut {
            id: d.id,
            decision: d.decision.as_str().to_string(),
            note: d.note.clone(),
            by: d.by.0,
            by_name: name(d.by),
            at: rfc3339(d.at),
            proposed: d.proposed,
            open_items: d.open_items.clone(),
        }
    }
}

/// A release's launch: checklist, overdue count, decisions.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LaunchOut {
    /// The release's record id.
    pub release_id: i64,
    /// Its name.
    pub release_name: String,
    /// Its target date.
    pub target_date: Option<String>,
    /// The checklist items, in order.
    pub items: Vec<LaunchItemOut>,
    /// How many items are open.
    pub open: usize,
    /// How many open items are overdue.
    pub overdue: usize,
    /// The latest binding decision (`go` / `no_go`), if any.
    pub decision: Option<String>,
    /// Every decision and recommendation, oldest first.
    pub decisions: Vec<LaunchDecisionOut>,
    /// Whether the checklist is still shown from the template (not yet changed).
    pub from_template: bool,
    /// Version to send back with a change (0 while shown from the template).
    pub version: i64,
}

impl LaunchOut {
    /// From the checklist; `name` gives a user's name.
    pub fn new(
        release: (i64, &str, Option<Date>),
        c: &Checklist,
        version: i64,
        today: Date,
        name: &dyn Fn(UserId) -> Option<String>,
    ) -> Self {
        let items: Vec<LaunchItemOut> = c
            .items
            .iter()
            .map(|i| LaunchItemOut {
                id: i.id,
                title: i.title.clone(),
                owner: i.owner.map(|u| u.0),
                owner_name: i.owner.and_then(name),
                due: i.due.map(|d| d.to_string()),
                done: i.done,
                done_by: i.done_by.map(|u| u.0),
                done_at: i.done_at.map(rfc3339),
                note: i.note.clone(),
                overdue: i.overdue(today),
            })
            .collect();
        LaunchOut {
            release_id: release.0,
            release_name: release.1.to_string(),
            target_date: release.2.map(|d| d.to_string()),
            open: items.iter().filter(|i| !i.done).count(),
            overdue: items.iter().filter(|i| i.overdue).count(),
            items,
            decision: c.current_decision().map(|d| d.decision.as_str().to_string()),
            decisions: c.decisions.iter().map(|d| LaunchDecisionOut::new(d, name)).collect(),
            from_template: version == 0,
            version,
        }
    }
}

/// Adds a checklist item, or changes one (absent fields stay as they are).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchItemIn {
    /// What has to happen (required to add).
    pub title: Option<String>,
    /// Owner's user id, a member of the product (`null` clears).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub owner: Option<Option<i64>>,
    /// Due date `YYYY-MM-DD` (empty clears).
    pub due: Option<String>,
    /// Done or not.
    pub done: Option<bool>,
    /// A note.
    pub note: Option<String>,
    /// The checklist version read (409 when stale).
    pub version: Option<i64>,
}

/// A go / no-go decision.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchDecisionIn {
    /// `go` or `no_go`.
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub note: String,
    /// Required to say "go" while checklist items are open: they are recorded with the decision.
    #[serde(default)]
    pub acknowledge_open: bool,
    /// The checklist version read (409 when stale).
    pub version: Option<i64>,
}

/// A go / no-go as recorded, with the launch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LaunchDecisionResult {
    /// The decision (or recommendation) recorded.
    pub recorded: LaunchDecisionOut,
    /// The launch after it.
    pub launch: LaunchOut,
}

/// One section of a PRD.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrdSectionOut {
    /// Its id: `overview`, `problem`, `goals`, `scope`, `non_goals`, `releases`, `open_questions`.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The text shown (Markdown): the PM's edit, or the generated text.
    pub markdown: String,
    /// Whether the PM's edit stands in for the generated text.
    pub edited: bool,
    /// The text generated from the data now.
    pub generated_markdown: String,
    /// Edited, and the data has changed since the edit was made.
    pub outdated: bool,
}

/// A PRD.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrdOut {
    /// `initiative` or `epic`.
    pub subject: String,
    /// The initiative's record id or the epic's key.
    pub subject_id: String,
    /// Its title.
    pub title: String,
    /// Its sections, in order.
    pub sections: Vec<PrdSectionOut>,
    /// The whole document as Markdown.
    pub markdown: String,
    /// Version to send back with a change (0 before the first edit).
    pub version: i64,
}

impl PrdOut {
    /// From the composed sections.
    pub fn new(
        subject: &str,
        subject_id: String,
        title: &str,
        sections: &[DocSection],
        markdown: &str,
        version: i64,
    ) -> Self {
        PrdOut {
            subject: subject.to_string(),
            subject_id,
            title: title.to_string(),
            sections: sections
                .iter()
                .map(|s| PrdSectionOut {
                    id: s.id.to_string(),
                    title: s.title.to_string(),
                    markdown: s.markdown.clone(),
                    edited: s.edited,
                    generated_markdown: s.generated.clone(),
                    outdated: s.outdated,
                })
                .collect(),
            markdown: markdown.to_string(),
            version,
        }
    }
}

/// Edits a PRD: sets sections and resets others to generated.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrdIn {
    /// Section id → the PM's Markdown.
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    /// Section ids to reset to the generated text.
    #[serde(default)]
    pub reset: Vec<String>,
    /// The version read (409 when stale).
    pub version: Option<i64>,
}
