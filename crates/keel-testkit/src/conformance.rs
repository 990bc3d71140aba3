//! The storage conformance suite: one async function per behaviour of the store port, run on
//! every backend by `store_tests!` in `tests/conformance.rs`.
//!
//! The tests only go through the `Arc<dyn Store>` they are given, so the same assertions hold
//! every implementation to the same contract. They assert concrete values (numbers, orders,
//! event fields), so a store that quietly does less fails.

use keel_domain::event::ObjectKind;
use keel_domain::item::{Criterion, Item, ItemKind, ItemPatch, LinkKind, NewItem, StoryFields};
use keel_domain::product::{Product, ProductKey, Role, Roles};
use keel_domain::proposal::{Change, Position, ProposalState};
use keel_domain::rights::Action;
use keel_domain::user::{Email, NewUser, User, UserPatch};
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{ItemId, LinkId, ProductId, ProposalId, Timestamp, TokenId, UserId};
use keel_store::{
    BulkEvent, BulkItem, ItemFilter, NewProduct, NewProposal, Page, ProductPatch, Session, Store, StoreError,
    WriteCtx,
};
use serde_json::json;
use std::sync::Arc;

mod records;
pub use records::*;
#[path = "conformance_workflow.rs"]
mod workflow_edit;
pub use workflow_edit::*;

// ---- helpers -------------------------------------------------------------------------------

fn at(actor: Option<UserId>, ms: i64) -> WriteCtx {
    WriteCtx { actor, at: Timestamp(ms), proposal: None }
}

fn sys() -> WriteCtx {
    at(None, 1_000)
}

fn email(s: &str) -> Email {
    Email::parse("email", s).expect("valid e-mail")
}

fn key(s: &str) -> ProductKey {
    ProductKey::parse("key", s).expect("valid key")
}

async fn mk_user(store: &Arc<dyn Store>, mail: &str, name: &str) -> User {
    let u = NewUser {
        email: email(mail),
        name: name.into(),
        password_hash: "$argon2id$x".into(),
        is_admin: false,
    };
    store.create_user(u, &sys()).await.expect("create user")
}

async fn mk_product(store: &Arc<dyn Store>, k: &str) -> Product {
    let p = NewProduct { key: key(k), name: format!("Product {k}"), description: String::new(), owner: None };
    store.create_product(p, &sys()).await.expect("create product")
}

fn new_item(kind: ItemKind, title: &str) -> NewItem {
    NewItem {
        kind,
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

async fn mk_item(store: &Arc<dyn Store>, p: ProductId, title: &str) -> Item {
    store
        .create_item(p, new_item(ItemKind::Story, title), &Position::Bottom, &sys())
        .await
        .expect("create item")
}

fn field_of(e: StoreError) -> String {
    match e {
        StoreError::Invalid(v) => v.field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// Every item of a product in backlog order, read page by page.
async fn order(store: &Arc<dyn Store>, p: ProductId) -> Vec<ItemId> {
    ids(&all(store, p, &ItemFilter::default()).await)
}

async fn all(store: &Arc<dyn Store>, p: ProductId, f: &ItemFilter) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    loop {
        let page = Page { after: out.last().map(|i| i.rank.as_str().to_string()), limit: 100 };
        let got = store.list_items(p, f, &page).await.expect("list items");
        let done = got.len() < 100;
        out.extend(got);
        if done {
            return out;
        }
    }
}

fn ids(items: &[Item]) -> Vec<ItemId> {
    items.iter().map(|i| i.id).collect()
}

async fn workflow(store: &Arc<dyn Store>, p: ProductId) -> Workflow {
    store.workflow(p).await.expect("workflow")
}

fn state(w: &Workflow, name: &str) -> keel_domain::StateId {
    w.by_name(name).expect("state").id
}

/// A tiny seeded generator (splitmix64), so the randomised tests repeat exactly.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

// ---- database ------------------------------------------------------------------------------

/// A database answers after migration, names its backend, and migrating again applies nothing.
pub async fn pings(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()));
    assert_eq!(store.migrate().await.expect("migrate"), Vec::<String>::new());
    store.refresh_statistics().await.expect("statistics refreshed");
}

// ---- users ---------------------------------------------------------------------------------

/// Users are created, read by id and e-mail, listed by e-mail and counted.
pub async fn users_create_and_read(store: Arc<dyn Store>) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let b = mk_user(&store, "bob@example.com", "Bob").await;
    let a = mk_user(&store, "ann@example.com", "Ann").await;
    assert!(b.is_active && !b.is_admin);
    assert_eq!(b.created_at, Timestamp(1_000));
    assert_eq!(store.user(b.id).await.unwrap(), b);
    assert_eq!(store.user_by_email(&email("ann@example.com")).await.unwrap(), a);
    assert!(matches!(store.user_by_email(&email("nobody@example.com")).await, Err(StoreError::NotFound)));
    assert!(matches!(store.user(UserId(999_999)).await, Err(StoreError::NotFound)));
    assert_eq!(store.count_users().await.unwrap(), 2);
    let list = store.users(&Page::first(10)).await.unwrap();
    assert_eq!(list.iter().map(|u| u.id).collect::<Vec<_>>(), vec![a.id, b.id]);
    let next = store.users(&Page { after: Some("ann@example.com".into()), limit: 10 }).await.unwrap();
    assert_eq!(next.iter().map(|u| u.id).collect::<Vec<_>>(), vec![b.id]);
}

/// A taken e-mail is a conflict.
pub async fn users_duplicate_email_conflicts(store: Arc<dyn Store>) {
    mk_user(&store, "ann@example.com", "Ann").await;
    let again = NewUser {
        email: email("ann@example.com"),
        name: "Other".into(),
        password_hash: "h".into(),
        is_admin: true,
    };
    assert!(matches!(store.create_user(again, &sys()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.count_users().await.unwrap(), 1);
}

/// Updating a user changes only what the patch names and records one event per field.
pub async fn users_update(store: Arc<dyn Store>) {
    let admin = mk_user(&store, "admin@example.com", "Admin").await;
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let patch = UserPatch { name: Some("Ann B".into()), is_active: Some(false), ..Default::default() };
    let v = store.update_user(u.id, patch, &at(Some(admin.id), 2_000)).await.unwrap();
    assert_eq!((v.name.as_str(), v.is_active, v.is_admin), ("Ann B", false, false));
    assert_eq!(store.user(u.id).await.unwrap(), v);
    let h = store.history(ObjectKind::User, u.id.0, None, 10).await.unwrap();
    let fields: Vec<&str> = h.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields.len(), 3, "{fields:?}");
    assert!(fields.contains(&"name") && fields.contains(&"is_active") && fields[2] == "created");
    let name = h.iter().find(|e| e.field == "name").unwrap();
    assert_eq!((name.old.clone(), name.new.clone()), (json!("Ann"), json!("Ann B")));
    assert_eq!(name.actor_id, Some(admin.id));
    assert_eq!(name.at, Timestamp(2_000));
    // Nothing to change: nothing recorded.
    let same = UserPatch { name: Some("Ann B".into()), ..Default::default() };
    store.update_user(u.id, same, &sys()).await.unwrap();
    assert_eq!(store.history(ObjectKind::User, u.id.0, None, 10).await.unwrap().len(), 3);
    assert!(matches!(
        store.update_user(UserId(999_999), UserPatch::default(), &sys()).await,
        Err(StoreError::NotFound)
    ));
}

// ---- tokens --------------------------------------------------------------------------------

/// Tokens: create, read with their user, list, touch, revoke (idempotently), with events.
pub async fn tokens_lifecycle(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let t = store.create_token(u.id, "CI", "abc123", &at(Some(u.id), 5_000)).await.unwrap();
    assert_eq!((t.user_id, t.name.as_str(), t.secret_hash.as_str()), (u.id, "CI", "abc123"));
    assert_eq!((t.created_at, t.last_used_at, t.revoked_at), (Timestamp(5_000), None, None));
    let (t2, u2) = store.token_with_user(t.id).await.unwrap();
    assert_eq!((t2, u2), (t.clone(), u.clone()));
    let later = store.create_token(u.id, "laptop", "def", &at(Some(u.id), 6_000)).await.unwrap();
    let list = store.tokens_of(u.id).await.unwrap();
    assert_eq!(list.iter().map(|t| t.id).collect::<Vec<_>>(), vec![later.id, t.id]);
    store.touch_token(t.id, Timestamp(7_000)).await.unwrap();
    assert_eq!(store.token(t.id).await.unwrap().last_used_at, Some(Timestamp(7_000)));
    let r = store.revoke_token(t.id, &at(Some(u.id), 8_000)).await.unwrap();
    assert_eq!(r.revoked_at, Some(Timestamp(8_000)));
    let r2 = store.revoke_token(t.id, &at(Some(u.id), 9_000)).await.unwrap();
    assert_eq!(r2.revoked_at, Some(Timestamp(8_000)), "revoking twice keeps the first time");
    assert_eq!(store.token_with_user(t.id).await.unwrap().0.revoked_at, Some(Timestamp(8_000)));
    let h = store.history(ObjectKind::Token, t.id.0, None, 10).await.unwrap();
    assert_eq!(h.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["revoked", "created"]);
    assert!(h.iter().all(|e| e.actor_id == Some(u.id)));
    assert!(matches!(store.token_with_user(TokenId(999_999)).await, Err(StoreError::NotFound)));
}

// ---- sessions ------------------------------------------------------------------------------

/// Sessions: live until they expire, deleted singly or per user, purged when expired.
pub async fn sessions_lifecycle(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let s = |id: &str, exp: i64| Session {
        id_hash: id.into(),
        user_id: u.id,
        csrf_token: format!("csrf-{id}"),
        created_at: Timestamp(1_000),
        expires_at: Timestamp(exp),
    };
    for (id, exp) in [("a", 10_000), ("b", 20_000), ("c", 30_000)] {
        store.create_session(&s(id, exp)).await.unwrap();
    }
    let (got, user) = store.session("a", Timestamp(5_000)).await.unwrap();
    assert_eq!((got, user.id), (s("a", 10_000), u.id));
    assert!(matches!(store.session("a", Timestamp(10_000)).await, Err(StoreError::NotFound)), "expired");
    assert!(matches!(store.session("zzz", Timestamp(0)).await, Err(StoreError::NotFound)));
    store.delete_session("b").await.unwrap();
    store.delete_session("b").await.unwrap();
    assert!(matches!(store.session("b", Timestamp(5_000)).await, Err(StoreError::NotFound)));
    assert_eq!(store.purge_expired(Timestamp(15_000)).await.unwrap(), 1, "only a had expired");
    assert!(store.session("c", Timestamp(15_000)).await.is_ok());
    store.delete_sessions_of(u.id).await.unwrap();
    assert!(matches!(store.session("c", Timestamp(15_000)).await, Err(StoreError::NotFound)));
}

/// Sign-in failures are counted per key since a time, and cleared.
pub async fn sign_in_failures(store: Arc<dyn Store>) {
    for t in [1_000, 2_000, 3_000] {
        store.record_sign_in_failure("acct:ann@example.com", Timestamp(t)).await.unwrap();
    }
    store.record_sign_in_failure("addr:10.0.0.1", Timestamp(2_500)).await.unwrap();
    assert_eq!(store.sign_in_failures("acct:ann@example.com", Timestamp(0)).await.unwrap(), 3);
    assert_eq!(store.sign_in_failures("acct:ann@example.com", Timestamp(2_000)).await.unwrap(), 2);
    assert_eq!(store.sign_in_failures("addr:10.0.0.1", Timestamp(0)).await.unwrap(), 1);
    store.clear_sign_in_failures("acct:ann@example.com").await.unwrap();
    assert_eq!(store.sign_in_failures("acct:ann@example.com", Timestamp(0)).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures("addr:10.0.0.1", Timestamp(0)).await.unwrap(), 1);
}

// ---- products ------------------------------------------------------------------------------

/// A new product has the default workflow of four states, and a created event.
pub async fn products_create(store: Arc<dyn Store>) {
    let admin = mk_user(&store, "admin@example.com", "Admin").await;
    let np = NewProduct { key: key("SHOP"), name: "Shop".into(), description: "Sells".into(), owner: None };
    let p = store.create_product(np, &at(Some(admin.id), 3_000)).await.unwrap();
    assert_eq!(
        (p.key.as_str(), p.name.as_str(), p.version, p.created_at),
        ("SHOP", "Shop", 1, Timestamp(3_000))
    );
    assert_eq!(store.product(p.id).await.unwrap(), p);
    assert_eq!(store.product_by_key(&key("SHOP")).await.unwrap(), p);
    assert!(matches!(store.product_by_key(&key("NOPE")).await, Err(StoreError::NotFound)));
    let w = workflow(&store, p.id).await;
    let names: Vec<(&str, Category)> = w.states.iter().map(|s| (s.name.as_str(), s.category)).collect();
    assert_eq!(
        names,
        vec![
            ("To Do", Category::Todo),
            ("In Progress", Category::InProgress),
            ("In Review", Category::InProgress),
            ("Done", Category::Done)
        ]
    );
    assert!(w.states.iter().all(|s| s.product_id == p.id));
    let h = store.history(ObjectKind::Product, p.id.0, None, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].field.as_str(), h[0].actor_id, h[0].product_id),
        ("created", Some(admin.id), Some(p.id))
    );
    mk_product(&store, "ABC").await;
    let keys: Vec<String> = store.products().await.unwrap().iter().map(|p| p.key.to_string()).collect();
    assert_eq!(keys, vec!["ABC", "SHOP"]);
}

/// A taken product key is a conflict.
pub async fn products_duplicate_key_conflicts(store: Arc<dyn Store>) {
    mk_product(&store, "SHOP").await;
    let np = NewProduct { key: key("SHOP"), name: "Again".into(), description: String::new(), owner: None };
    assert!(matches!(store.create_product(np, &sys()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.products().await.unwrap().len(), 1);
}

/// Updating a product checks its version, bumps it, and records each changed field.
pub async fn products_update(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let patch = ProductPatch { name: Some("Shop 2".into()), description: None };
    let v = store.update_product(p.id, patch.clone(), Some(1), &sys()).await.unwrap();
    assert_eq!((v.name.as_str(), v.version), ("Shop 2", 2));
    let stale = ProductPatch { name: Some("Shop 3".into()), description: None };
    assert!(matches!(
        store.update_product(p.id, stale, Some(1), &sys()).await,
        Err(StoreError::StaleVersion { current: 2 })
    ));
    let same = store.update_product(p.id, patch, None, &sys()).await.unwrap();
    assert_eq!(same.version, 2, "no change, no new version");
    let h = store.history(ObjectKind::Product, p.id.0, None, 10).await.unwrap();
    assert_eq!(h.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["name", "created"]);
}

/// Memberships: roles set and replaced, product access with and without, lists, removal.
pub async fn products_members_and_access(store: Arc<dyn Store>) {
    let admin = mk_user(&store, "admin@example.com", "Admin").await;
    let zed = mk_user(&store, "zed@example.com", "Zed").await;
    let amy = mk_user(&store, "amy@example.com", "Amy").await;
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    let (p, r) = store.product_access(&key("SHOP"), zed.id).await.unwrap();
    assert_eq!((p.id, r), (shop.id, Roles::NONE));
    assert!(matches!(store.product_access(&key("NOPE"), zed.id).await, Err(StoreError::NotFound)));
    let ctx = at(Some(admin.id), 4_000);
    let m = store.set_member(shop.id, zed.id, Roles::of(&[Role::Team]), &ctx).await.unwrap();
    assert_eq!((m.product_id, m.user_id, m.roles), (shop.id, zed.id, Roles::of(&[Role::Team])));
    store.set_member(shop.id, zed.id, Roles::of(&[Role::Pm, Role::Po]), &ctx).await.unwrap();
    store.set_member(shop.id, amy.id, Roles::of(&[Role::Stakeholder]), &ctx).await.unwrap();
    store.set_member(blog.id, zed.id, Roles::of(&[Role::Team]), &ctx).await.unwrap();
    assert_eq!(store.product_access(&key("SHOP"), zed.id).await.unwrap().1, Roles::of(&[Role::Pm, Role::Po]));
    assert_eq!(store.roles(shop.id, zed.id).await.unwrap(), Roles::of(&[Role::Pm, Role::Po]));
    assert_eq!(store.roles(shop.id, admin.id).await.unwrap(), Roles::NONE);
    let members = store.members(shop.id).await.unwrap();
    let names: Vec<(&str, Roles)> = members.iter().map(|(u, r)| (u.name.as_str(), *r)).collect();
    assert_eq!(
        names,
        vec![("Amy", Roles::of(&[Role::Stakeholder])), ("Zed", Roles::of(&[Role::Pm, Role::Po]))]
    );
    let of: Vec<(String, Roles)> =
        store.products_of(zed.id).await.unwrap().into_iter().map(|(p, r)| (p.key.to_string(), r)).collect();
    assert_eq!(
        of,
        vec![
            ("BLOG".to_string(), Roles::of(&[Role::Team])),
            ("SHOP".to_string(), Roles::of(&[Role::Pm, Role::Po]))
        ]
    );
    store.remove_member(shop.id, zed.id, &ctx).await.unwrap();
    assert_eq!(store.roles(shop.id, zed.id).await.unwrap(), Roles::NONE);
    assert!(matches!(store.remove_member(shop.id, zed.id, &ctx).await, Err(StoreError::NotFound)));
    let h = store.history(ObjectKind::Member, zed.id.0, None, 10).await.unwrap();
    let shop_events: Vec<_> = h.iter().filter(|e| e.product_id == Some(shop.id)).collect();
    assert_eq!(shop_events.len(), 3, "set, set again, removed: {h:?}");
    assert!(shop_events.iter().all(|e| e.actor_id == Some(admin.id) && e.object == ObjectKind::Member));
    assert_eq!(h.iter().filter(|e| e.product_id == Some(blog.id)).count(), 1);
}

// ---- items ---------------------------------------------------------------------------------

/// Items are numbered 1, 2, 3… per product, start in the first to-do state, and read back by
/// id and number with their keys.
pub async fn items_create_and_number(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    let w = workflow(&store, shop.id).await;
    let mut ni = new_item(ItemKind::Story, "Pay by card");
    ni.description = "Cards **only**".into();
    ni.story = StoryFields { as_a: "buyer".into(), i_want: "to pay".into(), so_that: "I get goods".into() };
    ni.criteria = vec![
        Criterion { id: 0, text: "Given a card".into(), checked: false },
        Criterion { id: 0, text: "Then it pays".into(), checked: true },
    ];
    ni.labels = vec!["pay".into(), "ui".into()];
    ni.estimate = Some(keel_domain::item::Points::parse("e", 3.5).unwrap());
    let a = store.create_item(shop.id, ni, &Position::Bottom, &at(Some(u.id), 7_000)).await.unwrap();
    assert_eq!((a.number, a.key.as_str(), a.version), (1, "SHOP-1", 1));
    assert_eq!((a.status_id, a.category), (w.initial().unwrap().id, Category::Todo));
    assert_eq!((a.created_by, a.created_at, a.updated_at), (Some(u.id), Timestamp(7_000), Timestamp(7_000)));
    assert_eq!(a.criteria.iter().map(|c| c.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(a.labels, vec!["pay", "ui"]);
    assert_eq!(store.item(a.id).await.unwrap(), a);
    assert_eq!(store.item_by_number(shop.id, 1).await.unwrap(), a);
    for n in 2..=5 {
        assert_eq!(mk_item(&store, shop.id, &format!("s{n}")).await.number, n);
    }
    assert_eq!(mk_item(&store, blog.id, "b1").await.key, "BLOG-1");
    assert!(matches!(store.item_by_number(shop.id, 99).await, Err(StoreError::NotFound)));
    assert!(matches!(store.item(ItemId(999_999)).await, Err(StoreError::NotFound)));
    let h = store.history(ObjectKind::Item, a.id.0, None, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!((h[0].field.as_str(), h[0].actor_id, h[0].product_id), ("created", Some(u.id), Some(shop.id)));
    assert_eq!(h[0].new["title"], json!("Pay by card"));
    assert_eq!(h[0].old, serde_json::Value::Null);
}

/// Twenty concurrent creates get the numbers 1 to 20: no gaps, no duplicates.
pub async fn items_number_concurrently(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create_item(p.id, new_item(ItemKind::Task, &format!("t{i}")), &Position::Bottom, &sys()).await
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.expect("join").expect("create").number);
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
    assert_eq!(mk_item(&store, p.id, "next").await.number, 21);
    assert_eq!(order(&store, p.id).await.len(), 21);
}

/// Parents: same product, a lower level, existing; changing kind or parent re-checks the
/// hierarchy and refuses cycles.
pub async fn items_parent_rules(store: Arc<dyn Store>) {
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    let epic =
        store.create_item(shop.id, new_item(ItemKind::Epic, "E"), &Position::Bottom, &sys()).await.unwrap();
    let mut s = new_item(ItemKind::Story, "S");
    s.parent_id = Some(epic.id);
    let story = store.create_item(shop.id, s, &Position::Bottom, &sys()).await.unwrap();
    assert_eq!((story.parent_id, story.parent_key.as_deref()), (Some(epic.id), Some("SHOP-1")));
    assert_eq!(store.item(story.id).await.unwrap().parent_key.as_deref(), Some("SHOP-1"));
    let mut t = new_item(ItemKind::Task, "T");
    t.parent_id = Some(story.id);
    let task = store.create_item(shop.id, t, &Position::Bottom, &sys()).await.unwrap();
    // An epic under a story, a story under a story, a parent elsewhere or nowhere: refused.
    for (kind, parent) in
        [(ItemKind::Epic, story.id), (ItemKind::Bug, story.id), (ItemKind::Story, ItemId(999_999))]
    {
        let mut ni = new_item(kind, "bad");
        ni.parent_id = Some(parent);
        assert_eq!(
            field_of(store.create_item(shop.id, ni, &Position::Bottom, &sys()).await.unwrap_err()),
            "parent"
        );
    }
    let mut other = new_item(ItemKind::Story, "elsewhere");
    other.parent_id = Some(epic.id);
    assert_eq!(
        field_of(store.create_item(blog.id, other, &Position::Bottom, &sys()).await.unwrap_err()),
        "parent"
    );
    // Refusals consumed no numbers.
    assert_eq!(mk_item(&store, shop.id, "next").await.number, 4);
    // Cycles: the epic under its own grandchild, the story under itself.
    let up = ItemPatch { parent_id: Some(Some(task.id)), ..Default::default() };
    assert_eq!(field_of(store.update_item(epic.id, 1, &up, &sys()).await.unwrap_err()), "parent");
    let me = ItemPatch { parent_id: Some(Some(story.id)), ..Default::default() };
    assert_eq!(field_of(store.update_item(story.id, 1, &me, &sys()).await.unwrap_err()), "parent");
    // A kind that its children cannot sit under.
    let demote = ItemPatch { kind: Some(ItemKind::Story), ..Default::default() };
    assert_eq!(field_of(store.update_item(epic.id, 1, &demote, &sys()).await.unwrap_err()), "kind");
    let promote = ItemPatch { kind: Some(ItemKind::Epic), ..Default::default() };
    assert_eq!(field_of(store.update_item(story.id, 1, &promote, &sys()).await.unwrap_err()), "parent");
    // Allowed: the task moves up to the epic, then loses its parent.
    let to_epic = ItemPatch { parent_id: Some(Some(epic.id)), ..Default::default() };
    let moved = store.update_item(task.id, 1, &to_epic, &sys()).await.unwrap();
    assert_eq!(
        (moved.parent_id, moved.parent_key.as_deref(), moved.version),
        (Some(epic.id), Some("SHOP-1"), 2)
    );
    let none = ItemPatch { parent_id: Some(None), ..Default::default() };
    let freed = store.update_item(task.id, 2, &none, &sys()).await.unwrap();
    assert_eq!((freed.parent_id, freed.parent_key.as_deref()), (None, None));
    assert_eq!(store.item(task.id).await.unwrap(), freed);
}

/// The status must be a state of the product's workflow; the assignee must be a member.
pub async fn items_status_and_assignee_checked(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let outsider = mk_user(&store, "out@example.com", "Out").await;
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    store.set_member(shop.id, u.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let ws = workflow(&store, shop.id).await;
    let wb = workflow(&store, blog.id).await;
    let mut ni = new_item(ItemKind::Bug, "b");
    ni.status_id = Some(state(&wb, "Done"));
    assert_eq!(
        field_of(store.create_item(shop.id, ni, &Position::Bottom, &sys()).await.unwrap_err()),
        "status"
    );
    let mut ni = new_item(ItemKind::Bug, "b");
    ni.assignee_id = Some(outsider.id);
    assert_eq!(
        field_of(store.create_item(shop.id, ni, &Position::Bottom, &sys()).await.unwrap_err()),
        "assignee"
    );
    let mut ni = new_item(ItemKind::Bug, "b");
    ni.assignee_id = Some(u.id);
    ni.status_id = Some(state(&ws, "In Review"));
    let it = store.create_item(shop.id, ni, &Position::Bottom, &sys()).await.unwrap();
    assert_eq!((it.assignee_id, it.category, it.number), (Some(u.id), Category::InProgress, 1));
    let bad = ItemPatch { assignee_id: Some(Some(outsider.id)), ..Default::default() };
    assert_eq!(field_of(store.update_item(it.id, 1, &bad, &sys()).await.unwrap_err()), "assignee");
    let bad = ItemPatch { status: Some((state(&wb, "Done"), Category::Done)), ..Default::default() };
    assert_eq!(field_of(store.update_item(it.id, 1, &bad, &sys()).await.unwrap_err()), "status");
    let done = ItemPatch { status: Some((state(&ws, "Done"), Category::Done)), ..Default::default() };
    let d = store.update_item(it.id, 1, &done, &sys()).await.unwrap();
    assert_eq!((d.status_id, d.category, d.version), (state(&ws, "Done"), Category::Done, 2));
}

/// A write naming an old version is refused with the current one; nothing is recorded.
pub async fn items_update_stale_version(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let it = mk_item(&store, p.id, "a").await;
    let t = |s: &str| ItemPatch { title: Some(s.into()), ..Default::default() };
    store.update_item(it.id, 1, &t("b"), &sys()).await.unwrap();
    assert!(matches!(
        store.update_item(it.id, 1, &t("c"), &sys()).await,
        Err(StoreError::StaleVersion { current: 2 })
    ));
    let now = store.item(it.id).await.unwrap();
    assert_eq!((now.title.as_str(), now.version), ("b", 2));
    assert_eq!(store.history(ObjectKind::Item, it.id.0, None, 10).await.unwrap().len(), 2);
    assert!(matches!(
        store.update_item(ItemId(999_999), 1, &t("x"), &sys()).await,
        Err(StoreError::NotFound)
    ));
}

/// A patch that changes nothing returns the item as it was: no new version, no event.
pub async fn items_noop_patch_records_nothing(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let it = mk_item(&store, p.id, "a").await;
    let same = ItemPatch { title: Some("a".into()), labels: Some(vec![]), ..Default::default() };
    let got = store.update_item(it.id, 1, &same, &at(None, 9_000)).await.unwrap();
    assert_eq!(got, it);
    assert_eq!(store.item(it.id).await.unwrap(), it);
    assert_eq!(store.update_item(it.id, 1, &ItemPatch::default(), &sys()).await.unwrap().version, 1);
    assert_eq!(store.history(ObjectKind::Item, it.id.0, None, 10).await.unwrap().len(), 1);
}

/// One event per changed field, with old and new values, actor and time.
pub async fn items_update_events_per_field(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    store.set_member(p.id, u.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let w = workflow(&store, p.id).await;
    let it = mk_item(&store, p.id, "old title").await;
    let patch = ItemPatch {
        title: Some("new title".into()),
        labels: Some(vec!["x".into()]),
        assignee_id: Some(Some(u.id)),
        status: Some((state(&w, "In Progress"), Category::InProgress)),
        criteria: Some(vec![Criterion { id: 0, text: "works".into(), checked: false }]),
        ..Default::default()
    };
    let v = store.update_item(it.id, 1, &patch, &at(Some(u.id), 50_000)).await.unwrap();
    assert_eq!((v.version, v.updated_at, v.title.as_str()), (2, Timestamp(50_000), "new title"));
    assert_eq!(v.criteria, vec![Criterion { id: 1, text: "works".into(), checked: false }]);
    assert_eq!((v.category, v.assignee_id), (Category::InProgress, Some(u.id)));
    assert_eq!(store.item(it.id).await.unwrap(), v);
    let h = store.history(ObjectKind::Item, it.id.0, None, 20).await.unwrap();
    let mut fields: Vec<&str> = h.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, vec!["assignee", "created", "criteria", "labels", "status", "title"]);
    let title = h.iter().find(|e| e.field == "title").unwrap();
    assert_eq!((&title.old, &title.new), (&json!("old title"), &json!("new title")));
    assert_eq!((title.actor_id, title.at, title.product_id), (Some(u.id), Timestamp(50_000), Some(p.id)));
    let st = h.iter().find(|e| e.field == "status").unwrap();
    assert_eq!((&st.old, &st.new), (&json!(it.status_id), &json!(state(&w, "In Progress"))));
    // The label index follows the change.
    let f = ItemFilter { label: Some("x".into()), ..Default::default() };
    assert_eq!(ids(&store.list_items(p.id, &f, &Page::first(10)).await.unwrap()), vec![it.id]);
}

/// Moves before, after, to the top and the bottom give exactly the expected order.
pub async fn items_move_positions(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut v = Vec::new();
    for t in ["a", "b", "c", "d"] {
        v.push(mk_item(&store, p.id, t).await.id);
    }
    let (a, b, c, d) = (v[0], v[1], v[2], v[3]);
    assert_eq!(order(&store, p.id).await, vec![a, b, c, d]);
    let m = store.move_item(d, &Position::Before(b), &at(None, 2_000)).await.unwrap();
    assert_eq!((m.version, m.updated_at), (2, Timestamp(2_000)));
    assert_eq!(order(&store, p.id).await, vec![a, d, b, c]);
    store.move_item(a, &Position::After(b), &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![d, b, a, c]);
    store.move_item(c, &Position::Top, &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![c, d, b, a]);
    store.move_item(c, &Position::Bottom, &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![d, b, a, c]);
    store.move_item(c, &Position::After(a), &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![d, b, a, c]);
    store.move_item(d, &Position::After(c), &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![b, a, c, d]);
    // New items go where they are asked to.
    let top = store.create_item(p.id, new_item(ItemKind::Bug, "top"), &Position::Top, &sys()).await.unwrap();
    let mid =
        store.create_item(p.id, new_item(ItemKind::Bug, "mid"), &Position::After(a), &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![top.id, b, a, mid.id, c, d]);
    let h = store.history(ObjectKind::Item, d.0, None, 10).await.unwrap();
    assert_eq!(h.iter().filter(|e| e.field == "rank").count(), 2);
    // A move based on a stale version is refused and writes nothing; the current one lands.
    let cur = store.item(d).await.unwrap().version;
    let stale = store.move_item_checked(d, Some(cur - 1), &Position::Top, &sys()).await.unwrap_err();
    assert!(matches!(stale, StoreError::StaleVersion { current } if current == cur), "{stale:?}");
    assert_eq!(order(&store, p.id).await, vec![top.id, b, a, mid.id, c, d]);
    let moved = store.move_item_checked(d, Some(cur), &Position::Top, &sys()).await.unwrap();
    assert_eq!(moved.version, cur + 1);
    assert_eq!(order(&store, p.id).await, vec![d, top.id, b, a, mid.id, c]);
    store.move_item(d, &Position::Bottom, &sys()).await.unwrap();
    // Relative to itself, or to nothing: refused.
    assert_eq!(field_of(store.move_item(a, &Position::Before(a), &sys()).await.unwrap_err()), "before");
    assert_eq!(
        field_of(store.move_item(a, &Position::After(ItemId(999_999)), &sys()).await.unwrap_err()),
        "after"
    );
}

/// A neighbour of another product is refused on the field that named it.
pub async fn items_move_other_product_invalid(store: Arc<dyn Store>) {
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    let a = mk_item(&store, shop.id, "a").await;
    let b = mk_item(&store, shop.id, "b").await;
    let x = mk_item(&store, blog.id, "x").await;
    assert_eq!(field_of(store.move_item(a.id, &Position::Before(x.id), &sys()).await.unwrap_err()), "before");
    assert_eq!(field_of(store.move_item(a.id, &Position::After(x.id), &sys()).await.unwrap_err()), "after");
    let ni = new_item(ItemKind::Story, "c");
    assert_eq!(
        field_of(store.create_item(shop.id, ni, &Position::After(x.id), &sys()).await.unwrap_err()),
        "after"
    );
    assert_eq!(order(&store, shop.id).await, vec![a.id, b.id]);
    assert_eq!(store.item(a.id).await.unwrap().version, 1);
}

/// 300 random moves keep the backlog in the order of a model list.
pub async fn items_random_moves_follow_model(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut model = Vec::new();
    for i in 0..30 {
        model.push(mk_item(&store, p.id, &format!("i{i}")).await.id);
    }
    let mut rng = Rng(42);
    for step in 0..300 {
        let moving = model[rng.below(model.len())];
        let mut rest: Vec<ItemId> = model.iter().copied().filter(|&x| x != moving).collect();
        let other = rest[rng.below(rest.len())];
        let oi = rest.iter().position(|&x| x == other).unwrap();
        let pos = match rng.below(6) {
            0 => {
                rest.insert(0, moving);
                Position::Top
            }
            1 => {
                rest.push(moving);
                Position::Bottom
            }
            2 | 3 => {
                rest.insert(oi, moving);
                Position::Before(other)
            }
            _ => {
                rest.insert(oi + 1, moving);
                Position::After(other)
            }
        };
        store.move_item(moving, &pos, &sys()).await.unwrap_or_else(|e| panic!("move {step}: {e}"));
        model = rest;
        if step % 50 == 49 {
            assert_eq!(order(&store, p.id).await, model, "after move {step}");
        }
    }
    assert_eq!(order(&store, p.id).await, model);
}

/// Moving into the same gap again and again makes keys long; the store then rebalances the
/// product's keys (one `rank_rebalanced` event) and the order survives.
pub async fn items_rebalance_keeps_order(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut v = Vec::new();
    for t in ["a", "b", "m1", "m2", "z"] {
        v.push(mk_item(&store, p.id, t).await.id);
    }
    let (a, b, m1, m2, z) = (v[0], v[1], v[2], v[3], v[4]);
    let mut rebalanced = false;
    let mut moves = 0;
    while !rebalanced && moves < 2_000 {
        let m = if moves % 2 == 0 { m1 } else { m2 };
        store.move_item(m, &Position::Before(b), &sys()).await.unwrap();
        moves += 1;
        if moves % 20 == 0 || moves > 100 {
            let h = store.history(ObjectKind::Product, p.id.0, None, 5).await.unwrap();
            rebalanced = h.iter().any(|e| e.field == "rank_rebalanced");
        }
    }
    assert!(rebalanced, "no rebalance after {moves} moves");
    assert!(moves > 50, "rebalanced after only {moves} moves");
    let last = if moves % 2 == 0 { m2 } else { m1 };
    let before_last = if last == m1 { m2 } else { m1 };
    let items = all(&store, p.id, &ItemFilter::default()).await;
    assert_eq!(ids(&items), vec![a, before_last, last, b, z]);
    assert!(
        items.iter().all(|i| !i.rank.is_long()),
        "{:?}",
        items.iter().map(|i| i.rank.to_string()).collect::<Vec<_>>()
    );
    // Moving on after the rebalance still works.
    store.move_item(z, &Position::Top, &sys()).await.unwrap();
    assert_eq!(order(&store, p.id).await, vec![z, a, before_last, last, b]);
}

/// Deleting an item clears its children's parent, removes its links, and keeps its last state
/// in a `deleted` event.
pub async fn items_delete(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    let epic =
        store.create_item(p.id, new_item(ItemKind::Epic, "E"), &Position::Bottom, &sys()).await.unwrap();
    let mut s = new_item(ItemKind::Story, "S");
    s.parent_id = Some(epic.id);
    let child = store.create_item(p.id, s, &Position::Bottom, &sys()).await.unwrap();
    let other = mk_item(&store, p.id, "other").await;
    store.add_link(other.id, epic.id, LinkKind::Blocks, &sys()).await.unwrap();
    store.delete_item(epic.id, &at(Some(u.id), 60_000)).await.unwrap();
    assert!(matches!(store.item(epic.id).await, Err(StoreError::NotFound)));
    let c = store.item(child.id).await.unwrap();
    assert_eq!((c.parent_id, c.parent_key.as_deref()), (None, None));
    assert!(store
        .history(ObjectKind::Item, child.id.0, None, 10)
        .await
        .unwrap()
        .iter()
        .any(|e| e.field == "parent"));
    assert!(store.links(other.id).await.unwrap().is_empty());
    let h = store.history(ObjectKind::Item, epic.id.0, None, 10).await.unwrap();
    assert_eq!((h[0].field.as_str(), h[0].actor_id, h[0].at), ("deleted", Some(u.id), Timestamp(60_000)));
    assert_eq!(h[0].old["title"], json!("E"));
    assert_eq!(order(&store, p.id).await, vec![child.id, other.id]);
    assert!(matches!(store.delete_item(epic.id, &sys()).await, Err(StoreError::NotFound)));
    // Numbers are never reused.
    assert_eq!(mk_item(&store, p.id, "after").await.number, 4);
}

/// Every filter condition, alone and combined, in rank order; counts agree with lists.
pub async fn items_filters(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    let other = mk_product(&store, "BLOG").await;
    store.set_member(p.id, u.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let w = workflow(&store, p.id).await;
    let mut n = new_item(ItemKind::Story, "Checkout flow payment");
    n.labels = vec!["ui".into()];
    n.assignee_id = Some(u.id);
    let a = store.create_item(p.id, n, &Position::Bottom, &sys()).await.unwrap();
    let mut n = new_item(ItemKind::Bug, "Payment gateway timeout");
    n.labels = vec!["api".into(), "ui2".into()];
    n.status_id = Some(state(&w, "In Progress"));
    n.description = "The provider answers slowly".into();
    let b = store.create_item(p.id, n, &Position::Bottom, &sys()).await.unwrap();
    let mut n = new_item(ItemKind::Task, "Refactor cart");
    n.parent_id = Some(a.id);
    n.status_id = Some(state(&w, "Done"));
    let c = store.create_item(p.id, n, &Position::Bottom, &sys()).await.unwrap();
    let d = store
        .create_item(p.id, new_item(ItemKind::Epic, "Relaunch"), &Position::Bottom, &sys())
        .await
        .unwrap();
    mk_item(&store, other.id, "Payment elsewhere").await;
    let check = |f: ItemFilter, want: Vec<ItemId>| {
        let store = store.clone();
        async move {
            let got = ids(&store.list_items(p.id, &f, &Page::first(50)).await.unwrap());
            assert_eq!(got, want, "{f:?}");
            assert_eq!(store.count_items(p.id, &f).await.unwrap(), want.len() as i64, "count {f:?}");
        }
    };
    check(ItemFilter::default(), vec![a.id, b.id, c.id, d.id]).await;
    check(ItemFilter { status: Some(state(&w, "In Progress")), ..Default::default() }, vec![b.id]).await;
    check(ItemFilter { category: Some(Category::Done), ..Default::default() }, vec![c.id]).await;
    check(ItemFilter { category: Some(Category::Todo), ..Default::default() }, vec![a.id, d.id]).await;
    check(ItemFilter { open_only: true, ..Default::default() }, vec![a.id, b.id, d.id]).await;
    check(ItemFilter { kind: Some(ItemKind::Bug), ..Default::default() }, vec![b.id]).await;
    check(ItemFilter { assignee: Some(Some(u.id)), ..Default::default() }, vec![a.id]).await;
    check(ItemFilter { assignee: Some(None), ..Default::default() }, vec![b.id, c.id, d.id]).await;
    check(ItemFilter { label: Some("ui".into()), ..Default::default() }, vec![a.id]).await;
    check(ItemFilter { label: Some("nope".into()), ..Default::default() }, vec![]).await;
    check(ItemFilter { parent: Some(a.id), ..Default::default() }, vec![c.id]).await;
    let q = |s: &str| ItemFilter { q: Some(s.into()), ..Default::default() };
    check(q("payment"), vec![a.id, b.id]).await;
    check(q("Pay"), vec![a.id, b.id]).await;
    check(q("gateway timeout"), vec![b.id]).await;
    check(q("timeout gateway"), vec![b.id]).await;
    check(q("provider"), vec![b.id]).await;
    check(q("payment cart"), vec![]).await;
    check(q("\"payment\" OR (cart*"), vec![]).await;
    check(q("payment)(*"), vec![a.id, b.id]).await;
    check(q("  ***  \"\" - ()"), vec![]).await;
    check(q(""), vec![]).await;
    let combined = ItemFilter {
        open_only: true,
        kind: Some(ItemKind::Story),
        q: Some("pay".into()),
        ..Default::default()
    };
    check(combined, vec![a.id]).await;
    // Search follows edits of the title.
    let t = ItemPatch { title: Some("Wallet support".into()), ..Default::default() };
    store.update_item(d.id, 1, &t, &sys()).await.unwrap();
    check(q("wallet"), vec![d.id]).await;
    check(q("relaunch"), vec![]).await;
    store.delete_item(b.id, &sys()).await.unwrap();
    check(q("payment"), vec![a.id]).await;
}

/// Paging by rank cursor returns every item once, in order.
pub async fn items_paging(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let mut want = Vec::new();
    for i in 0..25 {
        want.push(mk_item(&store, p.id, &format!("i{i}")).await.id);
    }
    let mut got = Vec::new();
    let mut after = None;
    let mut sizes = Vec::new();
    loop {
        let page = store
            .list_items(p.id, &ItemFilter::default(), &Page { after: after.clone(), limit: 10 })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        sizes.push(page.len());
        after = page.last().map(|i| i.rank.as_str().to_string());
        got.extend(ids(&page));
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(got, want);
    assert_eq!(store.count_items(p.id, &ItemFilter::default()).await.unwrap(), 25);
}

// ---- links ---------------------------------------------------------------------------------

/// Links: added once, listed from both ends with the other end's title, removed from either.
pub async fn links_lifecycle(store: Arc<dyn Store>) {
    let shop = mk_product(&store, "SHOP").await;
    let blog = mk_product(&store, "BLOG").await;
    let a = mk_item(&store, shop.id, "Alpha").await;
    let b = mk_item(&store, shop.id, "Beta").await;
    let c = mk_item(&store, shop.id, "Gamma").await;
    let x = mk_item(&store, blog.id, "Elsewhere").await;
    let l = store.add_link(a.id, b.id, LinkKind::Blocks, &sys()).await.unwrap();
    assert_eq!((l.from_id, l.to_id, l.kind), (a.id, b.id, LinkKind::Blocks));
    assert_eq!((l.from_key.as_str(), l.to_key.as_str()), ("SHOP-1", "SHOP-2"));
    assert!(matches!(
        store.add_link(a.id, b.id, LinkKind::Blocks, &sys()).await,
        Err(StoreError::Conflict(_))
    ));
    let l2 = store.add_link(c.id, a.id, LinkKind::RelatesTo, &sys()).await.unwrap();
    assert_eq!(field_of(store.add_link(a.id, a.id, LinkKind::RelatesTo, &sys()).await.unwrap_err()), "to");
    assert_eq!(field_of(store.add_link(a.id, x.id, LinkKind::RelatesTo, &sys()).await.unwrap_err()), "to");
    let mut from_a = store.links(a.id).await.unwrap();
    from_a.sort_by_key(|l| l.id);
    assert_eq!(
        from_a.iter().map(|l| (l.id, l.other_title.as_str())).collect::<Vec<_>>(),
        vec![(l.id, "Beta"), (l2.id, "Gamma")]
    );
    let from_b = store.links(b.id).await.unwrap();
    assert_eq!(from_b.len(), 1);
    assert_eq!((from_b[0].id, from_b[0].from_id, from_b[0].other_title.as_str()), (l.id, a.id, "Alpha"));
    let hb = store.history(ObjectKind::Item, b.id.0, None, 10).await.unwrap();
    assert_eq!(hb.iter().filter(|e| e.field == "links").count(), 1);
    // Removal through an item the link does not involve is not found.
    assert!(matches!(store.remove_link(c.id, l.id, &sys()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.remove_link(a.id, LinkId(999_999), &sys()).await, Err(StoreError::NotFound)));
    store.remove_link(b.id, l.id, &sys()).await.unwrap();
    assert_eq!(ids_of_links(&store.links(a.id).await.unwrap()), vec![l2.id]);
    assert!(store.links(b.id).await.unwrap().is_empty());
    let ha = store.history(ObjectKind::Item, a.id.0, None, 10).await.unwrap();
    assert_eq!(ha.iter().filter(|e| e.field == "links").count(), 3, "added twice, removed once");
    // Linking again after removal is allowed.
    store.add_link(a.id, b.id, LinkKind::Blocks, &sys()).await.unwrap();
}

fn ids_of_links(l: &[keel_domain::item::ItemLink]) -> Vec<LinkId> {
    l.iter().map(|l| l.id).collect()
}

// ---- proposals -----------------------------------------------------------------------------

fn proposal_of(p: ProductId, item: ItemId, title: &str) -> NewProposal {
    NewProposal {
        product_id: p,
        action: Action::EditItem,
        change: Change::UpdateItem {
            item_id: item,
            patch: ItemPatch { title: Some(title.into()), ..Default::default() },
        },
        reason: "clearer".into(),
        summary: format!("Rename to {title}"),
        notify: Vec::new(),
    }
}

/// Proposals are stored pending, listed newest first by state and item, and closed once.
pub async fn proposals_lifecycle(store: Arc<dyn Store>) {
    let pm = mk_user(&store, "pm@example.com", "PM").await;
    let team = mk_user(&store, "team@example.com", "Team").await;
    let p = mk_product(&store, "SHOP").await;
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let ctx = at(Some(team.id), 10_000);
    let p1 = store.create_proposal(proposal_of(p.id, a.id, "A1"), &ctx).await.unwrap();
    let p2 = store.create_proposal(proposal_of(p.id, b.id, "B1"), &ctx).await.unwrap();
    let mv = NewProposal {
        product_id: p.id,
        action: Action::Reorder,
        change: Change::MoveItem { item_id: a.id, position: Position::Top },
        reason: "urgent".into(),
        summary: "Move SHOP-1 to the top".into(),
        notify: Vec::new(),
    };
    let p3 = store.create_proposal(mv, &ctx).await.unwrap();
    assert_eq!(
        (p1.state, p1.proposed_by, p1.created_at, p1.action),
        (ProposalState::Pending, team.id, Timestamp(10_000), Action::EditItem)
    );
    assert_eq!(store.proposal(p1.id).await.unwrap(), p1);
    assert_eq!(
        store.proposal(p3.id).await.unwrap().change,
        Change::MoveItem { item_id: a.id, position: Position::Top }
    );
    let list = |s: Option<ProposalState>, i: Option<ItemId>| {
        let store = store.clone();
        async move {
            store
                .proposals(p.id, s, i, &Page::first(10))
                .await
                .unwrap()
                .iter()
                .map(|p| p.id)
                .collect::<Vec<ProposalId>>()
        }
    };
    assert_eq!(list(None, None).await, vec![p3.id, p2.id, p1.id]);
    assert_eq!(list(None, Some(a.id)).await, vec![p3.id, p1.id]);
    let page2 = store
        .proposals(p.id, None, None, &Page { after: Some(p2.id.0.to_string()), limit: 10 })
        .await
        .unwrap();
    assert_eq!(page2.iter().map(|p| p.id).collect::<Vec<_>>(), vec![p1.id]);
    let closed =
        store.close_proposal(p1.id, ProposalState::Declined, "no", &at(Some(pm.id), 11_000)).await.unwrap();
    assert_eq!(
        (closed.state, closed.decided_by, closed.decided_at, closed.decision_reason.as_deref()),
        (ProposalState::Declined, Some(pm.id), Some(Timestamp(11_000)), Some("no"))
    );
    assert_eq!(store.proposal(p1.id).await.unwrap(), closed);
    assert!(matches!(
        store.close_proposal(p1.id, ProposalState::Stale, "again", &sys()).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(list(Some(ProposalState::Pending), None).await, vec![p3.id, p2.id]);
    assert_eq!(list(Some(ProposalState::Declined), Some(a.id)).await, vec![p1.id]);
    let h = store.history(ObjectKind::Proposal, p2.id.0, None, 10).await.unwrap();
    assert_eq!((h.len(), h[0].field.as_str(), h[0].actor_id), (1, "created", Some(team.id)));
}

/// A write carrying a proposal accepts it in the same transaction and tags its events; a
/// second acceptance conflicts and rolls the whole write back.
pub async fn proposals_accept_through_write(store: Arc<dyn Store>) {
    let pm = mk_user(&store, "pm@example.com", "PM").await;
    let team = mk_user(&store, "team@example.com", "Team").await;
    let p = mk_product(&store, "SHOP").await;
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let prop =
        store.create_proposal(proposal_of(p.id, a.id, "A1"), &at(Some(team.id), 10_000)).await.unwrap();
    let ctx = WriteCtx { actor: Some(pm.id), at: Timestamp(20_000), proposal: Some(prop.id) };
    let patch = ItemPatch { title: Some("A1".into()), ..Default::default() };
    let v = store.update_item(a.id, 1, &patch, &ctx).await.unwrap();
    assert_eq!((v.title.as_str(), v.version), ("A1", 2));
    let accepted = store.proposal(prop.id).await.unwrap();
    assert_eq!(
        (accepted.state, accepted.decided_by, accepted.decided_at),
        (ProposalState::Accepted, Some(pm.id), Some(Timestamp(20_000)))
    );
    let h = store.history(ObjectKind::Item, a.id.0, None, 10).await.unwrap();
    assert_eq!((h[0].field.as_str(), h[0].proposal_id, h[0].actor_id), ("title", Some(prop.id), Some(pm.id)));
    assert_eq!(h[1].proposal_id, None);
    // Accepting again: conflict, and neither the item nor the history changes.
    let before = store.product_events(p.id, None, 500).await.unwrap().len();
    let again = ItemPatch { title: Some("A2".into()), ..Default::default() };
    assert!(matches!(store.update_item(a.id, 2, &again, &ctx).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.move_item(b.id, &Position::Top, &ctx).await, Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.create_item(p.id, new_item(ItemKind::Bug, "x"), &Position::Bottom, &ctx).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.item(a.id).await.unwrap(), v);
    assert_eq!(order(&store, p.id).await, vec![a.id, b.id]);
    assert_eq!(store.product_events(p.id, None, 500).await.unwrap().len(), before);
    assert_eq!(mk_item(&store, p.id, "c").await.number, 3, "the refused create took no number");
    // Declined proposals cannot be accepted either.
    let p2 = store.create_proposal(proposal_of(p.id, b.id, "B1"), &at(Some(team.id), 10_000)).await.unwrap();
    store.close_proposal(p2.id, ProposalState::Declined, "no", &at(Some(pm.id), 1)).await.unwrap();
    let ctx2 = WriteCtx { proposal: Some(p2.id), ..ctx };
    assert!(matches!(store.delete_item(b.id, &ctx2).await, Err(StoreError::Conflict(_))));
    assert!(store.item(b.id).await.is_ok());
}

/// The notifications of `user`, oldest first, as (reason, object id, text, link, actor).
async fn notices_of(store: &Arc<dyn Store>, user: UserId) -> Vec<(String, i64, String, String, Option<i64>)> {
    let f = keel_store::RecordFilter::of(ObjectKind::Notification).parent(user.0);
    let list = store.records(&f, &Page::first(100)).await.unwrap();
    list.into_iter()
        .map(|r| {
            assert_eq!(r.state, "unread");
            let d = &r.data;
            (
                d["reason"].as_str().unwrap_or_default().to_string(),
                d["object_id"].as_i64().unwrap_or_default(),
                d["text"].as_str().unwrap_or_default().to_string(),
                d["link"].as_str().unwrap_or_default().to_string(),
                d["actor"].as_i64(),
            )
        })
        .collect()
}

/// A proposal's deciders are notified in its own transaction, and its proposer in the
/// transaction that accepts or declines it: never the actor, never a former member, and a
/// refused write leaves no notification behind.
pub async fn proposals_notify_in_the_same_transaction(store: Arc<dyn Store>) {
    let pm = mk_user(&store, "pm@example.com", "Pam").await;
    let team = mk_user(&store, "team@example.com", "Tess").await;
    let gone = mk_user(&store, "gone@example.com", "Gus").await;
    let p = mk_product(&store, "SHOP").await;
    store.set_member(p.id, pm.id, Roles::of(&[Role::Pm]), &sys()).await.unwrap();
    store.set_member(p.id, team.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let a = mk_item(&store, p.id, "a").await;
    let b = mk_item(&store, p.id, "b").await;
    let notify = |mut np: NewProposal, to: Vec<UserId>| {
        np.notify = to;
        np
    };
    // The proposer is never told of their own proposal, even when listed.
    let p1 = store
        .create_proposal(
            notify(proposal_of(p.id, a.id, "A1"), vec![pm.id, team.id]),
            &at(Some(team.id), 10_000),
        )
        .await
        .unwrap();
    assert_eq!(
        notices_of(&store, pm.id).await,
        vec![(
            "proposal".into(),
            p1.id.0,
            "Tess proposes: Rename to A1".into(),
            format!("/products/SHOP/proposals#proposal-{}", p1.id.0),
            Some(team.id.0)
        )]
    );
    assert!(notices_of(&store, team.id).await.is_empty());
    let created = store.history(ObjectKind::Proposal, p1.id.0, None, 10).await.unwrap();
    assert_eq!(created.len(), 1);

    // Accepting through a write: the proposer hears of it in that write's transaction.
    let ctx = WriteCtx { actor: Some(pm.id), at: Timestamp(20_000), proposal: Some(p1.id) };
    let patch = ItemPatch { title: Some("A1".into()), ..Default::default() };
    store.update_item(a.id, 1, &patch, &ctx).await.unwrap();
    let link1 = format!("/products/SHOP/proposals#proposal-{}", p1.id.0);
    let accepted = (
        "decision".to_string(),
        p1.id.0,
        "Pam accepted your proposal: Rename to A1".to_string(),
        link1,
        Some(pm.id.0),
    );
    assert_eq!(notices_of(&store, team.id).await, vec![accepted.clone()]);

    // A refused write (the proposal is decided already) writes no notification at all.
    let before = (notices_of(&store, pm.id).await.len(), notices_of(&store, team.id).await.len());
    let again = ItemPatch { title: Some("A2".into()), ..Default::default() };
    assert!(matches!(store.update_item(a.id, 2, &again, &ctx).await, Err(StoreError::Conflict(_))));
    let refused = store
        .create_proposal(
            notify(proposal_of(p.id, b.id, "B0"), vec![pm.id]),
            &WriteCtx { actor: Some(team.id), ..ctx },
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert_eq!((notices_of(&store, pm.id).await.len(), notices_of(&store, team.id).await.len()), before);

    // Declining: the proposer reads who and why.
    let p2 = store
        .create_proposal(notify(proposal_of(p.id, b.id, "B1"), vec![pm.id]), &at(Some(team.id), 30_000))
        .await
        .unwrap();
    store.close_proposal(p2.id, ProposalState::Declined, "not now", &at(Some(pm.id), 31_000)).await.unwrap();
    let t = notices_of(&store, team.id).await;
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].0, "decision");
    assert_eq!(t[1].1, p2.id.0);
    assert_eq!(t[1].2, "Pam rejected your proposal: Rename to B1 (reason: not now)");
    assert_eq!(notices_of(&store, pm.id).await.len(), 2);

    // Deciding one's own proposal tells nobody; nor does deciding a non-member's proposal.
    let own = store.create_proposal(proposal_of(p.id, b.id, "B2"), &at(Some(pm.id), 40_000)).await.unwrap();
    store
        .close_proposal(own.id, ProposalState::Stale, "could not be applied", &at(Some(pm.id), 41_000))
        .await
        .unwrap();
    let stranger =
        store.create_proposal(proposal_of(p.id, b.id, "B3"), &at(Some(gone.id), 42_000)).await.unwrap();
    store.close_proposal(stranger.id, ProposalState::Declined, "no", &at(Some(pm.id), 43_000)).await.unwrap();
    assert!(notices_of(&store, gone.id).await.is_empty());
    assert_eq!(notices_of(&store, pm.id).await.len(), 2);
    assert_eq!(notices_of(&store, team.id).await.len(), 2);
}

// ---- history -------------------------------------------------------------------------------

/// History reads newest first with an id cursor; product events read in commit order after a
/// cursor; a failed write leaves no event behind.
pub async fn history_order_and_atomicity(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    let it = mk_item(&store, p.id, "t0").await;
    for i in 1..=5 {
        let patch = ItemPatch { title: Some(format!("t{i}")), ..Default::default() };
        store.update_item(it.id, i, &patch, &at(Some(u.id), 1_000 + i)).await.unwrap();
    }
    let h = store.history(ObjectKind::Item, it.id.0, None, 3).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.new.clone()).collect::<Vec<_>>(),
        vec![json!("t5"), json!("t4"), json!("t3")]
    );
    assert!(h.windows(2).all(|w| w[0].id > w[1].id));
    let h2 = store.history(ObjectKind::Item, it.id.0, Some(h[2].id), 10).await.unwrap();
    assert_eq!(h2.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["title", "title", "created"]);
    assert!(h
        .iter()
        .all(|e| e.actor_id == Some(u.id) && e.object == ObjectKind::Item && e.object_id == it.id.0));
    let all = store.product_events(p.id, None, 100).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all.first().map(|e| (e.object, e.field.as_str())), Some((ObjectKind::Product, "created")));
    assert_eq!(all.len(), 7, "product created, item created, five titles");
    let after = store.product_events(p.id, Some(all[4].id), 100).await.unwrap();
    assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), vec![all[5].id, all[6].id]);
    // Failures roll back: no event, no change.
    let bad = ItemPatch { title: Some("x".into()), ..Default::default() };
    assert!(store.update_item(it.id, 1, &bad, &sys()).await.is_err());
    let mut ni = new_item(ItemKind::Story, "bad");
    ni.parent_id = Some(ItemId(999_999));
    assert!(store.create_item(p.id, ni, &Position::Bottom, &sys()).await.is_err());
    assert!(store.move_item(it.id, &Position::Before(ItemId(999_999)), &sys()).await.is_err());
    assert_eq!(store.product_events(p.id, None, 100).await.unwrap().len(), 7);
    assert_eq!(mk_item(&store, p.id, "next").await.number, 2);
}

// ---- bulk ----------------------------------------------------------------------------------

/// The bulk path appends items at the bottom in the order given, numbers them on from the
/// product's counter, and stores their past history.
/// A bulk write has the effects of the per-event triggers (webhook outbox, flow rows, sprint
/// memberships) whatever way a store writes it, and leaves the triggers working afterwards, also
/// after a refused batch.
pub async fn bulk_writes_keep_trigger_effects(store: Arc<dyn Store>) {
    use keel_store::webhooks::NewWebhook;
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    store.set_member(p.id, u.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let w = workflow(&store, p.id).await;
    let (todo, doing, done) = (w.initial().unwrap().id, state(&w, "In Progress"), state(&w, "Done"));
    let hook = store
        .create_webhook(
            NewWebhook {
                product_id: p.id,
                url: "http://127.0.0.1:9/hook".into(),
                secret: "s".into(),
                events: vec!["item.created".into(), "item.moved".into()],
                active: true,
            },
            &sys(),
        )
        .await
        .unwrap();
    let ev = |at: i64, field: &str, old: serde_json::Value, new: serde_json::Value| BulkEvent {
        at: Timestamp(at),
        actor: Some(u.id),
        field: field.into(),
        old,
        new,
    };
    let mut finished = new_item(ItemKind::Story, "finished");
    finished.status_id = Some(done);
    let mut going = new_item(ItemKind::Story, "going");
    going.status_id = Some(doing);
    let items = vec![
        BulkItem {
            item: finished,
            created_at: Timestamp(10_000),
            created_by: Some(u.id),
            history: vec![
                ev(20_000, "status", json!(todo), json!(doing)),
                ev(30_000, "estimate", json!(null), json!(3.0)),
                ev(40_000, "status", json!(doing), json!(done)),
            ],
        },
        BulkItem {
            item: going,
            created_at: Timestamp(10_000),
            created_by: None,
            history: vec![ev(25_000, "status", json!(todo), json!(doing))],
        },
        BulkItem {
            item: new_item(ItemKind::Bug, "waiting"),
            created_at: Timestamp(10_000),
            created_by: None,
            history: vec![],
        },
    ];
    assert_eq!(store.bulk_create_items(p.id, items, &sys()).await.unwrap(), 3);
    let types = |d: Vec<keel_store::webhooks::Delivery>| {
        let mut t: Vec<String> = d.into_iter().map(|d| d.event_type).collect();
        t.sort();
        t
    };
    // Three creations and three moves; the estimate is not subscribed to.
    assert_eq!(
        types(store.deliveries(hook.id, 100).await.unwrap()),
        ["item.created", "item.created", "item.created", "item.moved", "item.moved", "item.moved"]
    );
    let listed = all(&store, p.id, &ItemFilter::default()).await;
    let flows = store.flow_rows_of(&listed.iter().map(|i| i.id.0).collect::<Vec<_>>()).await.unwrap();
    let flow = |title: &str| {
        let id = listed.iter().find(|i| i.title == title).unwrap().id.0;
        flows.iter().find(|f| f.item_id == id).cloned().expect("a flow row")
    };
    let f = flow("finished");
    assert_eq!(
        (f.created_at, f.started_at, f.done_at, f.wip_since),
        (Timestamp(10_000), Some(Timestamp(20_000)), Some(Timestamp(40_000)), None)
    );
    let g = flow("going");
    assert_eq!(
        (g.started_at, g.done_at, g.wip_since),
        (Some(Timestamp(25_000)), None, Some(Timestamp(25_000)))
    );
    let b = flow("waiting");
    assert_eq!((b.kind, b.started_at, b.done_at), (ItemKind::Bug, None, None));
    // A refused batch changes nothing, and the triggers work for ordinary writes after it.
    let mut bad = new_item(ItemKind::Story, "bad");
    bad.status_id = Some(keel_domain::StateId(999_999));
    let batch = vec![BulkItem { item: bad, created_at: Timestamp(1), created_by: None, history: vec![] }];
    assert!(matches!(store.bulk_create_items(p.id, batch, &sys()).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.deliveries(hook.id, 100).await.unwrap().len(), 6);
    let later = mk_item(&store, p.id, "later").await;
    let patch = ItemPatch { status: Some((doing, Category::InProgress)), ..Default::default() };
    store.update_item(later.id, later.version, &patch, &at(Some(u.id), 50_000)).await.unwrap();
    assert_eq!(store.deliveries(hook.id, 100).await.unwrap().len(), 8);
    let lf = store.flow_rows_of(&[later.id.0]).await.unwrap();
    assert_eq!(lf[0].started_at, Some(Timestamp(50_000)));
    assert_eq!(lf[0].wip_since, Some(Timestamp(50_000)));
}

pub async fn bulk_create_items(store: Arc<dyn Store>) {
    let u = mk_user(&store, "ann@example.com", "Ann").await;
    let p = mk_product(&store, "SHOP").await;
    store.set_member(p.id, u.id, Roles::of(&[Role::Team]), &sys()).await.unwrap();
    let w = workflow(&store, p.id).await;
    let first = mk_item(&store, p.id, "first").await;
    let second = mk_item(&store, p.id, "second").await;
    let done = state(&w, "Done");
    let items: Vec<BulkItem> = (0..1_000)
        .map(|i| {
            let mut n =
                new_item(if i % 10 == 0 { ItemKind::Bug } else { ItemKind::Story }, &format!("bulk {i}"));
            n.labels = vec![format!("l{}", i % 3)];
            n.assignee_id = (i % 2 == 0).then_some(u.id);
            let history = if i % 4 == 0 {
                n.status_id = Some(done);
                vec![BulkEvent {
                    at: Timestamp(100_000 + i),
                    actor: Some(u.id),
                    field: "status".into(),
                    old: json!(w.initial().unwrap().id),
                    new: json!(done),
                }]
            } else {
                vec![]
            };
            BulkItem { item: n, created_at: Timestamp(50_000 + i), created_by: Some(u.id), history }
        })
        .collect();
    let n = store.bulk_create_items(p.id, items, &sys()).await.unwrap();
    assert_eq!(n, 1_000);
    let listed = all(&store, p.id, &ItemFilter::default()).await;
    assert_eq!(listed.len(), 1_002);
    assert_eq!((listed[0].id, listed[1].id), (first.id, second.id));
    for (i, it) in listed[2..].iter().enumerate() {
        assert_eq!((it.title.clone(), it.number), (format!("bulk {i}"), 3 + i as i64));
    }
    let b0 = &listed[2];
    assert_eq!(
        (b0.key.as_str(), b0.category, b0.created_at, b0.created_by),
        ("SHOP-3", Category::Done, Timestamp(50_000), Some(u.id))
    );
    assert_eq!(listed[3].category, Category::Todo);
    let h = store.history(ObjectKind::Item, b0.id.0, None, 10).await.unwrap();
    assert_eq!(
        h.iter().map(|e| (e.field.as_str(), e.at)).collect::<Vec<_>>(),
        vec![("status", Timestamp(100_000)), ("created", Timestamp(50_000))]
    );
    assert_eq!(h[0].new, json!(done));
    assert_eq!(
        store.count_items(p.id, &ItemFilter { open_only: true, ..Default::default() }).await.unwrap(),
        2 + 750
    );
    // Search, both ways a store may answer it: from few hits, or (a word in more than a
    // thousand items across products) by walking the product in rank order.
    let blog = mk_product(&store, "BLOG").await;
    let others: Vec<BulkItem> = (0..600)
        .map(|i| BulkItem {
            item: new_item(ItemKind::Story, &format!("bulk other {i}")),
            created_at: Timestamp(60_000),
            created_by: None,
            history: vec![],
        })
        .collect();
    store.bulk_create_items(blog.id, others, &sys()).await.unwrap();
    let q = |s: &str| ItemFilter { q: Some(s.into()), ..Default::default() };
    assert_eq!(store.count_items(p.id, &q("bulk")).await.unwrap(), 1_000);
    let first3 = store.list_items(p.id, &q("bulk"), &Page::first(3)).await.unwrap();
    assert_eq!(ids(&first3), ids(&listed[2..5]));
    let after = Page { after: Some(listed[4].rank.as_str().to_string()), limit: 3 };
    assert_eq!(ids(&store.list_items(p.id, &q("bulk"), &after).await.unwrap()), ids(&listed[5..8]));
    let titles = |v: Vec<Item>| v.into_iter().map(|i| i.title).collect::<Vec<_>>();
    let want: Vec<String> = std::iter::once(99).chain(990..1000).map(|n| format!("bulk {n}")).collect();
    assert_eq!(titles(store.list_items(p.id, &q("bulk 99"), &Page::first(50)).await.unwrap()), want);
    assert_eq!(store.count_items(p.id, &q("bulk 99")).await.unwrap(), 11);
    assert_eq!(store.count_items(p.id, &q("other")).await.unwrap(), 0);
    assert_eq!(store.count_items(blog.id, &q("other bulk")).await.unwrap(), 600);
    assert_eq!(titles(store.list_items(p.id, &q("second"), &Page::first(5)).await.unwrap()), ["second"]);
    assert_eq!(store.count_items(p.id, &q("nowhere")).await.unwrap(), 0);
    assert_eq!(
        store
            .count_items(p.id, &ItemFilter { label: Some("l1".into()), ..Default::default() })
            .await
            .unwrap(),
        333
    );
    assert_eq!(
        store
            .count_items(p.id, &ItemFilter { assignee: Some(Some(u.id)), ..Default::default() })
            .await
            .unwrap(),
        500
    );
    assert_eq!(
        store
            .count_items(p.id, &ItemFilter { kind: Some(ItemKind::Bug), ..Default::default() })
            .await
            .unwrap(),
        100
    );
    let q = ItemFilter { q: Some("bulk 99".into()), ..Default::default() };
    assert_eq!(store.count_items(p.id, &q).await.unwrap(), 11, "99 and 990-999");
    assert_eq!(store.item_by_number(p.id, 1_002).await.unwrap().title, "bulk 999");
    let next = mk_item(&store, p.id, "after bulk").await;
    assert_eq!(next.number, 1_003);
    assert_eq!(order(&store, p.id).await.last(), Some(&next.id));
    // A bad item refuses the whole batch.
    let mut bad = new_item(ItemKind::Story, "bad");
    bad.status_id = Some(keel_domain::StateId(999_999));
    let ok = new_item(ItemKind::Story, "ok");
    let batch = vec![
        BulkItem { item: ok, created_at: Timestamp(1), created_by: None, history: vec![] },
        BulkItem { item: bad, created_at: Timestamp(1), created_by: None, history: vec![] },
    ];
    assert!(matches!(store.bulk_create_items(p.id, batch, &sys()).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.count_items(p.id, &ItemFilter::default()).await.unwrap(), 1_003);
    assert_eq!(mk_item(&store, p.id, "last").await.number, 1_004);
}

/// Bulk writes leave their items' text for the search indexer (after the commit); until it gets
/// there searches find them by their text, with the index's rules (words, the last a prefix,
/// case and diacritics folded); edits and deletions in between are seen; the indexer drains
/// the list in batches and searches answer the same after it.
pub async fn search_after_commit(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let plain = mk_item(&store, p.id, "plain cafe").await;
    assert_eq!(store.search_backlog().await.unwrap(), 0, "items written one by one are indexed at once");
    let texts = [("alpha cafe", "first"), ("beta", "second words"), ("gamma", "delta epsilon")];
    let items: Vec<BulkItem> = texts
        .iter()
        .map(|(t, d)| {
            let mut n = new_item(ItemKind::Story, t);
            n.description = d.to_string();
            BulkItem { item: n, created_at: Timestamp(1_000), created_by: None, history: vec![] }
        })
        .collect();
    store.bulk_create_items(p.id, items, &sys()).await.unwrap();
    let listed = all(&store, p.id, &ItemFilter::default()).await;
    let (alpha, beta, gamma) = (listed[1].clone(), listed[2].clone(), listed[3].clone());
    assert_eq!(store.search_backlog().await.unwrap(), 3);
    let found = |q: &'static str| {
        let store = store.clone();
        async move {
            let f = ItemFilter { q: Some(q.into()), ..Default::default() };
            let mut t: Vec<String> = all(&store, p.id, &f).await.into_iter().map(|i| i.title).collect();
            assert_eq!(store.count_items(p.id, &f).await.unwrap(), t.len() as i64, "count of {q:?}");
            t.sort();
            t
        }
    };
    let check = |stage: &'static str| async move {
        assert_eq!(found("CAFE").await, ["alpha cafe", "plain cafe"], "{stage}");
        assert_eq!(found("alp").await, ["alpha cafe"], "{stage}: the last word is a prefix");
        assert_eq!(found("alp first").await, Vec::<String>::new(), "{stage}: only the last word");
        assert_eq!(found("epsilon gamma").await, ["gamma"], "{stage}: title and description");
        assert_eq!(found("elta").await, Vec::<String>::new(), "{stage}: words, not substrings");
    };
    check("before indexing").await;
    // An edit and a deletion while listed.
    let patch = ItemPatch { title: Some("beta zeta".into()), ..Default::default() };
    store.update_item(beta.id, beta.version, &patch, &sys()).await.unwrap();
    assert_eq!(found("zeta").await, ["beta zeta"]);
    assert_eq!(found("second").await, ["beta zeta"]);
    let doomed = mk_item(&store, p.id, "doomed").await;
    store.delete_item(doomed.id, &sys()).await.unwrap();
    assert_eq!(store.search_backlog().await.unwrap(), 3);
    // The indexer, a batch at a time, then nothing left.
    assert_eq!(store.index_search(2).await.unwrap(), 2);
    assert_eq!(store.search_backlog().await.unwrap(), 1);
    check("half indexed").await;
    assert_eq!(store.index_search(100).await.unwrap(), 1);
    assert_eq!(store.index_search(100).await.unwrap(), 0);
    assert_eq!(store.search_backlog().await.unwrap(), 0);
    check("indexed").await;
    assert_eq!(found("zeta").await, ["beta zeta"], "the indexer read the edited text");
    // Indexed items follow their edits through the index as before.
    let beta = store.item(beta.id).await.unwrap();
    let patch = ItemPatch { title: Some("beta omega".into()), ..Default::default() };
    store.update_item(beta.id, beta.version, &patch, &sys()).await.unwrap();
    assert_eq!(found("zeta").await, Vec::<String>::new());
    assert_eq!(found("omega").await, ["beta omega"]);
    // A listed item that is deleted leaves the list with it.
    let more = vec![BulkItem {
        item: new_item(ItemKind::Story, "short lived"),
        created_at: Timestamp(2_000),
        created_by: None,
        history: vec![],
    }];
    store.bulk_create_items(p.id, more, &sys()).await.unwrap();
    let short = all(&store, p.id, &ItemFilter::default()).await.pop().unwrap();
    assert_eq!(store.search_backlog().await.unwrap(), 1);
    store.delete_item(short.id, &sys()).await.unwrap();
    assert_eq!(store.search_backlog().await.unwrap(), 0);
    assert_eq!(found("lived").await, Vec::<String>::new());
    store.delete_item(gamma.id, &sys()).await.unwrap();
    assert_eq!(found("gamma").await, Vec::<String>::new());
    let _ = (alpha, plain);
}

/// An import's source keys, read back from the label index: only the prefix's labels, with
/// their items, in label order; none from another product.
pub async fn labels_with_prefix(store: Arc<dyn Store>) {
    let p = mk_product(&store, "SHOP").await;
    let other = mk_product(&store, "BLOG").await;
    let mut made = Vec::new();
    for (title, labels) in [
        ("a", vec!["jira:SHOP-2", "ui"]),
        ("b", vec!["jira:SHOP-10", "component:api"]),
        ("c", vec!["jiraz", "jira;x"]),
        ("d", vec![]),
    ] {
        let mut n = new_item(ItemKind::Story, title);
        n.labels = labels.into_iter().map(String::from).collect();
        made.push(store.create_item(p.id, n, &Position::Bottom, &sys()).await.unwrap());
    }
    let mut n = new_item(ItemKind::Story, "elsewhere");
    n.labels = vec!["jira:BLOG-1".into()];
    store.create_item(other.id, n, &Position::Bottom, &sys()).await.unwrap();
    assert_eq!(
        store.labels_with_prefix(p.id, "jira:").await.unwrap(),
        [("jira:SHOP-10".to_string(), made[1].id), ("jira:SHOP-2".to_string(), made[0].id)]
    );
    assert_eq!(store.labels_with_prefix(p.id, "linear:").await.unwrap(), []);
    assert_eq!(store.labels_with_prefix(other.id, "jira:").await.unwrap().len(), 1);
    // A deleted item's labels go with it.
    store.delete_item(made[1].id, &sys()).await.unwrap();
    assert_eq!(
        store.labels_with_prefix(p.id, "jira:").await.unwrap(),
        [("jira:SHOP-2".to_string(), made[0].id)]
    );
    let by_label = ItemFilter { label: Some("component:api".into()), ..Default::default() };
    assert_eq!(store.count_items(p.id, &by_label).await.unwrap(), 0);
}
