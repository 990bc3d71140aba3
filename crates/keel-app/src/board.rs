//! Boards (scrum and kanban), WIP limits, workflow editing.
//!
//! A team's board is laid out over its home product's workflow (the first product it serves);
//! its layout lives in the team record. The scrum board shows the items of the team's active
//! sprint; the kanban board shows, of every product the team serves and the reader may see,
//! the items in no sprint that are in progress (the first [`KANBAN_DOING_MAX`] by rank), the top
//! [`KANBAN_TODO`] to-do items by rank, and the items done in the last [`KANBAN_DONE_DAYS`] days
//! (at most [`KANBAN_DONE_MAX`]).
//!
//! Reading a board costs a fixed number of queries whatever its size: one item list per product
//! (three for kanban), one for blockers, one for members, and the cards' few distinct parents
//! (to name their epics).
//!
//! Moving a card into a column at its WIP limit needs a reason; the move and a `wip_breach`
//! record holding the reason land in one transaction, so the breach is in the product's history.
//!
//! Workflow editing (the Product Owner or an administrator) replaces the states in one
//! transaction, moving the items of removed states to a chosen state.

use crate::items::ItemInput;
use crate::records::{to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::board::{self, BreachRecord, StateSpec, Swimlanes};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKey, ItemKind, ItemPatch};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{BoardColumn, BoardConfig, Sprint, Team};
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow, WorkflowState};
use keel_domain::{ItemId, ProductId, RecordId, StateId, Timestamp, UserId};
use keel_store::{ItemFilter, NewRecord, Page, RecordFilter, Ref, StoreError, WriteOp, Written};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// To-do items a kanban board shows, by rank.
pub const KANBAN_TODO: u32 = 50;
/// Days a done item stays on a kanban board.
pub const KANBAN_DONE_DAYS: i64 = 14;
/// Most done items a kanban board shows.
pub const KANBAN_DONE_MAX: usize = 50;
/// Most in-progress items a kanban board shows per product, by rank.
pub const KANBAN_DOING_MAX: usize = 500;
/// Most distinct parents read per round to find the cards' epics.
pub const PARENTS_MAX: usize = 200;
/// Most cards of one list a board reads (a sprint, the in-progress items of a product).
pub const BOARD_MAX: usize = 2_000;

/// Which board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoardMode {
    /// The active sprint's items.
    #[default]
    Scrum,
    /// Continuous flow: work in progress, the top of the backlog, recently done.
    Kanban,
}

impl BoardMode {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardMode::Scrum => "scrum",
            BoardMode::Kanban => "kanban",
        }
    }

    /// Parses a wire name (empty: scrum).
    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s {
            "" | "scrum" => Ok(BoardMode::Scrum),
            "kanban" => Ok(BoardMode::Kanban),
            _ => Err(AppError::invalid(field, "must be scrum or kanban")),
        }
    }
}

/// A quick filter of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuickFilter {
    /// Cards assigned to the reader.
    Mine,
    /// Cards blocked by an open item.
    Blocked,
    /// Bugs.
    Bugs,
}

impl QuickFilter {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QuickFilter::Mine => "mine",
            QuickFilter::Blocked => "blocked",
            QuickFilter::Bugs => "bugs",
        }
    }

    /// Parses a wire name (empty: none).
    pub fn parse(field: &str, s: &str) -> AppResult<Option<Self>> {
        match s {
            "" => Ok(None),
            "mine" => Ok(Some(QuickFilter::Mine)),
            "blocked" => Ok(Some(QuickFilter::Blocked)),
            "bugs" => Ok(Some(QuickFilter::Bugs)),
            _ => Err(AppError::invalid(field, "must be one of mine, blocked, bugs")),
        }
    }
}

/// What a reader asks of a board, not yet validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardQuery {
    /// `scrum` or `kanban`.
    pub mode: Option<String>,
    /// `assignee`, `epic` or `none`.
    pub swimlanes: Option<String>,
    /// `mine`, `blocked` or `bugs`.
    pub filter: Option<String>,
    /// Only cards with this label.
    pub label: Option<String>,
}

/// One card.
#[derive(Debug, Clone)]
pub struct Card {
    /// The item.
    pub item: Item,
    /// Its state's name.
    pub status: String,
    /// Its assignee's name.
    pub assignee: Option<String>,
    /// Its epic: (id, key, title).
    pub epic: Option<(ItemId, String, String)>,
    /// The keys of the open items blocking it.
    pub blockers: Vec<String>,
    /// The column it is in.
    pub column: usize,
}

/// One column with its figures.
#[derive(Debug, Clone)]
pub struct ColumnView {
    /// Its layout.
    pub column: BoardColumn,
    /// Its states.
    pub states: Vec<WorkflowState>,
    /// Cards in it, before quick filters (what the WIP limit counts).
    pub count: u32,
}

impl ColumnView {
    /// Whether it holds more cards than its limit.
    pub fn over_limit(&self) -> bool {
        self.column.wip.is_some_and(|w| self.count > w)
    }

    /// Whether a card moved in needs a reason.
    pub fn full(&self) -> bool {
        self.column.wip.is_some_and(|w| self.count >= w)
    }
}

/// One swimlane: a heading and, for each column, its cards (indexes into [`Board::cards`]).
#[derive(Debug, Clone)]
pub struct Lane {
    /// `assignee:<id>`, `epic:<key>`, or `none`.
    pub key: String,
    /// Its heading.
    pub title: String,
    /// Card indexes per column.
    pub cells: Vec<Vec<usize>>,
}

/// A board as shown.
#[derive(Debug, Clone)]
pub struct Board {
    /// The team.
    pub team: Stored<Team>,
    /// The reader's access to the team's home product.
    pub access: ProductAccess,
    /// Which board.
    pub mode: BoardMode,
    /// The active sprint (scrum).
    pub sprint: Option<Stored<Sprint>>,
    /// The columns.
    pub columns: Vec<ColumnView>,
    /// The cards after quick filters, in backlog order.
    pub cards: Vec<Card>,
    /// The lanes.
    pub lanes: Vec<Lane>,
    /// The lanes asked for.
    pub swimlanes: Swimlanes,
    /// The quick filter applied.
    pub filter: Option<QuickFilter>,
    /// The label filter applied.
    pub label: Option<String>,
    /// What the board shows, in a sentence.
    pub scope: String,
}

impl RecordKind for BreachRecord {
    const KIND: ObjectKind = ObjectKind::WipBreach;
}

/// A board move as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveInput {
    /// The item's key.
    pub key: String,
    /// The target column's name.
    pub column: String,
    /// Put it before this item (same column order); applied when the caller may reorder.
    pub before: Option<String>,
    /// Why a full column takes one more card.
    pub reason: Option<String>,
    /// The item's version the move is based on; a stale one is [`AppError::StaleVersion`].
    pub version: Option<i64>,
}

/// What a board move did.
#[derive(Debug, Clone)]
pub struct MoveDone {
    /// The item afterwards.
    pub item: Item,
    /// The breach recorded, if the column was full.
    pub breach: Option<Stored<BreachRecord>>,
}

/// A workflow state as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateInput {
    /// The existing state's id, or none for a new state.
    pub id: Option<i64>,
    /// Its name.
    pub name: String,
    /// `todo`, `in_progress` or `done`.
    pub category: String,
}

/// A board column as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnInput {
    /// Its name.
    pub name: String,
    /// Its states, by name or id.
    pub states: Vec<String>,
    /// Its WIP limit.
    pub wip: Option<i64>,
}

fn lane_key(s: Swimlanes, c: &Card) -> Option<i64> {
    match s {
        Swimlanes::None => None,
        Swimlanes::Assignee => c.item.assignee_id.map(|u| u.0),
        Swimlanes::Epic => c.epic.as_ref().map(|e| e.0 .0),
    }
}

impl App {
    /// Whether the caller may change the workflow and board layouts: the Product Owner, or an
    /// administrator (who manages products).
    pub fn may_edit_workflow(&self, access: &ProductAccess) -> bool {
        access.user.is_admin || self.decide(access, Action::EditWorkflow) == Decision::Allow
    }

    fn require_workflow_edit(&self, access: &ProductAccess) -> AppResult<()> {
        if self.may_edit_workflow(access) {
            Ok(())
        } else {
            Err(self.forbidden(Action::EditWorkflow))
        }
    }

    /// A team's board.
    pub async fn board(&self, user: &User, team: i64, q: &BoardQuery) -> AppResult<Board> {
        let mode = BoardMode::parse("mode", q.mode.as_deref().unwrap_or(""))?;
        let swimlanes = Swimlanes::parse("swimlanes", q.swimlanes.as_deref().unwrap_or(""))?;
        let filter = QuickFilter::parse("filter", q.filter.as_deref().unwrap_or(""))?;
        let label = q.label.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string);
        let (team, access) = self.team_access(user, RecordId(team)).await?;
        let mut b = self.board_of(team, access, mode).await?;
        b.swimlanes = swimlanes;
        b.filter = filter;
        b.label = label;
        let me = user.id;
        let label = b.label.clone();
        b.cards.retain(|c| {
            let f = match filter {
                None => true,
                Some(QuickFilter::Mine) => c.item.assignee_id == Some(me),
                Some(QuickFilter::Blocked) => !c.blockers.is_empty(),
                Some(QuickFilter::Bugs) => c.item.kind == ItemKind::Bug,
            };
            f && label.as_ref().is_none_or(|l| c.item.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
        });
        let ncols = b.columns.len();
        let grouped = board::lanes(&b.cards, |c| lane_key(swimlanes, c));
        let index: HashMap<ItemId, usize> = b.cards.iter().enumerate().map(|(i, c)| (c.item.id, i)).collect();
        b.lanes = grouped
            .into_iter()
            .map(|(k, cards)| {
                let first = cards.first();
                let (key, title) = match (swimlanes, k) {
                    (Swimlanes::None, _) => ("none".to_string(), String::new()),
                    (Swimlanes::Assignee, Some(id)) => (
                        format!("assignee:{id}"),
                        first.and_then(|c| c.assignee.clone()).unwrap_or_else(|| format!("User {id}")),
                    ),
                    (Swimlanes::Assignee, None) => ("none".to_string(), "Unassigned".to_string()),
                    (Swimlanes::Epic, Some(_)) => {
                        let e = first.and_then(|c| c.epic.clone());
                        let (ek, et) = e.map(|e| (e.1, e.2)).unwrap_or_default();
                        (format!("epic:{ek}"), format!("{ek} {et}"))
                    }
                    (Swimlanes::Epic, None) => ("none".to_string(), "No epic".to_string()),
                };
                let mut cells = vec![Vec::new(); ncols];
                for c in cards {
                    cells[c.column].push(index[&c.item.id]);
                }
                Lane { key, title, cells }
            })
            .collect();
        Ok(b)
    }

    /// The board's columns and cards, before quick filters and lanes.
    async fn board_of(&self, team: Stored<Team>, access: ProductAccess, mode: BoardMode) -> AppResult<Board> {
        let home = self.workflow(&access).await?;
        let layout = board::columns(&team.data.board, &home);
        let sprint = if mode == BoardMode::Scrum { self.active_sprint(team.id).await? } else { None };
        let mut items: Vec<(Item, WorkflowState)> = Vec::new();
        let mut names: HashMap<UserId, String> = HashMap::new();
        let mut epics: HashMap<ItemId, (String, String, Option<ItemId>)> = HashMap::new();
        let now = crate::now();
        let mut products = vec![access.product.id];
        products.extend(team.data.products.iter().copied().filter(|p| *p != access.product.id));
        for pid in &products {
            let home_product = *pid == access.product.id;
            let pa = if home_product {
                access.clone()
            } else {
                match self.access_by_id(&access.user, *pid).await {
                    Ok(a) => a,
                    Err(AppError::NotFound) => continue,
                    Err(e) => return Err(e),
                }
            };
            let wf = if home_product { home.clone() } else { self.workflow(&pa).await? };
            let list = match (mode, &sprint) {
                (BoardMode::Scrum, None) => Vec::new(),
                (BoardMode::Scrum, Some(s)) => {
                    let f = ItemFilter { sprint: Some(Some(s.id)), ..Default::default() };
                    self.all_items(*pid, &f, BOARD_MAX).await?
                }
                (BoardMode::Kanban, _) => self.kanban_items(*pid, now).await?,
            };
            if list.is_empty() {
                continue;
            }
            for (u, _) in self.store.members(*pid).await? {
                names.insert(u.id, u.name);
            }
            for i in list {
                if let Some(st) = wf.state(i.status_id) {
                    let st = st.clone();
                    items.push((i, st));
                }
            }
        }
        // The epic of a card: its parent when that is an epic, or its parent's parent (a task's
        // story's epic). Parents are few next to cards (a sprint serves a handful of epics), and
        // no index lists epics cheaply at a million items, so the distinct parents not on the
        // board are read by id, concurrently, in two rounds at most.
        let mut known: HashMap<ItemId, (ItemKind, Option<ItemId>, String, String)> = items
            .iter()
            .map(|(i, _)| (i.id, (i.kind, i.parent_id, i.key.clone(), i.title.clone())))
            .collect();
        for _round in 0..2 {
            let missing: Vec<ItemId> = known
                .values()
                .filter(|(k, _, _, _)| *k != ItemKind::Epic)
                .filter_map(|(_, p, _, _)| *p)
                .filter(|p| !known.contains_key(p))
                .collect::<HashSet<_>>()
                .into_iter()
                .take(PARENTS_MAX)
                .collect();
            if missing.is_empty() {
                break;
            }
            for i in self.items_by_ids(&missing).await? {
                known.insert(i.id, (i.kind, i.parent_id, i.key, i.title));
            }
        }
        for (id, (kind, _, key, title)) in &known {
            if *kind == ItemKind::Epic {
                epics.insert(*id, (key.clone(), title.clone(), None));
            }
        }
        let epic_of = |i: &Item| -> Option<(ItemId, String, String)> {
            let p = i.parent_id?;
            if let Some((k, t, _)) = epics.get(&p) {
                return Some((p, k.clone(), t.clone()));
            }
            let gp = known.get(&p)?.1?;
            epics.get(&gp).map(|(k, t, _)| (gp, k.clone(), t.clone()))
        };
        let ids: Vec<ItemId> = items.iter().map(|(i, _)| i.id).collect();
        let blockers = if ids.is_empty() { HashMap::new() } else { self.blockers(&ids).await? };
        let mut cards = Vec::with_capacity(items.len());
        for (item, st) in items {
            let Some(column) = board::column_of(&layout, &home, &st) else { continue };
            cards.push(Card {
                assignee: item.assignee_id.and_then(|u| names.get(&u).cloned()),
                epic: epic_of(&item),
                blockers: blockers
                    .get(&item.id)
                    .map(|v| v.iter().map(|b| b.key.clone()).collect())
                    .unwrap_or_default(),
                status: st.name,
                column,
                item,
            });
        }
        let columns = layout
            .into_iter()
            .enumerate()
            .map(|(i, c)| ColumnView {
                states: c.states.iter().filter_map(|s| home.state(*s).cloned()).collect(),
                count: cards.iter().filter(|k| k.column == i).count() as u32,
                column: c,
            })
            .collect();
        let scope = match (mode, &sprint) {
            (BoardMode::Scrum, Some(s)) => format!("The items of {}, the team's active sprint.", s.data.name),
            (BoardMode::Scrum, None) => "The team has no active sprint.".to_string(),
            (BoardMode::Kanban, _) => format!(
                "Items in no sprint: those in progress (the first {KANBAN_DOING_MAX} by rank), the top \
                 {KANBAN_TODO} to-do items by rank, and up to {KANBAN_DONE_MAX} items done in the last \
                 {KANBAN_DONE_DAYS} days."
            ),
        };
        Ok(Board {
            team,
            access,
            mode,
            sprint,
            columns,
            cards,
            lanes: Vec::new(),
            swimlanes: Swimlanes::None,
            filter: None,
            label: None,
            scope,
        })
    }

    async fn all_items(&self, product: ProductId, f: &ItemFilter, max: usize) -> AppResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut page = Page::first(500);
        loop {
            let batch = self.store.list_items(product, f, &page).await?;
            let n = batch.len();
            page.after = batch.last().map(|i| i.rank.to_string());
            out.extend(batch);
            if n < 500 || out.len() >= max {
                return Ok(out);
            }
        }
    }

    /// A kanban board's items of one product: in progress, the top of the to-do list, recently
    /// done; all in no sprint.
    async fn kanban_items(&self, product: ProductId, now: Timestamp) -> AppResult<Vec<Item>> {
        let no_sprint = Some(None);
        let f = ItemFilter { category: Some(Category::InProgress), sprint: no_sprint, ..Default::default() };
        let mut out = self.all_items(product, &f, KANBAN_DOING_MAX).await?;
        out.truncate(KANBAN_DOING_MAX);
        let f = ItemFilter { category: Some(Category::Todo), sprint: no_sprint, ..Default::default() };
        out.extend(self.store.list_items(product, &f, &Page::first(KANBAN_TODO)).await?);
        // Done recently: the items whose status changed in the window, newest first, that are
        // done now. The store has no list by time, so these few are read by id, concurrently.
        // Events come oldest first: when the whole window holds more than one read returns, a
        // shorter window keeps the newest ones.
        const EVENTS: u32 = 2_000;
        let mut events = Vec::new();
        for days in [KANBAN_DONE_DAYS, 7, 2, 1] {
            let since = Timestamp(now.0 - days * 24 * 3600 * 1000);
            events = self
                .store
                .product_events_of(product, &[ObjectKind::Item], &["status"], since, EVENTS)
                .await?;
            if (events.len() as u32) < EVENTS {
                break;
            }
        }
        let mut seen = HashSet::new();
        let recent: Vec<ItemId> = events
            .iter()
            .rev()
            .filter(|e| seen.insert(e.object_id))
            .map(|e| ItemId(e.object_id))
            .take(KANBAN_DONE_MAX * 2)
            .collect();
        let mut done: Vec<Item> = self
            .items_by_ids(&recent)
            .await?
            .into_iter()
            .filter(|i| i.category == Category::Done && i.sprint_id.is_none() && i.product_id == product)
            .collect();
        done.sort_by_key(|i| std::cmp::Reverse(i.updated_at));
        done.truncate(KANBAN_DONE_MAX);
        done.sort_by(|a, b| a.rank.cmp(&b.rank));
        out.extend(done);
        Ok(out)
    }

    /// The items with these ids that still exist, read concurrently.
    pub(crate) async fn items_by_ids(&self, ids: &[ItemId]) -> AppResult<Vec<Item>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(16) {
            let mut set = tokio::task::JoinSet::new();
            for id in chunk {
                let (store, id) = (self.store.clone(), *id);
                set.spawn(async move { store.item(id).await });
            }
            while let Some(r) = set.join_next().await {
                match r.map_err(|e| AppError::Internal(StoreError::other(e)))? {
                    Ok(i) => out.push(i),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(out)
    }

    /// Sets a team's board layout (the Product Owner or an administrator). Columns name states
    /// of the home product's workflow by name or id; no columns restores the default layout.
    pub async fn set_board_config(
        &self,
        user: &User,
        team: i64,
        columns: &[ColumnInput],
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Team>> {
        let (t, access) = self.team_access(user, RecordId(team)).await?;
        self.require_workflow_edit(&access)?;
        if let Some(v) = expected_version {
            if v != t.version {
                return Err(AppError::StaleVersion { current: t.version });
            }
        }
        let wf = self.workflow(&access).await?;
        let mut cols = Vec::with_capacity(columns.len());
        for (i, c) in columns.iter().enumerate() {
            let mut states = Vec::with_capacity(c.states.len());
            for (j, s) in c.states.iter().enumerate() {
                states.push(wf.resolve(&format!("columns[{i}].states[{j}]"), s.trim())?.id);
            }
            let wip = match c.wip {
                None => None,
                Some(w) if (1..=10_000).contains(&w) => Some(w as u32),
                Some(_) => {
                    return Err(AppError::invalid(
                        &format!("columns[{i}].wip"),
                        "must be between 1 and 10000",
                    ))
                }
            };
            cols.push(BoardColumn { name: c.name.clone(), states, wip });
        }
        let config = board::validate_config(&BoardConfig { columns: cols }, &wf)?;
        let mut data = t.data.clone();
        data.board = config;
        let op = WriteOp::UpdateRecord {
            id: t.id,
            expected_version: Some(t.version),
            state: None,
            data: to_data(&data)?,
            refs: Vec::new(),
        };
        match self.store.write_batch(vec![op], &self.ctx(user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Internal(StoreError::Other("batch wrote no record".into()))),
        }
    }

    /// Moves a card to a column: its item goes to the column's first state (rights: moving
    /// through the workflow, or accepting for done states; a team member's move into or out of a
    /// done state is a proposal). Into a column at its WIP limit only with a reason, recorded as
    /// a WIP breach in the same transaction.
    pub async fn move_card(&self, user: &User, team: i64, m: &MoveInput) -> AppResult<Outcome<MoveDone>> {
        let (t, home_access) = self.team_access(user, RecordId(team)).await?;
        let key = ItemKey::parse("key", m.key.trim())?;
        let access = if key.product == home_access.product.key {
            home_access.clone()
        } else {
            let a = self.access(user, key.product.as_str()).await.map_err(|e| match e {
                AppError::NotFound => AppError::invalid("key", "is not an item of this team's products"),
                e => e,
            })?;
            if !t.data.products.contains(&a.product.id) {
                return Err(AppError::invalid("key", "is not an item of this team's products"));
            }
            a
        };
        let item = match self.store.item_by_number(access.product.id, key.number).await {
            Ok(i) => i,
            Err(StoreError::NotFound) => return Err(AppError::invalid("key", format!("no item {}", m.key))),
            Err(e) => return Err(e.into()),
        };
        let sprint = self.active_sprint(t.id).await?;
        let mode = match &sprint {
            Some(s) if item.sprint_id == Some(s.id) => BoardMode::Scrum,
            _ => BoardMode::Kanban,
        };
        let b = self.board_of(t.clone(), home_access.clone(), mode).await?;
        let name = m.column.trim();
        let Some(ci) = b.columns.iter().position(|c| c.column.name.eq_ignore_ascii_case(name)) else {
            let names: Vec<&str> = b.columns.iter().map(|c| c.column.name.as_str()).collect();
            return Err(AppError::invalid("column", format!("must be one of: {}", names.join(", "))));
        };
        let home = self.workflow(&home_access).await?;
        let own = self.workflow(&access).await?;
        let col = &b.columns[ci];
        let from = own.state(item.status_id).cloned();
        // Already shown in that column (by the whole layout: a state's column is decided among
        // all columns, so a same-category fallback must not count).
        let layout: Vec<BoardColumn> = b.columns.iter().map(|c| c.column.clone()).collect();
        let already = from.as_ref().is_some_and(|s| board::column_of(&layout, &home, s) == Some(ci));
        let target =
            if already { from.clone() } else { board::target_state(&col.column, &home, &own).cloned() };
        let Some(target) = target else {
            return Err(AppError::invalid("column", "has no state for this item's product"));
        };
        let mut done = MoveDone { item: item.clone(), breach: None };
        // Order within a column is the backlog order: follow it when the caller may reorder.
        let before = m.before.as_deref().map(str::trim).filter(|b| !b.is_empty() && *b != item.key);
        let reorder = match before {
            Some(b) if self.decide(&access, Action::Reorder) == Decision::Allow => {
                Some(crate::items::PositionInput { before: Some(b.to_string()), ..Default::default() })
            }
            _ => None,
        };
        if !already {
            let others = b.cards.iter().filter(|c| c.column == ci && c.item.id != item.id).count() as u32;
            let breach = board::wip_check(&col.column, others, m.reason.as_deref())?;
            let patch = ItemPatch { status: Some((target.id, target.category)), ..Default::default() };
            // Into or out of done: a story's criteria and Definition of Done, and its acceptance.
            let patch = self.acceptance_rule(&access, &item, patch).await?;
            let action = if item.category == Category::Done || target.category == Category::Done {
                Action::Accept
            } else {
                Action::Transition
            };
            match self.decide(&access, action) {
                Decision::Allow => {}
                Decision::Propose => {
                    let input = ItemInput { status: Some(target.id.0.to_string()), ..Default::default() };
                    let reason = breach.as_ref().map(|b| b.reason.as_str()).or(m.reason.as_deref());
                    let version = Some(m.version.unwrap_or(item.version));
                    let o = self.update_item(&access, &item.key, &input, version, reason).await?;
                    return Ok(match o {
                        Outcome::Done(i) => Outcome::Done(MoveDone { item: i, breach: None }),
                        Outcome::Proposed(p) => Outcome::Proposed(p),
                    });
                }
                Decision::Deny => return Err(self.forbidden(action)),
            }
            crate::items::check_version(&item, m.version)?;
            // The item's version as read above (the caller's, when given) is checked again in the
            // writing transaction, which also places the card: a move lands whole or not at all.
            let mut ops = vec![WriteOp::UpdateItem {
                id: Ref::Id(item.id.0),
                expected_version: Some(item.version),
                patch,
            }];
            if let Some(breach) = breach {
                let rec = BreachRecord {
                    item_id: item.id,
                    item_key: item.key.clone(),
                    from: from.map(|s| s.name).unwrap_or_default(),
                    to: target.name.clone(),
                    breach,
                };
                ops.push(WriteOp::CreateRecord(NewRecord {
                    kind: ObjectKind::WipBreach,
                    product_id: Some(item.product_id),
                    parent_id: Some(t.id.0),
                    state: String::new(),
                    unique_key: None,
                    data: to_data(&rec)?,
                }));
            }
            if let Some(pos) = &reorder {
                let position = self.resolve_position(&access, pos).await?;
                ops.push(WriteOp::MoveItem { id: item.id, position });
            }
            for w in self.store.write_batch(ops, &self.ctx(user)).await? {
                match w {
                    Written::Item(i) => done.item = *i,
                    Written::Record(r) => done.breach = Some(Stored::from_record(r)?),
                    _ => {}
                }
            }
        } else if let Some(pos) = &reorder {
            if let Outcome::Done(i) = self.move_item_at(&access, &item.key, pos, m.version, None).await? {
                done.item = i;
            }
        } else {
            crate::items::check_version(&item, m.version)?;
        }
        Ok(Outcome::Done(done))
    }

    /// The WIP breaches recorded on a team's board, newest first.
    pub async fn wip_breaches(&self, user: &User, team: i64) -> AppResult<Vec<Stored<BreachRecord>>> {
        let (t, _) = self.team_access(user, RecordId(team)).await?;
        let mut v =
            self.list_records::<BreachRecord>(RecordFilter::of(ObjectKind::WipBreach).parent(t.id.0)).await?;
        v.reverse();
        Ok(v)
    }

    /// Replaces the product's workflow (the Product Owner or an administrator): `states` in
    /// their new order, and for each removed state (`from`, by name or id) the kept state its
    /// items move to (`to`, by its new or old name, or id).
    pub async fn replace_workflow(
        &self,
        access: &ProductAccess,
        states: &[StateInput],
        remap: &[(String, String)],
        expected_version: Option<i64>,
    ) -> AppResult<Workflow> {
        self.require_workflow_edit(access)?;
        let current = self.workflow(access).await?;
        let mut specs = Vec::with_capacity(states.len());
        for (i, s) in states.iter().enumerate() {
            specs.push(StateSpec {
                id: s.id.map(StateId),
                name: s.name.clone(),
                category: Category::parse(&format!("states[{i}].category"), s.category.trim())?,
            });
        }
        let mut pairs = Vec::with_capacity(remap.len());
        for (i, (from, to)) in remap.iter().enumerate() {
            let f = current.resolve(&format!("remap[{i}].from"), from.trim())?.id;
            let to = to.trim();
            let kept = specs
                .iter()
                .find(|s| s.id.is_some() && s.name.trim().eq_ignore_ascii_case(to))
                .and_then(|s| s.id);
            let t = match kept {
                Some(id) => id,
                None => current.resolve(&format!("remap[{i}].to"), to)?.id,
            };
            pairs.push((f, t));
        }
        let edit = board::validate_workflow_edit(&current, &specs, &pairs)?;
        let r = self
            .store
            .replace_workflow(
                access.product.id,
                edit.states,
                edit.remap,
                expected_version,
                &self.ctx(&access.user),
            )
            .await;
        self.caches.forget_product(access.product.id);
        let w = r?;
        // A changed category or a dropped state marked the flow rows for a rebuild in the same
        // transaction: redo them now rather than at the next start. The workflow is saved
        // either way; a failed rebuild stays marked and is retried at the next start.
        if let Err(e) = self.rebuild_pending_metrics().await {
            tracing::warn!(product = access.product.id.0, "rebuilding the delivery metrics failed: {e}");
        }
        Ok(w)
    }
}
