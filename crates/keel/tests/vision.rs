//! API tests of the vision board: versions, comparing, the card, proposals and concurrency, on
//! SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

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
    vision_is_versioned_and_compared,
    vision_rights_and_proposals,
    vision_bad_input_and_stale_saves,
    kpis_measurements_and_progress,
    kpi_bad_input_changes_nothing,
    goals_roll_up_key_results,
    goals_kpis_and_key_results_are_patched,
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

async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PUT, path, Some(body)).await
}

const V: &str = "/api/v1/products/SHOP/vision";

async fn vision_is_versioned_and_compared(db: TestDb) {
    let t = spawn_app(db).await;
    let _ = t.product("SHOP").await;
    let pm = t.admin_token.clone();
    let (s, v) = get(&t, &pm, V).await;
    assert_eq!((s, &v["version"], &v["current"]), (StatusCode::OK, &json!(0), &Value::Null), "{v}");
    // No card before the first save.
    let (s, _) = get(&t, &pm, "/api/v1/products/SHOP/vision-card").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let first = json!({"version": 0, "statement": "Checkout in one tap", "target_group": "Busy shoppers",
        "needs": "Pay fast", "product": "A shop app", "business_goals": "Grow revenue"});
    let (s, v) = put(&t, &pm, V, first).await;
    assert_eq!(
        (s, &v["version"], &v["current"]["statement"]),
        (StatusCode::OK, &json!(1), &json!("Checkout in one tap")),
        "{v}"
    );
    let second = json!({"version": 1, "statement": "Checkout in one tap", "target_group": "Busy shoppers",
        "needs": "Pay fast and safely", "product": "A shop app", "business_goals": "Grow revenue by 20 %"});
    let (s, v) = put(&t, &pm, V, second).await;
    assert_eq!((s, &v["version"], &v["versions"]), (StatusCode::OK, &json!(2), &json!(2)), "{v}");
    // Both versions are kept, newest first; each can be read.
    let (s, v) = get(&t, &pm, &format!("{V}/versions")).await;
    assert_eq!(s, StatusCode::OK);
    let numbers: Vec<i64> =
        v["versions"].as_array().unwrap().iter().map(|x| x["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [2, 1]);
    let (s, v) = get(&t, &pm, &format!("{V}/versions/1")).await;
    assert_eq!(
        (s, &v["needs"], &v["saved_by"]),
        (StatusCode::OK, &json!("Pay fast"), &json!(t.admin.id.0)),
        "{v}"
    );
    assert_eq!(get(&t, &pm, &format!("{V}/versions/3")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &pm, &format!("{V}/versions/x")).await.0, StatusCode::NOT_FOUND);
    // Comparing names the fields that differ.
    let (s, v) = get(&t, &pm, &format!("{V}/compare?a=1&b=2")).await;
    assert_eq!((s, &v["changed"]), (StatusCode::OK, &json!(["needs", "business_goals"])), "{v}");
    assert_eq!(v["a"]["needs"], "Pay fast");
    let (s, v) = get(&t, &pm, &format!("{V}/compare?a=1&b=9")).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("b")), "{v}");
    // The card, as Markdown and as HTML; the format is checked.
    let (s, v) = get(&t, &pm, "/api/v1/products/SHOP/vision-card").await;
    let md = v.as_str().unwrap().to_string();
    assert_eq!(s, StatusCode::OK);
    assert!(
        md.starts_with("# Product SHOP — vision\n\n## Vision statement\n\nCheckout in one tap\n"),
        "{md}"
    );
    assert!(md.contains("## Needs\n\nPay fast and safely\n") && md.ends_with("_Version 2_\n"), "{md}");
    let (s, v) = get(&t, &pm, "/api/v1/products/SHOP/vision-card?format=html").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("<h2>Business goals</h2>"), "{v}");
    let (s, v) = get(&t, &pm, "/api/v1/products/SHOP/vision-card?format=docx").await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("format")), "{v}");
    // Every endpoint is in the OpenAPI document.
    let (_, doc) = get(&t, &pm, "/api/v1/openapi.json").await;
    for path in ["", "/versions", "/versions/{n}", "/compare"] {
        let p = format!("/api/v1/products/{{product}}/vision{path}");
        assert!(doc["paths"][&p].is_object(), "{p}");
    }
    assert!(doc["paths"]["/api/v1/products/{product}/vision-card"].is_object());
}

async fn vision_rights_and_proposals(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let (s, _) = put(&t, &pm, V, json!({"version": 0, "statement": "First"})).await;
    assert_eq!(s, StatusCode::OK);
    // The team reads but may not change it.
    assert_eq!(get(&t, &team, V).await.1["current"]["statement"], "First");
    let (s, v) = put(&t, &team, V, json!({"version": 1, "statement": "Team's"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // The PO proposes: 202, nothing saved yet.
    let (s, p) = put(&t, &po, V, json!({"version": 1, "statement": "PO's", "reason": "sharper"})).await;
    assert_eq!(
        (s, &p["state"], &p["summary"]),
        (StatusCode::ACCEPTED, &json!("pending"), &json!("Change the vision")),
        "{p}"
    );
    assert_eq!(get(&t, &pm, V).await.1["version"], 1);
    // The PO cannot accept their own proposal; the PM can, which saves version 2.
    let accept = format!("/api/v1/proposals/{}/accept", p["id"]);
    let (s, _) = call(&t, &po, Method::POST, &accept, Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, a) = call(&t, &pm, Method::POST, &accept, Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (_, v) = get(&t, &pm, V).await;
    assert_eq!((&v["version"], &v["current"]["statement"]), (&json!(2), &json!("PO's")), "{v}");
    // Not a member: 404.
    let other = t.product("OTHER").await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Pm]).await;
    assert_eq!(get(&t, &stranger, V).await.0, StatusCode::NOT_FOUND);
    assert_eq!(put(&t, &stranger, V, json!({"statement": "x"})).await.0, StatusCode::NOT_FOUND);
}

async fn vision_bad_input_and_stale_saves(db: TestDb) {
    let t = spawn_app(db).await;
    let _ = t.product("SHOP").await;
    let pm = t.admin_token.clone();
    // A statement is required; unknown fields and overlong text are refused; nothing saved.
    let (s, v) = put(&t, &pm, V, json!({"version": 0, "statement": "  "})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("statement")), "{v}");
    let (s, v) = put(&t, &pm, V, json!({"statement": "x", "mission": "y"})).await;
    assert!(s.is_client_error(), "{s} {v}");
    let (s, v) = put(&t, &pm, V, json!({"statement": "x", "needs": "n".repeat(10_001)})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("needs")), "{v}");
    assert_eq!(get(&t, &pm, V).await.1["version"], 0);
    // Two people edit version 1; the second save is stale: 409, and only one version is added.
    assert_eq!(put(&t, &pm, V, json!({"version": 0, "statement": "One"})).await.0, StatusCode::OK);
    assert_eq!(put(&t, &pm, V, json!({"version": 1, "statement": "Two"})).await.0, StatusCode::OK);
    let (s, v) = put(&t, &pm, V, json!({"version": 1, "statement": "Three"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, v) = get(&t, &pm, V).await;
    assert_eq!((&v["version"], &v["current"]["statement"]), (&json!(2), &json!("Two")), "{v}");
    // Concurrent saves from the same version: exactly one wins.
    let (a, b) = tokio::join!(
        put(&t, &pm, V, json!({"version": 2, "statement": "A"})),
        put(&t, &pm, V, json!({"version": 2, "statement": "B"}))
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [StatusCode::OK, StatusCode::CONFLICT], "{a:?} {b:?}");
    assert_eq!(get(&t, &pm, V).await.1["versions"], 3);
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::POST, path, Some(body)).await
}

async fn post_csv(t: &TestApp, token: &str, path: &str, csv: &str) -> (StatusCode, Value) {
    let res = Client::new()
        .post(t.url(path))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn kpis_measurements_and_progress(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&product, "team@keel.test", &[Role::Team]).await;
    let conv = json!({"name": "Checkout conversion", "kind": "adoption", "unit": "percent", "direction": "up",
        "baseline": 40, "target": 50, "due": "2026-12-31"});
    // Only the PM defines KPIs: the PO and the team get 403.
    assert_eq!(post(&t, &po, "/api/v1/products/SHOP/kpis", conv.clone()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post(&t, &team, "/api/v1/products/SHOP/kpis", conv.clone()).await.0, StatusCode::FORBIDDEN);
    let (s, k) = post(&t, &pm, "/api/v1/products/SHOP/kpis", conv).await;
    assert_eq!(
        (s, &k["progress"], &k["unit"]),
        (StatusCode::CREATED, &Value::Null, &json!("percent")),
        "{k}"
    );
    let id = k["id"].as_i64().unwrap();
    let m = format!("/api/v1/kpis/{id}/measurements");
    // The PO records a measurement; automation posts several with a token; the team may not.
    let (s, k) = post(&t, &po, &m, json!({"date": "2026-01-31", "value": 41, "unit": "percent"})).await;
    assert_eq!((s, &k["progress"]), (StatusCode::CREATED, &json!(10.0)), "{k}");
    let (s, k) = post(
        &t,
        &pm,
        &m,
        json!({"measurements": [
        {"date": "2026-03-31", "value": 45, "note": "after the one-tap launch"},
        {"date": "2026-02-28", "value": 43}]}),
    )
    .await;
    // Latest is 45 on 2026-03-31: (45 - 40) / (50 - 40) = 50 %.
    assert_eq!((s, &k["latest"], &k["progress"]), (StatusCode::CREATED, &json!(45.0), &json!(50.0)), "{k}");
    assert_eq!(
        post(&t, &team, &m, json!({"date": "2026-04-01", "value": 46})).await.0,
        StatusCode::FORBIDDEN
    );
    let dates: Vec<String> = get(&t, &team, &m)
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dates, ["2026-01-31", "2026-02-28", "2026-03-31"]);
    // CSV import, header optional: 2026-04-30 at 52.5 is past the target: 100 %.
    let (s, k) = post_csv(
        &t,
        &pm,
        &format!("{m}/import"),
        "date,value,note\n2026-04-15,47\n2026-04-30,52.5,campaign\n",
    )
    .await;
    assert_eq!(
        (s, &k["progress"], k["measurements"].as_array().unwrap().len()),
        (StatusCode::CREATED, &json!(100.0), 5),
        "{k}"
    );
    // Down is good: churn 8 % → 4 %, at 7 % a quarter of the way.
    let (s, c) = post(
        &t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Churn", "kind": "retention",
        "unit": "percent", "direction": "down", "baseline": 8, "target": 4}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (_, c) = post(
        &t,
        &pm,
        &format!("/api/v1/kpis/{}/measurements", c["id"]),
        json!({"date": "2026-02-01", "value": 7}),
    )
    .await;
    assert_eq!(c["progress"], 25.0);
    let (_, list) = get(&t, &team, "/api/v1/products/SHOP/kpis").await;
    assert_eq!(list["kpis"].as_array().unwrap().len(), 2);
    // Delete: PM only.
    let path = format!("/api/v1/kpis/{}", c["id"]);
    assert_eq!(call(&t, &po, Method::DELETE, &path, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&t, &pm, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(get(&t, &pm, &path).await.0, StatusCode::NOT_FOUND);
    // Another product's member sees nothing.
    let other = t.product("OTHER").await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Pm]).await;
    assert_eq!(get(&t, &stranger, &format!("/api/v1/kpis/{id}")).await.0, StatusCode::NOT_FOUND);
}

async fn kpi_bad_input_changes_nothing(db: TestDb) {
    let t = spawn_app(db).await;
    let _ = t.product("SHOP").await;
    let pm = t.admin_token.clone();
    let base = json!({"name": "NPS", "kind": "nps", "unit": "score", "baseline": 20, "target": 20});
    let (s, v) = post(&t, &pm, "/api/v1/products/SHOP/kpis", base).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("target")), "{v}");
    for (body, field) in [
        (json!({"name": "x", "baseline": 1, "target": 2, "unit": "%"}), "unit"),
        (json!({"name": "x", "baseline": 1, "target": 2, "kind": "vibes"}), "kind"),
        (json!({"name": "x", "baseline": 10, "target": 2}), "target"),
        (json!({"name": "x", "baseline": 10, "target": 120, "unit": "percent"}), "target"),
        (json!({"name": "", "baseline": 1, "target": 2}), "name"),
        (json!({"name": "x", "baseline": 1, "target": 2, "due": "soon"}), "due"),
    ] {
        let (s, v) = post(&t, &pm, "/api/v1/products/SHOP/kpis", body).await;
        assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)), "{v}");
    }
    assert_eq!(get(&t, &pm, "/api/v1/products/SHOP/kpis").await.1["kpis"], json!([]));
    let (_, k) = post(
        &t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Share", "kind": "market_share", "unit": "percent", "baseline": 10, "target": 20}),
    )
    .await;
    let m = format!("/api/v1/kpis/{}/measurements", k["id"]);
    // A measurement without a date, a percentage over 100, a batch with one bad entry: 422, nothing written.
    let (s, v) = post(&t, &pm, &m, json!({"date": "2026-01-01", "value": 12, "unit": "currency"})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("unit")), "{v}");
    let (s, v) = post(&t, &pm, &m, json!({"value": 12})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("date")), "{v}");
    let (s, v) = post(&t, &pm, &m, json!({"date": "2026-01-01", "value": 120})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("measurements[0].value")), "{v}");
    let (s, v) =
        post(&t, &pm, &m, json!({"measurements": [{"date": "2026-01-01", "value": 12}, {"value": 13}]}))
            .await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("measurements[1].date")), "{v}");
    // CSV with a bad row: 422 naming the rows, nothing written.
    let (s, v) =
        post_csv(&t, &pm, &format!("{m}/import"), "date,value\n2026-01-01,12\n2026-02-01,abc\n,14\n").await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("csv")), "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("row 3: value must be a number") && detail.contains("row 4: date is missing"),
        "{v}"
    );
    assert_eq!(get(&t, &pm, &m).await.1, json!([]));
    assert_eq!(get(&t, &pm, "/api/v1/kpis/abc").await.0, StatusCode::NOT_FOUND);
}

async fn goals_roll_up_key_results(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, pm) = t.member(&product, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let goal =
        json!({"title": "Make checkout effortless", "description": "Fewer drop-outs", "due": "2026-12-31"});
    assert_eq!(post(&t, &po, "/api/v1/products/SHOP/goals", goal.clone()).await.0, StatusCode::FORBIDDEN);
    let (s, g) = post(&t, &pm, "/api/v1/products/SHOP/goals", goal).await;
    assert_eq!((s, &g["progress"]), (StatusCode::CREATED, &Value::Null), "{g}");
    let gid = g["id"].as_i64().unwrap();
    // Two KPIs: conversion 40 → 50 at 45 (50 %), churn 8 → 4 at 7 (25 %).
    let (_, conv) = post(
        &t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Conversion", "unit": "percent", "baseline": 40, "target": 50}),
    )
    .await;
    let (_, churn) = post(
        &t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Churn", "unit": "percent", "direction": "down", "baseline": 8, "target": 4}),
    )
    .await;
    post(
        &t,
        &pm,
        &format!("/api/v1/kpis/{}/measurements", conv["id"]),
        json!({"date": "2026-02-01", "value": 45}),
    )
    .await;
    post(
        &t,
        &pm,
        &format!("/api/v1/kpis/{}/measurements", churn["id"]),
        json!({"date": "2026-02-01", "value": 7}),
    )
    .await;
    let krs = format!("/api/v1/goals/{gid}/key-results");
    let (s, g) = post(&t, &pm, &krs, json!({"title": "Conversion to 50 %", "kpi_id": conv["id"]})).await;
    assert_eq!((s, &g["progress"]), (StatusCode::CREATED, &json!(50.0)), "{g}");
    let (_, g) = post(&t, &pm, &krs, json!({"title": "Churn to 4 %", "kpi_id": churn["id"]})).await;
    // Mean of 50 % and 25 %.
    assert_eq!(g["progress"], 37.5, "{g}");
    // A key result without a KPI has no progress and does not count.
    let (_, g) = post(&t, &pm, &krs, json!({"title": "Happier support"})).await;
    assert_eq!((&g["progress"], &g["key_results"][2]["progress"]), (&json!(37.5), &Value::Null), "{g}");
    // A KPI of another product is refused; nothing changes.
    let other = t.product("OTHER").await;
    let (s, ok) = post(
        &t,
        &t.admin_token,
        "/api/v1/products/OTHER/kpis",
        json!({"name": "Theirs", "baseline": 1, "target": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{ok}");
    let (s, v) = post(&t, &pm, &krs, json!({"title": "Sneaky", "kpi_id": ok["id"]})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("kpi_id")), "{v}");
    assert_eq!(get(&t, &po, &krs).await.1.as_array().unwrap().len(), 3);
    // Removing the churn key result: progress is conversion's alone.
    let kr = g["key_results"][1]["id"].as_i64().unwrap();
    assert_eq!(call(&t, &po, Method::DELETE, &format!("{krs}/{kr}"), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&t, &pm, Method::DELETE, &format!("{krs}/{kr}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(call(&t, &pm, Method::DELETE, &format!("{krs}/{kr}"), None).await.0, StatusCode::NOT_FOUND);
    let (_, list) = get(&t, &po, "/api/v1/products/SHOP/goals").await;
    assert_eq!(list["goals"][0]["progress"], 50.0, "{list}");
    let (s, v) = post(&t, &pm, "/api/v1/products/SHOP/goals", json!({"title": " "})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("title")), "{v}");
    let _ = other;
    assert_eq!(
        call(&t, &pm, Method::DELETE, &format!("/api/v1/goals/{gid}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(get(&t, &pm, &format!("/api/v1/goals/{gid}")).await.0, StatusCode::NOT_FOUND);
}

async fn patch(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PATCH, path, Some(body)).await
}

async fn goals_kpis_and_key_results_are_patched(db: TestDb) {
    let t = spawn_app(db).await;
    let product = t.product("SHOP").await;
    let (_, po) = t.member(&product, "po@keel.test", &[Role::Po]).await;
    let pm = t.admin_token.clone();
    let (_, k) = post(
        &t,
        &pm,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Conversion", "unit": "percent", "baseline": 40, "target": 50}),
    )
    .await;
    let kp = format!("/api/v1/kpis/{}", k["id"]);
    post(&t, &pm, &format!("{kp}/measurements"), json!({"date": "2026-02-01", "value": 45})).await;
    // Target to 60: (45 - 40) / 20 = 25 %. Target equal to the baseline: 422, unchanged.
    let (s, v) = patch(&t, &pm, &kp, json!({"target": 60, "due": "2026-09-30"})).await;
    assert_eq!((s, &v["progress"], &v["due"]), (StatusCode::OK, &json!(25.0), &json!("2026-09-30")), "{v}");
    let (s, v) = patch(&t, &pm, &kp, json!({"target": 40})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("target")), "{v}");
    assert_eq!(patch(&t, &po, &kp, json!({"name": "Mine"})).await.0, StatusCode::FORBIDDEN);
    let (s, _) = patch(&t, &pm, &kp, json!({"name": "Old read", "version": 1})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = get(&t, &pm, &kp).await;
    assert_eq!((&v["name"], &v["target"]), (&json!("Conversion"), &json!(60.0)), "{v}");
    // Goals and key results.
    let (_, g) = post(&t, &pm, "/api/v1/products/SHOP/goals", json!({"title": "Grow"})).await;
    let gp = format!("/api/v1/goals/{}", g["id"]);
    let (s, v) = patch(&t, &pm, &gp, json!({"title": "Grow faster", "due": "2026-12-31"})).await;
    assert_eq!(
        (s, &v["title"], &v["due"]),
        (StatusCode::OK, &json!("Grow faster"), &json!("2026-12-31")),
        "{v}"
    );
    let (s, v) = patch(&t, &pm, &gp, json!({"due": "never"})).await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("due")), "{v}");
    let (_, v) = post(&t, &pm, &format!("{gp}/key-results"), json!({"title": "Convert"})).await;
    let kr = format!("{gp}/key-results/{}", v["key_results"][0]["id"]);
    let (s, v) = patch(&t, &pm, &kr, json!({"kpi_id": k["id"]})).await;
    assert_eq!((s, &v["progress"]), (StatusCode::OK, &json!(25.0)), "{v}");
    let (s, v) = patch(&t, &pm, &kr, json!({"kpi_id": null, "title": "Convert more"})).await;
    assert_eq!(
        (s, &v["progress"], &v["key_results"][0]["title"]),
        (StatusCode::OK, &Value::Null, &json!("Convert more")),
        "{v}"
    );
    assert_eq!(
        patch(&t, &pm, &format!("{gp}/key-results/99"), json!({"title": "x"})).await.0,
        StatusCode::NOT_FOUND
    );
}
