//! Stand-up, sprint review, retrospective.
//!
//! The stand-up reads the history of status changes since the previous working day, the items
//! each team member holds in progress and what blocks them. The review splits a sprint's done
//! items into accepted and waiting and keeps the summary the Product Owner publishes. The
//! retrospective is a board of cards (records of kind `RetroCard`) that the team writes and votes
//! on; an action card becomes a backlog item in the same transaction that records it on the card.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKind, NewItem, StoryFields};
use keel_domain::product::Role;
use keel_domain::proposal::{Change, NewItemSpec, Position, ProposalState};
use keel_domain::retro::{by_votes, parse_card_text, parse_summary, RetroCard, RetroColumn, SprintReview};
use keel_domain::rights::{Action, Decision};
use keel_domain::sprint::{Sprint, Team};
use keel_domain::standup::{moved_for, window, StatusChange};
use keel_domain::time::Date;
use keel_domain::user::User;
use keel_domain::workflow::Category;
use keel_domain::{ItemId, ProductId, ProposalId, RecordId, StateId, Timestamp, UserId};
use keel_store::{Blocker, ItemFilter, Page, RecordFilter, Ref, StoreError, WriteOp, Written};
use std::collections::{HashMap, HashSet};

impl RecordKind for RetroCard {
    const KIND: ObjectKind = ObjectKind::RetroCard;
}

impl RecordKind for SprintReview {
    const KIND: ObjectKind = ObjectKind::Review;
}

/// Most status changes one stand-up reads per product.
const EVENTS_MAX: u32 = 2_000;
/// Most items listed per product and list.
const ITEMS_MAX: u32 = 500;
/// Most attempts of a vote that meets concurrent votes.
const VOTE_ATTEMPTS: u32 = 20;

/// A workflow state's name and category, across the products of a team.
#[derive(Debug, Clone, Default)]
pub struct StateNames(HashMap<StateId, (String, Category)>);

impl StateNames {
    /// The state's name (empty when unknown).
    pub fn name(&self, id: StateId) -> &str {
        self.0.get(&id).map_or("", |(n, _)| n.as_str())
    }

    /// The state's category.
    pub fn category(&self, id: StateId) -> Category {
        self.0.get(&id).map_or(Category::Todo, |(_, c)| *c)
    }
}

/// One item that moved in the stand-up's stretch.
#[derive(Debug, Clone)]
pub struct MovedItem {
    /// The item as it is now.
    pub item: Item,
    /// The state it started the stretch in.
    pub from: StateId,
    /// The state it moved to last.
    pub to: StateId,
    /// When it last moved.
    pub at: Timestamp,
    /// Who moved it last.
    pub by: Option<UserId>,
    /// How many moves.
    pub moves: usize,
}

/// One person's part of the stand-up.
#[derive(Debug, Clone)]
pub struct StandupPerson {
    /// The user (`None` when the account no longer exists).
    pub user_id: UserId,
    /// Their name.
    pub name: String,
    /// What moved since the previous working day.
    pub moved: Vec<MovedItem>,
    /// What they hold in progress.
    pub in_progress: Vec<Item>,
    /// What of theirs is blocked, with the blockers.
    pub blocked: Vec<(Item, Vec<Blocker>)>,
}

/// The stand-up of a team on a day.
#[derive(Debug, Clone)]
pub struct Standup {
    /// The team.
    pub team: Stored<Team>,
    /// Its home product, through which the caller reads it.
    pub access: ProductAccess,
    /// The day.
    pub date: Date,
    /// The previous working day, where the stretch starts.
    pub since: Date,
    /// The active sprint, if any.
    pub sprint: Option<Stored<Sprint>>,
    /// One entry per member, in the team's order.
    pub people: Vec<StandupPerson>,
    /// State names of the team's products.
    pub states: StateNames,
    /// Names of the users mentioned (members and movers).
    pub names: HashMap<UserId, String>,
}

/// A sprint's review.
#[derive(Debug, Clone)]
pub struct Review {
    /// The sprint.
    pub sprint: Stored<Sprint>,
    /// Its team.
    pub team: Stored<Team>,
    /// The caller's access to the sprint's product.
    pub access: ProductAccess,
    /// Done and accepted.
    pub accepted: Vec<Item>,
    /// Put forward as ready (or done) and not yet accepted by the Product Owner.
    pub waiting: Vec<Item>,
    /// Not done.
    pub unfinished: Vec<Item>,
    /// Points of done items.
    pub points_done: f64,
    /// Points of accepted items.
    pub points_accepted: f64,
    /// Points committed: the frozen commitment when the sprint started, else the sprint's scope.
    pub points_committed: f64,
    /// Whether `points_committed` is the frozen commitment.
    pub committed_frozen: bool,
    /// The summary record, if one was written.
    pub summary: Option<Stored<SprintReview>>,
    /// Whether the caller may write and publish the summary.
    pub can_write: bool,
    /// Whether the caller may read drafts (everyone but stakeholders).
    pub can_read_draft: bool,
    /// State names.
    pub states: StateNames,
}

/// One card of the board, ready to show.
#[derive(Debug, Clone)]
pub struct CardView {
    /// The card.
    pub card: Stored<RetroCard>,
    /// Its column.
    pub column: RetroColumn,
    /// The author's name.
    pub author_name: String,
    /// The key of the item made from it.
    pub item_key: Option<String>,
    /// Where the proposal to make an item from it stands, if there is one.
    pub proposal_state: Option<ProposalState>,
    /// Whether the caller voted for it.
    pub voted: bool,
    /// Whether the caller may change or delete it.
    pub can_edit: bool,
}

/// A sprint's retrospective board.
#[derive(Debug, Clone)]
pub struct RetroBoard {
    /// The sprint.
    pub sprint: Stored<Sprint>,
    /// Its team.
    pub team: Stored<Team>,
    /// The caller's access.
    pub access: ProductAccess,
    /// The three columns with their cards, most votes first.
    pub columns: Vec<(RetroColumn, Vec<CardView>)>,
    /// Whether the caller may add cards and vote.
    pub can_write: bool,
    /// What making an item from a card does for the caller.
    pub make_items: Decision,
}

/// A change to a card: new text, another column, and the version it is based on.
#[derive(Debug, Clone, Default)]
pub struct CardPatch {
    /// New text.
    pub text: Option<String>,
    /// New column.
    pub column: Option<String>,
    /// Version read.
    pub version: Option<i64>,
}

fn points_of(items: &[Item]) -> f64 {
    // Folded from +0.0: an empty `sum()` of floats is -0.0, which would print as "-0".
    items.iter().filter_map(|i| i.estimate).fold(0.0, |acc, p| acc + p.value())
}

impl App {
    /// The caller's access through `home`, or else through the first other product of `team`
    /// they are a member of (a team may serve several products); 404 when none.
    async fn team_product_access(
        &self,
        user: &User,
        team: &Team,
        home: ProductId,
    ) -> AppResult<ProductAccess> {
        match self.access_by_id(user, home).await {
            Err(AppError::NotFound) => {}
            r => return r,
        }
        for p in team.products.iter().filter(|p| **p != home) {
            match self.access_by_id(user, *p).await {
                Err(AppError::NotFound) => {}
                r => return r,
            }
        }
        Err(AppError::NotFound)
    }

    /// A team and the caller's access through its home product or, for members of another
    /// product it serves only, through that one.
    pub async fn served_team_access(
        &self,
        user: &User,
        team: RecordId,
    ) -> AppResult<(Stored<Team>, ProductAccess)> {
        let t = self.get_record::<Team>(team).await?;
        let home = t.product_id.or_else(|| t.data.products.first().copied()).ok_or(AppError::NotFound)?;
        let access = self.team_product_access(user, &t.data, home).await?;
        Ok((t, access))
    }

    /// A sprint, its team, and the caller's access through the sprint's product.
    pub async fn sprint_access(
        &self,
        user: &User,
        sprint: RecordId,
    ) -> AppResult<(Stored<Sprint>, Stored<Team>, ProductAccess)> {
        let s = self.get_record::<Sprint>(sprint).await?;
        let team_id = s.parent_id.ok_or(AppError::NotFound)?;
        let t = self.get_record::<Team>(RecordId(team_id)).await?;
        let home = s.product_id.or_else(|| t.data.products.first().copied()).ok_or(AppError::NotFound)?;
        let access = self.team_product_access(user, &t.data, home).await?;
        Ok((s, t, access))
    }

    /// The products of `team` the caller may read, the one they came through first.
    async fn readable_products(&self, user: &User, team: &Stored<Team>, home: ProductId) -> Vec<ProductId> {
        let mut out = vec![home];
        for p in &team.data.products {
            if out.contains(p) {
                continue;
            }
            if self.access_by_id(user, *p).await.is_ok() {
                out.push(*p);
            }
        }
        out
    }

    async fn state_names(&self, products: &[ProductId]) -> AppResult<StateNames> {
        let mut m = HashMap::new();
        for p in products {
            for s in self.store.workflow(*p).await?.states {
                m.insert(s.id, (s.name, s.category));
            }
        }
        Ok(StateNames(m))
    }

    async fn user_names(&self, ids: Vec<UserId>) -> HashMap<UserId, String> {
        let mut out = HashMap::new();
        for id in ids {
            if out.contains_key(&id) {
                continue;
            }
            let name = match self.store.user(id).await {
                Ok(u) => u.name,
                Err(_) => format!("User {id}"),
            };
            out.insert(id, name);
        }
        out
    }

    async fn items_of(&self, products: &[ProductId], filter: &ItemFilter) -> AppResult<Vec<Item>> {
        let mut out = Vec::new();
        for p in products {
            out.extend(self.store.list_items(*p, filter, &Page::first(ITEMS_MAX)).await?);
        }
        Ok(out)
    }

    /// The stand-up of `team` on `date`.
    pub async fn standup(&self, user: &User, team: RecordId, date: Date) -> AppResult<Standup> {
        let (team, access) = self.served_team_access(user, team).await?;
        let products = self.readable_products(user, &team, access.product.id).await;
        let sprint = self.active_sprint(team.id).await?;
        let (since, until) = window(date);
        let states = self.state_names(&products).await?;
        let members: Vec<UserId> = team.data.members.iter().map(|m| m.user_id).collect();

        // The items people hold: the active sprint's, or in progress anywhere in the products.
        let listed = match &sprint {
            Some(s) => {
                self.items_of(&products, &ItemFilter { sprint: Some(Some(s.id)), ..Default::default() })
                    .await?
            }
            None => {
                self.items_of(
                    &products,
                    &ItemFilter { category: Some(Category::InProgress), ..Default::default() },
                )
                .await?
            }
        };
        let mut items: HashMap<ItemId, Item> = listed.iter().map(|i| (i.id, i.clone())).collect();

        // Status changes in the stretch, and the items they touched.
        let mut changes = Vec::new();
        for p in &products {
            let events =
                self.store.product_events_of(*p, &[ObjectKind::Item], &["status"], since, EVENTS_MAX).await?;
            for e in events.into_iter().filter(|e| e.at < until) {
                let (Some(from), Some(to)) = (e.old.as_i64(), e.new.as_i64()) else { continue };
                changes.push(StatusChange {
                    item: ItemId(e.object_id),
                    actor: e.actor_id,
                    at: e.at,
                    from: StateId(from),
                    to: StateId(to),
                });
            }
        }
        let missing: Vec<ItemId> = {
            let mut seen = HashSet::new();
            changes.iter().map(|c| c.item).filter(|i| !items.contains_key(i) && seen.insert(*i)).collect()
        };
        for id in missing {
            match self.store.item(id).await {
                Ok(i) => {
                    items.insert(id, i);
                }
                // Deleted since: its moves are not worth a line.
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        changes.retain(|c| items.contains_key(&c.item));

        // Blockers of the open items assigned to members.
        let candidates: Vec<ItemId> = listed
            .iter()
            .filter(|i| i.category != Category::Done && i.assignee_id.is_some_and(|a| members.contains(&a)))
            .map(|i| i.id)
            .collect();
        let blockers = self.blockers(&candidates).await?;

        let mentioned: Vec<UserId> =
            members.iter().copied().chain(changes.iter().filter_map(|c| c.actor)).collect();
        let names = self.user_names(mentioned).await;
        let people = members
            .iter()
            .map(|m| {
                let moved = moved_for(*m, &changes, |i| items.get(&i).and_then(|x| x.assignee_id))
                    .into_iter()
                    .filter_map(|mv| {
                        items.get(&mv.item).map(|i| MovedItem {
                            item: i.clone(),
                            from: mv.from,
                            to: mv.to,
                            at: mv.at,
                            by: mv.by,
                            moves: mv.moves,
                        })
                    })
                    .collect();
                let mine = |i: &&Item| i.assignee_id == Some(*m);
                let in_progress = listed
                    .iter()
                    .filter(mine)
                    .filter(|i| i.category == Category::InProgress)
                    .cloned()
                    .collect();
                let blocked = listed
                    .iter()
                    .filter(mine)
                    .filter_map(|i| blockers.get(&i.id).map(|b| (i.clone(), b.clone())))
                    .collect();
                StandupPerson {
                    user_id: *m,
                    name: names.get(m).cloned().unwrap_or_default(),
                    moved,
                    in_progress,
                    blocked,
                }
            })
            .collect();
        Ok(Standup { team, access, date, since: Date::of(since), sprint, people, states, names })
    }

    /// The review of sprint `id`.
    pub async fn review(&self, user: &User, id: RecordId) -> AppResult<Review> {
        let (sprint, team, access) = self.sprint_access(user, id).await?;
        let products = self.readable_products(user, &team, access.product.id).await;
        let states = self.state_names(&products).await?;
        let items = self
            .items_of(&products, &ItemFilter { sprint: Some(Some(sprint.id)), ..Default::default() })
            .await?;
        use keel_domain::item::AcceptanceState;
        let (done, mut unfinished): (Vec<Item>, Vec<Item>) =
            items.into_iter().partition(|i| i.category == Category::Done);
        // A closed sprint's unfinished items have moved on (to the backlog or the next sprint);
        // its summary still names them.
        if let Some(summary) = &sprint.data.summary {
            for (id, _) in &summary.carried_over {
                if unfinished.iter().any(|i| i.id == *id) {
                    continue;
                }
                match self.store.item(*id).await {
                    Ok(i) if products.contains(&i.product_id) => unfinished.push(i),
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let (accepted, mut waiting): (Vec<Item>, Vec<Item>) =
            done.into_iter().partition(|i| i.acceptance.state == AcceptanceState::Accepted);
        let points_done = points_of(&accepted) + points_of(&waiting);

        let (points_committed, committed_frozen) = match (&sprint.data.summary, &sprint.data.commitment) {
            // `+ 0.0` turns a stored -0.0 into 0.
            (Some(s), _) => (s.committed + 0.0, true),
            (None, Some(c)) => (c.points + 0.0, true),
            (None, None) => (points_done + points_of(&unfinished), false),
        };
        // Stories are accepted as they reach done; what waits for the Product Owner is what the
        // team has put forward as ready, and anything done without an acceptance.
        let (ready, unfinished): (Vec<Item>, Vec<Item>) =
            unfinished.into_iter().partition(|i| i.acceptance.state == AcceptanceState::Ready);
        waiting.extend(ready);
        let summary = self.review_record(sprint.id).await?;
        let can_write = self.decide(&access, Action::ManageSprint) == Decision::Allow;
        let can_read_draft = self.decide(&access, Action::Retrospective) == Decision::Allow;
        Ok(Review {
            points_accepted: points_of(&accepted),
            sprint,
            team,
            access,
            accepted,
            waiting,
            unfinished,
            points_done,
            points_committed,
            committed_frozen,
            summary,
            can_write,
            can_read_draft,
            states,
        })
    }

    async fn review_record(&self, sprint: RecordId) -> AppResult<Option<Stored<SprintReview>>> {
        match self.store.record_by_key(ObjectKind::Review, &format!("review:{}", sprint.0)).await {
            Ok(r) => Ok(Some(Stored::from_record(r)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Saves the review summary of sprint `id` (Markdown) and publishes it when `publish`: the
    /// Product Owner's decision ([`Action::ManageSprint`]). With `version`, refuses a stale one.
    pub async fn save_review(
        &self,
        user: &User,
        id: RecordId,
        summary: &str,
        publish: bool,
        version: Option<i64>,
    ) -> AppResult<Stored<SprintReview>> {
        let (sprint, _, access) = self.sprint_access(user, id).await?;
        self.require(&access, Action::ManageSprint)?;
        let summary = parse_summary("summary", summary)?;
        let existing = self.review_record(sprint.id).await?;
        let ctx = self.ctx(user);
        let op = match &existing {
            Some(r) => {
                if let Some(v) = version {
                    if v != r.version {
                        return Err(AppError::StaleVersion { current: r.version });
                    }
                }
                let mut data = r.data.clone();
                data.save(summary, publish, user.id, ctx.at)?;
                WriteOp::UpdateRecord {
                    id: r.id,
                    expected_version: Some(r.version),
                    state: Some(if data.published.is_some() { "published" } else { "draft" }.to_string()),
                    data: to_data(&data)?,
                    refs: Vec::new(),
                }
            }
            None => {
                let mut data = SprintReview::default();
                data.save(summary, publish, user.id, ctx.at)?;
                let state = if data.published.is_some() { "published" } else { "draft" };
                let key = Some(format!("review:{}", sprint.id.0));
                WriteOp::CreateRecord(new_record(sprint.product_id, Some(sprint.id.0), state, key, &data)?)
            }
        };
        let written = self.store.write_batch(vec![op], &ctx).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::Conflict("the review was written by someone else at the same time; reload".into())
            }
            e => e.into(),
        })?;
        match written.into_iter().next() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Internal(StoreError::other(std::io::Error::other("no record written")))),
        }
    }

    /// The retrospective board of sprint `id`.
    pub async fn retro(&self, user: &User, id: RecordId) -> AppResult<RetroBoard> {
        let (sprint, team, access) = self.sprint_access(user, id).await?;
        let cards = self
            .list_records::<RetroCard>(RecordFilter::of(ObjectKind::RetroCard).parent(sprint.id.0))
            .await?;
        let authors: Vec<UserId> = cards.iter().map(|c| c.data.author).collect();
        let names = self.user_names(authors).await;
        let may_moderate = self.decide(&access, Action::ManageSprint) == Decision::Allow;
        let can_write = self.decide(&access, Action::Retrospective) == Decision::Allow;
        let mut keys = HashMap::new();
        let mut proposals = HashMap::new();
        for c in &cards {
            if let Some(p) = c.data.proposal.filter(|_| c.data.item.is_none()) {
                let (state, item) = self.proposal_outcome(p).await?;
                proposals.insert(c.id, (state, item));
            }
            let item = c.data.item.or_else(|| proposals.get(&c.id).and_then(|(_, i)| *i));
            if let Some(i) = item {
                if let Ok(item) = self.store.item(i).await {
                    keys.insert(c.id, item.key);
                }
            }
        }
        let mut columns: Vec<(RetroColumn, Vec<CardView>)> =
            RetroColumn::ALL.iter().map(|c| (*c, Vec::new())).collect();
        for card in cards {
            let Ok(column) = RetroColumn::parse("column", &card.state) else { continue };
            let view = CardView {
                column,
                author_name: names.get(&card.data.author).cloned().unwrap_or_default(),
                item_key: keys.get(&card.id).cloned(),
                proposal_state: proposals.get(&card.id).map(|(s, _)| *s),
                voted: card.data.voted_by(user.id),
                can_edit: can_write && (card.data.author == user.id || may_moderate),
                card,
            };
            if let Some((_, list)) = columns.iter_mut().find(|(c, _)| *c == column) {
                list.push(view);
            }
        }
        for (_, list) in &mut columns {
            by_votes(list, |v| v.card.data.votes.len());
        }
        let make_items = self.decide(&access, Action::CreateItem);
        Ok(RetroBoard { sprint, team, access, columns, can_write, make_items })
    }

    /// Where a proposal to make an item from a card stands and, once accepted, the item it
    /// created (found by the proposal's id on the item's `created` event).
    async fn proposal_outcome(&self, id: ProposalId) -> AppResult<(ProposalState, Option<ItemId>)> {
        let p = match self.store.proposal(id).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Ok((ProposalState::Stale, None)),
            Err(e) => return Err(e.into()),
        };
        if p.state != ProposalState::Accepted {
            return Ok((p.state, None));
        }
        let since = p.decided_at.unwrap_or(p.created_at);
        let events =
            self.store.product_events_of(p.product_id, &[ObjectKind::Item], &["created"], since, 500).await?;
        let item = events.iter().find(|e| e.proposal_id == Some(id)).map(|e| ItemId(e.object_id));
        Ok((p.state, item))
    }

    /// Adds a card to the retrospective of sprint `id`.
    pub async fn add_card(
        &self,
        user: &User,
        id: RecordId,
        column: &str,
        text: &str,
    ) -> AppResult<Stored<RetroCard>> {
        let (sprint, _, access) = self.sprint_access(user, id).await?;
        self.require(&access, Action::Retrospective)?;
        let column = RetroColumn::parse("column", column)?;
        let card = RetroCard::new(parse_card_text("text", text)?, user.id);
        let rec = new_record(sprint.product_id, Some(sprint.id.0), column.as_str(), None, &card)?;
        self.write_card(vec![WriteOp::CreateRecord(rec)], user).await
    }

    async fn write_card(&self, ops: Vec<WriteOp>, user: &User) -> AppResult<Stored<RetroCard>> {
        let written = self.store.write_batch(ops, &self.ctx(user)).await?;
        written
            .into_iter()
            .rev()
            .find_map(|w| match w {
                Written::Record(r) if r.kind == ObjectKind::RetroCard => Some(Stored::from_record(r)),
                _ => None,
            })
            .unwrap_or_else(|| {
                Err(AppError::Internal(StoreError::other(std::io::Error::other("no card written"))))
            })
    }

    /// A card, its sprint and the caller's access.
    pub async fn card_access(
        &self,
        user: &User,
        id: RecordId,
    ) -> AppResult<(Stored<RetroCard>, Stored<Sprint>, ProductAccess)> {
        let card = self.get_record::<RetroCard>(id).await?;
        let sprint = card.parent_id.ok_or(AppError::NotFound)?;
        let (sprint, _, access) = self.sprint_access(user, RecordId(sprint)).await?;
        Ok((card, sprint, access))
    }

    fn may_edit_card(&self, access: &ProductAccess, card: &RetroCard) -> AppResult<()> {
        self.require(access, Action::Retrospective)?;
        if card.author == access.user.id || self.decide(access, Action::ManageSprint) == Decision::Allow {
            Ok(())
        } else {
            Err(AppError::Forbidden { action: Action::Retrospective, deciders: vec![Role::Po] })
        }
    }

    /// Changes a card's text or column (its author, or the Product Owner).
    pub async fn update_card(
        &self,
        user: &User,
        id: RecordId,
        patch: &CardPatch,
    ) -> AppResult<Stored<RetroCard>> {
        let (card, _, access) = self.card_access(user, id).await?;
        self.may_edit_card(&access, &card.data)?;
        if let Some(v) = patch.version {
            if v != card.version {
                return Err(AppError::StaleVersion { current: card.version });
            }
        }
        let mut data = card.data.clone();
        if let Some(t) = &patch.text {
            data.text = parse_card_text("text", t)?;
        }
        let state = patch.column.as_deref().map(|c| RetroColumn::parse("column", c)).transpose()?;
        if data == card.data && state.is_none_or(|s| s.as_str() == card.state) {
            return Ok(card);
        }
        let op = WriteOp::UpdateRecord {
            id: card.id,
            expected_version: Some(card.version),
            state: state.map(|s| s.as_str().to_string()),
            data: to_data(&data)?,
            refs: Vec::new(),
        };
        self.write_card(vec![op], user).await
    }

    /// Deletes a card (its author, or the Product Owner).
    pub async fn delete_card(&self, user: &User, id: RecordId) -> AppResult<()> {
        let (card, _, access) = self.card_access(user, id).await?;
        self.may_edit_card(&access, &card.data)?;
        let op = WriteOp::DeleteRecord { id: card.id, expected_version: None };
        self.store.write_batch(vec![op], &self.ctx(user)).await?;
        Ok(())
    }

    /// Toggles the caller's vote on a card. Concurrent votes are not lost: the write names the
    /// version read and is retried on a fresh read when someone else voted in between.
    pub async fn vote(&self, user: &User, id: RecordId) -> AppResult<Stored<RetroCard>> {
        let (mut card, _, access) = self.card_access(user, id).await?;
        self.require(&access, Action::Retrospective)?;
        let mut attempt = 0;
        loop {
            let mut data = card.data.clone();
            data.toggle_vote(user.id);
            let op = WriteOp::UpdateRecord {
                id: card.id,
                expected_version: Some(card.version),
                state: None,
                data: to_data(&data)?,
                refs: Vec::new(),
            };
            match self.write_card(vec![op], user).await {
                Err(AppError::StaleVersion { .. }) if attempt + 1 < VOTE_ATTEMPTS => {
                    attempt += 1;
                    // A little spread, so that racing voters do not collide again in step.
                    let jitter = u64::from(attempt) * 3 + (crate::now().0 % 5) as u64;
                    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
                    card = self.get_record::<RetroCard>(id).await?;
                }
                r => return r,
            }
        }
    }

    /// Makes a backlog item (a `story` or `task`, at the top of the backlog) from an action card,
    /// its description linking back to the retrospective, and records it on the card in the same
    /// transaction. Creating items is decided by the Product Owner: others' requests become a
    /// proposal, noted on the card. A card that already has an item (or a pending proposal) is a
    /// conflict.
    pub async fn card_to_item(
        &self,
        user: &User,
        id: RecordId,
        kind: Option<&str>,
    ) -> AppResult<Outcome<(Stored<RetroCard>, Item)>> {
        let (card, sprint, access) = self.card_access(user, id).await?;
        let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None => ItemKind::Task,
            Some(k) => match ItemKind::parse("kind", k)? {
                k @ (ItemKind::Story | ItemKind::Task) => k,
                _ => return Err(AppError::invalid("kind", "must be story or task")),
            },
        };
        // Rights before state: a caller who may not create items is told so, not the card's state.
        if self.decide(&access, Action::CreateItem) == Decision::Deny {
            return Err(self.forbidden(Action::CreateItem));
        }
        if card.state != RetroColumn::Actions.as_str() {
            return Err(AppError::Conflict("only cards in the actions column become backlog items".into()));
        }
        if card.data.item.is_some() {
            return Err(AppError::Conflict("this card already has a backlog item".into()));
        }
        if let Some(p) = card.data.proposal {
            // A declined or stale proposal may be made again; a pending or accepted one not.
            match self.proposal_outcome(p).await?.0 {
                ProposalState::Pending => {
                    return Err(AppError::Conflict("a backlog item for this card is already proposed".into()))
                }
                ProposalState::Accepted => {
                    return Err(AppError::Conflict("this card already has a backlog item".into()))
                }
                ProposalState::Declined | ProposalState::Stale => {}
            }
        }
        let retro_url = format!("/sprints/{}/retro", sprint.id.0);
        let new = NewItem {
            kind,
            parent_id: None,
            title: card.data.item_title(),
            description: card.data.item_description(&sprint.data.name, &retro_url),
            story: StoryFields::default(),
            criteria: Vec::new(),
            estimate: None,
            labels: vec!["retro".to_string()],
            assignee_id: None,
            status_id: None,
            sprint_id: None,
            release_id: None,
        };
        match self.decide(&access, Action::CreateItem) {
            Decision::Allow => {
                let mut data = card.data.clone();
                data.proposal = None;
                let ops = vec![
                    WriteOp::CreateItem { product: access.product.id, item: new, position: Position::Top },
                    WriteOp::UpdateRecord {
                        id: card.id,
                        expected_version: Some(card.version),
                        state: None,
                        data: to_data(&data)?,
                        refs: vec![("item".to_string(), Ref::Created(0))],
                    },
                ];
                let written = self.store.write_batch(ops, &self.ctx(user)).await.map_err(|e| match e {
                    StoreError::StaleVersion { .. } => {
                        AppError::Conflict("the card changed meanwhile; reload and try again".into())
                    }
                    e => e.into(),
                })?;
                let mut item = None;
                let mut rec = None;
                for w in written {
                    match w {
                        Written::Item(i) => item = Some(*i),
                        Written::Record(r) => rec = Some(Stored::from_record(r)?),
                        _ => {}
                    }
                }
                match (rec, item) {
                    (Some(r), Some(i)) => Ok(Outcome::Done((r, i))),
                    _ => {
                        Err(AppError::Internal(StoreError::other(std::io::Error::other("batch incomplete"))))
                    }
                }
            }
            Decision::Propose => {
                let summary = format!(
                    "Create {} “{}” from the retrospective of {}",
                    kind.as_str(),
                    new.title,
                    sprint.data.name
                );
                let change =
                    Change::CreateItem { item: NewItemSpec { fields: new.into(), position: Position::Top } };
                let reason = format!("Action from the retrospective of {}", sprint.data.name);
                let out = self.propose(&access, Action::CreateItem, change, summary, Some(&reason)).await?;
                if let Outcome::Proposed(p) = &out {
                    let mut data = card.data.clone();
                    data.proposal = Some(p.id);
                    let op = WriteOp::UpdateRecord {
                        id: card.id,
                        expected_version: Some(card.version),
                        state: None,
                        data: to_data(&data)?,
                        refs: Vec::new(),
                    };
                    // The proposal stands even if the note on the card loses a race.
                    if let Err(e) = self.store.write_batch(vec![op], &self.ctx(user)).await {
                        tracing::warn!(error = %e, card = card.id.0, "could not note the proposal on the card");
                    }
                }
                match out {
                    Outcome::Proposed(p) => Ok(Outcome::Proposed(p)),
                    Outcome::Done(()) => {
                        Err(AppError::Internal(StoreError::other(std::io::Error::other("not proposed"))))
                    }
                }
            }
            Decision::Deny => Err(self.forbidden(Action::CreateItem)),
        }
    }
}
