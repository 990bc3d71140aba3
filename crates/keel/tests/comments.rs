//! API tests of comments, mentions, watching and the inbox of notifications; on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

use keel_domain::event::ObjectKind;
use keel_domain::product::Role;
use keel_store::{NewRecord, WriteCtx, WriteOp, Written};
use keel_testkit::{spawn_app, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(keel_testkit::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = keel_testkit::TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

api_tests!(
    comment_crud_edit_history_and_soft_delete,
    comments_on_records_and_stakeholders,
    mentions_notify_and_inbox_reads,
    assignment_and_status_changes_notify_watchers,
    non_members_never_notified_nor_reading,
    xss_inert_and_bad_input_refused,
    proposals_notify_deciders_and_decisions_the_proposer,
);

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = Client::new();
    let mut r = c.request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

async fn get(t: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    call(t, token, Method::GET, path, None).await
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, Some(body)).await
}

async fn item(t: &TestApp, token: &str, body: Value) -> String {
    let (s, v) = post(t, token, "/api/v1/products/SHOP/items", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["key"].as_str().unwrap().to_string()
}

async fn comment(t: &TestApp, token: &str, path: &str, body: &str) -> Value {
    let (s, v) = post(t, token, path, json!({ "body": body })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// The caller's notifications (all, or unread only).
async fn inbox(t: &TestApp, token: &str, unread: bool) -> Value {
    let (s, v) = get(t, token, &format!("/api/v1/notifications?unread={unread}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn reasons(v: &Value) -> Vec<String> {
    v["notifications"].as_array().unwrap().iter().map(|n| n["reason"].as_str().unwrap().to_string()).collect()
}

async fn record(t: &TestApp, product: &keel_domain::product::Product, kind: ObjectKind, data: Value) -> i64 {
    let op = WriteOp::CreateRecord(NewRecord {
        kind,
        product_id: Some(product.id),
        parent_id: None,
        state: String::new(),
        unique_key: None,
        data,
    });
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    match t.app.store().write_batch(vec![op], &ctx).await.expect("write").pop() {
        Some(Written::Record(r)) => r.id.0,
        other => panic!("{other:?}"),
    }
}

async fn comment_crud_edit_history_and_soft_delete(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, other) = t.member(&shop, "other@keel.test", &[Role::Team]).await;
    let key = item(&t, &t.admin_token, json!({"title": "Checkout"})).await;
    let path = format!("/api/v1/items/{key}/comments");

    let c = comment(&t, &dev, &path, "First **draft**").await;
    assert_eq!(c["subject"], "item");
    assert_eq!(c["html"], "<p>First <strong>draft</strong></p>\n");
    assert_eq!((c["edited"].as_bool(), c["deleted"].as_bool()), (Some(false), Some(false)));
    let id = c["id"].as_i64().unwrap();
    comment(&t, &other, &path, "Second").await;
    let (s, list) = get(&t, &t.admin_token, &path).await;
    assert_eq!(s, StatusCode::OK);
    let bodies: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, vec!["First **draft**", "Second"]);
    assert_eq!(list[0]["author"], "dev");

    // Only the author edits; the edit is marked and the history keeps both texts.
    let cp = format!("/api/v1/comments/{id}");
    let (s, p) = call(&t, &other, Method::PATCH, &cp, Some(json!({"body": "hijack"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    let (s, p) = call(&t, &t.admin_token, Method::PATCH, &cp, Some(json!({"body": "hijack"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    let (s, e) =
        call(&t, &dev, Method::PATCH, &cp, Some(json!({"body": "Final text", "version": c["version"]})))
            .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!((e["body"].as_str(), e["edited"].as_bool()), (Some("Final text"), Some(true)));
    // A stale version is refused.
    let (s, _) =
        call(&t, &dev, Method::PATCH, &cp, Some(json!({"body": "again", "version": c["version"]}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let events = t
        .app
        .store()
        .product_events_of(shop.id, &[ObjectKind::Comment], &["body"], keel_domain::Timestamp(0), 100)
        .await
        .unwrap();
    let edit = events.iter().find(|e| e.object_id == id).expect("edit event");
    assert_eq!((edit.old.as_str(), edit.new.as_str()), (Some("First **draft**"), Some("Final text")));

    // Soft delete: not by another member, by the author or an administrator.
    let (s, _) = call(&t, &other, Method::DELETE, &cp, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, d) = call(&t, &t.admin_token, Method::DELETE, &cp, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (d["deleted"].as_bool(), d["body"].as_str(), d["html"].as_str()),
        (Some(true), Some(""), Some(""))
    );
    let (_, list) = get(&t, &dev, &path).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["deleted"], true);
    // A deleted comment cannot be edited.
    let (s, _) = call(&t, &dev, Method::PATCH, &cp, Some(json!({"body": "back"}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let events = t
        .app
        .store()
        .product_events_of(shop.id, &[ObjectKind::Comment], &["deleted"], keel_domain::Timestamp(0), 100)
        .await
        .unwrap();
    assert_eq!(events.iter().filter(|e| e.object_id == id).count(), 1);
}

async fn comments_on_records_and_stakeholders(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, sh) = t.member(&shop, "sam@keel.test", &[Role::Stakeholder]).await;
    let rel = record(&t, &shop, ObjectKind::Release, json!({"name": "2.4"})).await;
    let ini = record(&t, &shop, ObjectKind::Initiative, json!({"title": "Self-serve onboarding"})).await;
    let opp = record(&t, &shop, ObjectKind::Opportunity, json!({"title": "Buyers need SSO"})).await;
    let fb = record(&t, &shop, ObjectKind::Feedback, json!({"text": "Please add SSO"})).await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    // Stakeholders see only public initiatives, so neither the thread of another one, nor are
    // they mentioned on it.
    assert_eq!(get(&t, &sh, &format!("/api/v1/initiatives/{ini}/comments")).await.0, StatusCode::NOT_FOUND);
    let c = comment(&t, &dev, &format!("/api/v1/initiatives/{ini}/comments"), "@sam have a look").await;
    assert_eq!(c["mentions"], json!([]));
    assert_eq!(inbox(&t, &sh, false).await["notifications"], json!([]));
    for (seg, id) in [("releases", rel), ("initiatives", ini), ("opportunities", opp), ("feedback", fb)] {
        let path = format!("/api/v1/{seg}/{id}/comments");
        // Stakeholders read the product, so they may comment.
        let who = if seg == "initiatives" { &dev } else { &sh };
        let c = comment(&t, who, &path, &format!("On {seg}")).await;
        assert_eq!(c["object_id"], id);
        let (s, l) = get(&t, &t.admin_token, &path).await;
        let n = if seg == "initiatives" { 2 } else { 1 };
        assert_eq!((s, l.as_array().unwrap().len()), (StatusCode::OK, n), "{l}");
    }
    // The admin created these records, so watches them and hears of each comment.
    let v = inbox(&t, &t.admin_token, true).await;
    assert_eq!(reasons(&v), vec!["comment"; 5]);
    assert_eq!(v["unread"], 5);
    // An id of another kind is not found.
    let (s, _) = get(&t, &sh, &format!("/api/v1/releases/{ini}/comments")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn mentions_notify_and_inbox_reads(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (ann_user, ann) = t.member(&shop, "ann.lee@keel.test", &[Role::Team]).await;
    let key = item(&t, &t.admin_token, json!({"title": "Search"})).await;
    let path = format!("/api/v1/items/{key}/comments");
    let c = comment(&t, &dev, &path, "@Ann.Lee can you check? cc @nobody, mail dev@keel.test").await;
    assert_eq!(c["mentions"], json!([ann_user.id.0]));
    assert!(c["body"].as_str().unwrap().contains("@nobody"));

    let v = inbox(&t, &ann, true).await;
    assert_eq!(reasons(&v), vec!["mention"]);
    let n = &v["notifications"][0];
    assert_eq!(
        (n["label"].as_str(), n["link"].as_str()),
        (Some(&*format!("{key} Search")), Some(&*format!("/items/{key}")))
    );
    assert_eq!(
        (n["actor"].as_str(), n["product"].as_str(), n["read"].as_bool()),
        (Some("dev"), Some("SHOP"), Some(false))
    );
    // The creator watches the item and hears of the comment; the author does not hear of their own.
    assert_eq!(reasons(&inbox(&t, &t.admin_token, true).await), vec!["comment"]);
    assert_eq!(inbox(&t, &dev, false).await["notifications"], json!([]));

    // The mentioned person now watches: a later comment reaches them as a comment.
    comment(&t, &t.admin_token, &path, "Thanks").await;
    let v = inbox(&t, &ann, true).await;
    assert_eq!(reasons(&v), vec!["comment", "mention"]);
    assert_eq!(v["unread"], 2);
    let first = v["notifications"][1]["id"].as_i64().unwrap();
    let (s, r) = post(&t, &ann, &format!("/api/v1/notifications/{first}/read"), json!({})).await;
    assert_eq!((s, r["read"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
    assert_eq!(inbox(&t, &ann, true).await["unread"], 1);
    // Someone else's notification is not found.
    let (s, _) = post(&t, &dev, &format!("/api/v1/notifications/{first}/read"), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = post(&t, &ann, "/api/v1/notifications/read-all", json!({})).await;
    assert_eq!((s, r["marked"].as_i64()), (StatusCode::OK, Some(1)));
    let v = inbox(&t, &ann, false).await;
    assert_eq!((v["unread"].as_i64(), v["notifications"].as_array().unwrap().len()), (Some(0), 2));

    // Editing to add a mention notifies only the newly mentioned.
    let (_, _) = (t.member(&shop, "bob@keel.test", &[Role::Po]).await, ());
    let id = c["id"].as_i64().unwrap();
    let (s, _) = call(
        &t,
        &dev,
        Method::PATCH,
        &format!("/api/v1/comments/{id}"),
        Some(json!({"body": "@ann.lee and @bob please check"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inbox(&t, &ann, true).await["unread"], 0);
}

async fn assignment_and_status_changes_notify_watchers(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (dev_user, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, watcher) = t.member(&shop, "wat@keel.test", &[Role::Team]).await;
    let key = item(&t, &t.admin_token, json!({"title": "Payments"})).await;
    let ip = format!("/api/v1/items/{key}");
    let (s, v) =
        call(&t, &t.admin_token, Method::PATCH, &ip, Some(json!({"assignee": dev_user.email.as_str()})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = inbox(&t, &dev, true).await;
    assert_eq!(reasons(&v), vec!["assigned"]);

    // An explicit watcher and the assignee hear of a status change; the actor does not.
    let (s, w) = call(&t, &watcher, Method::PUT, &format!("{ip}/watch"), None).await;
    assert_eq!((s, w["watching"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, v) = call(&t, &t.admin_token, Method::PATCH, &ip, Some(json!({"status": "In Progress"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = inbox(&t, &watcher, true).await;
    assert_eq!(reasons(&v), vec!["status"]);
    assert_eq!(v["notifications"][0]["text"], "status changed to In Progress");
    assert_eq!(reasons(&inbox(&t, &dev, true).await), vec!["status", "assigned"]);
    assert_eq!(inbox(&t, &t.admin_token, false).await["notifications"], json!([]));

    // Unwatching stops notifications, even for the assignee.
    for tok in [&watcher, &dev] {
        let (s, w) = call(&t, tok, Method::DELETE, &format!("{ip}/watch"), None).await;
        assert_eq!((s, w["watching"].as_bool()), (StatusCode::OK, Some(false)));
        let (_, w) = get(&t, tok, &format!("{ip}/watch")).await;
        assert_eq!(w["watching"], false);
    }
    let (s, _) = call(&t, &t.admin_token, Method::PATCH, &ip, Some(json!({"status": "To Do"}))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(inbox(&t, &watcher, true).await["unread"], 1);
    assert_eq!(inbox(&t, &dev, true).await["unread"], 2);
    // A change by the watcher themselves notifies the creator (who watches) only.
    let (s, _) = call(&t, &t.admin_token, Method::PUT, &format!("{ip}/watch"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(&t, &dev, Method::PATCH, &ip, Some(json!({"status": "In Progress"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(reasons(&inbox(&t, &t.admin_token, true).await), vec!["status"]);
}

async fn non_members_never_notified_nor_reading(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Team]).await;
    let (leaver_user, leaver) = t.member(&shop, "leaver@keel.test", &[Role::Team]).await;
    let key = item(&t, &t.admin_token, json!({"title": "Secret"})).await;
    let path = format!("/api/v1/items/{key}/comments");
    // Outsiders can neither read nor post nor watch, and a mention of them resolves to nobody.
    assert_eq!(get(&t, &outsider, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&t, &outsider, &path, json!({"body": "hi"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        call(&t, &outsider, Method::PUT, &format!("/api/v1/items/{key}/watch"), None).await.0,
        StatusCode::NOT_FOUND
    );
    let c = comment(&t, &t.admin_token, &path, "@out and @leaver look").await;
    assert_eq!(c["mentions"].as_array().unwrap().len(), 1);
    assert_eq!(inbox(&t, &outsider, false).await["notifications"], json!([]));
    assert_eq!(reasons(&inbox(&t, &leaver, true).await), vec!["mention"]);
    let cid = c["id"].as_i64().unwrap();
    assert_eq!(
        call(&t, &outsider, Method::DELETE, &format!("/api/v1/comments/{cid}"), None).await.0,
        StatusCode::NOT_FOUND
    );

    // A removed member no longer sees the product's notifications nor receives new ones.
    t.app.remove_member(None, &shop, leaver_user.id).await.expect("remove");
    assert_eq!(inbox(&t, &leaver, false).await["notifications"], json!([]));
    comment(&t, &t.admin_token, &path, "@leaver again").await;
    t.app
        .set_member(None, &shop, leaver_user.id, keel_domain::product::Roles::of(&[Role::Team]))
        .await
        .expect("back");
    let v = inbox(&t, &leaver, false).await;
    assert_eq!(reasons(&v), vec!["mention"], "{v}");
}

async fn xss_inert_and_bad_input_refused(db: TestDb) {
    let t = spawn_app(db).await;
    let _shop = t.product("SHOP").await;
    let key = item(&t, &t.admin_token, json!({"title": "Forms"})).await;
    let path = format!("/api/v1/items/{key}/comments");
    let c = comment(
        &t,
        &t.admin_token,
        &path,
        "<script>alert(1)</script>\n\nSee [x](javascript:alert(2)) and <img src=x onerror=alert(3)>",
    )
    .await;
    let html = c["html"].as_str().unwrap();
    assert!(
        !html.contains("<script") && !html.contains("<img") && !html.contains("href=\"javascript"),
        "{html}"
    );
    assert!(html.contains("<a href=\"#\">x</a>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");

    let tok = &t.admin_token;
    let (s, p) = post(&t, tok, &path, json!({"body": "   "})).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("body")), "{p}");
    let (s, p) = post(&t, tok, &path, json!({"body": "x".repeat(20_001)})).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("body")), "{p}");
    let (s, _) = post(&t, tok, &path, json!({"text": "x"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, p) = post(&t, tok, &path, json!({"body": "x", "version": 1})).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("version")), "{p}");
    assert_eq!(get(&t, tok, "/api/v1/items/SHOP-999/comments").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, tok, "/api/v1/items/nonsense/comments").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, tok, "/api/v1/releases/abc/comments").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        call(&t, tok, Method::PATCH, "/api/v1/comments/99999", Some(json!({"body": "x"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(post(&t, tok, "/api/v1/notifications/99999/read", json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, tok, "/api/v1/notifications?unread=maybe").await.0, StatusCode::BAD_REQUEST);
    // Nothing half-written: only the one valid comment exists.
    assert_eq!(get(&t, tok, &path).await.1.as_array().unwrap().len(), 1);
}

/// The notifications of `reason` in an inbox, as (text, link, subject).
fn of_reason(v: &Value, reason: &str) -> Vec<(String, String, String)> {
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["reason"] == reason)
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (s("text"), s("link"), s("subject"))
        })
        .collect()
}

async fn proposals_notify_deciders_and_decisions_the_proposer(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Po]).await;
    for title in ["One", "Two", "Three"] {
        item(&t, &po, json!({"title": title})).await;
    }
    // The team proposes a reorder: the PO (who decides reorders) is told, linking to the decision.
    let (s, p) =
        post(&t, &team, "/api/v1/items/SHOP-3/move", json!({"before": "SHOP-1", "reason": "blocks release"}))
            .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    let id = p["id"].as_i64().unwrap();
    let link = format!("/products/SHOP/proposals#proposal-{id}");
    let v = inbox(&t, &po, true).await;
    assert_eq!(
        of_reason(&v, "proposal"),
        vec![("team proposes: Move SHOP-3 before SHOP-1".into(), link.clone(), "proposal".into())]
    );
    assert_eq!(v["unread"], 1);
    let n = &v["notifications"][0];
    assert_eq!((n["actor"].as_str(), n["product"].as_str()), (Some("team"), Some("SHOP")));
    // Not the proposer, not a member who may not decide it, not a member of another product.
    assert_eq!(inbox(&t, &team, false).await["notifications"], json!([]));
    assert_eq!(inbox(&t, &pm, false).await["notifications"], json!([]));
    assert_eq!(inbox(&t, &outsider, false).await["notifications"], json!([]));

    // The PO accepts: the proposer hears of it; the decider does not hear of their own decision.
    let (s, v) = post(&t, &po, &format!("/api/v1/proposals/{id}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        of_reason(&inbox(&t, &team, true).await, "decision"),
        vec![("po accepted your proposal: Move SHOP-3 before SHOP-1".into(), link, "proposal".into())]
    );
    assert!(of_reason(&inbox(&t, &po, false).await, "decision").is_empty());

    // A title change the team proposes, declined with a reason.
    let (s, p) =
        call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"title": "Renamed"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(of_reason(&inbox(&t, &po, true).await, "proposal").len(), 2);
    let (s, v) =
        post(&t, &po, &format!("/api/v1/proposals/{id}/decline"), json!({"reason": "Keep it"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let decisions = of_reason(&inbox(&t, &team, true).await, "decision");
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].0, "po rejected your proposal: Change title of SHOP-1 (reason: Keep it)");
    assert!(inbox(&t, &outsider, false).await["notifications"].as_array().unwrap().is_empty());
    assert!(inbox(&t, &pm, false).await["notifications"].as_array().unwrap().is_empty());
}
