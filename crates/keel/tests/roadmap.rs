//! API tests of initiatives and the roadmap: CRUD, links, rights and proposals, progress
//! roll-up, timeline warnings, published roadmaps; on SQLite and (when
//! `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_app::records::new_record;
use keel_domain::pm::Goal;
use keel_domain::product::Role;
use keel_domain::time::Date;
use keel_store::{WriteOp, Written};
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
    initiatives_crud_and_links,
    product_owner_proposes_product_manager_accepts,
    progress_rolls_up_from_epics_stories,
    moving_past_a_goal_due_date_warns,
    published_roadmap_shows_only_public_wording,
);

/// A request with a bearer token (none when empty); returns status and JSON body.
async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let c = Client::new();
    let mut r = c.request(method, t.url(path));
    if !token.is_empty() {
        r = r.bearer_auth(token);
    }
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

async fn patch(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PATCH, path, Some(body)).await
}

async fn item(t: &TestApp, key: &str, body: Value) -> String {
    item_as(t, &t.admin_token, key, body).await
}

async fn item_as(t: &TestApp, token: &str, key: &str, body: Value) -> String {
    let (s, v) = post(t, token, &format!("/api/v1/products/{key}/items"), body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["key"].as_str().unwrap().to_string()
}

/// A goal record made directly (goals' own API belongs to another part).
async fn goal(t: &TestApp, product: &keel_domain::product::Product, title: &str, due: Option<&str>) -> i64 {
    let g =
        Goal { title: title.into(), due: due.map(|d| Date::parse("due", d).unwrap()), ..Default::default() };
    let rec = new_record(Some(product.id), None, "", None, &g).unwrap();
    let mut w =
        t.app.store().write_batch(vec![WriteOp::CreateRecord(rec)], &t.app.system_ctx()).await.unwrap();
    match w.remove(0) {
        Written::Record(r) => r.id.0,
        other => panic!("{other:?}"),
    }
}

/// Ticks the default Definition of Done and moves the story to Done.
async fn finish(t: &TestApp, key: &str) {
    let tok = &t.admin_token;
    let (s, v) =
        call(t, tok, Method::PUT, &format!("/api/v1/items/{key}/checks"), Some(json!({"dod": [1, 2, 3]})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = patch(t, tok, &format!("/api/v1/items/{key}"), json!({"status": "Done"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn initiatives_crud_and_links(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (pm_user, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let g = goal(&t, &shop, "Effortless checkout", None).await;
    let foreign = goal(&t, &other, "Elsewhere", None).await;
    let epic = item(&t, "SHOP", json!({"title": "Wallets", "kind": "epic"})).await;
    let story = item(&t, "SHOP", json!({"title": "Pay by card"})).await;
    let other_epic = item(&t, "OTHER", json!({"title": "Theirs", "kind": "epic"})).await;
    let list = "/api/v1/products/SHOP/initiatives";
    let body = json!({"title": "One-click checkout", "quarter": "2026-Q3", "lane": "next", "status": "planned",
        "budget_planned": 50000, "budget_spent": 1200.5, "confidence": 70, "goals": [g], "epics": [epic]});
    // Team and stakeholders may not change the roadmap.
    for tok in [&team, &sh] {
        let (s, v) = post(&t, tok, list, body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let (s, v) = post(&t, &pm, list, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!((v["start"].as_str(), v["end"].as_str()), (Some("2026-07-01"), Some("2026-09-30")));
    assert_eq!((&v["lane"], &v["status"], &v["confidence"]), (&json!("next"), &json!("planned"), &json!(70)));
    assert_eq!(
        (&v["epics"], &v["goals"], &v["quarters"]),
        (&json!([epic]), &json!([g]), &json!(["2026-Q3"]))
    );
    assert_eq!(v["budget_spent"], json!(1200.5));
    let path = format!("/api/v1/initiatives/{id}");
    // Bad input: a clear 422 naming the field, nothing changed.
    let bad = [
        (json!({"lane": "soon"}), "lane"),
        (json!({"status": "maybe"}), "status"),
        (json!({"confidence": 101}), "confidence"),
        (json!({"budget_planned": -5}), "budget_planned"),
        (json!({"start": "2026-10-01", "end": "2026-09-01"}), "end"),
        (json!({"quarter": "2026-Q5"}), "quarter"),
        (json!({"epics": [story]}), "epics"),
        (json!({"epics": [other_epic]}), "epics"),
        (json!({"epics": ["NOPE-1"]}), "epics"),
        (json!({"goals": [foreign]}), "goals"),
        (json!({"goals": [999999]}), "goals"),
        (json!({"title": ""}), "title"),
        (json!({"owner": 999999}), "owner"),
    ];
    for (b, field) in bad {
        let (s, v) = patch(&t, &pm, &path, b.clone()).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{b} {v}");
    }
    let (s, v) = patch(&t, &pm, &path, json!({"colour": "red"})).await;
    assert!(s.is_client_error(), "{v}");
    let (s, v) = get(&t, &team, &path).await;
    assert_eq!((s, v["version"].as_i64(), &v["lane"]), (StatusCode::OK, Some(1), &json!("next")), "{v}");
    // A stale version is a 409.
    let (s, _) = patch(&t, &pm, &path, json!({"lane": "now", "version": 7})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = patch(
        &t,
        &pm,
        &path,
        json!({"lane": "now", "version": 1, "confidence": null, "owner": pm_user.id.0}),
    )
    .await;
    assert_eq!((s, &v["lane"], &v["confidence"]), (StatusCode::OK, &json!("now"), &Value::Null), "{v}");
    assert_eq!(v["owner"], json!(pm_user.id.0));
    let (s, v) = get(&t, &team, list).await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::OK, 1), "{v}");
    // A stakeholder does not see what is not public.
    let (s, _) = get(&t, &sh, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = get(&t, &sh, list).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    // Outsiders see nothing.
    let (_, outsider) = t.member(&other, "out@keel.test", &[Role::Pm]).await;
    let (s, _) = get(&t, &outsider, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&t, &team, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&t, &pm, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = get(&t, &pm, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn product_owner_proposes_product_manager_accepts(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let list = "/api/v1/products/SHOP/initiatives";
    let (s, v) = post(&t, &pm, list, json!({"title": "Wallets", "lane": "later"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let path = format!("/api/v1/initiatives/{}", v["id"]);
    // The PO's move is a proposal; nothing moves yet.
    let (s, p) = patch(&t, &po, &path, json!({"lane": "now", "reason": "customers ask"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p}");
    let (_, v) = get(&t, &po, &path).await;
    assert_eq!(v["lane"], "later");
    // The PO's new initiative is a proposal too.
    let (s, p2) = post(&t, &po, list, json!({"title": "Gift cards"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p2}");
    let (_, l) = get(&t, &pm, list).await;
    assert_eq!(l.as_array().unwrap().len(), 1);
    // The PO cannot accept their own; the PM can.
    let accept = format!("/api/v1/proposals/{}/accept", p["id"]);
    let (s, _) = post(&t, &po, &accept, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = post(&t, &pm, &accept, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &po, &path).await;
    assert_eq!(v["lane"], "now");
    let (s, v) = post(&t, &pm, &format!("/api/v1/proposals/{}/accept", p2["id"]), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, l) = get(&t, &pm, list).await;
    let titles: Vec<&str> = l.as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Wallets", "Gift cards"]);
    // A proposal for an initiative deleted since becomes stale.
    let (s, p3) = patch(&t, &po, &path, json!({"lane": "next"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{p3}");
    let (s, _) = call(&t, &pm, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = post(&t, &pm, &format!("/api/v1/proposals/{}/accept", p3["id"]), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

async fn progress_rolls_up_from_epics_stories(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team, Role::Po]).await;
    let e1 = item(&t, "SHOP", json!({"title": "Wallets", "kind": "epic"})).await;
    let e2 = item(&t, "SHOP", json!({"title": "Cards", "kind": "epic"})).await;
    let a = item_as(&t, &team, "SHOP", json!({"title": "A", "parent": e1, "estimate": 3})).await;
    let _b = item_as(&t, &team, "SHOP", json!({"title": "B", "parent": e1, "estimate": 5})).await;
    let c = item_as(&t, &team, "SHOP", json!({"title": "C", "parent": e2, "estimate": 8})).await;
    let _d = item(&t, "SHOP", json!({"title": "D", "parent": e2})).await;
    let _outside = item_as(&t, &team, "SHOP", json!({"title": "E", "estimate": 13})).await;
    finish(&t, &a).await;
    finish(&t, &c).await;
    let (s, v) =
        post(&t, &pm, "/api/v1/products/SHOP/initiatives", json!({"title": "Pay", "epics": [e1, e2]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Done 3 + 8 = 11 of 3 + 5 + 8 = 16 points: 68.75 % → 69; D has no estimate.
    assert_eq!(
        v["progress"],
        json!({"done_points": 11.0, "total_points": 16.0, "unestimated": 1, "percent": 69})
    );
    let (_, r) = get(&t, &pm, "/api/v1/products/SHOP/roadmap").await;
    assert_eq!(r["lanes"][2]["lane"], "later");
    assert_eq!(r["lanes"][2]["initiatives"][0]["progress"]["percent"], 69);
}

async fn moving_past_a_goal_due_date_warns(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let g = goal(&t, &shop, "Fast checkout", Some("2026-06-30")).await;
    let body = json!({"title": "Pay", "start": "2026-04-01", "end": "2026-06-30", "goals": [g]});
    let (s, v) = post(&t, &pm, "/api/v1/products/SHOP/initiatives", body).await;
    assert_eq!((s, &v["warnings"]), (StatusCode::CREATED, &json!([])), "{v}");
    let path = format!("/api/v1/initiatives/{}", v["id"]);
    let (s, v) = patch(&t, &pm, &path, json!({"quarter": "2026-Q3"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["end"], "2026-09-30");
    assert_eq!(
        v["warnings"],
        json!(["ends on 2026-09-30, after the goal \u{201c}Fast checkout\u{201d} is due on 2026-06-30"])
    );
    let (_, r) = get(&t, &pm, "/api/v1/products/SHOP/roadmap").await;
    assert_eq!(r["warnings"].as_array().unwrap().len(), 1, "{r}");
    let q3 = r["timeline"].as_array().unwrap().iter().find(|q| q["quarter"] == "2026-Q3").unwrap();
    assert_eq!(q3["initiatives"], json!([v["id"]]));
}

async fn published_roadmap_shows_only_public_wording(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let list = "/api/v1/products/SHOP/initiatives";
    let (s, _) = post(&t, &pm, list, json!({"title": "Secret bet", "lane": "now"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let body = json!({"title": "Internal name", "lane": "next", "public": true, "public_title": "Faster checkout",
        "public_description": "Pay in one step."});
    let (s, _) = post(&t, &pm, list, body).await;
    assert_eq!(s, StatusCode::CREATED);
    let publish = "/api/v1/products/SHOP/roadmap/publish";
    let (s, _) = post(&t, &po, publish, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, p) = post(&t, &pm, publish, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let token = p["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 40, "{token}");
    let (s, v) = get(&t, "", &format!("/api/v1/roadmaps/published/{token}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = v.to_string();
    assert!(!text.contains("Secret") && !text.contains("Internal"), "{text}");
    assert_eq!(v["lanes"][0]["initiatives"], json!([]));
    assert_eq!(v["lanes"][1]["initiatives"][0]["title"], "Faster checkout");
    assert_eq!(v["lanes"][1]["initiatives"][0]["description"], "Pay in one step.");
    // A stakeholder member sees the same public view.
    let (_, r) = get(&t, &sh, "/api/v1/products/SHOP/roadmap").await;
    let n: usize =
        r["lanes"].as_array().unwrap().iter().map(|l| l["initiatives"].as_array().unwrap().len()).sum();
    assert_eq!(n, 1, "{r}");
    let (s, _) = get(&t, "", "/api/v1/roadmaps/published/not-a-token").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Publishing anew revokes the old link; deleting revokes the new one.
    let (_, p2) = post(&t, &pm, publish, json!({})).await;
    let (s, _) = get(&t, "", &format!("/api/v1/roadmaps/published/{token}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let t2 = p2["token"].as_str().unwrap().to_string();
    let (s, _) = get(&t, "", &format!("/api/v1/roadmaps/published/{t2}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(&t, &pm, Method::DELETE, publish, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = get(&t, "", &format!("/api/v1/roadmaps/published/{t2}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&t, &pm, Method::DELETE, publish, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
