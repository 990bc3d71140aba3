//! Outcomes: an initiative's KPIs with its delivery events and before/after windows, what is
//! being done for a goal, the chain from any item up to the vision, and the alignment report.
//! Everything is read from the records, the items and their history; nothing is kept aside.

use crate::records::Stored;
use crate::roadmap::status_of;
use crate::vision::{goal_progress, GoalProgress};
use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKind};
use keel_domain::kpi::Kpi;
use keel_domain::outcomes::{aligned_epics, alignment, before_after, epic_of, Alignment, BeforeAfter, Work};
use keel_domain::pm::{Goal, Initiative, InitiativeStatus, Progress};
use keel_domain::sprint::{ReleaseState, SprintState};
use keel_domain::time::{Date, Timestamp};
use keel_domain::workflow::Category;
use keel_domain::{ItemId, RecordId};
use keel_store::{ItemFilter, RecordFilter};
use std::collections::{HashMap, HashSet};

/// What kind of delivery event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// An epic reached a done state.
    EpicDone,
    /// A release holding the initiative's work shipped.
    ReleaseShipped,
}

impl DeliveryKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::EpicDone => "epic_done",
            DeliveryKind::ReleaseShipped => "release_shipped",
        }
    }
}

/// A delivery event of an initiative, from the history.
#[derive(Debug, Clone)]
pub struct DeliveryEvent {
    /// What happened.
    pub kind: DeliveryKind,
    /// When.
    pub at: Timestamp,
    /// The day it happened (UTC).
    pub date: Date,
    /// The epic's key or the release's name.
    pub label: String,
    /// The epic item's or the release record's id.
    pub id: i64,
}

/// A KPI's change around one shipped release.
#[derive(Debug, Clone)]
pub struct ReleaseComparison {
    /// The release.
    pub release_id: RecordId,
    /// Its name.
    pub release: String,
    /// The day it shipped.
    pub date: Date,
    /// The windows.
    pub windows: BeforeAfter,
}

/// A key result of one of the initiative's goals, with its KPI series.
#[derive(Debug, Clone)]
pub struct KeyResultSeries {
    /// The goal.
    pub goal_id: RecordId,
    /// Its title.
    pub goal: String,
    /// The key result's id within the goal.
    pub key_result_id: i64,
    /// Its title.
    pub key_result: String,
    /// Its KPI (`None`: the key result tracks none).
    pub kpi: Option<Stored<Kpi>>,
    /// Before/after each shipped release (empty without a KPI).
    pub comparisons: Vec<ReleaseComparison>,
}

/// An epic with its delivery progress.
#[derive(Debug, Clone)]
pub struct EpicProgress {
    /// The epic.
    pub epic: Item,
    /// Done points of its stories' points.
    pub progress: Progress,
    /// Its child items, in backlog order.
    pub children: Vec<Item>,
}

/// An initiative's outcomes.
#[derive(Debug, Clone)]
pub struct InitiativeOutcomes {
    /// The initiative.
    pub initiative: Stored<Initiative>,
    /// Its status.
    pub status: InitiativeStatus,
    /// Days on each side of a release compared.
    pub window_days: i32,
    /// Its goals with their progress (gone goals left out).
    pub goals: Vec<GoalProgress>,
    /// Its goals' key results with their KPIs.
    pub series: Vec<KeyResultSeries>,
    /// Epics done and releases shipped, oldest first.
    pub events: Vec<DeliveryEvent>,
    /// Its epics with their progress (gone epics left out).
    pub epics: Vec<EpicProgress>,
    /// Its delivery progress: all its epics' stories.
    pub progress: Progress,
}

/// An initiative serving a goal, with its epics.
#[derive(Debug, Clone)]
pub struct ServingInitiative {
    /// The initiative.
    pub initiative: Stored<Initiative>,
    /// Its status.
    pub status: InitiativeStatus,
    /// Its epics with their progress and stories.
    pub epics: Vec<EpicProgress>,
    /// Its delivery progress.
    pub progress: Progress,
}

/// A goal's outcomes: its progress and what is being done for it.
#[derive(Debug, Clone)]
pub struct GoalOutcomes {
    /// The goal with its key results' progress.
    pub goal: GoalProgress,
    /// The KPIs its key results track (by id).
    pub kpis: HashMap<RecordId, Stored<Kpi>>,
    /// The initiatives serving it, by id.
    pub initiatives: Vec<ServingInitiative>,
}

/// Why an item is being built: its parents, its epic's initiatives, their goals, the vision.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The item.
    pub item: Item,
    /// Its parents, nearest first (a task's story, then the epic).
    pub parents: Vec<Item>,
    /// The epic it belongs to (itself when an epic).
    pub epic: Option<Item>,
    /// The initiatives delivering that epic.
    pub initiatives: Vec<Stored<Initiative>>,
    /// The goals those initiatives serve, with progress.
    pub goals: Vec<GoalProgress>,
    /// The product's current vision statement, if saved.
    pub vision: Option<String>,
}

impl Chain {
    /// Whether the item traces to a goal.
    pub fn aligned(&self) -> bool {
        !self.goals.is_empty()
    }
}

/// The alignment report of a product.
#[derive(Debug, Clone)]
pub struct AlignmentReport {
    /// The sums, per team and overall.
    pub alignment: Alignment,
    /// Team names by id.
    pub teams: HashMap<RecordId, String>,
    /// The items counted, in the order summed: whether each is aligned, and its team.
    pub items: Vec<(Item, bool, Option<RecordId>)>,
    /// The team asked for.
    pub team: Option<RecordId>,
    /// The sprint asked for.
    pub sprint: Option<RecordId>,
}

/// The most items a report reads.
const ITEMS_MAX: usize = 50_000;
/// Up to this many parents out of the report's scope are read one by one; more, by kind.
const PARENTS_BY_ID_MAX: usize = 64;

impl App {
    /// Every item matching `filter`, paged 500 at a time, up to [`ITEMS_MAX`].
    async fn every_item(&self, access: &ProductAccess, filter: &ItemFilter) -> AppResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_items(access, filter, cursor.as_deref(), 500).await?;
            out.extend(page.items);
            match page.next_cursor {
                Some(c) if out.len() < ITEMS_MAX => cursor = Some(c),
                _ => return Ok(out),
            }
        }
    }

    /// The epics with these ids that still exist in the product, each with its children and
    /// progress (one paged read per epic; an initiative links at most 100).
    async fn epics_progress(&self, access: &ProductAccess, ids: &[ItemId]) -> AppResult<Vec<EpicProgress>> {
        let mut out = Vec::new();
        for epic in self.items_by_ids(ids).await? {
            if epic.product_id != access.product.id || epic.kind != ItemKind::Epic {
                continue;
            }
            let children =
                self.every_item(access, &ItemFilter { parent: Some(epic.id), ..Default::default() }).await?;
            let progress = Progress::of(
                &children
                    .iter()
                    .filter(|c| c.kind == ItemKind::Story)
                    .map(|c| (c.estimate.map(|p| p.value()), c.category == Category::Done))
                    .collect::<Vec<_>>(),
            );
            out.push(EpicProgress { epic, progress, children });
        }
        out.sort_by_key(|e| ids.iter().position(|i| *i == e.epic.id));
        Ok(out)
    }

    /// When an epic now done got there: its last status change (its creation when it never
    /// changed status).
    async fn done_at(&self, epic: &Item) -> AppResult<Timestamp> {
        let events = self.store.history(ObjectKind::Item, epic.id.0, None, 200).await?;
        Ok(events.iter().find(|e| e.field == "status").map_or(epic.created_at, |e| e.at))
    }

    /// The KPIs of the product, by id.
    async fn kpi_map(&self, access: &ProductAccess) -> AppResult<HashMap<RecordId, Stored<Kpi>>> {
        Ok(self.kpis(access).await?.into_iter().map(|k| (k.id, k)).collect())
    }

    /// An initiative's outcomes: its goals' key results and KPI series, its epics done and
    /// releases shipped, and each KPI's mean `window_days` before and after each release.
    pub async fn initiative_outcomes(
        &self,
        access: &ProductAccess,
        initiative: Stored<Initiative>,
        window_days: i32,
    ) -> AppResult<InitiativeOutcomes> {
        let kpis = self.kpi_map(access).await?;
        let plain: HashMap<RecordId, Kpi> = kpis.iter().map(|(id, k)| (*id, k.data.clone())).collect();
        let goals: Vec<GoalProgress> = self
            .goals_of(access)
            .await?
            .into_iter()
            .filter(|g| initiative.data.goals.contains(&g.id))
            .map(|g| goal_progress(g, &plain))
            .collect();
        let epics = self.epics_progress(access, &initiative.data.epics).await?;
        let stories: Vec<(Option<f64>, bool)> = epics
            .iter()
            .flat_map(|e| e.children.iter())
            .filter(|c| c.kind == ItemKind::Story)
            .map(|c| (c.estimate.map(|p| p.value()), c.category == Category::Done))
            .collect();
        let progress = Progress::of(&stories);

        let mut events = Vec::new();
        for e in epics.iter().filter(|e| e.epic.category == Category::Done) {
            let at = self.done_at(&e.epic).await?;
            events.push(DeliveryEvent {
                kind: DeliveryKind::EpicDone,
                at,
                date: Date::of(at),
                label: e.epic.key.clone(),
                id: e.epic.id.0,
            });
        }
        let release_ids: HashSet<RecordId> =
            epics.iter().flat_map(|e| e.children.iter()).filter_map(|c| c.release_id).collect();
        let mut shipped: Vec<(RecordId, String, Timestamp)> = self
            .releases(access)
            .await?
            .into_iter()
            .filter(|r| release_ids.contains(&r.id) && r.state == ReleaseState::Released.as_str())
            .filter_map(|r| r.data.released_at.map(|at| (r.id, r.data.name.clone(), at)))
            .collect();
        shipped.sort_by_key(|(id, _, at)| (*at, *id));
        for (id, name, at) in &shipped {
            events.push(DeliveryEvent {
                kind: DeliveryKind::ReleaseShipped,
                at: *at,
                date: Date::of(*at),
                label: name.clone(),
                id: id.0,
            });
        }
        events.sort_by_key(|e| (e.at, e.id));

        let mut series = Vec::new();
        for g in &goals {
            for kr in &g.goal.data.key_results {
                let kpi = kr.kpi_id.and_then(|id| kpis.get(&id)).cloned();
                let comparisons = match &kpi {
                    Some(k) => shipped
                        .iter()
                        .map(|(id, name, at)| ReleaseComparison {
                            release_id: *id,
                            release: name.clone(),
                            date: Date::of(*at),
                            windows: before_after(&k.data.measurements, Date::of(*at), window_days),
                        })
                        .collect(),
                    None => Vec::new(),
                };
                series.push(KeyResultSeries {
                    goal_id: g.goal.id,
                    goal: g.goal.data.title.clone(),
                    key_result_id: kr.id,
                    key_result: kr.title.clone(),
                    kpi,
                    comparisons,
                });
            }
        }
        Ok(InitiativeOutcomes {
            status: status_of(&initiative),
            initiative,
            window_days,
            goals,
            series,
            events,
            epics,
            progress,
        })
    }

    async fn goals_of(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Goal>>> {
        self.list_records::<Goal>(RecordFilter::of(ObjectKind::Goal).product(access.product.id)).await
    }

    /// A goal's outcomes: its progress, and the initiatives serving it with their epics, the
    /// epics' stories and delivery progress.
    pub async fn goal_outcomes(&self, access: &ProductAccess, goal: GoalProgress) -> AppResult<GoalOutcomes> {
        let kpis = self.kpi_map(access).await?;
        let mut initiatives = Vec::new();
        for i in self.initiatives(access).await? {
            if !i.data.goals.contains(&goal.goal.id) {
                continue;
            }
            let epics = self.epics_progress(access, &i.data.epics).await?;
            let stories: Vec<(Option<f64>, bool)> = epics
                .iter()
                .flat_map(|e| e.children.iter())
                .filter(|c| c.kind == ItemKind::Story)
                .map(|c| (c.estimate.map(|p| p.value()), c.category == Category::Done))
                .collect();
            initiatives.push(ServingInitiative {
                status: status_of(&i),
                initiative: i,
                epics,
                progress: Progress::of(&stories),
            });
        }
        Ok(GoalOutcomes { goal, kpis, initiatives })
    }

    /// Why an item is being built: item → its parents → its epic's initiatives → their goals
    /// → the vision. A few reads whatever the product's size.
    pub async fn chain(&self, access: &ProductAccess, item: Item) -> AppResult<Chain> {
        let mut parents = Vec::new();
        let mut cur = item.clone();
        while let Some(pid) = cur.parent_id {
            if parents.len() >= 3 {
                break;
            }
            match self.store.item(pid).await {
                Ok(p) => {
                    parents.push(p.clone());
                    cur = p;
                }
                Err(keel_store::StoreError::NotFound) => break,
                Err(e) => return Err(e.into()),
            }
        }
        let epic = std::iter::once(&item).chain(parents.iter()).find(|i| i.kind == ItemKind::Epic).cloned();
        let (initiatives, goals) = match &epic {
            Some(e) => {
                let inits: Vec<Stored<Initiative>> = self
                    .initiatives(access)
                    .await?
                    .into_iter()
                    .filter(|i| i.data.epics.contains(&e.id))
                    .collect();
                let wanted: HashSet<RecordId> =
                    inits.iter().flat_map(|i| i.data.goals.iter().copied()).collect();
                let goals = if wanted.is_empty() {
                    Vec::new()
                } else {
                    let kpis: HashMap<RecordId, Kpi> =
                        self.kpis(access).await?.into_iter().map(|k| (k.id, k.data)).collect();
                    self.goals_of(access)
                        .await?
                        .into_iter()
                        .filter(|g| wanted.contains(&g.id))
                        .map(|g| goal_progress(g, &kpis))
                        .collect()
                };
                (inits, goals)
            }
            None => (Vec::new(), Vec::new()),
        };
        let vision = self
            .vision(access)
            .await?
            .current()
            .map(|v| v.fields.statement.clone())
            .filter(|s| !s.trim().is_empty());
        Ok(Chain { item, parents, epic, initiatives, goals, vision })
    }

    /// The alignment report: which work traces to no goal. Without a filter: the backlog (every
    /// item not done) and the work done in active sprints. With `team`: the items in that team's
    /// active and planned sprints. With `sprint`: the items in that sprint. Epics are containers
    /// and are not counted themselves.
    pub async fn alignment(
        &self,
        access: &ProductAccess,
        team: Option<RecordId>,
        sprint: Option<RecordId>,
    ) -> AppResult<AlignmentReport> {
        let teams = self.teams(access).await?;
        if let Some(t) = team {
            if !teams.iter().any(|x| x.id == t) {
                return Err(AppError::invalid("team", "is no team of this product"));
            }
        }
        let mut sprint_team: HashMap<RecordId, (RecordId, SprintState)> = HashMap::new();
        for t in &teams {
            for s in self.team_sprints(t).await? {
                let state = SprintState::parse("state", &s.state).unwrap_or(SprintState::Closed);
                sprint_team.insert(s.id, (t.id, state));
            }
        }
        if let Some(s) = sprint {
            match sprint_team.get(&s) {
                None => return Err(AppError::invalid("sprint", "is no sprint of this product's teams")),
                Some((t, _)) if team.is_some_and(|x| x != *t) => {
                    return Err(AppError::invalid("sprint", "is not a sprint of that team"))
                }
                _ => {}
            }
        }
        let mut items: Vec<Item> = if let Some(s) = sprint {
            self.every_item(access, &ItemFilter { sprint: Some(Some(s)), ..Default::default() }).await?
        } else if let Some(t) = team {
            let mut v = Vec::new();
            let mut open: Vec<&RecordId> = sprint_team
                .iter()
                .filter(|(_, (tt, st))| *tt == t && *st != SprintState::Closed)
                .map(|(id, _)| id)
                .collect();
            open.sort();
            for s in open {
                v.extend(
                    self.every_item(access, &ItemFilter { sprint: Some(Some(*s)), ..Default::default() })
                        .await?,
                );
            }
            v
        } else {
            let mut v =
                self.every_item(access, &ItemFilter { open_only: true, ..Default::default() }).await?;
            let mut active: Vec<&RecordId> = sprint_team
                .iter()
                .filter(|(_, (_, st))| *st == SprintState::Active)
                .map(|(id, _)| id)
                .collect();
            active.sort();
            for s in active {
                let done = ItemFilter {
                    sprint: Some(Some(*s)),
                    category: Some(Category::Done),
                    ..Default::default()
                };
                v.extend(self.every_item(access, &done).await?);
            }
            v
        };
        items.retain(|i| i.kind != ItemKind::Epic);

        // Kinds and parents of everything needed to walk up to an epic: the product's epics in
        // one paged read, then the parents not yet known (a task's story) read by id.
        let epics =
            self.every_item(access, &ItemFilter { kind: Some(ItemKind::Epic), ..Default::default() }).await?;
        let mut parents: HashMap<ItemId, (ItemKind, Option<ItemId>)> =
            epics.iter().chain(items.iter()).map(|i| (i.id, (i.kind, i.parent_id))).collect();
        let mut missing: Vec<ItemId> =
            items.iter().filter_map(|i| i.parent_id).filter(|p| !parents.contains_key(p)).collect();
        missing.sort();
        missing.dedup();
        // A few are read by id; many (tasks of finished stories) by paged lists of the kinds a
        // task may hang under, so the reads stay bounded by pages rather than by items.
        let found = if missing.len() <= PARENTS_BY_ID_MAX {
            self.items_by_ids(&missing).await?
        } else {
            let mut v = Vec::new();
            for kind in [ItemKind::Story, ItemKind::Bug, ItemKind::Spike] {
                v.extend(
                    self.every_item(access, &ItemFilter { kind: Some(kind), ..Default::default() }).await?,
                );
            }
            v
        };
        for p in found {
            parents.insert(p.id, (p.kind, p.parent_id));
        }
        let goal_ids: HashSet<RecordId> = self.goals_of(access).await?.into_iter().map(|g| g.id).collect();
        let inits: Vec<(Vec<RecordId>, Vec<ItemId>)> =
            self.initiatives(access).await?.into_iter().map(|i| (i.data.goals, i.data.epics)).collect();
        let aligned = aligned_epics(&inits, &goal_ids);

        let mut out = Vec::with_capacity(items.len());
        let mut work = Vec::with_capacity(items.len());
        for i in items {
            let ok = epic_of(i.id, &parents).is_some_and(|e| aligned.contains(&e));
            let team = i.sprint_id.and_then(|s| sprint_team.get(&s)).map(|(t, _)| *t);
            work.push(Work { key: i.key.clone(), points: i.estimate.map(|p| p.value()), team, aligned: ok });
            out.push((i, ok, team));
        }
        Ok(AlignmentReport {
            alignment: alignment(&work),
            teams: teams.into_iter().map(|t| (t.id, t.data.name)).collect(),
            items: out,
            team,
            sprint,
        })
    }
}
