//! Conformance: records, atomic batches, the planning fields of items, blockers and event
//! queries by field.

use super::{at, field_of, mk_item, mk_product, mk_user, new_item, sys, workflow};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Acceptance, AcceptanceState, ItemKind, ItemPatch, LinkKind};
use keel_domain::proposal::Position;
use keel_domain::workflow::Category;
use keel_domain::{ProductId, RecordId, Timestamp};
use keel_store::{ItemFilter, NewRecord, Page, RecordFilter, Ref, Store, StoreError, WriteOp, Written};
use serde_json::{json, Value};
use std::sync::Arc;

fn rec(
    kind: ObjectKind,
    product: Option<ProductId>,
    parent: Option<i64>,
    state: &str,
    data: Value,
) -> NewRecord {
    NewRecord { kind, product_id: product, parent_id: parent, state: state.into(), unique_key: None, data }
}

async fn create(store: &Arc<dyn Store>, r: NewRecord) -> keel_store::Record {
    match store.write_batch(vec![WriteOp::CreateRecord(r)], &sys()).await.expect("create record").remove(0) {
        Written::Record(r) => r,
        other => panic!("expected a record, got {other:?}"),
    }
}

/// Records are created, read, filtered by product, parent and state, and paged by id.
pub async fn records_create_read_list(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let q = mk_product(&store, "OPS").await;
    let team = create(&store, rec(ObjectKind::Team, Some(p.id), None, "", json!({"name": "Core"}))).await;
    assert_eq!((team.version, team.state.as_str(), team.created_at), (1, "", Timestamp(1_000)));
    let mut sprints = Vec::new();
    for (i, st) in ["closed", "closed", "active", "planned"].iter().enumerate() {
        let r = rec(ObjectKind::Sprint, Some(p.id), Some(team.id.0), st, json!({"name": format!("S{i}")}));
        sprints.push(create(&store, r).await);
    }
    create(&store, rec(ObjectKind::Sprint, Some(q.id), Some(999), "active", json!({"name": "other"}))).await;
    assert_eq!(store.record(team.id).await.unwrap(), team);
    let of_team = RecordFilter::of(ObjectKind::Sprint).parent(team.id.0);
    let all = store.records(&of_team, &Page::first(10)).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        sprints.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    let open =
        store.records(&of_team.clone().states(&["active", "planned"]), &Page::first(10)).await.unwrap();
    assert_eq!(
        open.iter().map(|r| r.data["name"].clone()).collect::<Vec<_>>(),
        vec![json!("S2"), json!("S3")]
    );
    let by_product = RecordFilter::of(ObjectKind::Sprint).product(q.id);
    assert_eq!(store.records(&by_product, &Page::first(10)).await.unwrap().len(), 1);
    let first = store.records(&of_team, &Page::first(3)).await.unwrap();
    let next = Page { after: Some(first[2].id.0.to_string()), limit: 3 };
    let rest = store.records(&of_team, &next).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), vec![sprints[3].id]);
    assert!(matches!(store.record(RecordId(987_654)).await, Err(StoreError::NotFound)));
    let bad_cursor = Page { after: Some("x".into()), limit: 3 };
    assert_eq!(field_of(store.records(&of_team, &bad_cursor).await.unwrap_err()), "cursor");
    let team_kind = RecordFilter::of(ObjectKind::Team);
    assert_eq!(store.records(&team_kind, &Page::first(10)).await.unwrap().len(), 1);
}

/// A unique key is unique within its kind; a clash is a conflict and writes nothing.
pub async fn records_unique_keys(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut r = rec(ObjectKind::Setting, Some(p.id), None, "", json!({"checks": []}));
    r.unique_key = Some(format!("dor:{}", p.id));
    let first = create(&store, r.clone()).await;
    let found = store.record_by_key(ObjectKind::Setting, &format!("dor:{}", p.id)).await.unwrap();
    assert_eq!(found.id, first.id);
    // The same key under another kind is fine.
    let mut other = r.clone();
    other.kind = ObjectKind::Release;
    create(&store, other).await;
    let before = store.product_events(p.id, None, 100).await.unwrap().len();
    let clash = vec![
        WriteOp::CreateRecord(rec(ObjectKind::Team, Some(p.id), None, "", json!({"name": "A"}))),
        WriteOp::CreateRecord(r),
    ];
    assert!(matches!(store.write_batch(clash, &sys()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.product_events(p.id, None, 100).await.unwrap().len(), before, "nothing written");
    let teams = store.records(&RecordFilter::of(ObjectKind::Team), &Page::first(10)).await.unwrap();
    assert!(teams.is_empty(), "the first op of the failed batch was rolled back");
    assert!(matches!(store.record_by_key(ObjectKind::Setting, "dor:0").await, Err(StoreError::NotFound)));
}

/// Updates check versions, record one event per changed key and the state; guards bump the
/// version; deletes leave a `deleted` event.
pub async fn records_update_guard_delete(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    let r = create(
        &store,
        rec(ObjectKind::Sprint, Some(p.id), Some(7), "planned", json!({"name": "S1", "goal": ""})),
    )
    .await;
    let upd = WriteOp::UpdateRecord {
        id: r.id,
        expected_version: Some(1),
        state: Some("active".into()),
        data: json!({"name": "S1", "goal": "Ship it", "commitment": {"points": 8}}),
        refs: vec![],
    };
    let w = store.write_batch(vec![upd.clone()], &at(Some(u.id), 2_000)).await.unwrap();
    let Written::Record(r2) = &w[0] else { panic!("{w:?}") };
    assert_eq!((r2.version, r2.state.as_str(), r2.updated_at), (2, "active", Timestamp(2_000)));
    assert_eq!(store.record(r.id).await.unwrap().data["goal"], json!("Ship it"));
    let h = store.history(ObjectKind::Sprint, r.id.0, None, 10).await.unwrap();
    let mut fields: Vec<&str> = h.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, vec!["commitment", "created", "goal", "state"]);
    let st = h.iter().find(|e| e.field == "state").unwrap();
    assert_eq!(
        (st.old.clone(), st.new.clone(), st.actor_id),
        (json!("planned"), json!("active"), Some(u.id))
    );
    assert!(h.iter().all(|e| e.product_id == Some(p.id)));
    // The same update again names a stale version.
    match store.write_batch(vec![upd], &sys()).await {
        Err(StoreError::StaleVersion { current }) => assert_eq!(current, 2),
        other => panic!("expected stale, got {other:?}"),
    }
    // A guard checks and bumps the version without an event.
    let g = store.write_batch(vec![WriteOp::Guard { id: r.id, expected_version: 2 }], &sys()).await.unwrap();
    assert!(matches!(&g[0], Written::Record(x) if x.version == 3));
    assert!(store.write_batch(vec![WriteOp::Guard { id: r.id, expected_version: 2 }], &sys()).await.is_err());
    assert_eq!(store.history(ObjectKind::Sprint, r.id.0, None, 10).await.unwrap().len(), 4);
    // Data must be an object.
    let bad = WriteOp::UpdateRecord {
        id: r.id,
        expected_version: None,
        state: None,
        data: json!([1]),
        refs: vec![],
    };
    assert_eq!(field_of(store.write_batch(vec![bad], &sys()).await.unwrap_err()), "data");
    let del = WriteOp::DeleteRecord { id: r.id, expected_version: Some(3) };
    assert_eq!(store.write_batch(vec![del], &sys()).await.unwrap(), vec![Written::Deleted]);
    assert!(matches!(store.record(r.id).await, Err(StoreError::NotFound)));
    let h = store.history(ObjectKind::Sprint, r.id.0, None, 1).await.unwrap();
    assert_eq!((h[0].field.as_str(), h[0].old["data"]["goal"].clone()), ("deleted", json!("Ship it")));
}

/// A batch is one transaction: it can refer to what it created, and a failing operation undoes
/// the ones before it.
pub async fn batches_are_atomic_and_refer_back(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let blocker = mk_item(&store, p.id, "blocker").await;
    let card =
        create(&store, rec(ObjectKind::RetroCard, Some(p.id), Some(1), "actions", json!({"text": "x"})))
            .await;
    let ops = vec![
        WriteOp::CreateItem {
            product: p.id,
            item: new_item(ItemKind::Story, "From the retro"),
            position: Position::Top,
        },
        WriteOp::UpdateRecord {
            id: card.id,
            expected_version: Some(1),
            state: None,
            data: json!({"text": "x"}),
            refs: vec![("item".into(), Ref::Created(0))],
        },
        WriteOp::AddLink { from: Ref::Id(blocker.id.0), to: keel_domain::ItemId(0), kind: LinkKind::Blocks },
    ];
    // The link's target does not exist: the whole batch fails and nothing stays.
    assert!(store.write_batch(ops.clone(), &sys()).await.is_err());
    assert_eq!(store.count_items(p.id, &ItemFilter::default()).await.unwrap(), 1);
    assert_eq!(store.record(card.id).await.unwrap().version, 1);
    let mut ops = ops;
    ops[2] =
        WriteOp::AddLink { from: Ref::Id(blocker.id.0), to: keel_domain::ItemId(0), kind: LinkKind::Blocks };
    ops.truncate(2);
    let w = store.write_batch(ops, &sys()).await.unwrap();
    let Written::Item(item) = &w[0] else { panic!("{w:?}") };
    let Written::Record(card2) = &w[1] else { panic!("{w:?}") };
    assert_eq!(card2.data["item"], json!(item.id.0));
    assert_eq!(item.number, 2);
    let top = store.list_items(p.id, &ItemFilter::default(), &Page::first(1)).await.unwrap();
    assert_eq!(top[0].id, item.id, "created at the top");
    // Items created and changed in one batch, the change referring to the creation.
    let ops = vec![
        WriteOp::CreateItem {
            product: p.id,
            item: new_item(ItemKind::Story, "a"),
            position: Position::Bottom,
        },
        WriteOp::UpdateItem {
            id: Ref::Created(0),
            expected_version: Some(1),
            patch: ItemPatch { title: Some("b".into()), ..Default::default() },
        },
        WriteOp::AddLink { from: Ref::Id(blocker.id.0), to: item.id, kind: LinkKind::Blocks },
        WriteOp::MoveItem { id: blocker.id, position: Position::Top },
    ];
    let w = store.write_batch(ops, &sys()).await.unwrap();
    assert!(matches!(&w[1], Written::Item(i) if i.title == "b" && i.version == 2));
    assert!(matches!(&w[2], Written::Link(l) if l.from_id == blocker.id));
    let top = store.list_items(p.id, &ItemFilter::default(), &Page::first(1)).await.unwrap();
    assert_eq!(top[0].id, blocker.id);
    // A stale item version fails the batch.
    let stale = vec![WriteOp::UpdateItem {
        id: Ref::Id(blocker.id.0),
        expected_version: Some(1),
        patch: ItemPatch { title: Some("z".into()), ..Default::default() },
    }];
    assert!(matches!(store.write_batch(stale, &sys()).await, Err(StoreError::StaleVersion { .. })));
}

/// Items go into sprints and releases (checked against the records), carry acceptance and
/// ticked checks, and filter by sprint and release.
pub async fn items_sprints_releases_acceptance(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let q = mk_product(&store, "OPS").await;
    let sprint = create(&store, rec(ObjectKind::Sprint, Some(p.id), Some(1), "active", json!({}))).await;
    let closed = create(&store, rec(ObjectKind::Sprint, Some(p.id), Some(1), "closed", json!({}))).await;
    let release = create(&store, rec(ObjectKind::Release, Some(p.id), None, "planned", json!({}))).await;
    let foreign = create(&store, rec(ObjectKind::Release, Some(q.id), None, "planned", json!({}))).await;
    let team = create(&store, rec(ObjectKind::Team, Some(p.id), None, "", json!({}))).await;
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let mut ni = new_item(ItemKind::Story, "c");
    ni.sprint_id = Some(sprint.id);
    ni.release_id = Some(release.id);
    let c = store.create_item(p.id, ni, &Position::Bottom, &sys()).await.unwrap();
    assert_eq!((c.sprint_id, c.release_id), (Some(sprint.id), Some(release.id)));
    let patch = ItemPatch {
        sprint_id: Some(Some(sprint.id)),
        acceptance: Some(Acceptance { state: AcceptanceState::Rejected, note: "Fails on Safari".into() }),
        dod: Some(vec![1, 3]),
        dor: Some(vec![2]),
        ..Default::default()
    };
    let a2 = store.update_item(a.id, 1, &patch, &sys()).await.unwrap();
    let back = store.item(a.id).await.unwrap();
    assert_eq!(back, a2);
    assert_eq!(back.sprint_id, Some(sprint.id));
    assert_eq!(back.acceptance.state, AcceptanceState::Rejected);
    assert_eq!(back.acceptance.note, "Fails on Safari");
    assert_eq!((back.dod.clone(), back.dor.clone()), (vec![1, 3], vec![2]));
    let h = store.history(ObjectKind::Item, a.id.0, None, 10).await.unwrap();
    let sprint_ev = h.iter().find(|e| e.field == "sprint").expect("sprint event");
    assert_eq!((sprint_ev.old.clone(), sprint_ev.new.clone()), (Value::Null, json!(sprint.id.0)));
    assert!(h.iter().any(|e| e.field == "acceptance" && e.new["state"] == json!("rejected")));
    // Filters.
    let in_sprint = ItemFilter { sprint: Some(Some(sprint.id)), ..Default::default() };
    let got: Vec<_> = super::all(&store, p.id, &in_sprint).await.iter().map(|i| i.id).collect();
    assert_eq!(got, vec![a.id, c.id]);
    let no_sprint = ItemFilter { sprint: Some(None), ..Default::default() };
    assert_eq!(
        super::all(&store, p.id, &no_sprint).await.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![b.id]
    );
    assert_eq!(store.count_items(p.id, &in_sprint).await.unwrap(), 2);
    let in_release = ItemFilter { release: Some(Some(release.id)), ..Default::default() };
    assert_eq!(store.count_items(p.id, &in_release).await.unwrap(), 1);
    // Wrong targets are the caller's input errors, and change nothing.
    for (patch, field) in [
        (ItemPatch { sprint_id: Some(Some(closed.id)), ..Default::default() }, "sprint"),
        (ItemPatch { sprint_id: Some(Some(team.id)), ..Default::default() }, "sprint"),
        (ItemPatch { sprint_id: Some(Some(RecordId(987_654))), ..Default::default() }, "sprint"),
        (ItemPatch { release_id: Some(Some(foreign.id)), ..Default::default() }, "release"),
        (ItemPatch { release_id: Some(Some(sprint.id)), ..Default::default() }, "release"),
    ] {
        assert_eq!(field_of(store.update_item(b.id, 1, &patch, &sys()).await.unwrap_err()), field);
    }
    assert_eq!(store.item(b.id).await.unwrap().version, 1);
    let mut ni = new_item(ItemKind::Story, "d");
    ni.sprint_id = Some(closed.id);
    assert_eq!(field_of(store.create_item(p.id, ni, &Position::Bottom, &sys()).await.unwrap_err()), "sprint");
    // Leaving a sprint.
    let out = ItemPatch { sprint_id: Some(None), ..Default::default() };
    assert_eq!(store.update_item(a.id, 2, &out, &sys()).await.unwrap().sprint_id, None);
}

/// Open blockers: items blocked by an item that is not done, with the blocker's key.
pub async fn open_blockers_and_field_events(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let c = mk_item(&store, p.id, "c").await;
    store.add_link(a.id, b.id, LinkKind::Blocks, &sys()).await.unwrap();
    store.add_link(a.id, c.id, LinkKind::RelatesTo, &sys()).await.unwrap();
    let got = store.open_blockers(&[b.id, c.id]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].0, got[0].1.id, got[0].1.key.as_str(), got[0].1.title.as_str()),
        (b.id, a.id, "SHOP-1", "a")
    );
    assert!(store.open_blockers(&[]).await.unwrap().is_empty());
    let w = workflow(&store, p.id).await;
    let done = w.states.iter().find(|s| s.category == Category::Done).unwrap();
    let patch = ItemPatch { status: Some((done.id, Category::Done)), ..Default::default() };
    store.update_item(a.id, 1, &patch, &at(None, 5_000)).await.unwrap();
    assert!(store.open_blockers(&[b.id]).await.unwrap().is_empty(), "a done blocker blocks no more");
    // Events by field and time.
    let ev =
        store.product_events_of(p.id, &[ObjectKind::Item], &["status"], Timestamp(4_000), 10).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].object_id, ev[0].at), (a.id.0, Timestamp(5_000)));
    assert!(store
        .product_events_of(p.id, &[ObjectKind::Item], &["status"], Timestamp(5_001), 10)
        .await
        .unwrap()
        .is_empty());
    let links = store.product_events_of(p.id, &[], &["links"], Timestamp(0), 10).await.unwrap();
    assert_eq!(links.len(), 4, "two links, an event on each end");
    let any = store.product_events_of(p.id, &[ObjectKind::Product], &[], Timestamp(0), 10).await.unwrap();
    assert_eq!(any.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["created"]);
}

/// Set-based planning: many items into a sprint at once, and many moved to either end of the
/// backlog in the order given.
pub async fn set_sprint_and_move_items(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let sprint = create(&store, rec(ObjectKind::Sprint, Some(p.id), Some(1), "active", json!({}))).await;
    let closed = create(&store, rec(ObjectKind::Sprint, Some(p.id), Some(1), "closed", json!({}))).await;
    let mut items = Vec::new();
    for i in 0..6 {
        items.push(mk_item(&store, p.id, &format!("i{i}")).await);
    }
    let ids: Vec<_> = items.iter().map(|i| i.id).collect();
    let w = store
        .write_batch(vec![WriteOp::SetSprint { ids: ids[..4].to_vec(), sprint: Some(sprint.id) }], &sys())
        .await
        .unwrap();
    assert_eq!(w, vec![Written::Count(4)]);
    let w = store
        .write_batch(vec![WriteOp::SetSprint { ids: ids[..5].to_vec(), sprint: Some(sprint.id) }], &sys())
        .await
        .unwrap();
    assert_eq!(w, vec![Written::Count(1)], "only the item not yet in it changes");
    let one = store.item(ids[0]).await.unwrap();
    assert_eq!((one.sprint_id, one.version), (Some(sprint.id), 2));
    let h = store.history(ObjectKind::Item, ids[4].0, None, 5).await.unwrap();
    assert_eq!((h[0].field.as_str(), h[0].new.clone()), ("sprint", json!(sprint.id.0)));
    let bad = vec![WriteOp::SetSprint { ids: ids.clone(), sprint: Some(closed.id) }];
    assert_eq!(field_of(store.write_batch(bad, &sys()).await.unwrap_err()), "sprint");
    let missing = vec![WriteOp::SetSprint { ids: vec![ids[5], keel_domain::ItemId(987_654)], sprint: None }];
    assert!(matches!(store.write_batch(missing, &sys()).await, Err(StoreError::NotFound)));
    let out = vec![WriteOp::SetSprint { ids: ids[..2].to_vec(), sprint: None }];
    assert_eq!(store.write_batch(out, &sys()).await.unwrap(), vec![Written::Count(2)]);
    assert_eq!(store.item(ids[0]).await.unwrap().sprint_id, None);

    // Move i4, i2 to the top in that order, then i0, i5 to the bottom.
    let top = vec![WriteOp::MoveItems { ids: vec![ids[4], ids[2]], position: Position::Top }];
    assert_eq!(store.write_batch(top, &sys()).await.unwrap(), vec![Written::Count(2)]);
    let order: Vec<_> = super::all(&store, p.id, &ItemFilter::default()).await.iter().map(|i| i.id).collect();
    assert_eq!(order, vec![ids[4], ids[2], ids[0], ids[1], ids[3], ids[5]]);
    let bottom = vec![WriteOp::MoveItems { ids: vec![ids[0], ids[5]], position: Position::Bottom }];
    store.write_batch(bottom, &sys()).await.unwrap();
    let order: Vec<_> = super::all(&store, p.id, &ItemFilter::default()).await.iter().map(|i| i.id).collect();
    assert_eq!(order, vec![ids[4], ids[2], ids[1], ids[3], ids[0], ids[5]]);
    let h = store.history(ObjectKind::Item, ids[2].0, None, 1).await.unwrap();
    assert_eq!(h[0].field, "rank");
    let bad = vec![WriteOp::MoveItems { ids: vec![ids[1]], position: Position::Before(ids[0]) }];
    assert_eq!(field_of(store.write_batch(bad, &sys()).await.unwrap_err()), "position");
    // Many at once keep their order and stay distinct.
    let mut many = Vec::new();
    for i in 0..120 {
        many.push(mk_item(&store, p.id, &format!("m{i}")).await.id);
    }
    store
        .write_batch(vec![WriteOp::MoveItems { ids: many.clone(), position: Position::Top }], &sys())
        .await
        .unwrap();
    let order: Vec<_> = super::all(&store, p.id, &ItemFilter::default()).await.iter().map(|i| i.id).collect();
    assert_eq!(order[..120], many[..]);
}

/// A board move (a status change and a place in the backlog in one batch) and a criterion edit
/// carry the version they were based on: a stale one is refused inside the transaction and
/// writes nothing; of two writers based on the same version exactly one lands.
pub async fn board_moves_and_criteria_check_versions(store: Arc<dyn Store>) {
    use keel_domain::item::Criterion;
    let p = mk_product(&store, "SHOP").await;
    let w = workflow(&store, p.id).await;
    let st = |n: &str| {
        let s = w.by_name(n).expect("state");
        Some((s.id, s.category))
    };
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let crit = |checked: [bool; 2]| {
        Some(vec![
            Criterion { id: 1, text: "one".into(), checked: checked[0] },
            Criterion { id: 2, text: "two".into(), checked: checked[1] },
        ])
    };
    let c = store
        .update_item(b.id, 1, &ItemPatch { criteria: crit([false, false]), ..Default::default() }, &sys())
        .await
        .unwrap();
    assert_eq!(c.version, 2);
    let events = |id| {
        let s = store.clone();
        async move { s.history(ObjectKind::Item, id, None, 100).await.unwrap().len() }
    };
    let before_events = events(b.id.0).await;
    let board_move = |version: i64, status: &str| {
        vec![
            WriteOp::UpdateItem {
                id: Ref::Id(b.id.0),
                expected_version: Some(version),
                patch: ItemPatch { status: st(status), ..Default::default() },
            },
            WriteOp::MoveItem { id: b.id, position: Position::Before(a.id) },
        ]
    };
    // Stale: refused with the current version, nothing written (status, place, version, history).
    let e = store.write_batch(board_move(1, "In Progress"), &sys()).await.unwrap_err();
    assert!(matches!(e, StoreError::StaleVersion { current: 2 }), "{e:?}");
    let now = store.item(b.id).await.unwrap();
    assert_eq!((now.status_id, now.version), (c.status_id, 2));
    let order = |s: Arc<dyn Store>| async move {
        let v = s.list_items(p.id, &ItemFilter::default(), &Page::first(10)).await.unwrap();
        v.iter().map(|i| i.id).collect::<Vec<_>>()
    };
    assert_eq!(order(store.clone()).await, vec![a.id, b.id]);
    assert_eq!(events(b.id.0).await, before_events);
    // Current: the status and the place change together, one event each.
    let done = store.write_batch(board_move(2, "In Progress"), &sys()).await.unwrap();
    let Some(Written::Item(last)) = done.last() else { panic!("{done:?}") };
    assert_eq!((last.status_id, last.version), (st("In Progress").unwrap().0, 4));
    assert_eq!(order(store.clone()).await, vec![b.id, a.id]);
    assert_eq!(events(b.id.0).await, before_events + 2);
    // A criterion ticked on a stale version: refused, the criteria as they were.
    let tick = |checked: [bool; 2]| ItemPatch { criteria: crit(checked), ..Default::default() };
    let e = store.update_item(b.id, 2, &tick([true, false]), &sys()).await.unwrap_err();
    assert!(matches!(e, StoreError::StaleVersion { current: 4 }), "{e:?}");
    assert!(store.item(b.id).await.unwrap().criteria.iter().all(|c| !c.checked));
    // Two writers based on the same version, many times over: exactly one lands each time, and
    // the version counts the landed writes.
    for round in 0..10 {
        let cur = store.item(b.id).await.unwrap();
        let v = cur.version;
        // A tick that changes something (one that changes nothing writes nothing and lands).
        let flipped = !cur.criteria[0].checked;
        let (s1, s2) = (store.clone(), store.clone());
        let in_review = st("In Review").unwrap().0;
        let status = if cur.status_id == in_review { "To Do" } else { "In Review" };
        let one = tokio::spawn({
            let ops = board_move(v, status);
            async move { s1.write_batch(ops, &sys()).await.map(|_| ()) }
        });
        let other = tokio::spawn({
            let p = tick([flipped, true]);
            let id = b.id;
            async move { s2.update_item(id, v, &p, &sys()).await.map(|_| ()) }
        });
        let r = [one.await.expect("join"), other.await.expect("join")];
        let ok = r.iter().filter(|x| x.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {r:?}");
        assert!(r.iter().any(|x| matches!(x, Err(StoreError::StaleVersion { .. }))), "round {round}: {r:?}");
        let now = store.item(b.id).await.unwrap().version;
        assert!(now == v + 1 || now == v + 2, "round {round}: {v} -> {now}");
    }
}

/// Several batches in one transaction, each with its own actor and time (an import's comments):
/// all land with their own authorship, or none does; a proposal cannot ride along.
pub async fn several_batches_one_transaction(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let ann = mk_user(&store, "ann@example.com", "Ann").await;
    let bob = mk_user(&store, "bob@example.com", "Bob").await;
    let keyed = |key: &str| {
        let mut r = rec(ObjectKind::RetroCard, Some(p.id), Some(1), "went_well", json!({"text": key}));
        r.unique_key = Some(key.into());
        WriteOp::CreateRecord(r)
    };
    let ctx = |who: &keel_domain::user::User, ms: i64| keel_store::WriteCtx {
        actor: Some(who.id),
        at: Timestamp(ms),
        proposal: None,
    };
    let w = store
        .write_batches(vec![(vec![keyed("k1")], ctx(&ann, 5_000)), (vec![keyed("k2")], ctx(&bob, 6_000))])
        .await
        .unwrap();
    assert_eq!(w.len(), 2);
    let k1 = store.record_by_key(ObjectKind::RetroCard, "k1").await.unwrap();
    let k2 = store.record_by_key(ObjectKind::RetroCard, "k2").await.unwrap();
    assert_eq!((k1.created_by, k1.created_at), (Some(ann.id), Timestamp(5_000)));
    assert_eq!((k2.created_by, k2.created_at), (Some(bob.id), Timestamp(6_000)));
    // The second batch's key is taken: the first does not land either.
    let r = store
        .write_batches(vec![(vec![keyed("k3")], ctx(&ann, 7_000)), (vec![keyed("k1")], ctx(&bob, 7_000))])
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert!(matches!(store.record_by_key(ObjectKind::RetroCard, "k3").await, Err(StoreError::NotFound)));
    let with_proposal =
        keel_store::WriteCtx { proposal: Some(keel_domain::ProposalId(1)), ..ctx(&ann, 8_000) };
    let r = store.write_batches(vec![(vec![keyed("k4")], with_proposal)]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert!(store.write_batches(Vec::new()).await.unwrap().is_empty());
}
