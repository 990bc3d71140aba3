//! API tests of refinement and acceptance: the Definitions of Ready and Done, readiness of
//! items, accepting and rejecting stories, bulk edit, releases and their notes; on SQLite and
//! (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_domain::product::Role;
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
    definitions_belong_to_the_product_owner,
    readiness_follows_the_definition,
    acceptance_needs_every_check,
    bulk_edit_is_all_or_nothing,
    releases_progress_notes_and_shipping,
    splitting_creates_children,
);

/// A request with a bearer token; returns status and JSON body (a string when not JSON).
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

async fn create(t: &TestApp, token: &str, body: Value) -> Value {
    let (s, v) = post(t, token, "/api/v1/products/SHOP/items", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn item(t: &TestApp, key: &str) -> Value {
    let (s, v) = get(t, &t.admin_token, &format!("/api/v1/items/{key}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// Ticks the default Definition of Done and moves the story to Done.
async fn finish(t: &TestApp, key: &str) {
    let tok = &t.admin_token;
    let (s, v) =
        call(t, tok, Method::PUT, &format!("/api/v1/items/{key}/checks"), Some(json!({"dod": [1, 2, 3]})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) =
        call(t, tok, Method::PATCH, &format!("/api/v1/items/{key}"), Some(json!({"status": "Done"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn definitions_belong_to_the_product_owner(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let path = "/api/v1/products/SHOP/definition-of-ready";
    let (s, v) = get(&t, &team, path).await;
    assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(0)), "{v}");
    let rules: Vec<&str> =
        v["checks"].as_array().unwrap().iter().map(|c| c["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["has_criteria", "estimated", "max_points", "not_blocked"]);
    let body = json!({"version": 0, "checks": [
        {"rule": "has_criteria"}, {"rule": "has_epic"}, {"rule": "manual", "text": "UX reviewed"}
    ]});
    // The PM may not change it; the team proposes; nothing is saved yet.
    let (s, v) = call(&t, &pm, Method::PUT, path, Some(body.clone())).await;
    assert_eq!((s, &v["deciders"]), (StatusCode::FORBIDDEN, &json!(["po"])), "{v}");
    let (s, p) = call(
        &t,
        &team,
        Method::PUT,
        path,
        Some(json!({"checks": [{"rule": "estimated"}], "reason": "simpler"})),
    )
    .await;
    assert_eq!(
        (s, &p["state"], &p["summary"]),
        (StatusCode::ACCEPTED, &json!("pending"), &json!("Change the Definition of Ready")),
        "{p}"
    );
    assert_eq!(get(&t, &po, path).await.1["version"], 0);
    let (s, v) = call(&t, &po, Method::PUT, path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["checks"][2]["description"], "UX reviewed");
    assert_eq!(v["checks"][2]["id"], 3);
    // A second writer with the old version gets 409, and the first one's definition stays.
    let (s, v) = call(&t, &po, Method::PUT, path, Some(json!({"version": 0, "checks": []}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(get(&t, &po, path).await.1["checks"].as_array().unwrap().len(), 3);
    // Accepting the team's proposal applies it as the PO.
    let pid = p["id"].as_i64().unwrap();
    let (s, v) = post(&t, &po, &format!("/api/v1/proposals/{pid}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &po, path).await;
    assert_eq!((v["version"].as_i64(), v["checks"].as_array().unwrap().len()), (Some(2), 1), "{v}");
    // Bad input names the field.
    let bad = json!({"checks": [{"rule": "has_criteria"}, {"rule": "vibes"}]});
    let (s, v) = call(&t, &po, Method::PUT, path, Some(bad)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("checks[1].rule")), "{v}");
    let bad = json!({"checks": [{"rule": "max_points", "points": -1}]});
    let (s, v) = call(&t, &po, Method::PUT, path, Some(bad)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("checks[0].points")), "{v}");
    let (s, _) = call(&t, &po, Method::PUT, path, Some(json!({"checks": [], "extra": 1}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The Definition of Done likewise.
    let path = "/api/v1/products/SHOP/definition-of-done";
    let (s, v) = get(&t, &po, path).await;
    assert_eq!((s, v["checks"].as_array().unwrap().len()), (StatusCode::OK, 3));
    let (s, v) =
        call(&t, &po, Method::PUT, path, Some(json!({"version": 0, "checks": [{"text": "Demoed"}]}))).await;
    assert_eq!((s, &v["checks"][0]["text"]), (StatusCode::OK, &json!("Demoed")), "{v}");
    let (s, v) = call(&t, &po, Method::PUT, path, Some(json!({"checks": [{"text": " "}]}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("checks[0].text")), "{v}");
    assert_eq!(call(&t, &pm, Method::PUT, path, Some(json!({"checks": []}))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&t, &po, "/api/v1/products/NOPE/definition-of-done").await.0, StatusCode::NOT_FOUND);
    // Every endpoint is in the OpenAPI document.
    let (_, doc) = get(&t, &po, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/products/{product}/definition-of-ready",
        "/api/v1/products/{product}/definition-of-done",
        "/api/v1/products/{product}/readiness",
        "/api/v1/products/{product}/items/bulk",
        "/api/v1/products/{product}/releases",
        "/api/v1/releases/{id}",
        "/api/v1/releases/{id}/release",
        "/api/v1/releases/{id}/notes",
        "/api/v1/items/{key}/acceptance",
        "/api/v1/items/{key}/checks",
        "/api/v1/items/{key}/split",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} is missing from the OpenAPI document");
    }
}

async fn readiness_follows_the_definition(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let tok = &t.admin_token;
    create(&t, tok, json!({"title": "Checkout", "kind": "epic"})).await;
    create(&t, tok, json!({"title": "Pay by card", "parent": "SHOP-1"})).await;
    create(&t, tok, json!({"title": "Blocker"})).await;
    let (s, v) = get(&t, tok, "/api/v1/products/SHOP/readiness?keys=SHOP-1,SHOP-2").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"][0], json!({"key": "SHOP-1", "applies": false, "ready": true, "failed": []}));
    assert_eq!(v["items"][1]["ready"], false);
    assert_eq!(v["items"][1]["failed"], json!(["Has acceptance criteria", "Is estimated"]));
    // Criteria and an estimate make it ready; an open blocker does not.
    post(&t, tok, "/api/v1/items/SHOP-2/criteria", json!({"text": "Given a card Then it pays"})).await;
    call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"estimate": 20}))).await;
    post(&t, tok, "/api/v1/items/SHOP-3/links", json!({"kind": "blocks", "to": "SHOP-2"})).await;
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/readiness?keys=SHOP-2").await;
    assert_eq!(v["items"][0]["failed"], json!(["Estimate at most 13 points", "Not blocked by an open item"]));
    call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-2", Some(json!({"estimate": 5}))).await;
    finish(&t, "SHOP-3").await;
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/readiness").await;
    let two = v["items"].as_array().unwrap().iter().find(|i| i["key"] == "SHOP-2").unwrap().clone();
    assert_eq!(two["ready"], true, "{v}");
    // A hand-ticked check: failed until ticked on the item (the PO ticks; bad ids are refused).
    let dor = json!({"checks": [{"rule": "has_epic"}, {"rule": "manual", "text": "UX reviewed"}]});
    assert_eq!(
        call(&t, tok, Method::PUT, "/api/v1/products/SHOP/definition-of-ready", Some(dor)).await.0,
        StatusCode::OK
    );
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/readiness?keys=SHOP-2").await;
    assert_eq!(v["items"][0]["failed"], json!(["UX reviewed"]));
    let (s, v) = call(&t, tok, Method::PUT, "/api/v1/items/SHOP-2/checks", Some(json!({"dor": [1]}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("dor[0]")), "{v}");
    let (s, v) = call(&t, tok, Method::PUT, "/api/v1/items/SHOP-2/checks", Some(json!({"dor": [2]}))).await;
    assert_eq!((s, &v["dor"]), (StatusCode::OK, &json!([2])), "{v}");
    let (_, v) = get(&t, tok, "/api/v1/products/SHOP/readiness?keys=SHOP-2").await;
    assert_eq!(v["items"][0]["ready"], true, "{v}");
    let (s, v) = get(&t, tok, "/api/v1/products/SHOP/readiness?keys=SHOP-99").await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("keys")));
}

async fn acceptance_needs_every_check(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    create(&t, &po, json!({"title": "Pay by card", "criteria": [{"text": "Pays"}, {"text": "Refunds"}]}))
        .await;
    let acc = "/api/v1/items/SHOP-1/acceptance";
    // A story cannot start out done either: that would be an acceptance with nothing ticked.
    let (s, v) =
        post(&t, &po, "/api/v1/products/SHOP/items", json!({"title": "Born done", "status": "Done"})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("acceptance")), "{v}");
    let (_, all) = call(&t, &po, Method::GET, "/api/v1/products/SHOP/items", None).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(1), "nothing was created: {all}");
    // The team asks for acceptance.
    call(&t, &team, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"status": "In Progress"}))).await;
    let (s, v) = post(&t, &team, acc, json!({"action": "ready"})).await;
    assert_eq!((s, &v["acceptance"]), (StatusCode::OK, &json!("ready")), "{v}");
    // Accepting with unticked criteria and Definition of Done: refused, listing them; nothing changed.
    let before = item(&t, "SHOP-1").await;
    let (s, v) = post(&t, &po, acc, json!({"action": "accept"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let blockers: Vec<&str> = v["blockers"].as_array().unwrap().iter().map(|b| b.as_str().unwrap()).collect();
    assert_eq!(
        blockers,
        [
            "Criterion not met: Pays",
            "Criterion not met: Refunds",
            "Definition of Done: Code reviewed",
            "Definition of Done: Automated tests pass",
            "Definition of Done: Documentation updated"
        ]
    );
    assert_eq!(item(&t, "SHOP-1").await, before);
    // A plain move into Done obeys the same rule.
    let (s, v) = call(&t, &po, Method::PATCH, "/api/v1/items/SHOP-1", Some(json!({"status": "Done"}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("acceptance")), "{v}");
    assert_eq!(item(&t, "SHOP-1").await, before);
    // The team ticks the criteria and the Definition of Done.
    for id in [1, 2] {
        let (s, _) = call(
            &t,
            &team,
            Method::PATCH,
            &format!("/api/v1/items/SHOP-1/criteria/{id}"),
            Some(json!({"checked": true})),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, v) =
        call(&t, &team, Method::PUT, "/api/v1/items/SHOP-1/checks", Some(json!({"dod": [3, 1, 2]}))).await;
    assert_eq!((s, &v["dod"]), (StatusCode::OK, &json!([1, 2, 3])), "{v}");
    let (s, v) = call(&t, &team, Method::PUT, "/api/v1/items/SHOP-1/checks", Some(json!({"dod": [4]}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("dod[0]")), "{v}");
    // A team member's acceptance is a proposal; the PM may not accept at all.
    let (s, p) = post(&t, &team, acc, json!({"action": "accept", "reason": "all green"})).await;
    assert_eq!((s, &p["state"]), (StatusCode::ACCEPTED, &json!("pending")), "{p}");
    assert_eq!(item(&t, "SHOP-1").await["status"], "In Progress");
    let (s, v) = post(&t, &pm, acc, json!({"action": "accept"})).await;
    assert_eq!((s, &v["deciders"]), (StatusCode::FORBIDDEN, &json!(["po"])), "{v}");
    // The PO accepts: accepted and done in one change, both in the history.
    let (s, v) = post(&t, &po, acc, json!({"action": "accept", "note": "Nice"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["acceptance"].as_str(), v["status"].as_str()), (Some("accepted"), Some("Done")));
    assert_eq!(v["acceptance_note"], "Nice");
    let (_, h) = get(&t, &po, "/api/v1/items/SHOP-1/history").await;
    let fields: Vec<&str> =
        h["events"].as_array().unwrap().iter().take(2).map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"acceptance") && fields.contains(&"status"), "{h}");
    // Rejecting needs a note; with one it goes back to the first in-progress state.
    let (s, v) = post(&t, &po, acc, json!({"action": "reject"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("note")), "{v}");
    assert_eq!(item(&t, "SHOP-1").await["acceptance"], "accepted");
    let (s, v) = post(&t, &po, acc, json!({"action": "reject", "note": "Refund e-mail missing"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["acceptance"].as_str(), v["status"].as_str()), (Some("rejected"), Some("In Progress")));
    assert_eq!(v["acceptance_note"], "Refund e-mail missing");
    let (s, v) = post(&t, &po, acc, json!({"action": "maybe"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("action")));
    let (s, _) = post(&t, &po, acc, json!({"action": "accept", "extra": true})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn bulk_edit_is_all_or_nothing(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (team_user, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let tok = &t.admin_token;
    create(&t, tok, json!({"title": "Epic", "kind": "epic"})).await;
    for n in 2..=4 {
        create(&t, tok, json!({"title": format!("Story {n}"), "labels": ["old"]})).await;
    }
    let path = "/api/v1/products/SHOP/items/bulk";
    let snapshot = || async {
        let mut v = Vec::new();
        for k in ["SHOP-2", "SHOP-3", "SHOP-4"] {
            v.push(item(&t, k).await);
        }
        v
    };
    let before = snapshot().await;
    // One unknown key: 422 naming it, nothing changed.
    let body = json!({"keys": ["SHOP-2", "SHOP-3", "SHOP-99"], "set": {"status": "In Progress"}});
    let (s, v) = post(&t, tok, path, body).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("keys[2]")), "{v}");
    assert_eq!(snapshot().await, before);
    // Duplicates, nothing to set, a bad state.
    let (s, v) =
        post(&t, tok, path, json!({"keys": ["SHOP-2", "SHOP-2"], "set": {"status": "In Progress"}})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("keys[1]")), "{v}");
    let (s, v) = post(&t, tok, path, json!({"keys": ["SHOP-2"], "set": {}})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("set")), "{v}");
    let (s, v) = post(&t, tok, path, json!({"keys": ["SHOP-2"], "set": {"status": "Limbo"}})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")), "{v}");
    // Moving into Done without the Definition of Done: refused for each story, nothing changed.
    let (s, v) = post(&t, tok, path, json!({"keys": ["SHOP-2", "SHOP-3"], "set": {"status": "Done"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["refused"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(snapshot().await, before);
    // The team may assign but only propose labels: the whole edit is refused (403), listing them.
    let body =
        json!({"keys": ["SHOP-2", "SHOP-3"], "set": {"assignee": "team@keel.test", "labels_add": ["x"]}});
    let (s, v) = post(&t, &team, path, body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["refused"][0]["key"], "SHOP-2");
    assert_eq!(snapshot().await, before);
    // Everything allowed: every item changes, in one go.
    let body = json!({"keys": ["SHOP-2", "SHOP-3", "SHOP-4"], "set": {
        "status": "In Progress", "assignee": "team@keel.test", "labels_add": ["checkout"],
        "labels_remove": ["old"], "epic": "SHOP-1"}});
    let (s, v) = post(&t, tok, path, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for i in snapshot().await {
        assert_eq!(i["status"], "In Progress");
        assert_eq!(i["assignee_id"], team_user.id.0);
        assert_eq!(i["labels"], json!(["checkout"]));
        assert_eq!(i["parent"], "SHOP-1");
    }
    // An epic cannot be put in an epic: refused, nothing changed.
    let (s, v) = post(
        &t,
        tok,
        path,
        json!({"keys": ["SHOP-1", "SHOP-2"], "set": {"epic": null, "labels_add": ["y"]}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "clearing the epic of an epic is a no-op: {v}");
    let (s, v) = post(&t, tok, path, json!({"keys": ["SHOP-2"], "set": {"epic": "SHOP-3"}})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("epic")), "{v}");
}

async fn releases_progress_notes_and_shipping(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let tok = &t.admin_token;
    let path = "/api/v1/products/SHOP/releases";
    let (s, r1) = post(&t, &po, path, json!({"name": "2.4", "target_date": "2026-03-31"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r1}");
    assert_eq!((r1["state"].as_str(), r1["target_date"].as_str()), (Some("planned"), Some("2026-03-31")));
    let (s, r2) = post(&t, &po, path, json!({"name": "2.5"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r2}");
    let (id1, id2) = (r1["id"].as_i64().unwrap(), r2["id"].as_i64().unwrap());
    // Names are unique; bad dates and names are refused; the team and PM may not create.
    assert_eq!(post(&t, &po, path, json!({"name": "2.4"})).await.0, StatusCode::CONFLICT);
    let (s, v) = post(&t, &po, path, json!({"name": "3", "target_date": "2026-02-30"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("target_date")));
    let (s, v) = post(&t, &po, path, json!({"name": ""})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    assert_eq!(post(&t, &team, path, json!({"name": "x"})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post(&t, &pm, path, json!({"name": "x"})).await.0, StatusCode::FORBIDDEN);
    // Scope: two epics' stories and one without an epic, done; one still open.
    create(&t, tok, json!({"title": "Checkout", "kind": "epic"})).await; // SHOP-1
    create(&t, tok, json!({"title": "Search", "kind": "epic"})).await; // SHOP-2
    for (title, parent, est) in [
        ("Guest checkout", Some("SHOP-1"), 5),
        ("Typo search", Some("SHOP-2"), 3),
        ("Faster pages", None, 2),
        ("Wallets", Some("SHOP-1"), 8),
    ] {
        create(&t, tok, json!({"title": title, "parent": parent, "release": id1})).await;
        let _ = est;
    }
    for (k, est) in [("SHOP-3", 5), ("SHOP-4", 3), ("SHOP-5", 2), ("SHOP-6", 8)] {
        call(&t, &team, Method::PATCH, &format!("/api/v1/items/{k}"), Some(json!({"estimate": est}))).await;
    }
    for k in ["SHOP-3", "SHOP-4", "SHOP-5"] {
        finish(&t, k).await;
    }
    let (s, v) = call(&t, tok, Method::PATCH, "/api/v1/items/SHOP-6", Some(json!({"release": 99999}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("release")), "{v}");
    let (s, v) = get(&t, &team, &format!("/api/v1/releases/{id1}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["progress"],
        json!({"done_items": 3, "total_items": 4, "done_points": 10.0, "total_points": 18.0, "percent": 56})
    );
    let (_, list) = get(&t, &team, path).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Notes: Markdown grouped by epic, and the same as JSON.
    let res = Client::new()
        .get(t.url(&format!("/api/v1/releases/{id1}/notes")))
        .bearer_auth(&team)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let md = res.text().await.unwrap();
    assert_eq!(
        md,
        "# Release 2.4 (2026-03-31)\n\n## Checkout\n\n- Guest checkout (SHOP-3)\n\n## Search\n\n- Typo search (SHOP-4)\n\n## Other changes\n\n- Faster pages (SHOP-5)\n\n"
    );
    let (_, v) = get(&t, &team, &format!("/api/v1/releases/{id1}/notes?format=json")).await;
    assert_eq!(v["sections"][0]["epic"], "SHOP-1");
    assert_eq!(v["sections"][2]["epic"], Value::Null);
    // Releasing: the PM decides the go / no-go and must say what happens to the open item; the
    // team may not; the PO proposes.
    let ship = format!("/api/v1/releases/{id1}/release");
    assert_eq!(post(&t, &team, &ship, json!({"open_items": "keep"})).await.0, StatusCode::FORBIDDEN);
    let (s, v) = post(&t, &pm, &ship, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["open_items"][0]["key"], "SHOP-6");
    assert_eq!(get(&t, &pm, &format!("/api/v1/releases/{id1}")).await.1["state"], "planned");
    let (s, v) = post(&t, &pm, &ship, json!({"open_items": "sideways"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("open_items")));
    let (s, v) = post(&t, &pm, &ship, json!({"open_items": "move_to", "move_to": id1})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("move_to")));
    assert_eq!(post(&t, &po, &ship, json!({})).await.0, StatusCode::CONFLICT);
    let (s, p) =
        post(&t, &po, &ship, json!({"open_items": "move_to", "move_to": id2, "reason": "ready"})).await;
    assert_eq!((s, &p["state"]), (StatusCode::ACCEPTED, &json!("pending")), "{p}");
    assert_eq!(get(&t, &pm, &format!("/api/v1/releases/{id1}")).await.1["state"], "planned");
    let pid = p["id"].as_i64().unwrap();
    assert_eq!(
        post(&t, &po, &format!("/api/v1/proposals/{pid}/accept"), json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = post(&t, &pm, &format!("/api/v1/proposals/{pid}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["proposal"]["state"], "accepted");
    let (_, v) = get(&t, &pm, &format!("/api/v1/releases/{id1}")).await;
    assert_eq!(v["state"], "released");
    assert!(v["released_at"].is_string());
    assert_eq!(item(&t, "SHOP-6").await["release_id"], id2);
    assert_eq!(item(&t, "SHOP-3").await["release_id"], id1);
    assert_eq!(post(&t, &pm, &ship, json!({"open_items": "keep"})).await.0, StatusCode::CONFLICT);
    // Editing and deleting: the PO's; a stale version is 409; deleting frees the items.
    let r2v = get(&t, &po, &format!("/api/v1/releases/{id2}")).await.1["version"].as_i64().unwrap();
    let (s, v) = call(
        &t,
        &po,
        Method::PATCH,
        &format!("/api/v1/releases/{id2}"),
        Some(json!({"name": "2.5.1", "version": r2v})),
    )
    .await;
    assert_eq!((s, &v["name"]), (StatusCode::OK, &json!("2.5.1")), "{v}");
    let (s, _) = call(
        &t,
        &po,
        Method::PATCH,
        &format!("/api/v1/releases/{id2}"),
        Some(json!({"name": "2.6", "version": r2v})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        call(&t, &team, Method::DELETE, &format!("/api/v1/releases/{id2}"), None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&t, &po, Method::DELETE, &format!("/api/v1/releases/{id2}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(item(&t, "SHOP-6").await["release_id"], Value::Null);
    assert_eq!(get(&t, &po, &format!("/api/v1/releases/{id2}")).await.0, StatusCode::NOT_FOUND);
    // Another product's members do not see it.
    let other = t.product("OTHER").await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Po]).await;
    assert_eq!(get(&t, &stranger, &format!("/api/v1/releases/{id1}")).await.0, StatusCode::NOT_FOUND);
}

async fn splitting_creates_children(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let tok = &t.admin_token;
    create(&t, tok, json!({"title": "Checkout", "kind": "epic"})).await;
    let (s, v) =
        post(&t, tok, "/api/v1/items/SHOP-1/split", json!({"titles": ["Guest checkout", " ", "Wallets"]}))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let kinds: Vec<(&str, &str)> = v["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["parent"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("story", "SHOP-1"), ("story", "SHOP-1")]);
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-2/split", json!({"titles": ["Form", "API"]})).await;
    assert_eq!((s, &v["created"][0]["kind"]), (StatusCode::CREATED, &json!("task")), "{v}");
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-4/split", json!({"titles": ["x"]})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("titles")), "{v}");
    let (s, v) = post(&t, tok, "/api/v1/items/SHOP-1/split", json!({"titles": []})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("titles")), "{v}");
}
