//! Workflows: the named states an item moves through, each in one of three categories.

use crate::error::{text, Invalid, ValidationError};
use crate::{ProductId, StateId};
use serde::{Deserialize, Serialize};

/// The category of a workflow state. Metrics and the backlog only look at categories, so a
/// product may name its states as it likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Not started.
    Todo,
    /// Being worked on.
    InProgress,
    /// Finished; leaves the backlog.
    Done,
}

impl Category {
    /// Wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Todo => "todo",
            Category::InProgress => "in_progress",
            Category::Done => "done",
        }
    }

    /// Small integer stored on each item, so the backlog index can leave done items out.
    pub fn code(self) -> i64 {
        match self {
            Category::Todo => 0,
            Category::InProgress => 1,
            Category::Done => 2,
        }
    }

    /// From the stored integer.
    pub fn from_code(c: i64) -> Self {
        match c {
            0 => Category::Todo,
            1 => Category::InProgress,
            _ => Category::Done,
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        match s {
            "todo" => Ok(Category::Todo),
            "in_progress" => Ok(Category::InProgress),
            "done" => Ok(Category::Done),
            _ => Err(ValidationError::new(field, "must be one of todo, in_progress, done")),
        }
    }
}

/// One state of a product's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowState {
    /// Its id.
    pub id: StateId,
    /// The product whose workflow it belongs to.
    pub product_id: ProductId,
    /// Its name, unique within the product ("In Review").
    pub name: String,
    /// Its category.
    pub category: Category,
    /// Its place in the workflow, left to right on a board.
    pub position: i64,
}

/// A product's workflow: its states in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// The states, ordered by position.
    pub states: Vec<WorkflowState>,
}

impl Workflow {
    /// The state with this id.
    pub fn state(&self, id: StateId) -> Option<&WorkflowState> {
        self.states.iter().find(|s| s.id == id)
    }

    /// The state with this name, compared without regard to case.
    pub fn by_name(&self, name: &str) -> Option<&WorkflowState> {
        self.states.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The state new items start in: the first `todo` state.
    pub fn initial(&self) -> Option<&WorkflowState> {
        self.states.iter().find(|s| s.category == Category::Todo).or(self.states.first())
    }

    /// Resolves a state given by name or by numeric id, as the API accepts either.
    pub fn resolve(&self, field: &str, s: &str) -> Invalid<&WorkflowState> {
        self.by_name(s).or_else(|| s.parse::<i64>().ok().and_then(|id| self.state(StateId(id)))).ok_or_else(
            || {
                let names: Vec<&str> = self.states.iter().map(|s| s.name.as_str()).collect();
                ValidationError::new(field, format!("must be one of: {}", names.join(", ")))
            },
        )
    }
}

/// The workflow a new product starts with: (name, category).
pub const DEFAULT_WORKFLOW: [(&str, Category); 4] = [
    ("To Do", Category::Todo),
    ("In Progress", Category::InProgress),
    ("In Review", Category::InProgress),
    ("Done", Category::Done),
];

/// A state's name: 1 to 40 characters.
pub fn parse_state_name(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 1, 40, false)
}
