//! Property tests of the domain rules (proptest): rank keys keep a strict total order under
//! random inserts and moves; a sprint's scope accounting balances for random histories; the
//! delivery metrics give the same answer whichever order events of the same moment arrive in.
//! Case counts: `PROPTEST_CASES` (default 256 per property).

use keel_domain::event::{Event, ObjectKind};
use keel_domain::ids::{ProductId, StateId};
use keel_domain::metrics::{self, ItemHistory, SprintWindow, Tz};
use keel_domain::rank::{self, RankKey};
use keel_domain::workflow::{Category, Workflow, WorkflowState};
use keel_domain::{Date, Timestamp};
use proptest::prelude::*;
use serde_json::{json, Value};

// ----- rank keys ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum RankOp {
    /// Insert a new item at this position (modulo the length + 1).
    Insert(usize),
    /// Move the item at `from` to position `to` (both modulo the length).
    Move(usize, usize),
    Append,
    Prepend,
}

fn rank_op() -> impl Strategy<Value = RankOp> {
    prop_oneof![
        3 => any::<usize>().prop_map(RankOp::Insert),
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| RankOp::Move(a, b)),
        1 => Just(RankOp::Append),
        1 => Just(RankOp::Prepend),
    ]
}

/// The key for a new entry at `pos` of `keys` (its new neighbours are `pos - 1` and `pos`).
fn key_at(keys: &[(u32, RankKey)], pos: usize) -> RankKey {
    let before = pos.checked_sub(1).and_then(|i| keys.get(i)).map(|(_, k)| k);
    let after = keys.get(pos).map(|(_, k)| k);
    rank::between(before, after)
}

fn assert_order(keys: &[(u32, RankKey)], model: &[u32]) -> Result<(), TestCaseError> {
    for w in keys.windows(2) {
        prop_assert!(w[0].1 < w[1].1, "{} !< {}", w[0].1, w[1].1);
    }
    for (_, k) in keys {
        prop_assert!(RankKey::parse("rank", k.as_str()).is_ok(), "{k} does not parse");
    }
    let ids: Vec<u32> = keys.iter().map(|(i, _)| *i).collect();
    prop_assert_eq!(ids, model.to_vec());
    Ok(())
}

proptest! {
    /// The store re-spreads a product's keys when one grows long; the test does the same, so
    /// the property covers what a product goes through.
    #[test]
    fn rank_keys_keep_a_strict_total_order(ops in prop::collection::vec(rank_op(), 1..400)) {
        let mut keys: Vec<(u32, RankKey)> = vec![];
        let mut model: Vec<u32> = vec![];
        let mut next = 0u32;
        for op in ops {
            match op {
                RankOp::Insert(p) => {
                    let pos = p % (keys.len() + 1);
                    let k = key_at(&keys, pos);
                    keys.insert(pos, (next, k));
                    model.insert(pos, next);
                    next += 1;
                }
                RankOp::Append => {
                    let k = key_at(&keys, keys.len());
                    keys.push((next, k));
                    model.push(next);
                    next += 1;
                }
                RankOp::Prepend => {
                    let k = key_at(&keys, 0);
                    keys.insert(0, (next, k));
                    model.insert(0, next);
                    next += 1;
                }
                RankOp::Move(a, b) => {
                    if keys.is_empty() {
                        continue;
                    }
                    let from = a % keys.len();
                    let (id, _) = keys.remove(from);
                    let m = model.remove(from);
                    let to = b % (keys.len() + 1);
                    let k = key_at(&keys, to);
                    keys.insert(to, (id, k));
                    model.insert(to, m);
                }
            }
            if keys.iter().any(|(_, k)| k.is_long()) {
                let fresh = rank::spread(keys.len());
                for ((_, k), f) in keys.iter_mut().zip(fresh) {
                    *k = f;
                }
            }
            assert_order(&keys, &model)?;
        }
    }

    /// Inserting again and again at one spot (the worst case for fractional keys) still orders.
    #[test]
    fn rank_keys_survive_repeated_inserts_at_one_spot(n in 1usize..300, at_front in any::<bool>()) {
        let mut keys: Vec<(u32, RankKey)> = vec![(0, rank::between(None, None)), (1, rank::between(None, None))];
        keys[1].1 = rank::after_last(&keys[0].1);
        let mut model = vec![0, 1];
        for i in 0..n {
            let pos = if at_front { 1 } else { keys.len() - 1 };
            let k = key_at(&keys, pos);
            keys.insert(pos, (i as u32 + 2, k));
            model.insert(pos, i as u32 + 2);
            assert_order(&keys, &model)?;
        }
    }
}

// ----- sprint scope and event order -----------------------------------------------------------

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// A Monday.
const D0: i32 = 20_500;
const SPRINT: i64 = 7;
const OTHER_SPRINT: i64 = 8;

fn at(hour: i64) -> Timestamp {
    Timestamp(i64::from(D0) * DAY + hour * HOUR)
}

fn wf() -> Workflow {
    let st = |id, name: &str, category, position| WorkflowState {
        id: StateId(id),
        product_id: ProductId(1),
        name: name.into(),
        category,
        position,
    };
    Workflow {
        states: vec![
            st(1, "To Do", Category::Todo, 0),
            st(2, "In Progress", Category::InProgress, 1),
            st(3, "Done", Category::Done, 2),
        ],
    }
}

/// One change of an item: at an hour, one field.
#[derive(Debug, Clone)]
enum Change {
    Status(i64),
    Sprint(Option<i64>),
}

#[derive(Debug, Clone)]
struct ItemSpec {
    created: i64,
    points: f64,
    sprint: Option<i64>,
    /// (hour offset after the previous change, change); offsets >= 1 keep one item's changes
    /// at distinct moments, as one transaction writes one event per field.
    changes: Vec<(i64, Change)>,
    kind_bug: bool,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (1i64..=3).prop_map(Change::Status),
        prop_oneof![Just(None), Just(Some(SPRINT)), Just(Some(OTHER_SPRINT))].prop_map(Change::Sprint),
    ]
}

fn item_spec() -> impl Strategy<Value = ItemSpec> {
    (
        0i64..48,
        prop_oneof![Just(1.0), Just(2.0), Just(3.0), Just(5.0), Just(8.0)],
        prop_oneof![Just(None), Just(Some(SPRINT))],
        prop::collection::vec((1i64..30, change()), 0..8),
        any::<bool>(),
    )
        .prop_map(|(created, points, sprint, changes, kind_bug)| ItemSpec {
            created,
            points,
            sprint,
            changes,
            kind_bug,
        })
}

/// The events of `items`, in time order (ties by item), as the history table holds them.
fn events(items: &[ItemSpec]) -> Vec<Event> {
    let mut out = vec![];
    for (n, it) in items.iter().enumerate() {
        let id = n as i64 + 1;
        let kind = if it.kind_bug { "bug" } else { "story" };
        let ev = |hour: i64, field: &str, old: Value, new: Value| Event {
            id: 0,
            product_id: Some(ProductId(1)),
            object: ObjectKind::Item,
            object_id: id,
            actor_id: None,
            at: at(hour),
            field: field.into(),
            old,
            new,
            proposal_id: None,
        };
        out.push(ev(
            it.created,
            "created",
            Value::Null,
            json!({"key": format!("K-{id}"), "kind": kind, "status_id": 1, "sprint_id": it.sprint, "estimate": it.points}),
        ));
        let (mut hour, mut status, mut sprint) = (it.created, 1i64, it.sprint);
        for (dt, c) in &it.changes {
            hour += dt;
            match c {
                Change::Status(s) => {
                    out.push(ev(hour, "status", json!(status), json!(s)));
                    status = *s;
                }
                Change::Sprint(s) => {
                    out.push(ev(hour, "sprint", json!(sprint), json!(s)));
                    sprint = *s;
                }
            }
        }
    }
    out.sort_by_key(|e| (e.at, e.object_id));
    for (i, e) in out.iter_mut().enumerate() {
        e.id = i as i64 + 1;
    }
    out
}

fn sprint_window() -> SprintWindow {
    SprintWindow {
        id: SPRINT,
        name: "S".into(),
        start: Date(D0 + 2),
        end: Date(D0 + 8),
        started_at: Some(at(50)),
        closed_at: Some(at(200)),
    }
}

fn points_in_sprint(items: &[ItemHistory], t: Timestamp) -> f64 {
    items.iter().filter(|h| h.exists_at(t) && h.sprint_at(t) == Some(SPRINT)).map(|h| h.points_at(t)).sum()
}

/// Shuffles the events of each moment by `perm` (a permutation seed per group), keeping the
/// moments in order: what the server may hand over when several transactions share a time.
fn reorder_ties(events: &[Event], seeds: &[u64]) -> Vec<Event> {
    let mut out: Vec<Event> = vec![];
    let mut i = 0;
    let mut g = 0;
    while i < events.len() {
        let j = events[i..].iter().position(|e| e.at != events[i].at).map_or(events.len(), |p| i + p);
        let mut group: Vec<Event> = events[i..j].to_vec();
        let seed = seeds.get(g % seeds.len().max(1)).copied().unwrap_or(0);
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for k in (1..group.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            group.swap(k, (s % (k as u64 + 1)) as usize);
        }
        out.extend(group);
        i = j;
        g += 1;
    }
    for (n, e) in out.iter_mut().enumerate() {
        e.id = n as i64 + 1;
    }
    out
}

proptest! {
    /// committed + added − removed = the scope at the close (estimates fixed), for any history
    /// of items moving in and out of the sprint and through the workflow.
    #[test]
    fn sprint_scope_accounting_balances(items in prop::collection::vec(item_spec(), 1..25)) {
        let h = metrics::histories(&events(&items));
        let s = sprint_window();
        let r = metrics::sprint_result(&s, &h, &wf(), Tz::UTC, at(400));
        let t1 = s.final_time(at(400));
        let end_scope = points_in_sprint(&h, t1);
        prop_assert!((r.committed - points_in_sprint(&h, s.commit_time(Tz::UTC))).abs() < 1e-9);
        prop_assert!(
            (r.committed + r.added - r.removed - end_scope).abs() < 1e-9,
            "committed {} + added {} - removed {} != final {}", r.committed, r.added, r.removed, end_scope
        );
        // What is in the sprint at the close is either completed or carried over.
        let carried: f64 = h.iter().filter(|x| r.carried_over.contains(&x.key)).map(|x| x.points_at(t1)).sum();
        prop_assert!((r.completed + carried - end_scope).abs() < 1e-9);
    }

    /// Events of one moment (several transactions committed at the same millisecond) give the
    /// same histories and the same figures in any order.
    #[test]
    fn metrics_do_not_depend_on_the_order_of_simultaneous_events(
        items in prop::collection::vec(item_spec(), 1..25),
        seeds in prop::collection::vec(any::<u64>(), 1..8),
    ) {
        let ev = events(&items);
        let shuffled = reorder_ties(&ev, &seeds);
        let a = metrics::histories(&ev);
        let b = metrics::histories(&shuffled);
        prop_assert_eq!(&a, &b);
        let w = wf();
        let s = sprint_window();
        prop_assert_eq!(
            metrics::sprint_result(&s, &a, &w, Tz::UTC, at(400)),
            metrics::sprint_result(&s, &b, &w, Tz::UTC, at(400))
        );
        let (from, to) = (Date(D0), Date(D0 + 15));
        prop_assert_eq!(
            metrics::cumulative_flow(&a, &w, Tz::UTC, from, to, at(400)),
            metrics::cumulative_flow(&b, &w, Tz::UTC, from, to, at(400))
        );
        prop_assert_eq!(metrics::flow_rows(&a, &w), metrics::flow_rows(&b, &w));
    }
}

// ----- sprint scope under a random sequence of commands ----------------------------------------

/// One command of the sequence, on item `n % items` (or a new item).
#[derive(Debug, Clone)]
enum Cmd {
    /// A new item, estimated or not, created in the sprint or not.
    Create {
        points: Option<f64>,
        in_sprint: bool,
    },
    /// Into the sprint (before its start: planning; after: added mid-sprint).
    AddToSprint(usize),
    /// The sprint starts (once; later starts change nothing).
    Start,
    /// Out of any sprint.
    Remove(usize),
    /// Into the other sprint.
    MoveToOther(usize),
    Delete(usize),
    Reestimate(usize, Option<f64>),
    /// Done.
    Complete(usize),
    /// From done back to In Progress or To Do.
    Reopen(usize, bool),
    /// One transaction with a re-estimate and a move (into or out of the sprint).
    ReestimateAndMove(usize, f64, bool),
    /// One transaction completing the item and taking it out of the sprint.
    CompleteAndRemove(usize),
}

fn points() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(0.5)),
        Just(Some(1.0)),
        Just(Some(3.0)),
        Just(Some(8.0)),
        Just(Some(13.0))
    ]
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let n = 0usize..64;
    prop_oneof![
        2 => (points(), any::<bool>()).prop_map(|(points, in_sprint)| Cmd::Create { points, in_sprint }),
        3 => n.clone().prop_map(Cmd::AddToSprint),
        1 => Just(Cmd::Start),
        2 => n.clone().prop_map(Cmd::Remove),
        1 => n.clone().prop_map(Cmd::MoveToOther),
        1 => n.clone().prop_map(Cmd::Delete),
        2 => (n.clone(), points()).prop_map(|(i, p)| Cmd::Reestimate(i, p)),
        3 => n.clone().prop_map(Cmd::Complete),
        1 => (n.clone(), any::<bool>()).prop_map(|(i, b)| Cmd::Reopen(i, b)),
        1 => (n.clone(), prop_oneof![Just(2.0), Just(5.0)], any::<bool>())
            .prop_map(|(i, p, into)| Cmd::ReestimateAndMove(i, p, into)),
        1 => n.prop_map(Cmd::CompleteAndRemove),
    ]
}

/// The model's view of one item.
#[derive(Debug, Clone)]
struct Model {
    id: i64,
    sprint: Option<i64>,
    status: i64,
    points: Option<f64>,
    deleted: bool,
}

impl Model {
    fn in_sprint(&self) -> bool {
        !self.deleted && self.sprint == Some(SPRINT)
    }

    fn pts(&self) -> f64 {
        self.points.unwrap_or(0.0)
    }
}

fn item_event(id: i64, hour_ms: i64, field: &str, old: Value, new: Value) -> Event {
    Event {
        id: 0,
        product_id: Some(ProductId(1)),
        object: ObjectKind::Item,
        object_id: id,
        actor_id: None,
        at: Timestamp(hour_ms),
        field: field.into(),
        old,
        new,
        proposal_id: None,
    }
}

/// Applies `cmd` to the model at `now`, appending the events the server writes for it (one
/// transaction: all at `now`, one per field). Commands on deleted or missing items, and starts
/// after the first, write nothing.
fn run(cmd: &Cmd, items: &mut Vec<Model>, started: &mut Option<Timestamp>, now: i64, out: &mut Vec<Event>) {
    let live = |items: &Vec<Model>, n: usize| -> Option<usize> {
        let alive: Vec<usize> = (0..items.len()).filter(|&i| !items[i].deleted).collect();
        (!alive.is_empty()).then(|| alive[n % alive.len()])
    };
    let set_sprint = |m: &mut Model, to: Option<i64>, out: &mut Vec<Event>| {
        if m.sprint != to {
            out.push(item_event(m.id, now, "sprint", json!(m.sprint), json!(to)));
            m.sprint = to;
        }
    };
    let set_points = |m: &mut Model, to: Option<f64>, out: &mut Vec<Event>| {
        if m.points != to {
            out.push(item_event(m.id, now, "estimate", json!(m.points), json!(to)));
            m.points = to;
        }
    };
    let set_status = |m: &mut Model, to: i64, out: &mut Vec<Event>| {
        if m.status != to {
            out.push(item_event(m.id, now, "status", json!(m.status), json!(to)));
            m.status = to;
        }
    };
    match cmd {
        Cmd::Create { points, in_sprint } => {
            let id = items.len() as i64 + 1;
            let sprint = in_sprint.then_some(SPRINT);
            out.push(item_event(
                id,
                now,
                "created",
                Value::Null,
                json!({"key": format!("K-{id}"), "kind": "story", "status_id": 1, "sprint_id": sprint, "estimate": points}),
            ));
            items.push(Model { id, sprint, status: 1, points: *points, deleted: false });
        }
        Cmd::Start => {
            if started.is_none() {
                *started = Some(Timestamp(now));
            }
        }
        other => {
            let n = match other {
                Cmd::AddToSprint(n)
                | Cmd::Remove(n)
                | Cmd::MoveToOther(n)
                | Cmd::Delete(n)
                | Cmd::Reestimate(n, _)
                | Cmd::Complete(n)
                | Cmd::Reopen(n, _)
                | Cmd::ReestimateAndMove(n, _, _)
                | Cmd::CompleteAndRemove(n) => *n,
                Cmd::Create { .. } | Cmd::Start => unreachable!(),
            };
            let Some(i) = live(items, n) else { return };
            let m = &mut items[i];
            match other {
                Cmd::AddToSprint(_) => set_sprint(m, Some(SPRINT), out),
                Cmd::Remove(_) => set_sprint(m, None, out),
                Cmd::MoveToOther(_) => set_sprint(m, Some(OTHER_SPRINT), out),
                Cmd::Delete(_) => {
                    out.push(item_event(m.id, now, "deleted", json!({"id": m.id}), Value::Null));
                    m.deleted = true;
                }
                Cmd::Reestimate(_, p) => set_points(m, *p, out),
                Cmd::Complete(_) => set_status(m, 3, out),
                Cmd::Reopen(_, to_todo) => {
                    if m.status == 3 {
                        set_status(m, if *to_todo { 1 } else { 2 }, out);
                    }
                }
                Cmd::ReestimateAndMove(_, p, into) => {
                    set_points(m, Some(*p), out);
                    set_sprint(m, if *into { Some(SPRINT) } else { Some(OTHER_SPRINT) }, out);
                }
                Cmd::CompleteAndRemove(_) => {
                    set_status(m, 3, out);
                    set_sprint(m, None, out);
                }
                Cmd::Create { .. } | Cmd::Start => unreachable!(),
            }
        }
    }
}

/// The figures' own balance, in points and in items, and against the model: committed is what
/// the model had in the sprint at the start, completed + carried over is what it has now.
fn check_balance(
    r: &metrics::SprintResult,
    h: &[ItemHistory],
    t1: Timestamp,
    at_start: (f64, usize),
    now: &[Model],
) -> Result<(), TestCaseError> {
    let carried: f64 = h.iter().filter(|x| r.carried_over.contains(&x.key)).map(|x| x.points_at(t1)).sum();
    prop_assert!(
        (r.committed + r.added - r.removed + r.reestimated - (r.completed + carried)).abs() < 1e-9,
        "points: committed {} + added {} - removed {} + reestimated {} != completed {} + remaining {}",
        r.committed,
        r.added,
        r.removed,
        r.reestimated,
        r.completed,
        carried
    );
    prop_assert_eq!(
        r.committed_items.len() + r.added_items.len(),
        r.removed_items.len() + r.completed_items.len() + r.carried_over.len(),
        "items: {:?}",
        r
    );
    prop_assert!((r.committed - at_start.0).abs() < 1e-9, "committed {} != {}", r.committed, at_start.0);
    prop_assert_eq!(r.committed_items.len(), at_start.1);
    let in_sprint: Vec<&Model> = now.iter().filter(|m| m.in_sprint()).collect();
    let done: f64 = in_sprint.iter().filter(|m| m.status == 3).map(|m| m.pts()).sum();
    let open: f64 = in_sprint.iter().filter(|m| m.status != 3).map(|m| m.pts()).sum();
    prop_assert!((r.completed - done).abs() < 1e-9 && (carried - open).abs() < 1e-9);
    prop_assert_eq!(r.completed_items.len(), in_sprint.iter().filter(|m| m.status == 3).count());
    prop_assert_eq!(r.carried_over.len(), in_sprint.iter().filter(|m| m.status != 3).count());
    Ok(())
}

/// Shuffles the events of each transaction (`bounds`: the index each transaction's events start
/// at) by a seed per transaction, keeping transactions in commit order.
fn reorder_within(events: &[Event], bounds: &[usize], seeds: &[u64]) -> Vec<Event> {
    let mut out: Vec<Event> = vec![];
    for (g, w) in bounds.iter().copied().chain([events.len()]).collect::<Vec<_>>().windows(2).enumerate() {
        let mut group: Vec<Event> = events[w[0]..w[1]].to_vec();
        let mut s = seeds[g % seeds.len()] | 1;
        for k in (1..group.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            group.swap(k, (s % (k as u64 + 1)) as usize);
        }
        out.extend(group);
    }
    for (n, e) in out.iter_mut().enumerate() {
        e.id = n as i64 + 1;
    }
    out
}

proptest! {
    /// Random sequences of planning, starting, adding mid-sprint, removing, moving to another
    /// sprint, deleting, re-estimating, completing and reopening (some of them two changes in one
    /// transaction, some transactions sharing a millisecond): after every command,
    /// committed + added − removed + reestimated = completed + remaining in points, and
    /// committed + added − removed = completed + carried over in items, with committed as the
    /// scope at the start and completed and remaining as the scope now; the same figures when
    /// the events of each transaction come in another order; and again once the sprint is closed.
    #[test]
    fn sprint_scope_balances_through_removals_deletions_and_reestimates(
        cmds in prop::collection::vec((cmd(), 0i64..3), 1..60),
        seeds in prop::collection::vec(any::<u64>(), 1..8),
    ) {
        let w = wf();
        let mut items: Vec<Model> = vec![];
        let mut events: Vec<Event> = vec![];
        let mut bounds: Vec<usize> = vec![];
        let mut started: Option<Timestamp> = None;
        let mut at_start = (0.0, 0);
        // Milliseconds from the sprint's first day; a step of 0 shares the moment with the
        // previous transaction.
        let mut now = i64::from(D0 + 2) * DAY;
        for (cmd, step) in &cmds {
            now += step * 60_000;
            let was_started = started.is_some();
            bounds.push(events.len());
            run(cmd, &mut items, &mut started, now, &mut events);
            if !was_started && started.is_some() {
                at_start = (
                    items.iter().filter(|m| m.in_sprint()).map(Model::pts).sum(),
                    items.iter().filter(|m| m.in_sprint()).count(),
                );
            }
            let Some(t0) = started else { continue };
            // The start and a transaction in its millisecond: the commitment is taken after
            // both, so the model's figure at the start is the scope at the end of that moment.
            if Timestamp(now) == t0 {
                at_start = (
                    items.iter().filter(|m| m.in_sprint()).map(Model::pts).sum(),
                    items.iter().filter(|m| m.in_sprint()).count(),
                );
            }
            let s = SprintWindow { started_at: Some(t0), closed_at: None, ..sprint_window() };
            let h = metrics::histories(&events);
            let r = metrics::sprint_result(&s, &h, &w, Tz::UTC, Timestamp(now));
            check_balance(&r, &h, Timestamp(now), at_start, &items)?;
            let shuffled = metrics::histories(&reorder_within(&events, &bounds, &seeds));
            prop_assert_eq!(&r, &metrics::sprint_result(&s, &shuffled, &w, Tz::UTC, Timestamp(now)));
        }
        if let Some(t0) = started {
            let close = Timestamp(now + 60_000);
            let s = SprintWindow { started_at: Some(t0), closed_at: Some(close), ..sprint_window() };
            let h = metrics::histories(&events);
            let r = metrics::sprint_result(&s, &h, &w, Tz::UTC, Timestamp(close.0 + DAY));
            check_balance(&r, &h, s.final_time(Timestamp(close.0 + DAY)), at_start, &items)?;
        }
    }
}
