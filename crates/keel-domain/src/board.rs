//! Board rules: which columns a team's board shows, where each card goes, how cards group into
//! swimlanes, when a move into a column needs a reason (its WIP limit), and whether a board
//! layout or a workflow edit is valid.
//!
//! A board is laid out over its team's home product's workflow. Items of another product the
//! team serves are placed by state name, and failing that by category, so two products with
//! different workflows still share one board.

use crate::error::{text, Invalid, ValidationError};
use crate::sprint::{BoardColumn, BoardConfig};
use crate::workflow::{parse_state_name, Category, Workflow, WorkflowState};
use crate::{ItemId, StateId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Longest column name, in characters.
pub const COLUMN_NAME_MAX: usize = 40;
/// Most columns a board may have.
pub const COLUMNS_MAX: usize = 20;
/// Longest WIP-breach reason, in characters.
pub const REASON_MAX: usize = 500;

/// The columns a board shows: the configured ones (dropping states the workflow no longer has),
/// or one column per workflow state when none are configured.
pub fn columns(config: &BoardConfig, workflow: &Workflow) -> Vec<BoardColumn> {
    let configured: Vec<BoardColumn> = config
        .columns
        .iter()
        .map(|c| BoardColumn {
            name: c.name.clone(),
            states: c.states.iter().copied().filter(|s| workflow.state(*s).is_some()).collect(),
            wip: c.wip,
        })
        .filter(|c| !c.states.is_empty())
        .collect();
    if !configured.is_empty() {
        return configured;
    }
    workflow
        .states
        .iter()
        .map(|s| BoardColumn { name: s.name.clone(), states: vec![s.id], wip: None })
        .collect()
}

/// The column (index) showing an item in `state`, a state of `home` (the board's workflow) or of
/// another product's workflow: by id, then by the name of a home state, then the first column
/// holding a home state of the same category.
pub fn column_of(columns: &[BoardColumn], home: &Workflow, state: &WorkflowState) -> Option<usize> {
    let home_state = home
        .state(state.id)
        .filter(|h| h.product_id == state.product_id)
        .or_else(|| home.by_name(&state.name));
    if let Some(h) = home_state {
        if let Some(i) = columns.iter().position(|c| c.states.contains(&h.id)) {
            return Some(i);
        }
    }
    columns
        .iter()
        .position(|c| c.states.iter().any(|s| home.state(*s).is_some_and(|h| h.category == state.category)))
}

/// The state an item of workflow `own` goes to when moved into `column` of a board over `home`:
/// the column's first state, or the state of `own` with its name, or the first state of `own`
/// with its category.
pub fn target_state<'a>(
    column: &BoardColumn,
    home: &Workflow,
    own: &'a Workflow,
) -> Option<&'a WorkflowState> {
    let first = home.state(*column.states.first()?)?;
    own.state(first.id)
        .filter(|s| s.product_id == first.product_id)
        .or_else(|| own.by_name(&first.name))
        .or_else(|| own.states.iter().find(|s| s.category == first.category))
}

/// How a board groups its cards into horizontal lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Swimlanes {
    /// One lane.
    #[default]
    None,
    /// A lane per assignee, unassigned last.
    Assignee,
    /// A lane per epic, cards without one last.
    Epic,
}

impl Swimlanes {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Swimlanes::None => "none",
            Swimlanes::Assignee => "assignee",
            Swimlanes::Epic => "epic",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        match s {
            "" | "none" => Ok(Swimlanes::None),
            "assignee" => Ok(Swimlanes::Assignee),
            "epic" => Ok(Swimlanes::Epic),
            _ => Err(ValidationError::new(field, "must be one of assignee, epic, none")),
        }
    }
}

/// Groups cards into lanes by `key` (`None`: no assignee, no epic). Lanes come in the order their
/// first card appears (cards are in backlog order), the `None` lane last; cards keep their order.
/// With [`Swimlanes::None`] the caller passes a constant key and gets one lane.
pub fn lanes<T, K: PartialEq + Copy>(
    cards: &[T],
    key: impl Fn(&T) -> Option<K>,
) -> Vec<(Option<K>, Vec<&T>)> {
    let mut out: Vec<(Option<K>, Vec<&T>)> = Vec::new();
    let mut none: Vec<&T> = Vec::new();
    for c in cards {
        match key(c) {
            None => none.push(c),
            Some(k) => match out.iter_mut().find(|(lk, _)| *lk == Some(k)) {
                Some((_, v)) => v.push(c),
                None => out.push((Some(k), vec![c])),
            },
        }
    }
    if !none.is_empty() || out.is_empty() {
        out.push((None, none));
    }
    out
}

/// What a move into a column at or over its WIP limit carries: the figures and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WipBreach {
    /// The column's name.
    pub column: String,
    /// Its limit.
    pub limit: u32,
    /// Cards in it before the move.
    pub count: u32,
    /// Why the limit was exceeded.
    pub reason: String,
}

/// A WIP breach as stored: the move, the column's figures and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreachRecord {
    /// The item moved.
    pub item_id: ItemId,
    /// Its key.
    pub item_key: String,
    /// The state it left.
    pub from: String,
    /// The state it entered.
    pub to: String,
    /// The column, its limit, the count before the move, and the reason.
    #[serde(flatten)]
    pub breach: WipBreach,
}

/// Checks a move into `column` that holds `count` other cards. Within the limit: `Ok(None)`. At or
/// over it: a reason is required (an error on field `reason` without one) and is returned with the
/// figures to record.
pub fn wip_check(column: &BoardColumn, count: u32, reason: Option<&str>) -> Invalid<Option<WipBreach>> {
    let Some(limit) = column.wip else { return Ok(None) };
    if count < limit {
        return Ok(None);
    }
    let reason = reason.map(str::trim).unwrap_or("");
    if reason.is_empty() {
        return Err(ValidationError::new(
            "reason",
            format!(
                "column {} is at its WIP limit ({count} of {limit}); give a reason to move a card into it",
                column.name
            ),
        ));
    }
    let reason = text("reason", reason, 1, REASON_MAX, true)?;
    Ok(Some(WipBreach { column: column.name.clone(), limit, count, reason }))
}

/// Checks a board layout against the workflow it shows: 1 to 20 columns, names of 1 to 40
/// characters, every state a state of the workflow and in at most one column, each column with at
/// least one state, and a WIP limit of at least 1 when given. Returns the layout with names trimmed.
pub fn validate_config(config: &BoardConfig, workflow: &Workflow) -> Invalid<BoardConfig> {
    if config.columns.len() > COLUMNS_MAX {
        return Err(ValidationError::new("columns", format!("must be at most {COLUMNS_MAX}")));
    }
    let mut seen_states = HashSet::new();
    let mut seen_names = HashSet::new();
    let mut out = Vec::with_capacity(config.columns.len());
    for (i, c) in config.columns.iter().enumerate() {
        let name = text(&format!("columns[{i}].name"), &c.name, 1, COLUMN_NAME_MAX, false)?;
        if !seen_names.insert(name.to_lowercase()) {
            return Err(ValidationError::new(format!("columns[{i}].name"), "is the name of another column"));
        }
        if c.states.is_empty() {
            return Err(ValidationError::new(format!("columns[{i}].states"), "must name at least one state"));
        }
        for (j, s) in c.states.iter().enumerate() {
            let field = format!("columns[{i}].states[{j}]");
            if workflow.state(*s).is_none() {
                return Err(ValidationError::new(field, "is not a state of the workflow"));
            }
            if !seen_states.insert(*s) {
                return Err(ValidationError::new(field, "is already shown in another column"));
            }
        }
        if c.wip == Some(0) {
            return Err(ValidationError::new(format!("columns[{i}].wip"), "must be at least 1"));
        }
        out.push(BoardColumn { name, states: c.states.clone(), wip: c.wip });
    }
    Ok(BoardConfig { columns: out })
}

/// One state of an edited workflow, in its new order: an existing state (with its id) renamed or
/// recategorised, or a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSpec {
    /// The existing state, or `None` for a new one.
    pub id: Option<StateId>,
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: Category,
}

/// A validated workflow edit: the states in their new order, and for each removed state the kept
/// state its items move to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowEdit {
    /// The states, left to right.
    pub states: Vec<StateSpec>,
    /// `(removed, target)` for every state removed.
    pub remap: Vec<(StateId, StateId)>,
}

/// Most states a workflow may have.
pub const STATES_MAX: usize = 30;

/// Checks an edit of `current`: 1 to 30 states with valid, unique names (ignoring case), ids
/// only of `current`'s states and each once, at least one to-do and one done state, and for every
/// state left out a target among the kept states (its items move there). Fields named:
/// `states`, `states[i].name`, `states[i].id`, `remap`, `remap[i].from`, `remap[i].to`.
pub fn validate_workflow_edit(
    current: &Workflow,
    states: &[StateSpec],
    remap: &[(StateId, StateId)],
) -> Invalid<WorkflowEdit> {
    if states.is_empty() {
        return Err(ValidationError::new("states", "must not be empty"));
    }
    if states.len() > STATES_MAX {
        return Err(ValidationError::new("states", format!("must be at most {STATES_MAX}")));
    }
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(states.len());
    for (i, s) in states.iter().enumerate() {
        let name = parse_state_name(&format!("states[{i}].name"), &s.name)?;
        if !names.insert(name.to_lowercase()) {
            return Err(ValidationError::new(format!("states[{i}].name"), "is the name of another state"));
        }
        if let Some(id) = s.id {
            if current.state(id).is_none() {
                return Err(ValidationError::new(
                    format!("states[{i}].id"),
                    "is not a state of this workflow",
                ));
            }
            if !ids.insert(id) {
                return Err(ValidationError::new(format!("states[{i}].id"), "appears twice"));
            }
        }
        out.push(StateSpec { id: s.id, name, category: s.category });
    }
    for (cat, what) in [(Category::Todo, "to-do"), (Category::Done, "done")] {
        if !out.iter().any(|s| s.category == cat) {
            return Err(ValidationError::new("states", format!("must keep at least one {what} state")));
        }
    }
    let removed: Vec<&WorkflowState> = current.states.iter().filter(|s| !ids.contains(&s.id)).collect();
    let mut seen = HashSet::new();
    for (i, (from, to)) in remap.iter().enumerate() {
        if !removed.iter().any(|r| r.id == *from) {
            return Err(ValidationError::new(format!("remap[{i}].from"), "is not a state being removed"));
        }
        if !seen.insert(*from) {
            return Err(ValidationError::new(format!("remap[{i}].from"), "appears twice"));
        }
        if !ids.contains(to) {
            return Err(ValidationError::new(format!("remap[{i}].to"), "must be a state that is kept"));
        }
    }
    if let Some(r) = removed.iter().find(|r| !seen.contains(&r.id)) {
        return Err(ValidationError::new(
            "remap",
            format!("state {} is removed: name the state its items move to", r.name),
        ));
    }
    Ok(WorkflowEdit { states: out, remap: remap.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductId;

    fn wf(product: i64, base: i64) -> Workflow {
        let spec = [
            ("To Do", Category::Todo),
            ("In Progress", Category::InProgress),
            ("In Review", Category::InProgress),
            ("Done", Category::Done),
        ];
        Workflow {
            states: spec
                .iter()
                .enumerate()
                .map(|(i, (n, c))| WorkflowState {
                    id: StateId(base + i as i64),
                    product_id: ProductId(product),
                    name: n.to_string(),
                    category: *c,
                    position: i as i64,
                })
                .collect(),
        }
    }

    fn col(name: &str, states: &[i64], wip: Option<u32>) -> BoardColumn {
        BoardColumn { name: name.into(), states: states.iter().map(|s| StateId(*s)).collect(), wip }
    }

    #[test]
    fn default_columns_are_one_per_state() {
        let w = wf(1, 1);
        let c = columns(&BoardConfig::default(), &w);
        assert_eq!(
            c.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["To Do", "In Progress", "In Review", "Done"]
        );
        assert!(c.iter().all(|c| c.states.len() == 1 && c.wip.is_none()));
    }

    #[test]
    fn configured_columns_drop_removed_states() {
        let w = wf(1, 1);
        let cfg = BoardConfig {
            columns: vec![
                col("Todo", &[1], None),
                col("Doing", &[2, 3, 99], Some(3)),
                col("Gone", &[98], None),
            ],
        };
        let c = columns(&cfg, &w);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].states, vec![StateId(2), StateId(3)]);
        assert_eq!(c[1].wip, Some(3));
    }

    #[test]
    fn cards_are_placed_by_state_then_name_then_category() {
        let home = wf(1, 1);
        let cols = vec![col("Todo", &[1], None), col("Doing", &[2, 3], None), col("Done", &[4], None)];
        assert_eq!(column_of(&cols, &home, &home.states[2]), Some(1));
        // Another product: same names map by name, an unknown name by category.
        let other = wf(2, 11);
        assert_eq!(column_of(&cols, &home, &other.states[3]), Some(2));
        let mut odd = other.states[1].clone();
        odd.name = "Testing".into();
        assert_eq!(column_of(&cols, &home, &odd), Some(1));
        // A state in no column and no same-category column: nowhere.
        let cols2 = vec![col("Todo", &[1], None)];
        assert_eq!(column_of(&cols2, &home, &home.states[3]), None);
    }

    #[test]
    fn moves_go_to_the_first_state_of_the_column() {
        let home = wf(1, 1);
        let other = wf(2, 11);
        let doing = col("Doing", &[3, 2], None);
        assert_eq!(target_state(&doing, &home, &home).map(|s| s.id), Some(StateId(3)));
        assert_eq!(target_state(&doing, &home, &other).map(|s| s.id), Some(StateId(13)));
    }

    #[test]
    fn lanes_keep_first_appearance_order_with_none_last() {
        let cards = [(1, Some(7)), (2, None), (3, Some(5)), (4, Some(7))];
        let l = lanes(&cards, |c| c.1);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].0, Some(7));
        assert_eq!(l[0].1.iter().map(|c| c.0).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(l[1].0, Some(5));
        assert_eq!(l[2].0, None);
        assert_eq!(l[2].1.len(), 1);
        let one = lanes(&cards, |_| None::<i64>);
        assert_eq!(one.len(), 1);
        let empty: [(i64, Option<i64>); 0] = [];
        assert_eq!(lanes(&empty, |c| c.1).len(), 1, "an empty board still has its one lane");
        assert_eq!(Swimlanes::parse("s", "epic").unwrap(), Swimlanes::Epic);
        assert!(Swimlanes::parse("s", "team").is_err());
    }

    #[test]
    fn wip_limits_ask_for_a_reason_at_the_limit() {
        let c = col("Doing", &[2], Some(2));
        assert_eq!(wip_check(&c, 1, None), Ok(None));
        let e = wip_check(&c, 2, None).unwrap_err();
        assert_eq!(e.field, "reason");
        assert!(e.message.contains("2 of 2"), "{}", e.message);
        assert_eq!(wip_check(&c, 3, Some("  ")).unwrap_err().field, "reason");
        let b = wip_check(&c, 2, Some(" hotfix ")).unwrap().unwrap();
        assert_eq!((b.limit, b.count, b.reason.as_str()), (2, 2, "hotfix"));
        assert_eq!(wip_check(&c, 2, Some(&"x".repeat(501))).unwrap_err().field, "reason");
        assert_eq!(wip_check(&col("Free", &[2], None), 100, None), Ok(None));
    }

    #[test]
    fn board_configs_are_checked_against_the_workflow() {
        let w = wf(1, 1);
        let ok = BoardConfig { columns: vec![col(" Todo ", &[1], None), col("Doing", &[2, 3], Some(3))] };
        assert_eq!(validate_config(&ok, &w).unwrap().columns[0].name, "Todo");
        let bad = |cfg: BoardConfig| validate_config(&cfg, &w).unwrap_err().field;
        assert_eq!(bad(BoardConfig { columns: vec![col("X", &[99], None)] }), "columns[0].states[0]");
        assert_eq!(
            bad(BoardConfig { columns: vec![col("X", &[1], None), col("Y", &[2, 1], None)] }),
            "columns[1].states[1]"
        );
        assert_eq!(bad(BoardConfig { columns: vec![col("", &[1], None)] }), "columns[0].name");
        assert_eq!(bad(BoardConfig { columns: vec![col(&"n".repeat(41), &[1], None)] }), "columns[0].name");
        assert_eq!(bad(BoardConfig { columns: vec![col("X", &[1], Some(0))] }), "columns[0].wip");
        assert_eq!(bad(BoardConfig { columns: vec![col("X", &[], None)] }), "columns[0].states");
        assert_eq!(
            bad(BoardConfig { columns: vec![col("X", &[1], None), col("x", &[2], None)] }),
            "columns[1].name"
        );
        assert!(validate_config(&BoardConfig::default(), &w).is_ok(), "no columns: the default layout");
    }

    fn spec(id: Option<i64>, name: &str, category: Category) -> StateSpec {
        StateSpec { id: id.map(StateId), name: name.into(), category }
    }

    #[test]
    fn workflow_edits_keep_todo_and_done_and_map_removed_states() {
        let w = wf(1, 1);
        let keep = vec![
            spec(Some(1), "Backlog", Category::Todo),
            spec(None, "Ready", Category::Todo),
            spec(Some(3), "Review", Category::InProgress),
            spec(Some(4), "Done", Category::Done),
        ];
        // State 2 (In Progress) is removed: it needs a target.
        let e = validate_workflow_edit(&w, &keep, &[]).unwrap_err();
        assert_eq!(e.field, "remap");
        assert!(e.message.contains("In Progress"), "{}", e.message);
        let ok = validate_workflow_edit(&w, &keep, &[(StateId(2), StateId(3))]).unwrap();
        assert_eq!(ok.remap, vec![(StateId(2), StateId(3))]);
        assert_eq!(ok.states[0].name, "Backlog");

        let field =
            |s: &[StateSpec], r: &[(StateId, StateId)]| validate_workflow_edit(&w, s, r).unwrap_err().field;
        assert_eq!(field(&keep, &[(StateId(2), StateId(2))]), "remap[0].to");
        assert_eq!(field(&keep, &[(StateId(3), StateId(1))]), "remap[0].from");
        assert_eq!(field(&keep, &[(StateId(2), StateId(1)), (StateId(2), StateId(1))]), "remap[1].from");
        let no_done = vec![spec(Some(1), "A", Category::Todo), spec(Some(2), "B", Category::InProgress)];
        assert_eq!(field(&no_done, &[(StateId(3), StateId(1)), (StateId(4), StateId(2))]), "states");
        let no_todo = vec![spec(Some(2), "B", Category::InProgress), spec(Some(4), "D", Category::Done)];
        assert_eq!(field(&no_todo, &[]), "states");
        let dup = vec![
            spec(Some(1), "A", Category::Todo),
            spec(Some(2), "a", Category::Todo),
            spec(Some(3), "C", Category::InProgress),
            spec(Some(4), "D", Category::Done),
        ];
        assert_eq!(field(&dup, &[]), "states[1].name");
        let twice = vec![spec(Some(1), "A", Category::Todo), spec(Some(1), "B", Category::Done)];
        assert_eq!(field(&twice, &[]), "states[1].id");
        let foreign = vec![spec(Some(77), "A", Category::Todo), spec(None, "B", Category::Done)];
        assert_eq!(field(&foreign, &[]), "states[0].id");
        assert_eq!(field(&[], &[]), "states");
        let blank = vec![spec(Some(1), " ", Category::Todo)];
        assert_eq!(field(&blank, &[]), "states[0].name");
    }
}
