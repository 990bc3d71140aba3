//! Planning poker, questions to the Product Owner, and the decision log.
//!
//! An item's poker is one record (kind `poker`, unique key `poker:<item id>`, parent the item):
//! creating it is guarded by the unique key and every later change by its version, so two people
//! opening a round at once cannot both succeed, and concurrent voters retry on a stale version
//! instead of losing each other's cards. Setting the estimate closes the round and changes the
//! item in one batch, under the item's decision rights (the team estimates).

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::{AcceptanceState, Item, ItemPatch, Points};
use keel_domain::poker::{parse_question_text, Card, Poker, PokerError, Question, QuestionState, RoundState};
use keel_domain::proposal::Change;
use keel_domain::rights::{Action, Decision};
use keel_domain::user::Email;
use keel_domain::{Date, ItemId, RecordId, Timestamp, UserId};
use keel_store::{Page, RecordFilter, Ref, StoreError, WriteOp, Written};
use serde_json::Value;
use std::collections::HashMap;

impl RecordKind for Poker {
    const KIND: ObjectKind = ObjectKind::Poker;
}

impl RecordKind for Question {
    const KIND: ObjectKind = ObjectKind::Question;
}

/// How often a write that lost a race with another voter is retried on the fresh version.
const RETRIES: usize = 8;

/// The unique key of an item's poker record.
fn poker_key(item: ItemId) -> String {
    format!("poker:{}", item.0)
}

fn conflict(e: PokerError) -> AppError {
    AppError::Conflict(e.to_string())
}

fn no_round() -> AppError {
    AppError::Conflict("no poker round has been opened on this item".to_string())
}

/// Types a poker record, taking its state from the record.
fn typed_poker(r: keel_store::Record) -> AppResult<Stored<Poker>> {
    let mut s = Stored::<Poker>::from_record(r)?;
    s.data.state = RoundState::parse(&s.state).unwrap_or(RoundState::Closed);
    Ok(s)
}

fn written_poker(w: Vec<Written>) -> AppResult<Stored<Poker>> {
    match w.into_iter().next() {
        Some(Written::Record(r)) => typed_poker(r),
        _ => Err(AppError::Internal(StoreError::other(std::io::Error::other("batch wrote no record")))),
    }
}

fn update_op<T: RecordKind>(s: &Stored<T>, state: &str, data: &T) -> AppResult<WriteOp> {
    Ok(WriteOp::UpdateRecord {
        id: s.id,
        expected_version: Some(s.version),
        state: Some(state.to_string()),
        data: to_data(data)?,
        refs: Vec::new(),
    })
}

impl App {
    /// The poker of `item`, if a round was ever opened on it.
    pub async fn poker(&self, access: &ProductAccess, item: &Item) -> AppResult<Option<Stored<Poker>>> {
        match self.store.record_by_key(ObjectKind::Poker, &poker_key(item.id)).await {
            Ok(r) if r.product_id == Some(access.product.id) => Ok(Some(typed_poker(r)?)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The version of `item`'s poker record (0 when there is none): one indexed read, for live
    /// pages that poll for changes.
    pub async fn poker_version(&self, item: ItemId) -> AppResult<i64> {
        match self.store.record_by_key(ObjectKind::Poker, &poker_key(item)).await {
            Ok(r) => Ok(r.version),
            Err(StoreError::NotFound) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens a poker round on item `key`: the first, or the next after a closed one.
    pub async fn open_poker(&self, access: &ProductAccess, key: &str) -> AppResult<Stored<Poker>> {
        self.require(access, Action::RunPoker)?;
        let item = self.item(access, key).await?;
        let ctx = self.ctx(&access.user);
        let running = || AppError::Conflict("a poker round is already running on this item".to_string());
        match self.poker(access, &item).await? {
            None => {
                let p = Poker::first(access.user.id, ctx.at);
                let rec = new_record(
                    Some(access.product.id),
                    Some(item.id.0),
                    RoundState::Open.as_str(),
                    Some(poker_key(item.id)),
                    &p,
                )?;
                match self.store.write_batch(vec![WriteOp::CreateRecord(rec)], &ctx).await {
                    Ok(w) => written_poker(w),
                    Err(StoreError::Conflict(_)) => Err(running()),
                    Err(e) => Err(e.into()),
                }
            }
            Some(s) => {
                let mut p = s.data.clone();
                p.reopen(access.user.id, ctx.at).map_err(conflict)?;
                match self.store.write_batch(vec![update_op(&s, p.state.as_str(), &p)?], &ctx).await {
                    Ok(w) => written_poker(w),
                    // Someone else changed it since we read it: they opened it first.
                    Err(StoreError::StaleVersion { .. }) => Err(running()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Applies `f` to the round of `item` and stores it, retrying on a stale version so that
    /// concurrent voters all count.
    async fn change_poker(
        &self,
        access: &ProductAccess,
        item: &Item,
        f: impl Fn(&mut Poker, Timestamp) -> Result<(), PokerError>,
    ) -> AppResult<Stored<Poker>> {
        for attempt in 0..RETRIES {
            let s = self.poker(access, item).await?.ok_or_else(no_round)?;
            let mut p = s.data.clone();
            let ctx = self.ctx(&access.user);
            f(&mut p, ctx.at).map_err(conflict)?;
            match self.store.write_batch(vec![update_op(&s, p.state.as_str(), &p)?], &ctx).await {
                Ok(w) => return written_poker(w),
                Err(StoreError::StaleVersion { .. }) if attempt + 1 < RETRIES => continue,
                Err(StoreError::StaleVersion { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict("the round kept changing while saving; try again".to_string()))
    }

    /// Plays `card` in the open round of item `key` (replacing the caller's earlier card).
    pub async fn poker_vote(
        &self,
        access: &ProductAccess,
        key: &str,
        card: &str,
    ) -> AppResult<Stored<Poker>> {
        self.require(access, Action::Estimate)?;
        let card = Card::parse("card", card)?;
        let item = self.item(access, key).await?;
        let me = access.user.id;
        self.change_poker(access, &item, |p, _| p.vote(me, card)).await
    }

    /// Reveals the cards of the open round.
    pub async fn poker_reveal(&self, access: &ProductAccess, key: &str) -> AppResult<Stored<Poker>> {
        self.require(access, Action::RunPoker)?;
        let item = self.item(access, key).await?;
        let me = access.user.id;
        self.change_poker(access, &item, |p, at| p.reveal(me, at).map(|_| ())).await
    }

    /// Keeps the revealed round and opens the next one for a re-vote.
    pub async fn poker_revote(&self, access: &ProductAccess, key: &str) -> AppResult<Stored<Poker>> {
        self.require(access, Action::RunPoker)?;
        let item = self.item(access, key).await?;
        self.change_poker(access, &item, |p, at| p.revote(at)).await
    }

    /// Closes the round without an estimate.
    pub async fn poker_close(&self, access: &ProductAccess, key: &str) -> AppResult<Stored<Poker>> {
        self.require(access, Action::RunPoker)?;
        let item = self.item(access, key).await?;
        let me = access.user.id;
        self.change_poker(access, &item, |p, at| p.abandon(me, at)).await
    }

    /// Sets the item's estimate from a revealed round and closes the round, in one batch. The
    /// estimate is an item change under decision rights: done when the caller may estimate,
    /// a proposal when they may only propose (the round then stays revealed).
    pub async fn poker_estimate(
        &self,
        access: &ProductAccess,
        key: &str,
        estimate: f64,
        reason: Option<&str>,
    ) -> AppResult<Outcome<(Stored<Poker>, Item)>> {
        let points = Points::parse("estimate", estimate)?;
        let item = self.item(access, key).await?;
        // Rights before state: a caller who may not estimate is told so, not how the round stands.
        if self.decide(access, Action::Estimate) == Decision::Deny {
            return Err(self.forbidden(Action::Estimate));
        }
        let s = self.poker(access, &item).await?.ok_or_else(no_round)?;
        let mut p = s.data.clone();
        let ctx = self.ctx(&access.user);
        p.close_with(points.value(), access.user.id, ctx.at).map_err(conflict)?;
        let patch = ItemPatch { estimate: Some(Some(points)), ..Default::default() };
        let (_, changes) = patch.apply(&item);
        match self.decide(access, Action::Estimate) {
            Decision::Allow => {
                let mut ops = vec![update_op(&s, p.state.as_str(), &p)?];
                if !changes.is_empty() {
                    ops.push(WriteOp::UpdateItem {
                        id: Ref::Id(item.id.0),
                        expected_version: Some(item.version),
                        patch,
                    });
                }
                let w = match self.store.write_batch(ops, &ctx).await {
                    Ok(w) => w,
                    Err(StoreError::StaleVersion { .. }) => {
                        return Err(AppError::Conflict(
                            "the round or the item changed meanwhile; reload and try again".to_string(),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                };
                let mut it = w.into_iter();
                let stored = written_poker(it.next().into_iter().collect())?;
                let item = match it.next() {
                    Some(Written::Item(i)) => *i,
                    _ => item,
                };
                Ok(Outcome::Done((stored, item)))
            }
            Decision::Propose => {
                let summary = format!("Estimate {} at {} points", item.key, points.value());
                let change = Change::UpdateItem { item_id: item.id, patch };
                match self.propose::<()>(access, Action::Estimate, change, summary, reason).await? {
                    Outcome::Proposed(pr) => Ok(Outcome::Proposed(pr)),
                    Outcome::Done(()) => Err(no_round()),
                }
            }
            Decision::Deny => Err(self.forbidden(Action::Estimate)),
        }
    }

    /// The questions on `item`, oldest first.
    pub async fn questions(&self, access: &ProductAccess, item: &Item) -> AppResult<Vec<Stored<Question>>> {
        let f = RecordFilter::of(ObjectKind::Question).product(access.product.id).parent(item.id.0);
        self.list_records::<Question>(f).await
    }

    /// Asks a question on item `key`: any member who can read the product may.
    pub async fn ask_question(
        &self,
        access: &ProductAccess,
        key: &str,
        text: &str,
    ) -> AppResult<Stored<Question>> {
        self.require(access, Action::ReadProduct)?;
        let text = parse_question_text("text", text)?;
        let item = self.item(access, key).await?;
        let ctx = self.ctx(&access.user);
        let q = Question::new(text, access.user.id, ctx.at);
        let rec =
            new_record(Some(access.product.id), Some(item.id.0), QuestionState::Open.as_str(), None, &q)?;
        let w = self.store.write_batch(vec![WriteOp::CreateRecord(rec)], &ctx).await?;
        match w.into_iter().next() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::NotFound),
        }
    }

    /// A question of item `key`.
    pub async fn question(
        &self,
        access: &ProductAccess,
        item: &Item,
        id: RecordId,
    ) -> AppResult<Stored<Question>> {
        let q = self.get_record::<Question>(id).await?;
        if q.product_id != Some(access.product.id) || q.parent_id != Some(item.id.0) {
            return Err(AppError::NotFound);
        }
        Ok(q)
    }

    /// Answers a question: the Product Owner decides (whoever holds `allow` on story content);
    /// the answer is the decision.
    pub async fn answer_question(
        &self,
        access: &ProductAccess,
        key: &str,
        id: RecordId,
        text: &str,
    ) -> AppResult<Stored<Question>> {
        let item = self.item(access, key).await?;
        let q = self.question(access, &item, id).await?;
        if self.decide(access, Action::EditItem) != Decision::Allow {
            return Err(self.forbidden(Action::EditItem));
        }
        let text = parse_question_text("text", text)?;
        let ctx = self.ctx(&access.user);
        let mut data = q.data.clone();
        data.answer(text, access.user.id, ctx.at).map_err(|m| AppError::Conflict(m.to_string()))?;
        let op = update_op(&q, QuestionState::Answered.as_str(), &data)?;
        match self.store.write_batch(vec![op], &ctx).await {
            Ok(w) => match w.into_iter().next() {
                Some(Written::Record(r)) => Stored::from_record(r),
                _ => Err(AppError::NotFound),
            },
            Err(StoreError::StaleVersion { .. }) => {
                Err(AppError::Conflict("the question was answered meanwhile".to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

// ---- The decision log ------------------------------------------------------------------------

/// A kind of record whose events are decisions, listed in the log under `kind`. Adding a line
/// to [`RECORD_DECISIONS`] is all a new kind needs; a record kind this build does not know yet is
/// skipped.
#[derive(Debug, Clone, Copy)]
pub struct RecordDecisions {
    /// The log's kind name (the `kind` filter).
    pub kind: &'static str,
    /// The record kind's storage name.
    pub object: &'static str,
    /// The events that are decisions (an event clearing a value, `null` after, is not one).
    pub fields: &'static [&'static str],
    /// The record's parent is the item it concerns (otherwise `item_id` in its data, if any).
    pub item_parent: bool,
    /// A noun for the object ("Sprint").
    pub noun: &'static str,
}

/// Record kinds whose events are listed in the decision log.
pub const RECORD_DECISIONS: &[RecordDecisions] = &[
    RecordDecisions {
        kind: "estimate",
        object: "poker",
        fields: &["estimate"],
        noun: "Estimated in planning poker",
        item_parent: true,
    },
    RecordDecisions {
        kind: "sprint",
        object: "sprint",
        fields: &["state"],
        noun: "Sprint",
        item_parent: false,
    },
    RecordDecisions {
        kind: "wip",
        object: "wip_breach",
        fields: &["created"],
        noun: "WIP limit exceeded",
        item_parent: false,
    },
];

/// Every kind of entry in the log, for the filter.
pub fn decision_kinds() -> Vec<&'static str> {
    let mut v = vec!["proposal", "answer", "acceptance"];
    v.extend(RECORD_DECISIONS.iter().map(|r| r.kind));
    v
}

/// The most entries read from each source for one page of the log.
const SOURCE_MAX: u32 = 5_000;

/// The log's filters as a caller gives them.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    /// Kinds, comma-separated (empty: all).
    pub kind: Option<String>,
    /// A person (user id or e-mail): who decided, proposed or asked.
    pub person: Option<String>,
    /// From this date (`YYYY-MM-DD`, inclusive).
    pub from: Option<String>,
    /// To this date (inclusive).
    pub to: Option<String>,
    /// About this item key.
    pub item: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: u32,
}

/// One entry of the decision log: who, when, what, why.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// `proposal`, `answer`, `acceptance`, or a kind of [`RECORD_DECISIONS`].
    pub kind: &'static str,
    /// A stable id within the log (`proposal:12`, `question:4`, `event:90`).
    pub id: String,
    /// When it was decided (or proposed, while pending).
    pub at: Timestamp,
    /// Who decided (or proposed, while pending).
    pub who: Option<UserId>,
    /// Who proposed or asked, when someone else decided.
    pub raised_by: Option<UserId>,
    /// When it was proposed or asked.
    pub raised_at: Option<Timestamp>,
    /// Its state: a proposal's (`pending`, `accepted`…), `answered`, `accepted`/`rejected`, a
    /// sprint's new state.
    pub state: String,
    /// What: the proposal's summary, the question, the acceptance.
    pub what: String,
    /// Why: the proposer's reason.
    pub why: String,
    /// The decision's own words: the answer, the decider's reason, the acceptance note.
    pub decision: String,
    /// The item it concerns.
    pub item_id: Option<ItemId>,
    /// That item's key.
    pub item_key: Option<String>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// The entries.
    pub entries: Vec<LogEntry>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

impl App {
    /// The product's decision log: decided and pending proposals, answered questions,
    /// acceptances and the decisions recorded on other records, filtered, newest first.
    pub async fn decision_log(&self, access: &ProductAccess, q: &DecisionQuery) -> AppResult<LogPage> {
        let all = decision_kinds();
        let kinds: Vec<&str> = match nonempty(&q.kind) {
            None => all.clone(),
            Some(k) => {
                let mut v = Vec::new();
                for part in k.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let found = all.iter().find(|a| **a == part).ok_or_else(|| {
                        AppError::invalid("kind", format!("must be one of {}", all.join(", ")))
                    })?;
                    v.push(*found);
                }
                v
            }
        };
        let person = match nonempty(&q.person) {
            None => None,
            Some(p) => {
                let r = match p.parse::<i64>() {
                    Ok(id) => self.store.user(UserId(id)).await,
                    Err(_) => self.store.user_by_email(&Email::parse("person", p)?).await,
                };
                match r {
                    Ok(u) => Some(u.id),
                    Err(StoreError::NotFound) => return Err(AppError::invalid("person", "no such user")),
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let from = nonempty(&q.from).map(|s| Date::parse("from", s)).transpose()?;
        let to = nonempty(&q.to).map(|s| Date::parse("to", s)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(AppError::invalid("to", "must not be before from"));
            }
        }
        let item = match nonempty(&q.item) {
            None => None,
            Some(k) => match self.item(access, &k.to_uppercase()).await {
                Ok(i) => Some(i),
                Err(AppError::NotFound) => {
                    return Err(AppError::invalid("item", "no such item in this product"))
                }
                Err(e) => return Err(e),
            },
        };
        let cursor = match nonempty(&q.cursor) {
            None => None,
            Some(c) => {
                let (at, id) =
                    c.split_once('_').ok_or_else(|| AppError::invalid("cursor", "is not a cursor"))?;
                let at = at.parse::<i64>().map_err(|_| AppError::invalid("cursor", "is not a cursor"))?;
                Some((at, id.to_string()))
            }
        };
        let limit = q.limit.clamp(1, 200) as usize;
        let since = from.map_or(Timestamp(0), Date::start);
        let product = access.product.id;
        let item_id = item.as_ref().map(|i| i.id);

        let mut entries: Vec<LogEntry> = Vec::new();
        if kinds.contains(&"proposal") {
            let mut page = Page::first(500);
            let mut read = 0;
            loop {
                let batch = self.store.proposals(product, None, item_id, &page).await?;
                let n = batch.len();
                read += n as u32;
                page.after = batch.last().map(|p| p.id.0.to_string());
                for p in batch {
                    let decided = p.decided_at.is_some();
                    entries.push(LogEntry {
                        kind: "proposal",
                        id: format!("proposal:{}", p.id.0),
                        at: p.decided_at.unwrap_or(p.created_at),
                        who: if decided { p.decided_by } else { Some(p.proposed_by) },
                        raised_by: Some(p.proposed_by),
                        raised_at: Some(p.created_at),
                        state: p.state.as_str().to_string(),
                        what: p.summary.clone(),
                        why: p.reason.clone(),
                        decision: p.decision_reason.clone().unwrap_or_default(),
                        item_id: p.change.item_id(),
                        item_key: None,
                    });
                }
                if n < 500 || read >= SOURCE_MAX {
                    break;
                }
            }
        }
        if kinds.contains(&"answer") {
            let mut f = RecordFilter::of(ObjectKind::Question).product(product).states(&["answered"]);
            if let Some(i) = item_id {
                f = f.parent(i.0);
            }
            for s in self.list_records::<Question>(f).await? {
                let Some(a) = &s.data.answer else { continue };
                entries.push(LogEntry {
                    kind: "answer",
                    id: format!("question:{}", s.id.0),
                    at: a.at,
                    who: Some(a.by),
                    raised_by: Some(s.data.asked_by),
                    raised_at: Some(s.data.asked_at),
                    state: "answered".to_string(),
                    what: s.data.text.clone(),
                    why: String::new(),
                    decision: a.text.clone(),
                    item_id: s.parent_id.map(ItemId),
                    item_key: None,
                });
            }
        }
        if kinds.contains(&"acceptance") {
            let events = self
                .store
                .product_events_of(product, &[ObjectKind::Item], &["acceptance"], since, SOURCE_MAX)
                .await?;
            for e in events {
                let state = e.new.get("state").and_then(Value::as_str).unwrap_or("");
                let st = AcceptanceState::parse("state", state).unwrap_or_default();
                if !matches!(st, AcceptanceState::Accepted | AcceptanceState::Rejected) {
                    continue;
                }
                entries.push(LogEntry {
                    kind: "acceptance",
                    id: format!("event:{}", e.id),
                    at: e.at,
                    who: e.actor_id,
                    raised_by: None,
                    raised_at: None,
                    state: st.as_str().to_string(),
                    what: if st == AcceptanceState::Accepted { "Accepted" } else { "Rejected" }.to_string(),
                    why: String::new(),
                    decision: text_of(e.new.get("note")),
                    item_id: Some(ItemId(e.object_id)),
                    item_key: None,
                });
            }
        }
        for src in RECORD_DECISIONS.iter().filter(|s| kinds.contains(&s.kind)) {
            let Some(object) = ObjectKind::parse(src.object) else { continue };
            let events =
                self.store.product_events_of(product, &[object], src.fields, since, SOURCE_MAX).await?;
            let mut names: HashMap<i64, (String, Value, Option<i64>)> = HashMap::new();
            for e in events.into_iter().filter(|e| !e.new.is_null()) {
                if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(e.object_id) {
                    slot.insert(match self.store.record(RecordId(e.object_id)).await {
                        Ok(r) => (text_of(r.data.get("name")), r.data, r.parent_id),
                        Err(StoreError::NotFound) => (String::new(), Value::Null, None),
                        Err(err) => return Err(err.into()),
                    });
                }
                let (name, data, parent) = &names[&e.object_id];
                let new = if e.field == "created" { String::new() } else { text_of(Some(&e.new)) };
                let what = match (name.is_empty(), new.is_empty()) {
                    (true, true) => src.noun.to_string(),
                    (false, true) => format!("{} {name}", src.noun),
                    (true, false) => format!("{}: {new}", src.noun),
                    (false, false) => format!("{} {name}: {new}", src.noun),
                };
                let why = text_of(e.new.get("reason").or_else(|| data.get("reason")));
                let item = if src.item_parent {
                    *parent
                } else {
                    e.new.get("item_id").or_else(|| data.get("item_id")).and_then(Value::as_i64)
                };
                entries.push(LogEntry {
                    kind: src.kind,
                    id: format!("event:{}", e.id),
                    at: e.at,
                    who: e.actor_id,
                    raised_by: None,
                    raised_at: None,
                    state: if new.is_empty() { e.field.clone() } else { new.clone() },
                    what,
                    why,
                    decision: String::new(),
                    item_id: item.map(ItemId),
                    item_key: None,
                });
            }
        }

        entries.retain(|e| {
            person.is_none_or(|p| e.who == Some(p) || e.raised_by == Some(p))
                && from.is_none_or(|f| e.at >= f.start())
                && to.is_none_or(|t| e.at < t.end())
                && item_id.is_none_or(|i| e.item_id == Some(i))
        });
        entries.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        if let Some((at, id)) = &cursor {
            entries.retain(|e| (e.at.0, &e.id) < (*at, id));
        }
        let more = entries.len() > limit;
        entries.truncate(limit);
        let next_cursor = if more { entries.last().map(|e| format!("{}_{}", e.at.0, e.id)) } else { None };
        let mut keys: HashMap<ItemId, Option<String>> = HashMap::new();
        for e in &mut entries {
            let Some(id) = e.item_id else { continue };
            if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(id) {
                slot.insert(match self.store.item(id).await {
                    Ok(i) if i.product_id == product => Some(i.key),
                    Ok(_) | Err(StoreError::NotFound) => None,
                    Err(err) => return Err(err.into()),
                });
            }
            e.item_key = keys[&id].clone();
        }
        Ok(LogPage { entries, next_cursor })
    }
}
