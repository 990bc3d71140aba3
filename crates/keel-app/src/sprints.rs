//! Teams and sprints: creating teams and their members' capacity, planning sprints, starting
//! them (freezing the commitment) and closing them (keeping the figures, sending unfinished
//! items back). Starting and closing go through decision rights: the Product Owner does it, a
//! team member's attempt becomes a proposal.
//!
//! A team is a record of kind `team` in its home product; a sprint a record of kind `sprint`
//! whose parent is its team. Every decision taken on what a record said is guarded by that
//! record's version in the same batch, so two people closing one sprint cannot both succeed.

use crate::items::{ItemInput, Mode, PositionInput};
use crate::records::{new_record, to_data, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemPatch};
use keel_domain::product::Role;
use keel_domain::proposal::{Change, Position};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{
    capacity_totals, check_dates, find_overlap, next_sprint, parse_goal, parse_sprint_name, parse_team_name,
    plan_close, scope_change, team_key, velocity, CapacityTotals, CloseItem, Commitment, Destination,
    ScopeChange, Sprint, SprintCapacity, SprintState, Team, TeamMember, Velocity,
};
use keel_domain::user::{Email, User};
use keel_domain::workflow::Category;
use keel_domain::{Date, ProductId, RecordId, UserId};
use keel_store::{ItemFilter, Page, RecordFilter, StoreError, WriteCtx, WriteOp, Written};
use std::collections::HashMap;

/// Most events read to compute a sprint's scope change.
const SCOPE_EVENTS_MAX: u32 = 100_000;

/// A team member as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberInput {
    /// User id or e-mail.
    pub user: String,
    /// Default points per sprint.
    pub points: Option<f64>,
    /// Default working days per sprint.
    pub days: Option<f64>,
}

/// One member's capacity in a sprint as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityInput {
    /// User id or e-mail.
    pub user: String,
    /// Points.
    pub points: Option<f64>,
    /// Working days.
    pub days: Option<f64>,
    /// Days off.
    pub days_off: Option<f64>,
}

/// Sprint fields as a caller gives them; absent fields stay (or are required to create).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SprintInput {
    /// Name.
    pub name: Option<String>,
    /// Goal.
    pub goal: Option<String>,
    /// First day, `YYYY-MM-DD`.
    pub start: Option<String>,
    /// Last day, `YYYY-MM-DD`.
    pub end: Option<String>,
}

/// How to close a sprint as a caller gives it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloseInput {
    /// `backlog` (default) or `next`, for every unfinished item.
    pub destination: Option<String>,
    /// Choices per item key.
    pub items: Vec<(String, String)>,
}

/// A team with the caller's access to it.
#[derive(Debug, Clone)]
pub struct TeamScope {
    /// The team.
    pub team: Stored<Team>,
    /// The caller's access: the served product where they may do most about sprints.
    pub access: ProductAccess,
}

/// A sprint, its team and the caller's access.
#[derive(Debug, Clone)]
pub struct SprintScope {
    /// The sprint.
    pub sprint: Stored<Sprint>,
    /// Its state.
    pub state: SprintState,
    /// Its team.
    pub team: Stored<Team>,
    /// The caller's access.
    pub access: ProductAccess,
}

/// The figures of a sprint, as of now (or as kept when it closed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SprintFigures {
    /// Points in the sprint now (estimated items).
    pub planned: f64,
    /// Items in the sprint now.
    pub items: usize,
    /// Unestimated items in the sprint now.
    pub unestimated: usize,
    /// Points committed at the start (the planned points before the start).
    pub committed: f64,
    /// Points done.
    pub completed: f64,
    /// Scope change since the start.
    pub scope: ScopeChange,
    /// Capacity in all.
    pub capacity: CapacityTotals,
    /// The team's velocity (its last closed sprints).
    pub velocity: Velocity,
}

fn estimate(i: &Item) -> f64 {
    i.estimate.map_or(0.0, |p| p.value())
}

fn state_of(s: &Stored<Sprint>) -> SprintState {
    SprintState::parse("state", &s.state).unwrap_or(SprintState::Closed)
}

fn parse_date(field: &str, s: &str) -> AppResult<Date> {
    Ok(Date::parse(field, s)?)
}

impl App {
    // ----- access --------------------------------------------------------------------------

    async fn best_access(&self, user: &User, products: &[ProductId]) -> AppResult<ProductAccess> {
        let mut best: Option<ProductAccess> = None;
        for pid in products {
            let p = match self.store.product(*pid).await {
                Ok(p) => p,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let a = match self.access(user, p.key.as_str()).await {
                Ok(a) => a,
                Err(AppError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            let better = best
                .as_ref()
                .is_none_or(|b| self.decide(&a, Action::ManageSprint) > self.decide(b, Action::ManageSprint));
            if better {
                best = Some(a);
            }
        }
        best.ok_or(AppError::NotFound)
    }

    /// A team and the caller's access: 404 unless the caller reads a product it serves.
    pub async fn team_scope(&self, user: &User, id: RecordId) -> AppResult<TeamScope> {
        let team = self.get_record::<Team>(id).await?;
        let access = self.best_access(user, &team.data.products).await?;
        Ok(TeamScope { team, access })
    }

    /// A sprint, its team and the caller's access: 404 unless the caller reads a product its
    /// team serves.
    pub async fn sprint_scope(&self, user: &User, id: RecordId) -> AppResult<SprintScope> {
        let sprint = self.get_record::<Sprint>(id).await?;
        let team_id = sprint.parent_id.ok_or(AppError::NotFound)?;
        let team = self.get_record::<Team>(RecordId(team_id)).await?;
        let access = self.best_access(user, &team.data.products).await?;
        Ok(SprintScope { state: state_of(&sprint), sprint, team, access })
    }

    async fn resolve_member(&self, field: &str, s: &str) -> AppResult<User> {
        let s = s.trim();
        let r = if let Ok(id) = s.parse::<i64>() {
            self.store.user(UserId(id)).await
        } else {
            self.store.user_by_email(&Email::parse(field, s)?).await
        };
        match r {
            Ok(u) => Ok(u),
            Err(StoreError::NotFound) => Err(AppError::invalid(field, "no such user")),
            Err(e) => Err(e.into()),
        }
    }

    // ----- teams ---------------------------------------------------------------------------

    /// The teams serving `access`'s product, by name.
    pub async fn teams(&self, access: &ProductAccess) -> AppResult<Vec<Stored<Team>>> {
        let mut all = self.teams_serving(access.product.id).await?;
        all.sort_by_key(|t| t.data.name.to_lowercase());
        Ok(all)
    }

    /// Creates a team in `access`'s product (its home); the Product Owner decides.
    pub async fn create_team(&self, access: &ProductAccess, name: &str) -> AppResult<Stored<Team>> {
        self.require(access, Action::ManageSprint)?;
        let name = parse_team_name("name", name)?;
        let team = Team { name: name.clone(), products: vec![access.product.id], ..Team::default() };
        let rec =
            new_record(Some(access.product.id), None, "", Some(team_key(access.product.id, &name)), &team)?;
        let w = self.store.write_batch(vec![WriteOp::CreateRecord(rec)], &self.ctx(&access.user)).await;
        match w {
            Ok(mut w) => self.written_record(w.remove(0)),
            Err(StoreError::Conflict(_)) => {
                Err(AppError::Conflict(format!("a team named “{name}” exists in this product")))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn written_record<T: crate::records::RecordKind>(&self, w: Written) -> AppResult<Stored<T>> {
        match w {
            Written::Record(r) => Stored::from_record(r),
            _ => Err(AppError::Internal(StoreError::other(std::io::Error::other("unexpected write result")))),
        }
    }

    /// Renames a team or changes the products it serves (its home stays; only products where
    /// the caller is Product Owner may be added).
    pub async fn update_team(
        &self,
        user: &User,
        id: RecordId,
        name: Option<&str>,
        products: Option<&[String]>,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Team>> {
        let scope = self.team_scope(user, id).await?;
        let home = scope.team.product_id.ok_or(AppError::NotFound)?;
        let home_access = self.access_by_id(user, home).await?;
        self.require(&home_access, Action::ManageSprint)?;
        if let Some(v) = expected_version {
            if v != scope.team.version {
                return Err(AppError::StaleVersion { current: scope.team.version });
            }
        }
        let mut team = scope.team.data.clone();
        if let Some(n) = name {
            let n = parse_team_name("name", n)?;
            if n.to_lowercase() != team.name.to_lowercase() {
                let taken = self
                    .list_records::<Team>(RecordFilter::of(ObjectKind::Team).product(home))
                    .await?
                    .iter()
                    .any(|t| t.id != id && t.data.name.to_lowercase() == n.to_lowercase());
                if taken {
                    return Err(AppError::Conflict(format!("a team named “{n}” exists in this product")));
                }
            }
            team.name = n;
        }
        if let Some(keys) = products {
            let mut list = vec![home];
            for (i, k) in keys.iter().enumerate() {
                let field = format!("products[{i}]");
                let p = match self.product_by_key(k).await {
                    Ok(p) => p,
                    Err(AppError::NotFound | AppError::Invalid(_)) => {
                        return Err(AppError::invalid(&field, "no such product"))
                    }
                    Err(e) => return Err(e),
                };
                if list.contains(&p.id) {
                    continue;
                }
                if !team.products.contains(&p.id) {
                    let roles = self.store.roles(p.id, user.id).await?;
                    if !roles.has(Role::Po) {
                        return Err(AppError::invalid(
                            &field,
                            "only products where you are the Product Owner may be added",
                        ));
                    }
                }
                list.push(p.id);
            }
            team.products = list;
        }
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(scope.team.version),
            state: None,
            data: to_data(&team)?,
            refs: vec![],
        };
        let mut w = self.store.write_batch(vec![op], &self.ctx(user)).await?;
        self.written_record(w.remove(0))
    }

    /// Deletes a team that has no sprints.
    pub async fn delete_team(&self, user: &User, id: RecordId) -> AppResult<()> {
        let scope = self.team_scope(user, id).await?;
        let home = scope.team.product_id.ok_or(AppError::NotFound)?;
        self.require(&self.access_by_id(user, home).await?, Action::ManageSprint)?;
        if !self.team_sprints(&scope.team).await?.is_empty() {
            return Err(AppError::Conflict("the team has sprints; delete its planned sprints first".into()));
        }
        let op = WriteOp::DeleteRecord { id, expected_version: Some(scope.team.version) };
        self.store.write_batch(vec![op], &self.ctx(user)).await?;
        Ok(())
    }

    /// Replaces a team's members and their default capacity; each must be a member of the
    /// team's home product.
    pub async fn set_team_members(
        &self,
        user: &User,
        id: RecordId,
        members: &[MemberInput],
    ) -> AppResult<Stored<Team>> {
        let scope = self.team_scope(user, id).await?;
        let home = scope.team.product_id.ok_or(AppError::NotFound)?;
        self.require(&self.access_by_id(user, home).await?, Action::ManageSprint)?;
        if members.len() > 200 {
            return Err(AppError::invalid("members", "at most 200 members"));
        }
        let mut list: Vec<TeamMember> = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let field = format!("members[{i}]");
            let u = self.resolve_member(&format!("{field}.user"), &m.user).await?;
            if self.store.roles(home, u.id).await?.is_empty() {
                return Err(AppError::invalid(
                    &format!("{field}.user"),
                    "must be a member of the team's product",
                ));
            }
            if list.iter().any(|x| x.user_id == u.id) {
                return Err(AppError::invalid(&format!("{field}.user"), "is listed twice"));
            }
            let tm = TeamMember { user_id: u.id, points: m.points, days: m.days };
            tm.check(&field)?;
            list.push(tm);
        }
        let mut team = scope.team.data.clone();
        team.members = list;
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(scope.team.version),
            state: None,
            data: to_data(&team)?,
            refs: vec![],
        };
        let mut w = self.store.write_batch(vec![op], &self.ctx(user)).await?;
        self.written_record(w.remove(0))
    }

    /// The users of a team's members, in the team's order (unknown ones left out).
    pub async fn team_users(&self, team: &Team) -> AppResult<Vec<User>> {
        let mut out = Vec::new();
        for m in &team.members {
            match self.store.user(m.user_id).await {
                Ok(u) => out.push(u),
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    // ----- sprints -------------------------------------------------------------------------

    /// A team's sprints, by start date.
    pub async fn team_sprints(&self, team: &Stored<Team>) -> AppResult<Vec<Stored<Sprint>>> {
        let mut f = RecordFilter::of(ObjectKind::Sprint).parent(team.id.0);
        if let Some(p) = team.product_id {
            f = f.product(p);
        }
        let mut v = self.list_records::<Sprint>(f).await?;
        v.sort_by_key(|s| (s.data.start, s.id));
        Ok(v)
    }

    /// The team's velocity over its last closed sprints.
    pub async fn team_velocity(&self, team: &Stored<Team>) -> AppResult<Velocity> {
        let sprints = self.team_sprints(team).await?;
        Ok(velocity_of(&sprints))
    }

    async fn require_home(&self, user: &User, team: &Stored<Team>) -> AppResult<ProductAccess> {
        let home = team.product_id.ok_or(AppError::NotFound)?;
        let a = self.access_by_id(user, home).await?;
        self.require(&a, Action::ManageSprint)?;
        Ok(a)
    }

    /// Plans a new sprint of a team; its capacity starts from the members' defaults. Dates may
    /// not overlap another sprint of the team (409).
    pub async fn create_sprint(
        &self,
        user: &User,
        team_id: RecordId,
        input: &SprintInput,
    ) -> AppResult<Stored<Sprint>> {
        let scope = self.team_scope(user, team_id).await?;
        let a = self.require_home(user, &scope.team).await?;
        let name = parse_sprint_name("name", input.name.as_deref().unwrap_or(""))?;
        let goal = parse_goal("goal", input.goal.as_deref().unwrap_or(""))?;
        let start = parse_date("start", input.start.as_deref().unwrap_or(""))?;
        let end = parse_date("end", input.end.as_deref().unwrap_or(""))?;
        check_dates(start, end)?;
        let others = self.team_sprints(&scope.team).await?;
        check_overlap(start, end, &others, None)?;
        let sprint = Sprint {
            name,
            goal,
            start,
            end,
            capacity: scope.team.data.default_capacity(),
            commitment: None,
            summary: None,
        };
        let rec =
            new_record(scope.team.product_id, Some(team_id.0), SprintState::Planned.as_str(), None, &sprint)?;
        // The guard makes two overlapping creates at once conflict instead of both landing.
        let ops = vec![
            WriteOp::Guard { id: team_id, expected_version: scope.team.version },
            WriteOp::CreateRecord(rec),
        ];
        let mut w = self.store.write_batch(ops, &self.ctx(&a.user)).await?;
        self.written_record(w.remove(1))
    }

    /// Changes a sprint's name, goal or dates (not once closed).
    pub async fn update_sprint(
        &self,
        user: &User,
        id: RecordId,
        input: &SprintInput,
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Sprint>> {
        let s = self.sprint_scope(user, id).await?;
        self.require_home(user, &s.team).await?;
        if let Some(v) = expected_version {
            if v != s.sprint.version {
                return Err(AppError::StaleVersion { current: s.sprint.version });
            }
        }
        if s.state == SprintState::Closed {
            return Err(AppError::Conflict("the sprint is closed".into()));
        }
        let mut sp = s.sprint.data.clone();
        if let Some(n) = &input.name {
            sp.name = parse_sprint_name("name", n)?;
        }
        if let Some(g) = &input.goal {
            sp.goal = parse_goal("goal", g)?;
        }
        if let Some(d) = &input.start {
            sp.start = parse_date("start", d)?;
        }
        if let Some(d) = &input.end {
            sp.end = parse_date("end", d)?;
        }
        check_dates(sp.start, sp.end)?;
        let mut ops = Vec::new();
        if (sp.start, sp.end) != (s.sprint.data.start, s.sprint.data.end) {
            let others = self.team_sprints(&s.team).await?;
            check_overlap(sp.start, sp.end, &others, Some(id))?;
            ops.push(WriteOp::Guard { id: s.team.id, expected_version: s.team.version });
        }
        ops.push(WriteOp::UpdateRecord {
            id,
            expected_version: Some(s.sprint.version),
            state: None,
            data: to_data(&sp)?,
            refs: vec![],
        });
        let mut w = self.store.write_batch(ops, &self.ctx(user)).await?;
        let last = w.pop().ok_or(AppError::NotFound)?;
        self.written_record(last)
    }

    /// Deletes a planned sprint; its items go back to the backlog in the same batch.
    pub async fn delete_sprint(&self, user: &User, id: RecordId) -> AppResult<()> {
        let s = self.sprint_scope(user, id).await?;
        self.require_home(user, &s.team).await?;
        if s.state != SprintState::Planned {
            return Err(AppError::Conflict(format!(
                "only a planned sprint can be deleted; this one is {}",
                s.state.as_str()
            )));
        }
        let items = self.all_sprint_items(&s.team.data, id).await?;
        let mut ops: Vec<WriteOp> = items
            .iter()
            .map(|i| WriteOp::UpdateItem {
                id: keel_store::Ref::Id(i.id.0),
                expected_version: None,
                patch: ItemPatch { sprint_id: Some(None), ..Default::default() },
            })
            .collect();
        ops.push(WriteOp::DeleteRecord { id, expected_version: Some(s.sprint.version) });
        self.store.write_batch(ops, &self.ctx(user)).await?;
        Ok(())
    }

    /// Replaces a sprint's capacity table (members of the team only; not once closed).
    pub async fn set_capacity(
        &self,
        user: &User,
        id: RecordId,
        list: &[CapacityInput],
        expected_version: Option<i64>,
    ) -> AppResult<Stored<Sprint>> {
        let s = self.sprint_scope(user, id).await?;
        self.require_home(user, &s.team).await?;
        if let Some(v) = expected_version {
            if v != s.sprint.version {
                return Err(AppError::StaleVersion { current: s.sprint.version });
            }
        }
        if s.state == SprintState::Closed {
            return Err(AppError::Conflict("the sprint is closed".into()));
        }
        if list.len() > 200 {
            return Err(AppError::invalid("capacity", "at most 200 entries"));
        }
        let mut cap: Vec<SprintCapacity> = Vec::new();
        for (i, c) in list.iter().enumerate() {
            let field = format!("capacity[{i}]");
            let u = self.resolve_member(&format!("{field}.user"), &c.user).await?;
            if !s.team.data.has_member(u.id) {
                return Err(AppError::invalid(&format!("{field}.user"), "is not a member of the team"));
            }
            if cap.iter().any(|x| x.user_id == u.id) {
                return Err(AppError::invalid(&format!("{field}.user"), "is listed twice"));
            }
            let e = SprintCapacity {
                user_id: u.id,
                points: c.points,
                days: c.days,
                days_off: c.days_off.unwrap_or(0.0),
            };
            e.check(&field)?;
            cap.push(e);
        }
        let mut sp = s.sprint.data.clone();
        sp.capacity = cap;
        let op = WriteOp::UpdateRecord {
            id,
            expected_version: Some(s.sprint.version),
            state: None,
            data: to_data(&sp)?,
            refs: vec![],
        };
        let mut w = self.store.write_batch(vec![op], &self.ctx(user)).await?;
        self.written_record(w.remove(0))
    }

    /// Every item in a sprint, over all products its team serves, each product's in rank order.
    pub async fn all_sprint_items(&self, team: &Team, sprint: RecordId) -> AppResult<Vec<Item>> {
        let mut out = Vec::new();
        let f = ItemFilter { sprint: Some(Some(sprint)), ..Default::default() };
        for p in &team.products {
            let mut page = Page::first(500);
            loop {
                let batch = self.store.list_items(*p, &f, &page).await?;
                let n = batch.len();
                page.after = batch.last().map(|i| i.rank.to_string());
                out.extend(batch);
                if n < 500 {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The items of a sprint the caller may read (of the products they are a member of).
    pub async fn sprint_items(&self, s: &SprintScope) -> AppResult<Vec<Item>> {
        let mut items = self.all_sprint_items(&s.team.data, s.sprint.id).await?;
        if s.team.data.products.len() > 1 {
            let mut readable = Vec::new();
            for p in &s.team.data.products {
                if self.access_by_id(&s.access.user, *p).await.is_ok() {
                    readable.push(*p);
                }
            }
            items.retain(|i| readable.contains(&i.product_id));
        }
        Ok(items)
    }

    /// The figures of a sprint now: planned, committed, done, scope change, capacity, velocity.
    pub async fn sprint_figures(&self, s: &SprintScope, items: &[Item]) -> AppResult<SprintFigures> {
        let sprints = self.team_sprints(&s.team).await?;
        let closed_before: Vec<Stored<Sprint>> = sprints
            .into_iter()
            .filter(|x| x.id != s.sprint.id && x.data.start < s.sprint.data.start)
            .collect();
        let mut f = SprintFigures {
            planned: items.iter().map(estimate).fold(0.0, |a, b| a + b),
            items: items.len(),
            unestimated: items.iter().filter(|i| i.estimate.is_none()).count(),
            capacity: capacity_totals(&s.sprint.data.capacity),
            velocity: velocity_of(&closed_before),
            ..Default::default()
        };
        match (&s.sprint.data.summary, &s.sprint.data.commitment) {
            (Some(sum), _) => {
                f.committed = sum.committed;
                f.completed = sum.completed;
                f.scope = ScopeChange { added: sum.added, removed: sum.removed, ..Default::default() };
            }
            (None, Some(c)) => {
                f.committed = c.points;
                f.completed = items
                    .iter()
                    .filter(|i| i.category == Category::Done)
                    .map(estimate)
                    .fold(0.0, |a, b| a + b);
                f.scope = self.scope_of(&s.team.data, s.sprint.id, c, items).await?;
            }
            (None, None) => {
                f.committed = f.planned;
                f.completed = items
                    .iter()
                    .filter(|i| i.category == Category::Done)
                    .map(estimate)
                    .fold(0.0, |a, b| a + b);
            }
        }
        Ok(f)
    }

    async fn scope_of(
        &self,
        team: &Team,
        sprint: RecordId,
        c: &Commitment,
        items: &[Item],
    ) -> AppResult<ScopeChange> {
        let mut events = Vec::new();
        for p in &team.products {
            let e = self
                .store
                .product_events_of(
                    *p,
                    &[ObjectKind::Item],
                    &["sprint", "estimate", "deleted"],
                    c.at,
                    SCOPE_EVENTS_MAX,
                )
                .await?;
            events.extend(e);
        }
        events.sort_by_key(|e| e.id);
        // Items that left the sprint are not in `items`: their estimate now is read from the
        // store when no later estimate event tells it.
        let mut current: HashMap<keel_domain::ItemId, f64> =
            items.iter().map(|i| (i.id, estimate(i))).collect();
        let touches = |v: &serde_json::Value| v.as_i64() == Some(sprint.0);
        for e in &events {
            let id = keel_domain::ItemId(e.object_id);
            if e.field == "sprint" && (touches(&e.old) || touches(&e.new)) && !current.contains_key(&id) {
                if let Ok(i) = self.store.item(keel_domain::ItemId(e.object_id)).await {
                    current.insert(i.id, estimate(&i));
                }
            }
        }
        Ok(scope_change(sprint, c, &events, &current))
    }

    /// Puts item `key` into a sprint (a change of its `sprint` through decision rights: the
    /// Product Owner does it, a team member proposes), optionally placing it before or after
    /// another item.
    pub async fn add_to_sprint(
        &self,
        user: &User,
        sprint: RecordId,
        key: &str,
        position: &PositionInput,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let pk =
            key.rsplit_once('-').map(|(p, _)| p).ok_or_else(|| AppError::invalid("key", "no such item"))?;
        let a = match self.access(user, pk).await {
            Ok(a) => a,
            Err(AppError::NotFound) => return Err(AppError::invalid("key", "no such item")),
            Err(e) => return Err(e),
        };
        let item = match self.item(&a, key).await {
            Ok(i) => i,
            Err(AppError::NotFound) => return Err(AppError::invalid("key", "no such item")),
            Err(e) => return Err(e),
        };
        let input = ItemInput { sprint: Some(Some(sprint.0)), ..Default::default() };
        let o = self.update_item_as(&a, &item.key, &input, None, reason, Mode::Auto).await?;
        match o {
            Outcome::Done(i) if position.before.is_some() || position.after.is_some() => {
                match self.move_item(&a, &i.key, position, reason).await? {
                    Outcome::Done(moved) => Ok(Outcome::Done(moved)),
                    Outcome::Proposed(_) => Ok(Outcome::Done(i)),
                }
            }
            o => Ok(o),
        }
    }

    /// Takes item `key` out of a sprint (back to the backlog), through decision rights.
    pub async fn remove_from_sprint(
        &self,
        user: &User,
        sprint: RecordId,
        key: &str,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Item>> {
        let pk = key.rsplit_once('-').map(|(p, _)| p).ok_or(AppError::NotFound)?;
        let a = self.access(user, pk).await?;
        let item = self.item(&a, key).await?;
        if item.sprint_id != Some(sprint) {
            return Err(AppError::NotFound);
        }
        let input = ItemInput { sprint: Some(None), ..Default::default() };
        self.update_item_as(&a, &item.key, &input, None, reason, Mode::Auto).await
    }

    /// Starts a sprint: freezes its items and their estimates as the commitment. Only a
    /// planned sprint starts, and only one sprint of a team is active at a time (409). A team
    /// member's start becomes a proposal.
    pub async fn start_sprint(
        &self,
        user: &User,
        id: RecordId,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Stored<Sprint>>> {
        let s = self.sprint_scope(user, id).await?;
        // Rights before state: a caller who may not start is told so, not how the sprint stands.
        if self.decide(&s.access, Action::ManageSprint) == Decision::Deny {
            return Err(self.forbidden(Action::ManageSprint));
        }
        self.check_startable(&s).await?;
        match self.decide(&s.access, Action::ManageSprint) {
            Decision::Allow => Ok(Outcome::Done(self.do_start(&s, &self.ctx(user)).await?)),
            Decision::Propose => {
                let summary = format!("Start sprint “{}” of team {}", s.sprint.data.name, s.team.data.name);
                let change = Change::StartSprint { sprint_id: id };
                self.propose(&s.access, Action::ManageSprint, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::ManageSprint)),
        }
    }

    async fn check_startable(&self, s: &SprintScope) -> AppResult<()> {
        if s.state != SprintState::Planned {
            return Err(AppError::Conflict(format!("the sprint is already {}", s.state.as_str())));
        }
        let sprints = self.team_sprints(&s.team).await?;
        if let Some(other) = sprints.iter().find(|x| x.id != s.sprint.id && x.state == "active") {
            return Err(AppError::Conflict(format!(
                "the team's sprint “{}” is still active; close it first",
                other.data.name
            )));
        }
        Ok(())
    }

    async fn do_start(&self, s: &SprintScope, ctx: &WriteCtx) -> AppResult<Stored<Sprint>> {
        let items = self.all_sprint_items(&s.team.data, s.sprint.id).await?;
        let mut sp = s.sprint.data.clone();
        sp.commitment = Some(Commitment::freeze(ctx.at, items.iter().map(|i| (i.id, estimate(i))).collect()));
        // Guards: the sprint as read (two starts: one 409) and the team (two sprints of one
        // team started at once: one 409).
        let ops = vec![
            WriteOp::Guard { id: s.team.id, expected_version: s.team.version },
            WriteOp::UpdateRecord {
                id: s.sprint.id,
                expected_version: Some(s.sprint.version),
                state: Some(SprintState::Active.as_str().into()),
                data: to_data(&sp)?,
                refs: vec![],
            },
        ];
        let mut w = self.store.write_batch(ops, ctx).await.map_err(concurrently)?;
        self.written_record(w.remove(1))
    }

    /// Closes an active sprint: done items stay as completed, unfinished ones go to the
    /// backlog top or the team's next planned sprint (all at once or per item), and the
    /// figures are kept in the sprint — all in one batch guarded by the sprint's version, so
    /// of two closes at once one fails with 409 and nothing of it lands.
    pub async fn close_sprint(
        &self,
        user: &User,
        id: RecordId,
        input: &CloseInput,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Stored<Sprint>>> {
        let s = self.sprint_scope(user, id).await?;
        let (destination, per_item) = parse_close(input)?;
        // Rights before state: a caller who may not close is told so, not how the sprint stands.
        if self.decide(&s.access, Action::ManageSprint) == Decision::Deny {
            return Err(self.forbidden(Action::ManageSprint));
        }
        if s.state != SprintState::Active {
            return Err(AppError::Conflict(match s.state {
                SprintState::Closed => "the sprint is already closed".to_string(),
                _ => "the sprint has not started".to_string(),
            }));
        }
        match self.decide(&s.access, Action::ManageSprint) {
            Decision::Allow => {
                Ok(Outcome::Done(self.do_close(&s, destination, &per_item, &self.ctx(user)).await?))
            }
            Decision::Propose => {
                // Check the choices now, so a proposal that cannot work is refused at once.
                self.close_ops(&s, destination, &per_item, &self.ctx(user)).await?;
                let summary = format!("Close sprint “{}” of team {}", s.sprint.data.name, s.team.data.name);
                let change = Change::CloseSprint { sprint_id: id, destination, items: per_item };
                self.propose(&s.access, Action::ManageSprint, change, summary, reason).await
            }
            Decision::Deny => Err(self.forbidden(Action::ManageSprint)),
        }
    }

    async fn close_ops(
        &self,
        s: &SprintScope,
        destination: Destination,
        per_item: &[(String, Destination)],
        ctx: &WriteCtx,
    ) -> AppResult<Vec<WriteOp>> {
        let items = self.all_sprint_items(&s.team.data, s.sprint.id).await?;
        let sprints = self.team_sprints(&s.team).await?;
        let list: Vec<(RecordId, SprintState, Date)> =
            sprints.iter().map(|x| (x.id, state_of(x), x.data.start)).collect();
        let next = next_sprint(s.sprint.id, &list);
        let commitment = s.sprint.data.commitment.clone();
        let scope = match &commitment {
            Some(c) => self.scope_of(&s.team.data, s.sprint.id, c, &items).await?,
            None => ScopeChange::default(),
        };
        let close_items: Vec<CloseItem> = items
            .iter()
            .map(|i| CloseItem {
                id: i.id,
                key: i.key.clone(),
                estimate: estimate(i),
                done: i.category == Category::Done,
            })
            .collect();
        let plan =
            plan_close(ctx.at, commitment.as_ref(), &scope, &close_items, destination, per_item, next)?;
        let mut sp = s.sprint.data.clone();
        sp.summary = Some(plan.summary);
        let mut ops = vec![WriteOp::UpdateRecord {
            id: s.sprint.id,
            expected_version: Some(s.sprint.version),
            state: Some(SprintState::Closed.as_str().into()),
            data: to_data(&sp)?,
            refs: vec![],
        }];
        if let (Some(n), false) = (next, plan.to_next.is_empty()) {
            let v = sprints.iter().find(|x| x.id == n).map_or(0, |x| x.version);
            ops.push(WriteOp::Guard { id: n, expected_version: v });
        }
        // Set-based: a few statements whatever the number of items.
        if !plan.to_next.is_empty() {
            ops.push(WriteOp::SetSprint { ids: plan.to_next.clone(), sprint: next });
        }
        if !plan.to_backlog.is_empty() {
            ops.push(WriteOp::SetSprint { ids: plan.to_backlog.clone(), sprint: None });
            // To the top of each product's backlog, in the sprint's order.
            let mut by_product: Vec<(keel_domain::ProductId, Vec<keel_domain::ItemId>)> = Vec::new();
            for id in &plan.to_backlog {
                let Some(p) = items.iter().find(|i| i.id == *id).map(|i| i.product_id) else { continue };
                match by_product.iter_mut().find(|(q, _)| *q == p) {
                    Some((_, v)) => v.push(*id),
                    None => by_product.push((p, vec![*id])),
                }
            }
            for (_, ids) in by_product {
                ops.push(WriteOp::MoveItems { ids, position: Position::Top });
            }
        }
        Ok(ops)
    }

    async fn do_close(
        &self,
        s: &SprintScope,
        destination: Destination,
        per_item: &[(String, Destination)],
        ctx: &WriteCtx,
    ) -> AppResult<Stored<Sprint>> {
        let ops = self.close_ops(s, destination, per_item, ctx).await?;
        let mut w = self.store.write_batch(ops, ctx).await.map_err(concurrently)?;
        self.written_record(w.remove(0))
    }

    /// Carries out an accepted start or close proposal as the decider (`None` for other
    /// changes).
    pub(crate) async fn accept_sprint_change(
        &self,
        access: &ProductAccess,
        change: &Change,
        ctx: &WriteCtx,
    ) -> Option<AppResult<()>> {
        let r = match change {
            Change::StartSprint { sprint_id } => {
                async {
                    let s = self.sprint_scope(&access.user, *sprint_id).await?;
                    self.check_startable(&s).await?;
                    self.do_start(&s, ctx).await.map(|_| ())
                }
                .await
            }
            Change::CloseSprint { sprint_id, destination, items } => {
                async {
                    let s = self.sprint_scope(&access.user, *sprint_id).await?;
                    if s.state != SprintState::Active {
                        return Err(AppError::Conflict(format!("the sprint is {}", s.state.as_str())));
                    }
                    self.do_close(&s, *destination, items, ctx).await.map(|_| ())
                }
                .await
            }
            _ => return None,
        };
        Some(r)
    }

    /// The product backlog for sprint planning: open items in no sprint, in rank order.
    pub async fn planning_backlog(
        &self,
        access: &ProductAccess,
        cursor: Option<&str>,
        limit: u32,
    ) -> AppResult<crate::items::ItemPage> {
        let f = ItemFilter { open_only: true, sprint: Some(None), ..Default::default() };
        self.list_items(access, &f, cursor, limit).await
    }
}

/// A stale version in a sprint write means someone else changed it first.
fn concurrently(e: StoreError) -> AppError {
    match e {
        StoreError::StaleVersion { .. } => AppError::Conflict(
            "the sprint or its team was changed at the same time; reload and try again".into(),
        ),
        e => e.into(),
    }
}

fn parse_close(input: &CloseInput) -> AppResult<(Destination, Vec<(String, Destination)>)> {
    let d = match input.destination.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Destination::parse("destination", s)?,
        None => Destination::Backlog,
    };
    let mut items = Vec::new();
    for (k, v) in &input.items {
        items.push((k.clone(), Destination::parse(&format!("items.{k}"), v)?));
    }
    Ok((d, items))
}

fn velocity_of(sprints: &[Stored<Sprint>]) -> Velocity {
    let closed: Vec<(Date, f64)> = sprints
        .iter()
        .filter_map(|s| s.data.summary.as_ref().map(|sum| (s.data.end, sum.completed)))
        .collect();
    velocity(&closed)
}

fn check_overlap(
    start: Date,
    end: Date,
    others: &[Stored<Sprint>],
    except: Option<RecordId>,
) -> AppResult<()> {
    let list = others
        .iter()
        .filter(|s| Some(s.id) != except)
        .map(|s| (s.data.name.as_str(), s.data.start, s.data.end));
    match find_overlap(start, end, list) {
        Some(n) => Err(AppError::Conflict(format!("the dates overlap the team's sprint “{n}”"))),
        None => Ok(()),
    }
}
