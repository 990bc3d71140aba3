//! Delivery metrics over the history: each report loads only the histories it needs (a team's
//! sprint members through the membership table, a product's finished items through the flow
//! table, a product's item history for flow over time) and computes its figures with
//! `keel_domain::metrics`, so every figure comes with the items behind it.

use crate::records::Stored;
use crate::{now, App, AppError, AppResult, ProductAccess};
use keel_domain::event::{Event, ObjectKind};
use keel_domain::item::ItemKind;
use keel_domain::metrics::{
    bug_trend, by_week, cumulative_flow, finished_rows, flow_rows, histories, release_burnup, sprint_burn,
    sprint_result, throughput_daily, velocity_summary, wip_age_cut, wip_item, wip_over_cut, wip_summary,
    work_in_progress, BugDay, BurnDay, FlowItem, ItemHistory, Percentiles, ReleaseDay, SprintResult,
    SprintWindow, Tz, VelocitySummary, WipItem, WipSummary, WIP_AGE_DAYS,
};
use keel_domain::sprint::{Release, Sprint, Team};
use keel_domain::time::Date;
use keel_domain::time::Timestamp;
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow, WorkflowState};
use keel_domain::{ProductId, RecordId, ValidationError};
use keel_store::METRIC_FIELDS;

/// The longest period a report covers, in days.
pub const PERIOD_MAX_DAYS: i32 = 731;
/// Days a product report covers when no `from` is given.
pub const PERIOD_DEFAULT_DAYS: i32 = 90;
/// Sprints the velocity covers when no number is given.
pub const VELOCITY_SPRINTS: usize = 10;
/// The item fields cumulative flow reads.
const FLOW_FIELDS: [&str; 3] = ["created", "status", "deleted"];
/// The item fields the bug trend reads (bugs per sprint need sprints and points).
const BUG_FIELDS: [&str; 6] = ["created", "status", "sprint", "estimate", "kind", "deleted"];
/// The item fields a release burnup reads.
const RELEASE_FIELDS: [&str; 6] = ["created", "status", "release", "estimate", "kind", "deleted"];
/// The item fields that change the bug trend's daily figures (per sprint reads its members).
const BUG_DAY_FIELDS: [&str; 4] = ["created", "status", "kind", "deleted"];
/// Items in progress listed per page when no `limit` is given.
pub const WIP_PAGE: usize = 50;
/// The most items in progress listed per page.
pub const WIP_PAGE_MAX: usize = 1000;
/// Times a rebuild reads the history again when the product changed meanwhile.
const REBUILD_TRIES: usize = 5;

/// A period of local dates in a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First date.
    pub from: Date,
    /// Last date (included).
    pub to: Date,
    /// The offset days are counted in.
    pub tz: Tz,
}

impl Period {
    /// The period from `from` to `to` (by default the last [`PERIOD_DEFAULT_DAYS`] up to today),
    /// checked: `from` not after `to`, at most [`PERIOD_MAX_DAYS`] long.
    pub fn resolve(from: Option<Date>, to: Option<Date>, tz: Tz, default_days: i32) -> AppResult<Period> {
        let to = to.unwrap_or_else(|| tz.date_of(now()));
        let from = from.unwrap_or(to.plus_days(1 - default_days));
        if from > to {
            return Err(ValidationError::new("from", "must not be after to").into());
        }
        if to.0 - from.0 + 1 > PERIOD_MAX_DAYS {
            return Err(ValidationError::new(
                "from",
                format!("the period is at most {PERIOD_MAX_DAYS} days"),
            )
            .into());
        }
        Ok(Period { from, to, tz })
    }
}

/// A team's velocity over its last closed sprints.
#[derive(Debug, Clone, PartialEq)]
pub struct VelocityReport {
    /// The team.
    pub team: Stored<Team>,
    /// Each sprint's figures, oldest first.
    pub sprints: Vec<(SprintWindow, SprintResult)>,
    /// Average and spread of completed points.
    pub summary: VelocitySummary,
}

/// A sprint day by day.
#[derive(Debug, Clone, PartialEq)]
pub struct SprintBurn {
    /// The sprint.
    pub sprint: SprintWindow,
    /// Its figures so far.
    pub result: SprintResult,
    /// Its days.
    pub days: Vec<BurnDay>,
}

/// Cycle and lead time of finished items.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleTimeReport {
    /// The period.
    pub period: Period,
    /// Finished items, by done time.
    pub items: Vec<FlowItem>,
    /// Cycle time percentiles, in days.
    pub cycle: Percentiles,
    /// Lead time percentiles, in days.
    pub lead: Percentiles,
}

/// Work in progress now: the numbers, and one page of the items, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct WipReport {
    /// Counts per state, per age bucket, over the limit.
    pub summary: WipSummary,
    /// The page of items, oldest first.
    pub items: Vec<WipItem>,
    /// The page asked for: at most `limit` items after skipping `offset`.
    pub limit: usize,
    /// Items skipped before the page.
    pub offset: usize,
    /// The 85th percentile cycle time items are compared with (over the last
    /// [`PERIOD_DEFAULT_DAYS`]), if anything finished.
    pub limit_days: Option<f64>,
    /// The workflow, to name states.
    pub workflow: Workflow,
}

/// Bugs per sprint.
#[derive(Debug, Clone, PartialEq)]
pub struct SprintBugs {
    /// The sprint's name.
    pub name: String,
    /// Its last day.
    pub end: Date,
    /// Keys of the bugs in it.
    pub bugs: Vec<String>,
}

fn window(s: &Stored<Sprint>) -> SprintWindow {
    SprintWindow {
        id: s.id.0,
        name: s.data.name.clone(),
        start: s.data.start,
        end: s.data.end,
        started_at: s.data.commitment.as_ref().map(|c| c.at),
        closed_at: s.data.summary.as_ref().map(|c| c.at),
    }
}

impl App {
    /// The workflows of `products` as one (state ids are unique across products).
    async fn workflow_of(&self, products: &[ProductId]) -> AppResult<Workflow> {
        let mut states: Vec<WorkflowState> = Vec::new();
        for p in products {
            states.extend(self.store.workflow(*p).await?.states);
        }
        Ok(Workflow { states })
    }

    /// The histories of the items ever in one of `sprints`.
    async fn sprint_histories(&self, sprints: &[i64]) -> AppResult<Vec<ItemHistory>> {
        let ids = self.store.sprint_members(sprints).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(histories(&self.store.item_events(&ids).await?))
    }

    /// The history of every item of a product, as far as `fields` (of [`METRIC_FIELDS`], with
    /// `created`) tell it: a report names only those it reads, and a created item's text is
    /// left in the database.
    async fn product_histories(&self, product: ProductId, fields: &[&str]) -> AppResult<Vec<ItemHistory>> {
        Ok(histories(&self.store.product_item_events(product, fields, Timestamp(i64::MIN)).await?))
    }

    /// The histories of `items` of `product`, as far as `fields` tell them.
    async fn histories_of(
        &self,
        product: ProductId,
        items: &[i64],
        fields: &[&str],
    ) -> AppResult<Vec<ItemHistory>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut events = self.store.item_events(items).await?;
        events.retain(|e| e.product_id == Some(product) && fields.contains(&e.field.as_str()));
        Ok(histories(&events))
    }

    /// The histories, from `since` on, of `product`'s items with an event of `fields` since
    /// then, read from those events alone (never older events, never an item's text). An item
    /// created before `since` gets a stand-in `created` event just before it, holding its state
    /// (and kind) at `since`: the `old` of its first change of that field since then, or, with
    /// no such change, its value now (its row). An item created since then keeps its own
    /// `created` event, whose values a bulk import's later changes correct as in the full
    /// history. Only an item that needs its row and has none (deleted) is read whole.
    async fn period_histories(
        &self,
        product: ProductId,
        fields: &[&str],
        since: Timestamp,
    ) -> AppResult<Vec<ItemHistory>> {
        use std::collections::{BTreeMap, BTreeSet};
        let events = self.store.product_item_events(product, fields, since).await?;
        let reads_kind = fields.contains(&"kind");
        // Per item created before `since`: its state and kind at `since`, when a change tells.
        // The domain's rule (a first change's `old` is the value at creation) sets the stand-in
        // from that change anyway; knowing it here only spares the item's row.
        let mut born = BTreeSet::new();
        let mut start: BTreeMap<i64, (Option<serde_json::Value>, Option<serde_json::Value>)> =
            BTreeMap::new();
        for e in &events {
            if e.field == "created" {
                born.insert(e.object_id);
                continue;
            }
            let s = start.entry(e.object_id).or_default();
            if e.field == "status" && s.0.is_none() {
                s.0 = Some(e.old.clone());
            }
            if e.field == "kind" && s.1.is_none() {
                s.1 = Some(e.old.clone());
            }
        }
        start.retain(|id, _| !born.contains(id));
        // A first change without an `old` does not tell the value before it: read that item whole.
        let odd = |v: &Option<serde_json::Value>| v.as_ref().is_some_and(|v| v.is_null());
        let mut whole: BTreeSet<i64> =
            start.iter().filter(|(_, (st, k))| odd(st) || odd(k)).map(|(id, _)| *id).collect();
        let need: Vec<i64> = start
            .iter()
            .filter(|(id, (st, k))| !whole.contains(id) && (st.is_none() || (reads_kind && k.is_none())))
            .map(|(id, _)| *id)
            .collect();
        let rows: BTreeMap<i64, (String, i64)> = if need.is_empty() {
            BTreeMap::new()
        } else {
            self.store.items_now(&need).await?.into_iter().map(|(id, kind, st)| (id, (kind, st))).collect()
        };
        whole.extend(need.iter().copied().filter(|id| !rows.contains_key(id)));
        let mut all = Vec::with_capacity(events.len() + start.len());
        for (id, (st, kind)) in &start {
            if whole.contains(id) {
                continue;
            }
            let row = rows.get(id);
            let status = st.clone().or_else(|| row.map(|r| serde_json::json!(r.1)));
            // Cumulative flow does not read kinds; any kind will do there.
            let kind = kind
                .clone()
                .or_else(|| row.map(|r| serde_json::json!(r.0)))
                .unwrap_or_else(|| "story".into());
            all.push(Event {
                id: 0,
                product_id: Some(product),
                object: ObjectKind::Item,
                object_id: *id,
                actor_id: None,
                at: Timestamp(since.0 - 1),
                field: "created".into(),
                old: serde_json::Value::Null,
                // The reports read here name no item, so the stand-in needs no key.
                new: serde_json::json!({"kind": kind, "status_id": status}),
                proposal_id: None,
            });
        }
        all.extend(events.into_iter().filter(|e| !whole.contains(&e.object_id)));
        let mut out = histories(&all);
        if !whole.is_empty() {
            let whole: Vec<i64> = whole.into_iter().collect();
            out.extend(self.histories_of(product, &whole, fields).await?);
            out.sort_by_key(|h| h.id);
        }
        Ok(out)
    }

    /// A team filter for a product report: the team (which must serve the product) and the ids
    /// of its sprints; 422 naming `team` otherwise.
    pub async fn report_team(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
    ) -> AppResult<Option<(Stored<Team>, Vec<i64>)>> {
        let Some(id) = team else { return Ok(None) };
        let bad = || AppError::from(ValidationError::new("team", "is not a team of this product"));
        let t = match self.get_record::<Team>(RecordId(id)).await {
            Ok(t) => t,
            Err(AppError::NotFound) => return Err(bad()),
            Err(e) => return Err(e),
        };
        if !t.data.products.contains(&access.product.id) {
            return Err(bad());
        }
        let sprints = self.team_sprints(&t).await?.iter().map(|s| s.id.0).collect();
        Ok(Some((t, sprints)))
    }

    /// Keeps only the items of `team`'s sprints, when a team is given.
    async fn team_items(&self, team: &Option<(Stored<Team>, Vec<i64>)>) -> AppResult<Option<Vec<i64>>> {
        match team {
            Some((_, sprints)) => Ok(Some(self.store.sprint_members(sprints).await?)),
            None => Ok(None),
        }
    }

    /// A team's velocity: its last `last` closed sprints ending within `from..=to` (when given).
    pub async fn velocity_report(
        &self,
        user: &User,
        team_id: i64,
        from: Option<Date>,
        to: Option<Date>,
        last: usize,
        tz: Tz,
    ) -> AppResult<VelocityReport> {
        let scope = self.team_scope(user, RecordId(team_id)).await?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ValidationError::new("from", "must not be after to").into());
            }
        }
        let mut closed: Vec<SprintWindow> = self
            .team_sprints(&scope.team)
            .await?
            .iter()
            .map(window)
            .filter(|w| w.closed_at.is_some())
            .filter(|w| from.is_none_or(|f| w.end >= f) && to.is_none_or(|t| w.end <= t))
            .collect();
        closed.sort_by_key(|w| (w.end, w.id));
        let skip = closed.len().saturating_sub(last);
        let closed: Vec<SprintWindow> = closed.into_iter().skip(skip).collect();
        let ids: Vec<i64> = closed.iter().map(|w| w.id).collect();
        let items = self.sprint_histories(&ids).await?;
        let wf = self.workflow_of(&scope.team.data.products).await?;
        let at = now();
        let sprints: Vec<(SprintWindow, SprintResult)> =
            closed.into_iter().map(|w| (w.clone(), sprint_result(&w, &items, &wf, tz, at))).collect();
        let results: Vec<SprintResult> = sprints.iter().map(|(_, r)| r.clone()).collect();
        Ok(VelocityReport { team: scope.team, summary: velocity_summary(&results), sprints })
    }

    /// A sprint day by day (burndown and burnup).
    pub async fn sprint_burn(&self, user: &User, sprint_id: i64, tz: Tz) -> AppResult<SprintBurn> {
        let scope = self.sprint_scope(user, RecordId(sprint_id)).await?;
        let w = window(&scope.sprint);
        let items = self.sprint_histories(&[w.id]).await?;
        let wf = self.workflow_of(&scope.team.data.products).await?;
        let (result, days) = sprint_burn(&w, &items, &wf, tz, now());
        Ok(SprintBurn { sprint: w, result, days })
    }

    /// A release's burnup over `from..=to` (by default from its first item's arrival to today,
    /// or to its release date once released).
    pub async fn release_burnup(
        &self,
        user: &User,
        release_id: i64,
        from: Option<Date>,
        to: Option<Date>,
        tz: Tz,
    ) -> AppResult<(Stored<Release>, Period, Vec<ReleaseDay>)> {
        let (access, release) = self.release_access(user, release_id).await?;
        // Only the items that may ever have been in the release, not the whole product.
        let ids = self.store.release_candidates(access.product.id, release_id).await?;
        let items = self.histories_of(access.product.id, &ids, &RELEASE_FIELDS).await?;
        let first = items
            .iter()
            .flat_map(|h| h.release.iter().filter(|(_, r)| *r == Some(release_id)).map(|(at, _)| *at))
            .min()
            .unwrap_or_else(now);
        let end = release.data.released_at.map_or_else(|| tz.date_of(now()), |t| tz.date_of(t));
        let to = to.unwrap_or(end);
        let from = from.unwrap_or_else(|| tz.date_of(first).min(to));
        let period = Period::resolve(Some(from), Some(to), tz, PERIOD_DEFAULT_DAYS)?;
        let wf = self.workflow_of(&[access.product.id]).await?;
        let days = release_burnup(release_id, &items, &wf, tz, period.from, period.to, now());
        Ok((release, period, days))
    }

    /// Cycle and lead time of the items finished in `period` (of `team`'s sprints, if given),
    /// from the flow table.
    pub async fn cycle_time(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<CycleTimeReport> {
        let team = self.report_team(access, team).await?;
        let keep = self.team_items(&team).await?;
        let (lo, hi) = (period.tz.start_of(period.from), period.tz.last_of(period.to));
        let mut rows = self.store.flow_rows(access.product.id, lo, hi).await?;
        if let Some(keep) = keep {
            rows.retain(|r| keep.binary_search(&r.item_id).is_ok());
        }
        let items = finished_rows(&rows, period.tz, period.from, period.to);
        let cycle: Vec<f64> = items.iter().map(|f| f.cycle_days).collect();
        let lead: Vec<f64> = items.iter().map(|f| f.lead_days).collect();
        Ok(CycleTimeReport { period, cycle: Percentiles::of(&cycle), lead: Percentiles::of(&lead), items })
    }

    /// Items finished per day and per week in `period`.
    pub async fn throughput(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<(Vec<(Date, usize)>, Vec<(Date, usize)>, Vec<FlowItem>)> {
        let report = self.cycle_time(access, team, period).await?;
        let daily = throughput_daily(&report.items, period.tz, period.from, period.to);
        let weekly = by_week(&daily);
        Ok((daily, weekly, report.items))
    }

    /// The product's item histories as far as `fields` tell them; with a team, only the items
    /// of its sprints (read by id, not the whole product).
    async fn filtered_histories(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        fields: &[&str],
    ) -> AppResult<Vec<ItemHistory>> {
        let team = self.report_team(access, team).await?;
        match self.team_items(&team).await? {
            Some(keep) => self.histories_of(access.product.id, &keep, fields).await,
            None => self.product_histories(access.product.id, fields).await,
        }
    }

    /// Items per workflow state at the end of each day of `period`. Without a team it reads the
    /// counts per state now (an index of the items table) and the histories of only the items
    /// with a change since the period began: every other item sat in its state now all along.
    pub async fn cumulative_flow(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<(Workflow, Vec<(Date, Vec<usize>)>)> {
        if team.is_some() {
            return self.cumulative_flow_from_history(access, team, period).await;
        }
        let product = access.product.id;
        let at = now();
        let wf = self.workflow_of(&[product]).await?;
        let items = self.period_histories(product, &FLOW_FIELDS, period.tz.start_of(period.from)).await?;
        let index = |s: i64| wf.states.iter().position(|st| st.id.0 == s);
        let mut still = vec![0i64; wf.states.len()];
        for (s, n) in self.store.state_counts(product, None).await? {
            if let Some(i) = index(s) {
                still[i] += n as i64;
            }
        }
        for h in items.iter().filter(|h| h.exists_at(at)) {
            if let Some(i) = h.state_at(at).and_then(|s| index(s.0)) {
                still[i] -= 1;
            }
        }
        let mut days = cumulative_flow(&items, &wf, period.tz, period.from, period.to, at);
        for (d, counts) in &mut days {
            if period.tz.start_of(*d) <= at {
                for (c, n) in counts.iter_mut().zip(&still) {
                    *c = (*c as i64 + n).max(0) as usize;
                }
            }
        }
        Ok((wf, days))
    }

    /// Cumulative flow computed from every history concerned (each item of the team's
    /// sprints, or of the product): the reference the bounded read is checked against.
    pub async fn cumulative_flow_from_history(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<(Workflow, Vec<(Date, Vec<usize>)>)> {
        let items = self.filtered_histories(access, team, &FLOW_FIELDS).await?;
        let wf = self.workflow_of(&[access.product.id]).await?;
        let days = cumulative_flow(&items, &wf, period.tz, period.from, period.to, now());
        Ok((wf, days))
    }

    /// Bugs opened, closed and open per day of `period`, and the bugs of each sprint of the
    /// product's teams (or of `team`) that ended within it. Without a team the days come from
    /// the bugs per state now and the histories of the items changed since the period began;
    /// each sprint's bugs from the histories of its members.
    pub async fn bug_trend(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<(Vec<BugDay>, Vec<SprintBugs>)> {
        if team.is_some() {
            return self.bug_trend_from_history(access, team, period).await;
        }
        let product = access.product.id;
        let at = now();
        let wf = self.workflow_of(&[product]).await?;
        let items = self.period_histories(product, &BUG_DAY_FIELDS, period.tz.start_of(period.from)).await?;
        let not_done = |s: i64| {
            wf.state(keel_domain::ids::StateId(s)).map_or(Category::Todo, |st| st.category) != Category::Done
        };
        let mut still: i64 = self
            .store
            .state_counts(product, Some(ItemKind::Bug))
            .await?
            .into_iter()
            .filter(|(s, _)| not_done(*s))
            .map(|(_, n)| n as i64)
            .sum();
        still -= items
            .iter()
            .filter(|h| {
                h.exists_at(at) && h.kind_at(at) == ItemKind::Bug && h.category_at(&wf, at) != Category::Done
            })
            .count() as i64;
        let mut days = bug_trend(&items, &wf, period.tz, period.from, period.to, at);
        for d in &mut days {
            if period.tz.start_of(d.date) <= at {
                d.open = (d.open as i64 + still).max(0) as usize;
            }
        }
        let mut per_sprint = Vec::new();
        for t in &self.teams(access).await? {
            for s in self.team_sprints(t).await? {
                let w = window(&s);
                if w.end < period.from || w.end > period.to || w.started_at.is_none() {
                    continue;
                }
                let members = self.store.sprint_members(&[w.id]).await?;
                let items = self.histories_of(product, &members, &BUG_FIELDS).await?;
                let r = sprint_result(&w, &items, &wf, period.tz, at);
                per_sprint.push(SprintBugs {
                    name: format!("{} · {}", t.data.name, w.name),
                    end: w.end,
                    bugs: r.bugs,
                });
            }
        }
        per_sprint.sort_by(|a, b| a.end.cmp(&b.end).then_with(|| a.name.cmp(&b.name)));
        Ok((days, per_sprint))
    }

    /// The bug trend computed from every history concerned: the reference the bounded read is
    /// checked against, and the read with a team.
    pub async fn bug_trend_from_history(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        period: Period,
    ) -> AppResult<(Vec<BugDay>, Vec<SprintBugs>)> {
        let items = self.filtered_histories(access, team, &BUG_FIELDS).await?;
        let wf = self.workflow_of(&[access.product.id]).await?;
        let days = bug_trend(&items, &wf, period.tz, period.from, period.to, now());
        let teams = match self.report_team(access, team).await? {
            Some((t, _)) => vec![t],
            None => self.teams(access).await?,
        };
        let mut per_sprint = Vec::new();
        for t in &teams {
            for s in self.team_sprints(t).await? {
                let w = window(&s);
                if w.end < period.from || w.end > period.to || w.started_at.is_none() {
                    continue;
                }
                let r = sprint_result(&w, &items, &wf, period.tz, now());
                per_sprint.push(SprintBugs {
                    name: format!("{} · {}", t.data.name, w.name),
                    end: w.end,
                    bugs: r.bugs,
                });
            }
        }
        per_sprint.sort_by(|a, b| a.end.cmp(&b.end).then_with(|| a.name.cmp(&b.name)));
        Ok((days, per_sprint))
    }

    /// Items in progress now: how many per state and per age bucket, how many are older than
    /// the 85th percentile cycle time of the last [`PERIOD_DEFAULT_DAYS`], and the `limit`
    /// oldest after skipping `offset`. Without a team everything comes from indexes (the items'
    /// states, the flow table's `wip_since`), never from every item in progress.
    pub async fn work_in_progress(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        tz: Tz,
        limit: usize,
        offset: usize,
    ) -> AppResult<WipReport> {
        let product = access.product.id;
        let at = now();
        let period = Period::resolve(None, None, tz, PERIOD_DEFAULT_DAYS)?;
        let limit_days = self.cycle_time(access, team, period).await?.cycle.p85;
        let wf = self.workflow_of(&[product]).await?;
        if team.is_some() {
            let all = self.work_in_progress_from_history(access, team, tz).await?;
            let summary = wip_summary(&all, &wf, at, limit_days);
            let items = all.into_iter().skip(offset).take(limit).collect();
            return Ok(WipReport { summary, items, limit, offset, limit_days, workflow: wf });
        }
        let counts = self.store.state_counts(product, None).await?;
        let states: Vec<_> = wf
            .states
            .iter()
            .filter(|s| s.category == Category::InProgress)
            .map(|s| (s.id, counts.iter().find(|(id, _)| *id == s.id.0).map_or(0, |(_, n)| *n)))
            .collect();
        let mut cuts = vec![Timestamp(i64::MAX)];
        cuts.extend(WIP_AGE_DAYS.iter().map(|d| wip_age_cut(at, *d)));
        if let Some(l) = limit_days {
            cuts.push(wip_over_cut(at, l));
        }
        let n = self.store.wip_cuts(product, &cuts).await?;
        let total = n[0];
        let older = &n[1..=WIP_AGE_DAYS.len()];
        let mut ages = Vec::with_capacity(older.len() + 1);
        let mut prev = total;
        for o in older {
            ages.push(prev - o.min(&prev));
            prev = *o.min(&prev);
        }
        ages.push(prev);
        let over = if limit_days.is_some() { n[WIP_AGE_DAYS.len() + 1] } else { 0 };
        let items = self
            .store
            .wip_page(product, limit, offset)
            .await?
            .iter()
            .map(|r| wip_item(r, at, limit_days))
            .collect();
        Ok(WipReport {
            summary: WipSummary { total, states, ages, over },
            items,
            limit,
            offset,
            limit_days,
            workflow: wf,
        })
    }

    /// Every item in progress now (of `team`'s sprints, if given), oldest first, from their
    /// histories: the reference the indexed read is checked against, and the read with a team.
    pub async fn work_in_progress_from_history(
        &self,
        access: &ProductAccess,
        team: Option<i64>,
        tz: Tz,
    ) -> AppResult<Vec<WipItem>> {
        let period = Period::resolve(None, None, tz, PERIOD_DEFAULT_DAYS)?;
        let limit = self.cycle_time(access, team, period).await?.cycle.p85;
        let wf = self.workflow_of(&[access.product.id]).await?;
        // Only the items in progress now: their histories give the age of the current stretch.
        let states: Vec<i64> =
            wf.states.iter().filter(|s| s.category == Category::InProgress).map(|s| s.id.0).collect();
        let mut ids = self.store.items_in_states(access.product.id, &states).await?;
        if let Some(keep) = self.team_items(&self.report_team(access, team).await?).await? {
            ids.retain(|i| keep.binary_search(i).is_ok());
        }
        let items = self.histories_of(access.product.id, &ids, &METRIC_FIELDS).await?;
        Ok(work_in_progress(&items, &wf, now(), limit))
    }

    /// Recomputes `product`'s flow table and sprint memberships from its history (with today's
    /// workflow categories); returns how many items it covered. Reads again if the product
    /// changed while it was computing.
    pub async fn rebuild_metrics(&self, product: ProductId) -> AppResult<usize> {
        for _ in 0..REBUILD_TRIES {
            let seen = self.store.flow_watermark(product).await?;
            let items = self.product_histories(product, &METRIC_FIELDS).await?;
            let wf = self.workflow_of(&[product]).await?;
            let (rows, members) = flow_rows(&items, &wf);
            if self.store.replace_flow(product, &rows, &members, seen).await? {
                return Ok(rows.len());
            }
        }
        Err(AppError::Conflict(format!(
            "the product kept changing during {REBUILD_TRIES} rebuilds of its metrics; it stays marked for one"
        )))
    }

    /// Rebuilds the flow rows of every product marked for it (after an upgrade from a database
    /// without them, or a workflow change of categories); returns (product, items) per rebuild.
    /// Run at start, before serving.
    pub async fn rebuild_pending_metrics(&self) -> AppResult<Vec<(ProductId, usize)>> {
        let mut done = Vec::new();
        for p in self.store.pending_flow_rebuilds().await? {
            done.push((p, self.rebuild_metrics(p).await?));
        }
        Ok(done)
    }
}
