//! The PostgreSQL store against a real server: each test makes its own database on the server
//! named by `KEEL_TEST_DATABASE_URL` and drops it afterwards; without the variable the tests
//! print why and pass. The shared conformance suite (keel-testkit) covers the port's behaviour
//! on both backends; these tests cover what is PostgreSQL's own: concurrency on the product
//! lock, the rebalance under the deferred rank constraint, migrations racing, bulk speed.

use keel_domain::event::ObjectKind;
use keel_domain::item::{Criterion, ItemKind, ItemPatch, NewItem, StoryFields};
use keel_domain::product::{ProductKey, Role, Roles};
use keel_domain::proposal::{Change, Position};
use keel_domain::rights::Action;
use keel_domain::user::{Email, NewUser};
use keel_domain::{ItemId, ProductId, Timestamp, UserId};
use keel_store::{
    BulkEvent, BulkItem, HistoryStore, ItemFilter, ItemStore, NewProduct, NewProposal, Page, ProductStore,
    ProposalStore, Store, StoreError, UserStore, WriteCtx,
};
use keel_store_postgres::PgStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static N: AtomicU64 = AtomicU64::new(0);

/// A fresh database; dropped (forcibly) when the guard goes.
struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Db {
    async fn new() -> Option<Db> {
        let Ok(admin) = std::env::var("KEEL_TEST_DATABASE_URL") else {
            eprintln!("SKIPPED: KEEL_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("keel_pg_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop");
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create");
        let (base, _) = admin.rsplit_once('/').expect("URL with a database");
        let url = format!("{base}/{name}");
        Some(Db { admin, name, url })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}

fn ctx(actor: Option<UserId>) -> WriteCtx {
    WriteCtx { actor, at: Timestamp(1_700_000_000_000), proposal: None }
}

fn new_item(title: &str) -> NewItem {
    NewItem {
        kind: ItemKind::Story,
        parent_id: None,
        title: title.into(),
        description: String::new(),
        story: StoryFields::default(),
        criteria: vec![],
        estimate: None,
        labels: vec![],
        assignee_id: None,
        status_id: None,
        sprint_id: None,
        release_id: None,
    }
}

async fn setup(store: &PgStore) -> (UserId, ProductId) {
    let u = store
        .create_user(
            NewUser {
                email: Email::parse("e", "ann@example.com").unwrap(),
                name: "Ann".into(),
                password_hash: "x".into(),
                is_admin: true,
            },
            &ctx(None),
        )
        .await
        .unwrap();
    let p = store
        .create_product(
            NewProduct {
                key: ProductKey::parse("k", "SHOP").unwrap(),
                name: "Shop".into(),
                description: String::new(),
                owner: None,
            },
            &ctx(Some(u.id)),
        )
        .await
        .unwrap();
    store.set_member(p.id, u.id, Roles::of(&[Role::Pm, Role::Po]), &ctx(Some(u.id))).await.unwrap();
    (u.id, p.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_and_creations() {
    let Some(db) = Db::new().await else { return };
    // Several processes starting at once on one database.
    let mut joins = Vec::new();
    for _ in 0..4 {
        let url = db.url.clone();
        joins.push(tokio::spawn(async move { PgStore::connect(&url).await.map(|_| ()) }));
    }
    for j in joins {
        j.await.unwrap().expect("connect while others migrate");
    }
    let store = Arc::new(PgStore::connect(&db.url).await.unwrap());
    assert!(store.migrate().await.unwrap().is_empty());
    let (u, p) = setup(&store).await;
    let mut joins = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        joins.push(tokio::spawn(async move {
            for i in 0..10 {
                let pos = if i % 2 == 0 { Position::Top } else { Position::Bottom };
                store.create_item(p, new_item(&format!("t{t} i{i}")), &pos, &ctx(Some(u))).await.unwrap();
            }
        }));
    }
    for j in joins {
        j.await.unwrap();
    }
    let items = store.list_items(p, &ItemFilter::default(), &Page::first(500)).await.unwrap();
    let mut numbers: Vec<i64> = items.iter().map(|i| i.number).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=80).collect::<Vec<_>>());
    for w in items.windows(2) {
        assert!(w[0].rank < w[1].rank);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_rebalance_and_keep_order() {
    let Some(db) = Db::new().await else { return };
    let store = PgStore::connect(&db.url).await.unwrap();
    let (u, p) = setup(&store).await;
    let a = store.create_item(p, new_item("a"), &Position::Bottom, &ctx(Some(u))).await.unwrap();
    let b = store.create_item(p, new_item("b"), &Position::Bottom, &ctx(Some(u))).await.unwrap();
    let mut moving = Vec::new();
    for i in 0..3 {
        moving.push(
            store.create_item(p, new_item(&format!("m{i}")), &Position::Bottom, &ctx(Some(u))).await.unwrap(),
        );
    }
    // Hammer the gap after `a` until a key grows long and the product is rebalanced.
    let mut rebalanced = false;
    for n in 0..400 {
        let m = &moving[n % 3];
        let moved = store.move_item(m.id, &Position::Before(b.id), &ctx(Some(u))).await.unwrap();
        assert!(moved.rank.as_str().len() <= keel_domain::rank::MAX_LEN + 1);
        let ev = store.history(ObjectKind::Product, p.0, None, 1).await.unwrap();
        if ev.first().is_some_and(|e| e.field == "rank_rebalanced") {
            rebalanced = true;
            break;
        }
    }
    assert!(rebalanced, "no rebalance after 400 moves into one gap");
    let items = store.list_items(p, &ItemFilter::default(), &Page::first(10)).await.unwrap();
    assert_eq!(items.first().map(|i| i.id), Some(a.id));
    assert_eq!(items.last().map(|i| i.id), Some(b.id));
    assert!(items.iter().all(|i| !i.rank.is_long()));
    let err = store.move_item(a.id, &Position::After(a.id), &ctx(Some(u))).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref v) if v.field == "after"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_search_links_and_proposals() {
    let Some(db) = Db::new().await else { return };
    let store = PgStore::connect(&db.url).await.unwrap();
    let (u, p) = setup(&store).await;
    let c = ctx(Some(u));
    let mut epic = new_item("Checkout epic");
    epic.kind = ItemKind::Epic;
    let epic = store.create_item(p, epic, &Position::Bottom, &c).await.unwrap();
    let mut story = new_item("Pay by card");
    story.parent_id = Some(epic.id);
    story.description = "Visa and Mastercard payments".into();
    story.labels = vec!["pay".into(), "pay".into(), "web".into()];
    story.criteria = vec![Criterion { id: 0, text: "works".into(), checked: false }];
    let story = store.create_item(p, story, &Position::Top, &c).await.unwrap();
    assert_eq!(story.parent_key.as_deref(), Some("SHOP-1"));
    assert_eq!(story.labels, vec!["pay", "web"]);
    assert_eq!(story.criteria[0].id, 1);

    let q = |s: &str| ItemFilter { q: Some(s.into()), ..Default::default() };
    assert_eq!(store.count_items(p, &q("master")).await.unwrap(), 1);
    assert_eq!(store.count_items(p, &q("pay & !card")).await.unwrap(), 1);
    assert_eq!(store.count_items(p, &q("'):*|")).await.unwrap(), 0);
    let lf = ItemFilter { label: Some("web".into()), ..Default::default() };
    assert_eq!(store.list_items(p, &lf, &Page::first(10)).await.unwrap().len(), 1);

    // Kind change refused while children would sit at a lower level.
    let to_task = ItemPatch { kind: Some(ItemKind::Task), ..Default::default() };
    let err = store.update_item(epic.id, epic.version, &to_task, &c).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(ref v) if v.field == "kind"), "{err:?}");
    let err = store.update_item(story.id, 99, &ItemPatch::default(), &c).await.unwrap_err();
    assert!(matches!(err, StoreError::StaleVersion { current: 1 }));
    let same = store.update_item(story.id, 1, &ItemPatch::default(), &c).await.unwrap();
    assert_eq!(same.version, 1);

    let link = store.add_link(story.id, epic.id, keel_domain::item::LinkKind::RelatesTo, &c).await.unwrap();
    assert_eq!(link.other_title, "Checkout epic");
    assert!(matches!(
        store.add_link(story.id, epic.id, keel_domain::item::LinkKind::RelatesTo, &c).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.links(epic.id).await.unwrap()[0].other_title, "Pay by card");

    // A write carrying a proposal accepts it; a second write with it fails and rolls back.
    let prop = store
        .create_proposal(
            NewProposal {
                product_id: p,
                action: Action::EditItem,
                change: Change::DeleteItem { item_id: story.id },
                reason: "dup".into(),
                summary: "Delete SHOP-2".into(),
                notify: Vec::new(),
            },
            &c,
        )
        .await
        .unwrap();
    let pc = WriteCtx { proposal: Some(prop.id), ..c };
    let patch = ItemPatch { title: Some("Pay by card, again".into()), ..Default::default() };
    let updated = store.update_item(story.id, 1, &patch, &pc).await.unwrap();
    assert_eq!(updated.version, 2);
    let patch2 = ItemPatch { title: Some("never".into()), ..Default::default() };
    assert!(matches!(store.update_item(story.id, 2, &patch2, &pc).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.item(story.id).await.unwrap().title, "Pay by card, again");
    let h = store.history(ObjectKind::Item, story.id.0, None, 10).await.unwrap();
    assert_eq!(h[0].field, "title");
    assert_eq!(h[0].proposal_id, Some(prop.id));

    store.delete_item(epic.id, &c).await.unwrap();
    let orphan = store.item(story.id).await.unwrap();
    assert_eq!((orphan.parent_id, orphan.parent_key), (None, None));
    assert!(store.links(story.id).await.unwrap().is_empty());
    let h = store.history(ObjectKind::Item, epic.id.0, None, 1).await.unwrap();
    assert_eq!(h[0].field, "deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_is_fast_and_consecutive() {
    let Some(db) = Db::new().await else { return };
    let store = PgStore::connect(&db.url).await.unwrap();
    let (u, p) = setup(&store).await;
    store.create_item(p, new_item("first"), &Position::Bottom, &ctx(Some(u))).await.unwrap();
    let total = 40_000;
    let batch = 10_000;
    let started = std::time::Instant::now();
    for b in 0..total / batch {
        let items = (0..batch)
            .map(|i| {
                let mut it = new_item(&format!("Bulk item {b}-{i} about payments"));
                it.description = "Some longer description text to index for search".into();
                it.labels = vec![format!("l{}", i % 7)];
                it.assignee_id = Some(u);
                BulkItem {
                    item: it,
                    created_at: Timestamp(1_600_000_000_000 + i as i64),
                    created_by: Some(u),
                    history: vec![BulkEvent {
                        at: Timestamp(1_600_000_100_000),
                        actor: Some(u),
                        field: "title".into(),
                        old: serde_json::json!("old"),
                        new: serde_json::json!("new"),
                    }],
                }
            })
            .collect();
        assert_eq!(store.bulk_create_items(p, items, &ctx(None)).await.unwrap(), batch as u64);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("bulk: {total} items in {secs:.2}s = {:.0} items/s", total as f64 / secs);
    assert_eq!(store.count_items(p, &ItemFilter::default()).await.unwrap(), total as i64 + 1);
    let last = store.item_by_number(p, total as i64 + 1).await.unwrap();
    assert_eq!(last.version, 2);
    let page = store
        .list_items(p, &ItemFilter { open_only: true, ..Default::default() }, &Page::first(3))
        .await
        .unwrap();
    assert_eq!(page[0].number, 1);
    assert_eq!(page[1].number, 2);
    let lf = ItemFilter { label: Some("l3".into()), ..Default::default() };
    assert!(store.count_items(p, &lf).await.unwrap() > 5000);
    let h = store.history(ObjectKind::Item, last.id.0, None, 10).await.unwrap();
    assert_eq!(h.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["title", "created"]);
    let next = store.create_item(p, new_item("after bulk"), &Position::Bottom, &ctx(Some(u))).await.unwrap();
    assert_eq!(next.number, total as i64 + 2);
    assert!(next.rank > last.rank);
    let _ = ItemId(0);
}
