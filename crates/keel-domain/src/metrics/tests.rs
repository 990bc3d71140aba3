//! Hand-built histories with hand-computed answers for every metric.

use super::*;
use crate::ids::ProductId;
use crate::workflow::WorkflowState;
use serde_json::json;

const HOUR: i64 = 3_600_000;
/// A Monday.
const D0: i32 = 20_500;

fn t(day: i32, hour: i64) -> Timestamp {
    Timestamp(i64::from(D0 + day) * DAY_MS + hour * HOUR)
}

fn d(day: i32) -> Date {
    Date(D0 + day)
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
            st(3, "In Review", Category::InProgress, 2),
            st(4, "Done", Category::Done, 3),
        ],
    }
}

fn item(id: i64, kind: ItemKind, created: Timestamp, moves: &[(Timestamp, i64)]) -> ItemHistory {
    let mut h = ItemHistory::new(id, &format!("K-{id}"), created, kind, StateId(1));
    h.status.extend(moves.iter().map(|(at, s)| (*at, StateId(*s))));
    h
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// A: todo d0, in progress d1, done d3. B: reopened (done d2, back d4, review d5, done d6).
/// C: straight to done. D: a bug in progress since d2 21:00.
fn flow() -> Vec<ItemHistory> {
    vec![
        item(1, ItemKind::Story, t(0, 9), &[(t(1, 9), 2), (t(3, 9), 4)]),
        item(
            2,
            ItemKind::Story,
            t(0, 9),
            &[(t(1, 9), 2), (t(2, 9), 4), (t(4, 9), 2), (t(5, 9), 3), (t(6, 9), 4)],
        ),
        item(3, ItemKind::Story, t(1, 9), &[(t(3, 9), 4)]),
        item(4, ItemKind::Bug, t(2, 9), &[(t(2, 21), 2)]),
    ]
}

#[test]
fn offsets_parse_and_set_day_boundaries() {
    assert_eq!(Tz::parse("tz", "+02:00").unwrap().minutes, 120);
    assert_eq!(Tz::parse("tz", "-0530").unwrap().minutes, -330);
    assert_eq!(Tz::parse("tz", "Z").unwrap(), Tz::UTC);
    assert_eq!(Tz::parse("tz", "").unwrap(), Tz::UTC);
    for bad in ["2", "+2", "+25:00", "+14:30", "+02:60", "02:00", "+02:0x", "+0:200"] {
        assert_eq!(Tz::parse("tz", bad).unwrap_err().field, "tz", "{bad}");
    }
    let plus2 = Tz { minutes: 120 };
    // 23:30 UTC is already the next day two hours east.
    assert_eq!(plus2.date_of(Timestamp(t(0, 23).0 + HOUR / 2)), d(1));
    assert_eq!(Tz::UTC.date_of(Timestamp(t(0, 23).0 + HOUR / 2)), d(0));
    assert_eq!(plus2.start_of(d(1)), t(0, 22));
    assert_eq!(plus2.last_of(d(0)).0, t(0, 22).0 - 1);
    assert_eq!(Tz { minutes: -330 }.to_string(), "-05:30");
}

#[test]
fn percentiles_by_nearest_rank() {
    let v: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(Percentiles::of(&v), Percentiles { p50: Some(10.0), p85: Some(17.0), p95: Some(19.0) });
    assert_eq!(Percentiles::of(&[5.0]), Percentiles { p50: Some(5.0), p85: Some(5.0), p95: Some(5.0) });
    assert_eq!(Percentiles::of(&[]), Percentiles::default());
}

#[test]
fn cycle_and_lead_time_with_a_reopened_item_and_one_done_straight_away() {
    let done = finished(&flow(), &wf(), Tz::UTC, d(0), d(6), t(7, 0));
    let keys: Vec<&str> = done.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(keys, ["K-1", "K-3", "K-2"]);
    let cycle: Vec<f64> = done.iter().map(|f| f.cycle_days).collect();
    let lead: Vec<f64> = done.iter().map(|f| f.lead_days).collect();
    // The reopened item's cycle runs from its first start (d1) to its last done (d6).
    assert_eq!(cycle, [2.0, 0.0, 5.0]);
    assert_eq!(lead, [3.0, 2.0, 6.0]);
    assert_eq!(done[2].done_at, t(6, 9));
    assert_eq!(Percentiles::of(&cycle), Percentiles { p50: Some(2.0), p85: Some(5.0), p95: Some(5.0) });
    // The reopened item finished on d6, not within d0..d5.
    let keys: Vec<String> =
        finished(&flow(), &wf(), Tz::UTC, d(0), d(5), t(7, 0)).into_iter().map(|f| f.key).collect();
    assert_eq!(keys, ["K-1", "K-3"]);
    // Its first done (d2) is not a finish: it was reopened since.
    assert!(finished(&flow(), &wf(), Tz::UTC, d(2), d(2), t(7, 0)).is_empty());
    // Seen on d3 at noon, though, it was done on d2 and had not been reopened yet.
    assert_eq!(finished(&flow(), &wf(), Tz::UTC, d(2), d(2), t(3, 12))[0].key, "K-2");
}

#[test]
fn a_state_renamed_after_the_fact_changes_nothing() {
    let mut renamed = wf();
    renamed.states[1].name = "Doing".into();
    renamed.states[3].name = "Shipped".into();
    assert_eq!(
        finished(&flow(), &wf(), Tz::UTC, d(0), d(6), t(7, 0)),
        finished(&flow(), &renamed, Tz::UTC, d(0), d(6), t(7, 0))
    );
    assert_eq!(
        cumulative_flow(&flow(), &wf(), Tz::UTC, d(0), d(6), t(7, 0)),
        cumulative_flow(&flow(), &renamed, Tz::UTC, d(0), d(6), t(7, 0))
    );
}

#[test]
fn throughput_by_day_and_week_in_an_offset() {
    let done = finished(&flow(), &wf(), Tz::UTC, d(0), d(7), t(8, 0));
    let daily = throughput_daily(&done, Tz::UTC, d(0), d(7));
    let counts: Vec<usize> = daily.iter().map(|x| x.1).collect();
    assert_eq!(counts, [0, 0, 0, 2, 0, 0, 1, 0]);
    // d0 is a Monday: d0..d6 is one week, d7 starts the next.
    assert_eq!(by_week(&daily), vec![(d(0), 3), (d(7), 0)]);
    // Ten hours west, 09:00 UTC on d3 is still d2 23:00.
    let west = Tz { minutes: -600 };
    let done = finished(&flow(), &wf(), west, d(0), d(7), t(8, 0));
    let counts: Vec<usize> = throughput_daily(&done, west, d(0), d(7)).iter().map(|x| x.1).collect();
    assert_eq!(counts, [0, 0, 2, 0, 0, 1, 0, 0]);
}

#[test]
fn cumulative_flow_counts_each_state_at_the_end_of_each_day() {
    let cfd = cumulative_flow(&flow(), &wf(), Tz::UTC, d(0), d(3), t(9, 0));
    let rows: Vec<Vec<usize>> = cfd.into_iter().map(|x| x.1).collect();
    assert_eq!(rows, vec![vec![2, 0, 0, 0], vec![1, 2, 0, 0], vec![1, 2, 0, 1], vec![0, 1, 0, 3]]);
    // Four hours east, the bug's 21:00 move falls on the next local day, and d2 ends at 20:00 UTC.
    let east = Tz { minutes: 240 };
    let cfd = cumulative_flow(&flow(), &wf(), east, d(2), d(2), t(9, 0));
    assert_eq!(cfd[0].1, vec![2, 1, 0, 1]);
    // Days after `until` are empty.
    let cfd = cumulative_flow(&flow(), &wf(), Tz::UTC, d(0), d(1), t(0, 12));
    assert_eq!(cfd[1].1, vec![0, 0, 0, 0]);
}

#[test]
fn bug_trend_counts_opened_closed_reopened_and_open() {
    let items = vec![
        item(1, ItemKind::Story, t(0, 9), &[(t(1, 9), 4)]),
        item(4, ItemKind::Bug, t(2, 9), &[(t(2, 21), 2)]),
        item(5, ItemKind::Bug, t(1, 9), &[(t(2, 10), 4), (t(3, 10), 2), (t(4, 10), 4)]),
    ];
    let trend = bug_trend(&items, &wf(), Tz::UTC, d(0), d(4), t(9, 0));
    let rows: Vec<(usize, usize, usize, usize)> =
        trend.iter().map(|b| (b.opened, b.closed, b.reopened, b.open)).collect();
    assert_eq!(rows, [(0, 0, 0, 0), (1, 0, 0, 1), (1, 1, 0, 1), (0, 0, 1, 2), (0, 1, 0, 1)]);
}

/// Sprint 10 runs d0..d4, started d0 09:00 and closed d4 17:00; sprint 11 follows.
fn sprint10() -> SprintWindow {
    SprintWindow {
        id: 10,
        name: "S1".into(),
        start: d(0),
        end: d(4),
        started_at: Some(t(0, 9)),
        closed_at: Some(t(4, 17)),
    }
}

/// A (3) and B (5) committed, A done, B carried over (moved out by the close itself);
/// C (2) added mid-sprint and re-estimated to 3 before done; D (8) moved to the next sprint;
/// E, a bug (1), done, reopened and done again.
fn sprint_items() -> Vec<ItemHistory> {
    let mut a = item(1, ItemKind::Story, t(-5, 9), &[(t(0, 10), 2), (t(2, 12), 4)]);
    a.sprint.push((t(-1, 10), Some(10)));
    a.points[0].1 = Some(3.0);
    let mut b = item(2, ItemKind::Story, t(-5, 9), &[(t(1, 9), 2)]);
    b.sprint.extend([(t(-1, 10), Some(10)), (t(4, 17), Some(11))]);
    b.points[0].1 = Some(5.0);
    let mut c = item(3, ItemKind::Story, t(-5, 9), &[(t(3, 11), 4)]);
    c.sprint.push((t(1, 15), Some(10)));
    c.points = vec![(t(-5, 9), Some(2.0)), (t(3, 9), Some(3.0))];
    let mut dd = item(4, ItemKind::Story, t(-5, 9), &[]);
    dd.sprint.extend([(t(-1, 10), Some(10)), (t(2, 10), Some(11))]);
    dd.points[0].1 = Some(8.0);
    let mut e = item(5, ItemKind::Bug, t(-5, 9), &[(t(1, 16), 4), (t(2, 9), 2), (t(3, 16), 4)]);
    e.sprint.push((t(-1, 10), Some(10)));
    e.points[0].1 = Some(1.0);
    vec![a, b, c, dd, e]
}

#[test]
fn a_sprint_with_scope_change_moves_between_sprints_and_a_reopened_bug() {
    let r = sprint_result(&sprint10(), &sprint_items(), &wf(), Tz::UTC, t(20, 0));
    assert_eq!(r.committed, 17.0);
    assert_eq!(r.committed_items, ["K-1", "K-2", "K-4", "K-5"]);
    assert_eq!((r.added, r.added_items.clone()), (2.0, vec!["K-3".to_string()]));
    assert_eq!((r.removed, r.removed_items.clone()), (8.0, vec!["K-4".to_string()]));
    // C counts at its estimate when done (3), having been added at 2.
    assert_eq!(r.completed, 7.0);
    assert_eq!(r.completed_items, ["K-1", "K-3", "K-5"]);
    assert_eq!(r.carried_over, ["K-2"]);
    assert_eq!(r.bugs, ["K-5"]);
    assert!(close(r.completion_rate.unwrap(), 7.0 / 17.0));
    // C's re-estimate (2 → 3) while in the sprint: 17 + 2 − 8 + 1 = 7 done + 5 carried over.
    assert_eq!(r.reestimated, 1.0);

    // The next sprint, started d5 09:00, still running at d6 12:00: D and B committed.
    let s11 = SprintWindow {
        id: 11,
        name: "S2".into(),
        start: d(5),
        end: d(9),
        started_at: Some(t(5, 9)),
        closed_at: None,
    };
    let r = sprint_result(&s11, &sprint_items(), &wf(), Tz::UTC, t(6, 12));
    assert_eq!((r.committed, r.committed_items.clone()), (13.0, vec!["K-2".to_string(), "K-4".to_string()]));
    assert_eq!((r.completed, r.carried_over.clone()), (0.0, vec!["K-2".to_string(), "K-4".to_string()]));
}

/// Found by the scope property: an item deleted while in a running sprint left the scope
/// without counting as removed, so committed + added − removed no longer matched what was left;
/// and a re-estimate in the same transaction as a removal counted the removal at the new
/// estimate, which the sprint never held.
#[test]
fn deletions_and_reestimates_keep_the_scope_balanced() {
    let s = sprint10();
    // F (5) committed, deleted on day 2. G (3) committed, re-estimated to 8 and moved to the next
    // sprint in one transaction on day 1. H (2) committed, re-estimated to 4 on day 1, done.
    let mut f = item(6, ItemKind::Story, t(-5, 9), &[]);
    f.sprint.push((t(-1, 10), Some(10)));
    f.points[0].1 = Some(5.0);
    f.deleted_at = Some(t(2, 9));
    let mut g = item(7, ItemKind::Story, t(-5, 9), &[]);
    g.sprint.extend([(t(-1, 10), Some(10)), (t(1, 9), Some(11))]);
    g.points = vec![(t(-5, 9), Some(3.0)), (t(1, 9), Some(8.0))];
    let mut h = item(8, ItemKind::Story, t(-5, 9), &[(t(3, 9), 4)]);
    h.sprint.push((t(-1, 10), Some(10)));
    h.points = vec![(t(-5, 9), Some(2.0)), (t(1, 12), Some(4.0))];
    let items = [f, g, h];
    let r = sprint_result(&s, &items, &wf(), Tz::UTC, t(20, 0));
    assert_eq!((r.committed, r.committed_items.len()), (10.0, 3));
    assert_eq!(r.removed_items, ["K-6", "K-7"]);
    assert_eq!(r.removed, 8.0);
    assert_eq!(r.reestimated, 2.0);
    assert_eq!((r.completed, r.completed_items.clone()), (4.0, vec!["K-8".to_string()]));
    assert!(r.carried_over.is_empty());
    assert!(close(r.committed + r.added - r.removed + r.reestimated, r.completed));
    // Read while running, before the deletion: F and H are still there, not done.
    let r = sprint_result(&SprintWindow { closed_at: None, ..s }, &items, &wf(), Tz::UTC, t(1, 20));
    assert_eq!((r.removed, r.reestimated), (3.0, 2.0));
    assert_eq!(r.carried_over, ["K-6", "K-8"]);
    assert!(close(r.committed + r.added - r.removed + r.reestimated, 5.0 + 4.0));
}

#[test]
fn velocity_averages_completed_points() {
    let r1 = SprintResult { completed: 7.0, completion_rate: Some(0.5), ..Default::default() };
    let r2 = SprintResult { completed: 13.0, completion_rate: Some(1.0), ..Default::default() };
    let r3 = SprintResult { completed: 10.0, completion_rate: None, ..Default::default() };
    let v = velocity_summary(&[r1, r2, r3]);
    assert_eq!(v.sprints, 3);
    assert_eq!(v.average, Some(10.0));
    assert!(close(v.spread, 6.0f64.sqrt()));
    assert_eq!((v.min, v.max), (Some(7.0), Some(13.0)));
    assert_eq!(v.completion_rate, Some(0.75));
    assert_eq!(velocity_summary(&[]), VelocitySummary::default());
}

#[test]
fn burndown_and_burnup_day_by_day() {
    let (r, days) = sprint_burn(&sprint10(), &sprint_items(), &wf(), Tz::UTC, t(20, 0));
    assert_eq!(r.committed, 17.0);
    /// Remaining, done, added, removed, ideal.
    type Row = (Option<f64>, Option<f64>, f64, f64, f64);
    let got: Vec<Row> = days.iter().map(|b| (b.remaining, b.done, b.added, b.removed, b.ideal)).collect();
    assert_eq!(
        got,
        [
            (Some(17.0), Some(0.0), 0.0, 0.0, 17.0),
            (Some(18.0), Some(1.0), 2.0, 0.0, 12.75),
            (Some(8.0), Some(3.0), 0.0, 8.0, 8.5),
            (Some(5.0), Some(7.0), 0.0, 0.0, 4.25),
            // The close moves B out at 17:00; the last day is read just before.
            (Some(5.0), Some(7.0), 0.0, 0.0, 0.0),
        ]
    );
    assert_eq!(days[2].scope, Some(11.0));
    // Seen on d1 at noon: later days have no figures yet.
    let (_, days) = sprint_burn(&sprint10(), &sprint_items(), &wf(), Tz::UTC, t(1, 12));
    assert_eq!(days[1].remaining, Some(17.0));
    assert_eq!(days[2].remaining, None);
}

#[test]
fn release_burnup_follows_scope_and_done() {
    let mut items = flow();
    items[0].release.push((t(0, 9), Some(7)));
    items[0].points[0].1 = Some(3.0);
    items[2].release.push((t(2, 9), Some(7)));
    items[2].points[0].1 = Some(2.0);
    let days = release_burnup(7, &items, &wf(), Tz::UTC, d(0), d(3), t(9, 0));
    let got: Vec<(f64, f64, usize, usize)> =
        days.iter().map(|x| (x.scope, x.done, x.items, x.done_items)).collect();
    assert_eq!(got, [(3.0, 0.0, 1, 0), (3.0, 0.0, 1, 0), (5.0, 0.0, 2, 0), (5.0, 5.0, 2, 2)]);
}

#[test]
fn work_in_progress_ages_and_flags() {
    let wip = work_in_progress(&flow(), &wf(), t(7, 0), Some(5.0));
    assert_eq!(wip.len(), 1);
    assert_eq!(
        (wip[0].key.as_str(), wip[0].since, wip[0].age_days, wip[0].over),
        ("K-4", t(2, 21), 4.125, false)
    );
    assert!(work_in_progress(&flow(), &wf(), t(7, 0), Some(4.0))[0].over);
    // A reopened item's age starts at its reopening, and moving on within in-progress states
    // does not reset it.
    let at = |now| work_in_progress(&flow(), &wf(), now, None).into_iter().find(|w| w.key == "K-2").unwrap();
    assert_eq!(at(t(4, 12)).age_days, 0.125);
    assert_eq!((at(t(5, 12)).age_days, at(t(5, 12)).state), (1.125, StateId(3)));
}

#[test]
fn histories_are_built_from_events() {
    let ev = |id: i64, at: Timestamp, field: &str, old: serde_json::Value, new: serde_json::Value| Event {
        id,
        product_id: Some(ProductId(1)),
        object: ObjectKind::Item,
        object_id: 7,
        actor_id: None,
        at,
        field: field.into(),
        old,
        new,
        proposal_id: None,
    };
    let created = json!({"id": 7, "key": "K-7", "kind": "bug", "status_id": 1, "sprint_id": 10, "release_id": null, "estimate": 3.0});
    let events = vec![
        ev(1, t(0, 9), "created", json!(null), created),
        ev(2, t(1, 9), "status", json!(1), json!(2)),
        ev(3, t(1, 10), "title", json!("a"), json!("b")),
        ev(4, t(2, 9), "estimate", json!(3.0), json!(5.0)),
        ev(5, t(2, 10), "sprint", json!(10), json!(null)),
        ev(6, t(2, 11), "kind", json!("bug"), json!("story")),
        ev(7, t(2, 12), "release", json!(null), json!(4)),
        ev(8, t(3, 9), "deleted", json!({}), json!(null)),
    ];
    let h = &histories(&events)[0];
    assert_eq!((h.id, h.key.as_str(), h.created_at), (7, "K-7", t(0, 9)));
    assert_eq!(h.status, vec![(t(0, 9), StateId(1)), (t(1, 9), StateId(2))]);
    assert_eq!((h.sprint_at(t(2, 9)), h.sprint_at(t(2, 10))), (Some(10), None));
    assert_eq!((h.points_at(t(1, 0)), h.points_at(t(2, 9))), (3.0, 5.0));
    assert_eq!((h.kind_at(t(2, 0)), h.kind_at(t(2, 11))), (ItemKind::Bug, ItemKind::Story));
    assert_eq!(h.release_at(t(2, 12)), Some(4));
    assert!(h.exists_at(t(3, 8)) && !h.exists_at(t(3, 9)) && !h.exists_at(t(0, 8)));
    // Events of an item whose creation is not among them are ignored.
    assert!(histories(&events[1..]).is_empty());
}

#[test]
fn flow_rows_answer_like_the_history() {
    let mut items = flow();
    items[2].sprint.extend([(t(1, 10), Some(10)), (t(1, 11), Some(11)), (t(1, 12), Some(10))]);
    let (rows, members) = flow_rows(&items, &wf());
    assert_eq!(members, vec![(10, 3), (11, 3)]);
    assert_eq!((rows[1].started_at, rows[1].done_at), (Some(t(1, 9)), Some(t(6, 9))));
    assert_eq!((rows[3].started_at, rows[3].done_at), (Some(t(2, 21)), None));
    for (from, to) in [(0, 6), (0, 5), (3, 3), (2, 2)] {
        assert_eq!(
            finished_rows(&rows, Tz::UTC, d(from), d(to)),
            finished(&items, &wf(), Tz::UTC, d(from), d(to), Timestamp(i64::MAX))
        );
    }
}

#[test]
fn a_bulk_import_records_the_item_as_it_is_now_then_its_past() {
    let ev = |id: i64, at: Timestamp, field: &str, old: serde_json::Value, new: serde_json::Value| Event {
        id,
        product_id: Some(ProductId(1)),
        object: ObjectKind::Item,
        object_id: 8,
        actor_id: None,
        at,
        field: field.into(),
        old,
        new,
        proposal_id: None,
    };
    // Created (d0) as it is now: done, in sprint 11, 5 points; then its past changes.
    let now = json!({"key": "K-8", "kind": "story", "status_id": 4, "sprint_id": 11, "estimate": 5.0});
    let events = vec![
        ev(1, t(0, 9), "created", json!(null), now),
        ev(2, t(1, 9), "status", json!(1), json!(2)),
        ev(3, t(1, 10), "sprint", json!(10), json!(11)),
        ev(4, t(1, 11), "estimate", json!(3.0), json!(5.0)),
        ev(5, t(2, 9), "status", json!(2), json!(4)),
    ];
    let h = &histories(&events)[0];
    assert_eq!(h.state_at(t(0, 10)), Some(StateId(1)));
    assert_eq!((h.sprint_at(t(0, 10)), h.points_at(t(0, 10))), (Some(10), 3.0));
    assert_eq!(h.cycle(&wf(), t(9, 0)), (Some(t(1, 9)), Some(t(2, 9))));
    let (_, members) = flow_rows(std::slice::from_ref(h), &wf());
    assert_eq!(members, vec![(10, 8), (11, 8)]);
}
