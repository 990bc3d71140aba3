//! Conformance: replacing a product's workflow (renames, reorders, new states, recategorised
//! states, removed states whose items move), in one transaction with its history.

use super::{at, field_of, mk_item, mk_product, state, sys, workflow};
use keel_domain::board::StateSpec;
use keel_domain::event::ObjectKind;
use keel_domain::item::ItemPatch;
use keel_domain::workflow::Category;
use keel_domain::StateId;
use keel_store::{ItemFilter, Page, Store, StoreError};
use serde_json::json;
use std::sync::Arc;

fn spec(id: Option<StateId>, name: &str, category: Category) -> StateSpec {
    StateSpec { id, name: name.into(), category }
}

/// States are renamed (two swap names), reordered, added and recategorised; a removed state's
/// items move to the chosen state with a `status` event each; the product's version goes up and
/// a `workflow` event keeps the old and new states.
pub async fn workflow_replace_moves_items_and_records_history(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let other = mk_product(&store, "OPS").await;
    let w = workflow(&store, p.id).await;
    let (todo, prog, review, done) =
        (state(&w, "To Do"), state(&w, "In Progress"), state(&w, "In Review"), state(&w, "Done"));
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let c = mk_item(&store, p.id, "c").await;
    let mv = |s: StateId, cat: Category| ItemPatch { status: Some((s, cat)), ..Default::default() };
    let b = store.update_item(b.id, b.version, &mv(prog, Category::InProgress), &sys()).await.unwrap();
    let c = store.update_item(c.id, c.version, &mv(review, Category::InProgress), &sys()).await.unwrap();
    let kept_other = mk_item(&store, other.id, "elsewhere").await;
    let before = store.product(p.id).await.unwrap();

    let states = vec![
        spec(None, "Ready", Category::Todo),
        spec(Some(todo), "Backlog", Category::Todo),
        spec(Some(review), "Doing", Category::InProgress),
        spec(Some(done), "To Do", Category::Done), // takes the name "To Do" was carrying
    ];
    let ctx = at(None, 5_000);
    let new =
        store.replace_workflow(p.id, states, vec![(prog, review)], Some(before.version), &ctx).await.unwrap();
    let names: Vec<&str> = new.states.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Ready", "Backlog", "Doing", "To Do"]);
    assert_eq!(new.states[1].id, todo);
    assert_eq!(new.states[3].id, done);
    assert!(new.state(prog).is_none(), "the removed state is gone");
    assert_eq!(store.workflow(p.id).await.unwrap(), new);
    assert_eq!(store.product(p.id).await.unwrap().version, before.version + 1);

    let b2 = store.item(b.id).await.unwrap();
    assert_eq!((b2.status_id, b2.category, b2.version), (review, Category::InProgress, b.version + 1));
    assert_eq!(b2.updated_at.0, 5_000);
    let c2 = store.item(c.id).await.unwrap();
    assert_eq!((c2.status_id, c2.version), (review, c.version), "items of kept states stay");
    assert_eq!(store.item(a.id).await.unwrap().status_id, todo);
    assert_eq!(store.item(kept_other.id).await.unwrap(), kept_other, "other products are untouched");

    let h = store.history(ObjectKind::Item, b.id.0, None, 10).await.unwrap();
    assert_eq!(h[0].field, "status");
    assert_eq!((h[0].old.clone(), h[0].new.clone()), (json!(prog.0), json!(review.0)));
    assert_eq!(h[0].at.0, 5_000);
    let ph = store.history(ObjectKind::Product, p.id.0, None, 10).await.unwrap();
    assert_eq!(ph[0].field, "workflow");
    assert_eq!(ph[0].old.as_array().unwrap().len(), 4);
    assert_eq!(ph[0].new[0]["name"], "Ready");
    assert_eq!(ph[0].old[1]["name"], "In Progress");

    let in_review = ItemFilter { status: Some(review), ..Default::default() };
    assert_eq!(store.count_items(p.id, &in_review).await.unwrap(), 2);
    // The emptied state can now be the target of nothing; "To Do" is a done state now.
    let done_items = ItemFilter { category: Some(Category::Done), ..Default::default() };
    assert_eq!(store.list_items(p.id, &done_items, &Page::first(10)).await.unwrap().len(), 0);
}

/// A recategorised state carries its items into the new category (the backlog follows).
pub async fn workflow_recategorise_updates_items(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let w = workflow(&store, p.id).await;
    let review = state(&w, "In Review");
    let i = mk_item(&store, p.id, "reviewed").await;
    let patch = ItemPatch { status: Some((review, Category::InProgress)), ..Default::default() };
    store.update_item(i.id, i.version, &patch, &sys()).await.unwrap();
    let states: Vec<StateSpec> = w
        .states
        .iter()
        .map(|s| spec(Some(s.id), &s.name, if s.id == review { Category::Done } else { s.category }))
        .collect();
    store.replace_workflow(p.id, states, vec![], None, &sys()).await.unwrap();
    assert_eq!(store.item(i.id).await.unwrap().category, Category::Done);
    let open = ItemFilter { open_only: true, ..Default::default() };
    assert!(store.list_items(p.id, &open, &Page::first(10)).await.unwrap().iter().all(|x| x.id != i.id));
}

/// Refused edits change nothing: a removed state holding items without a target, an id of
/// another product's workflow, a target that is removed too, a stale product version.
pub async fn workflow_replace_refusals_change_nothing(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let q = mk_product(&store, "OPS").await;
    let w = workflow(&store, p.id).await;
    let wq = workflow(&store, q.id).await;
    let (todo, prog, done) = (state(&w, "To Do"), state(&w, "In Progress"), state(&w, "Done"));
    let i = mk_item(&store, p.id, "busy").await;
    let patch = ItemPatch { status: Some((prog, Category::InProgress)), ..Default::default() };
    store.update_item(i.id, i.version, &patch, &sys()).await.unwrap();
    let version = store.product(p.id).await.unwrap().version;
    let keep = |extra: Vec<StateSpec>| {
        let mut v = vec![spec(Some(todo), "To Do", Category::Todo), spec(Some(done), "Done", Category::Done)];
        v.extend(extra);
        v
    };
    let e = store.replace_workflow(p.id, keep(vec![]), vec![], None, &sys()).await.unwrap_err();
    assert_eq!(field_of(e), "remap");
    let foreign = keep(vec![spec(Some(wq.states[1].id), "Theirs", Category::InProgress)]);
    let e = store.replace_workflow(p.id, foreign, vec![(prog, todo)], None, &sys()).await.unwrap_err();
    assert_eq!(field_of(e), "states[2].id");
    let review = state(&w, "In Review");
    let e = store.replace_workflow(p.id, keep(vec![]), vec![(prog, review)], None, &sys()).await.unwrap_err();
    assert_eq!(field_of(e), "remap[0].to");
    let e = store
        .replace_workflow(p.id, keep(vec![]), vec![(prog, todo), (review, todo)], Some(version - 1), &sys())
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::StaleVersion { current } if current == version), "{e:?}");
    assert_eq!(workflow(&store, p.id).await, w);
    assert_eq!(workflow(&store, q.id).await, wq);
    assert_eq!(store.product(p.id).await.unwrap().version, version);
    assert_eq!(store.item(i.id).await.unwrap().status_id, prog);
    // An empty state may go without a target.
    let ok = keep(vec![spec(Some(prog), "In Progress", Category::InProgress)]);
    let new = store.replace_workflow(p.id, ok, vec![], Some(version), &sys()).await.unwrap();
    assert_eq!(new.states.len(), 3);
    assert!(new.state(review).is_none());
}
