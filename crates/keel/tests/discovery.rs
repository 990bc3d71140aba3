//! API tests of discovery: opportunities scored under several frameworks, ranked by the
//! product's choice, proposals from the Product Owner, promotion to an epic (and an initiative);
//! on SQLite and (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

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
    scores_and_ranking,
    scores_out_of_scale_are_refused,
    product_owner_proposes_scores,
    promote_creates_a_linked_epic,
    product_owner_proposes_promotion,
    feedback_links_and_demand,
    feedback_import_is_all_or_nothing,
    merge_keeps_feedback_links,
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

async fn opportunity(t: &TestApp, body: Value) -> Value {
    let (s, v) = post(t, &t.admin_token, "/api/v1/products/SHOP/opportunities", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn titles(v: &Value) -> Vec<String> {
    v["opportunities"].as_array().unwrap().iter().map(|o| o["title"].as_str().unwrap().to_string()).collect()
}

async fn scores_and_ranking(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    // RICE 1000 × 2 × 80 % ÷ 4 = 400; WSJF (8 + 5 + 3) ÷ 4 = 4.
    let a = opportunity(
        &t,
        json!({"title": "Guest checkout", "description": "Sign-up wall loses buyers",
            "scores": {"rice": {"reach": 1000, "impact": 2, "confidence": 80, "effort": 4},
                       "wsjf": {"business_value": 8, "time_criticality": 5, "risk_reduction": 3, "job_size": 4},
                       "moscow": "should", "kano": "performance"}}),
    )
    .await;
    assert_eq!(a["score"], json!(400.0), "{a}");
    assert_eq!(a["framework"], "rice");
    assert_eq!(a["parts"][2], json!({"name": "confidence", "value": "80 %"}));
    // RICE 500 × 3 × 100 % ÷ 1 = 1500; WSJF (2 + 2 + 2) ÷ 3 = 2.
    let b = opportunity(
        &t,
        json!({"title": "Saved carts",
            "scores": {"rice": {"reach": 500, "impact": 3, "confidence": 100, "effort": 1},
                       "wsjf": {"business_value": 2, "time_criticality": 2, "risk_reduction": 2, "job_size": 3},
                       "moscow": "must"}}),
    )
    .await;
    assert_eq!(b["score"], json!(1500.0));
    assert_eq!(b["rank"], 1);
    opportunity(&t, json!({"title": "Unscored idea"})).await;

    let (s, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["framework"], "rice");
    assert_eq!(titles(&v), ["Saved carts", "Guest checkout", "Unscored idea"]);
    assert_eq!(v["opportunities"][2]["score"], Value::Null);

    // The product chooses WSJF: the ranking turns around.
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PUT,
        "/api/v1/products/SHOP/ranking",
        Some(json!({"framework": "wsjf"})),
    )
    .await;
    assert_eq!((s, &v["framework"]), (StatusCode::OK, &json!("wsjf")), "{v}");
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    assert_eq!(v["framework"], "wsjf");
    assert_eq!(titles(&v), ["Guest checkout", "Saved carts", "Unscored idea"]);
    assert_eq!(v["opportunities"][0]["score"], json!(4.0));
    assert_eq!(v["opportunities"][0]["parts"][3], json!({"name": "cost of delay", "value": "16"}));
    // A one-off ranking by another framework.
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities?framework=moscow").await;
    assert_eq!(titles(&v), ["Saved carts", "Guest checkout", "Unscored idea"]);
    let (s, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities?framework=best").await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("framework")));
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PUT,
        "/api/v1/products/SHOP/ranking",
        Some(json!({"framework": "x"})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("framework")));

    // Rescoring, getting, deleting.
    let id = a["id"].as_i64().unwrap();
    let path = format!("/api/v1/opportunities/{id}");
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PATCH,
        &path,
        Some(json!({"version": a["version"], "scores": {"wsjf": {"business_value": 1, "time_criticality": 1, "risk_reduction": 1, "job_size": 3}}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["score"].clone(), v["rank"].clone()), (json!(1.0), json!(2)));
    assert!(v["scores"].get("rice").is_none(), "scores are replaced: {v}");
    // A stale version is a 409.
    let (s, _) =
        call(&t, &t.admin_token, Method::PATCH, &path, Some(json!({"version": a["version"], "title": "x"})))
            .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = get(&t, &t.admin_token, &path).await;
    assert_eq!((s, &v["title"]), (StatusCode::OK, &json!("Guest checkout")));
    let (s, _) = call(&t, &t.admin_token, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = get(&t, &t.admin_token, &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Members of another product do not see it.
    let other = t.product("OTHER").await;
    let (_, outsider) = t.member(&other, "out@example.com", &[Role::Pm]).await;
    let (s, _) = get(&t, &outsider, &format!("/api/v1/opportunities/{}", b["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let doc: Value =
        Client::new().get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for p in ["/api/v1/products/{product}/opportunities", "/api/v1/opportunities/{id}/promote"] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
}

async fn scores_out_of_scale_are_refused(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let rice = |impact: f64, confidence: f64, effort: f64| json!({"title": "X", "scores": {"rice": {"reach": 10, "impact": impact, "confidence": confidence, "effort": effort}}});
    for (body, field) in [
        (rice(4.0, 50.0, 1.0), "scores.rice.impact"),
        (rice(0.0, 50.0, 1.0), "scores.rice.impact"),
        (rice(1.0, 120.0, 1.0), "scores.rice.confidence"),
        (rice(1.0, 50.0, 0.0), "scores.rice.effort"),
        (
            json!({"title": "X", "scores": {"wsjf": {"business_value": 1, "time_criticality": 1, "risk_reduction": 1, "job_size": 0}}}),
            "scores.wsjf.job_size",
        ),
        (
            json!({"title": "X", "scores": {"value_effort": {"value": 5, "effort": 0}}}),
            "scores.value_effort.effort",
        ),
        (
            json!({"title": "X", "scores": {"ice": {"impact": 11, "confidence": 5, "ease": 5}}}),
            "scores.ice.impact",
        ),
        (json!({"title": "X", "scores": {"moscow": "maybe"}}), "scores.moscow"),
        (json!({"title": "X", "scores": {"kano": "meh"}}), "scores.kano"),
        (json!({"title": "", "scores": {}}), "title"),
    ] {
        let (s, v) = post(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities", body).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    // Nothing was written.
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    assert_eq!(v["opportunities"], json!([]));
    // Nor by a change.
    let o = opportunity(
        &t,
        json!({"title": "Fine", "scores": {"ice": {"impact": 5, "confidence": 5, "ease": 5}}}),
    )
    .await;
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PATCH,
        &format!("/api/v1/opportunities/{}", o["id"]),
        Some(json!({"title": "Changed", "scores": {"rice": {"reach": 1, "impact": 1, "confidence": 50, "effort": 0}}})),
    )
    .await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scores.rice.effort")));
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/opportunities/{}", o["id"])).await;
    assert_eq!((v["title"].as_str(), v["version"].clone()), (Some("Fine"), o["version"].clone()));
}

async fn product_owner_proposes_scores(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let (_, po) = t.member(&p, "po@example.com", &[Role::Po]).await;
    let (_, team) = t.member(&p, "dev@example.com", &[Role::Team]).await;
    let o = opportunity(&t, json!({"title": "Wishlist"})).await;
    let path = format!("/api/v1/opportunities/{}", o["id"]);
    let scores = json!({"ice": {"impact": 8, "confidence": 6, "ease": 5}});
    let (s, v) =
        call(&t, &po, Method::PATCH, &path, Some(json!({"scores": scores, "reason": "Seen in interviews"})))
            .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["state"], "pending");
    let proposal = v["id"].as_i64().unwrap();
    // Not applied yet.
    let (_, v) = get(&t, &t.admin_token, &path).await;
    assert_eq!(v["scores"], json!({}));
    // The team may not score at all; nor may the PO choose the framework.
    let (s, _) = call(&t, &team, Method::PATCH, &path, Some(json!({"scores": scores}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        call(&t, &po, Method::PUT, "/api/v1/products/SHOP/ranking", Some(json!({"framework": "ice"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The PM accepts: the scores land.
    let (s, v) = post(&t, &t.admin_token, &format!("/api/v1/proposals/{proposal}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &t.admin_token, &format!("{path}?")).await;
    assert_eq!(v["scores"]["ice"], json!({"impact": 8.0, "confidence": 6.0, "ease": 5.0}));
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities?framework=ice").await;
    assert_eq!(v["opportunities"][0]["score"], json!(240.0));
    // A PO creating a scored opportunity: created unscored, the scores proposed.
    let (s, v) = post(
        &t,
        &po,
        "/api/v1/products/SHOP/opportunities",
        json!({"title": "Gift cards", "scores": {"moscow": "could"}}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    assert_eq!(titles(&v).len(), 2);
}

async fn initiative(t: &TestApp, product: keel_domain::ProductId) -> i64 {
    let data = keel_domain::pm::Initiative { title: "Checkout 2.0".into(), ..Default::default() };
    let rec = keel_app::records::new_record(Some(product), None, "planned", None, &data).unwrap();
    let w = t
        .app
        .store()
        .write_batch(vec![keel_store::WriteOp::CreateRecord(rec)], &t.app.system_ctx())
        .await
        .unwrap();
    match &w[0] {
        keel_store::Written::Record(r) => r.id.0,
        _ => panic!("no record"),
    }
}

async fn initiative_epics(t: &TestApp, id: i64) -> Vec<i64> {
    let r = t.app.get_record::<keel_domain::pm::Initiative>(keel_domain::RecordId(id)).await.unwrap();
    r.data.epics.iter().map(|e| e.0).collect()
}

async fn promote_creates_a_linked_epic(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let ini = initiative(&t, p.id).await;
    let foreign = initiative(&t, other.id).await;
    let o =
        opportunity(&t, json!({"title": "One-click reorder", "description": "Buyers repeat orders"})).await;
    let path = format!("/api/v1/opportunities/{}/promote", o["id"]);
    // An initiative of another product: 422, nothing written.
    let (s, v) = post(&t, &t.admin_token, &path, json!({"initiative": foreign})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("initiative")), "{v}");
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/items?kind=epic").await;
    assert_eq!(v["items"], json!([]));

    let (s, v) = post(&t, &t.admin_token, &path, json!({"initiative": ini})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let epic = v["epic"].clone();
    assert_eq!((epic["kind"].as_str(), epic["title"].as_str()), (Some("epic"), Some("One-click reorder")));
    assert!(epic["description"].as_str().unwrap().contains(&format!("opportunity #{}", o["id"])), "{epic}");
    assert_eq!(v["opportunity"]["state"], "promoted");
    assert_eq!(v["opportunity"]["epic"], epic["key"]);
    assert_eq!(initiative_epics(&t, ini).await, vec![epic["id"].as_i64().unwrap()]);
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/items/{}", epic["key"].as_str().unwrap())).await;
    assert_eq!(v["kind"], "epic");
    // Twice: 409, no second epic.
    let (s, _) = post(&t, &t.admin_token, &path, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/items?kind=epic").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    // Without an initiative.
    let o2 = opportunity(&t, json!({"title": "Invoices"})).await;
    let (s, v) =
        post(&t, &t.admin_token, &format!("/api/v1/opportunities/{}/promote", o2["id"]), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(initiative_epics(&t, ini).await.len(), 1);
}

async fn product_owner_proposes_promotion(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let (_, po) = t.member(&p, "po@example.com", &[Role::Po]).await;
    let ini = initiative(&t, p.id).await;
    let o = opportunity(&t, json!({"title": "Loyalty points"})).await;
    let path = format!("/api/v1/opportunities/{}/promote", o["id"]);
    let (s, v) = post(&t, &po, &path, json!({"initiative": ini, "reason": "Top of the list"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let proposal = v["id"].as_i64().unwrap();
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/items?kind=epic").await;
    assert_eq!(v["items"], json!([]));
    let (s, v) = post(&t, &t.admin_token, &format!("/api/v1/proposals/{proposal}/accept"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/items?kind=epic").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let epic_id = v["items"][0]["id"].as_i64().unwrap();
    assert_eq!(initiative_epics(&t, ini).await, vec![epic_id]);
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/opportunities/{}", o["id"])).await;
    assert_eq!(v["state"], "promoted");
}

async fn feedback_links_and_demand(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let (_, team) = t.member(&p, "dev@example.com", &[Role::Team]).await;
    let (_, stakeholder) = t.member(&p, "sh@example.com", &[Role::Stakeholder]).await;
    let o = opportunity(&t, json!({"title": "Faster search"})).await;
    let oid = o["id"].as_i64().unwrap();
    let fb = "/api/v1/products/SHOP/feedback";
    // Automation with a token, linked at once.
    let (s, a) = post(
        &t,
        &t.admin_token,
        fb,
        json!({"text": "Search takes ages", "person": "Ann", "company": "Acme",
        "segment": "enterprise", "revenue": 250, "opportunities": [oid]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!((a["source"].as_str(), a["opportunities"].clone()), (Some("api"), json!([oid])));
    // Every member may send feedback; the text is kept as plain text.
    let (s, b) = post(
        &t,
        &team,
        fb,
        json!({"text": "<b>Slow</b> search", "company": "ACME", "revenue": 100, "source": "sales_call"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["text"], "<b>Slow</b> search");
    let (s, c) = post(
        &t,
        &stakeholder,
        fb,
        json!({"text": "Filters please", "company": "Globex", "revenue": 40, "source": "manual"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    // Bad input names the field; nothing written.
    for (body, field) in [
        (json!({"text": "  "}), "text"),
        (json!({"text": "x", "revenue": -1}), "revenue"),
        (json!({"text": "x", "source": "fax"}), "source"),
        (json!({"text": "x", "opportunities": [999999]}), "opportunities"),
    ] {
        let (s, v) = post(&t, &t.admin_token, fb, body).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    let (s, v) = post(&t, &t.admin_token, fb, json!({"text": "x", "colour": "red"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::BAD_REQUEST, Some("colour")), "{v}");
    let (_, all) = get(&t, &t.admin_token, fb).await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(all[0]["text"], "Filters please", "newest first");
    // The team may not link; the PM links and unlinks.
    let link = |id: &Value| format!("/api/v1/feedback/{id}/opportunities/{oid}");
    let (s, _) = call(&t, &team, Method::PUT, &link(&b["id"]), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for x in [&b, &c] {
        let (s, v) = call(&t, &t.admin_token, Method::PUT, &link(&x["id"]), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // Demand: 3 pieces; Acme once at its highest weight (250) + Globex 40 = 290.
    let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/opportunities/{oid}")).await;
    assert_eq!(v["demand"], json!({"feedback": 3, "revenue": 290.0}), "{v}");
    let (s, v) = call(&t, &t.admin_token, Method::DELETE, &link(&c["id"]), None).await;
    assert_eq!((s, v["opportunities"].clone()), (StatusCode::OK, json!([])));
    let (_, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/opportunities").await;
    assert_eq!(v["opportunities"][0]["demand"], json!({"feedback": 2, "revenue": 250.0}));
    // Filters.
    let (_, v) = get(&t, &t.admin_token, &format!("{fb}?opportunity={oid}")).await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (_, v) = get(&t, &t.admin_token, &format!("{fb}?unlinked=true")).await;
    assert_eq!(v[0]["text"], "Filters please");
    let (_, v) = get(&t, &t.admin_token, &format!("{fb}?source=sales_call")).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = get(&t, &t.admin_token, &format!("{fb}?q=acme")).await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (s, v) = get(&t, &t.admin_token, &format!("{fb}?source=fax")).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("source")));
    // Get and delete.
    let (s, v) = get(&t, &t.admin_token, &format!("/api/v1/feedback/{}", a["id"])).await;
    assert_eq!((s, v["person"].as_str()), (StatusCode::OK, Some("Ann")));
    let (s, _) = call(&t, &team, Method::DELETE, &format!("/api/v1/feedback/{}", a["id"]), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        call(&t, &t.admin_token, Method::DELETE, &format!("/api/v1/feedback/{}", a["id"]), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = get(&t, &t.admin_token, &format!("/api/v1/feedback/{}", a["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another product's opportunity cannot be linked.
    let other = t.product("OTHER").await;
    let _ = other;
    let (s, v) =
        post(&t, &t.admin_token, "/api/v1/products/OTHER/opportunities", json!({"title": "Elsewhere"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, r) = call(
        &t,
        &t.admin_token,
        Method::PUT,
        &format!("/api/v1/feedback/{}/opportunities/{}", b["id"], v["id"]),
        None,
    )
    .await;
    assert_eq!((s, r["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("opportunity")), "{r}");
}

async fn import(t: &TestApp, csv: &str) -> (StatusCode, Value) {
    let res = Client::new()
        .post(t.url("/api/v1/products/SHOP/feedback/import"))
        .bearer_auth(&t.admin_token)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn feedback_import_is_all_or_nothing(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    // Row 3 has no text and row 4 a revenue that is no number: both named, nothing written.
    let bad = "person,company,revenue,text\nAnn,Acme,100,Too slow\nBob,Globex,20,\nCy,Initech,lots,Export\n";
    let (s, v) = import(&t, bad).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("csv")), "{v}");
    let detail =
        v["detail"].as_str().unwrap_or_default().to_string() + v["title"].as_str().unwrap_or_default();
    assert!(detail.contains("row 3: text") && detail.contains("row 4: revenue"), "{v}");
    let (_, all) = get(&t, &t.admin_token, "/api/v1/products/SHOP/feedback").await;
    assert_eq!(all, json!([]));
    for (csv, part) in [
        ("name,text\nAnn,Hi\n", "unknown column"),
        ("person,company\nAnn,Acme\n", "text column"),
        ("text\n", "no rows"),
        ("text\n\"open\n", "not closed"),
    ] {
        let (s, v) = import(&t, csv).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v.to_string().contains(part), "{part}: {v}");
    }
    // A good file: quoted fields with commas and new lines.
    let good = "text,person,company,segment,revenue\r\n\"Slow, very slow\",Ann,Acme,enterprise,100\r\n\"Two\nlines\",,,,\r\n";
    let (s, v) = import(&t, good).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["imported"], 2);
    assert_eq!(v["feedback"][0]["text"], "Slow, very slow");
    assert_eq!(v["feedback"][0]["source"], "import");
    assert_eq!(v["feedback"][1]["text"], "Two\nlines");
    let (_, all) = get(&t, &t.admin_token, "/api/v1/products/SHOP/feedback").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
}

async fn merge_keeps_feedback_links(db: TestDb) {
    let t = spawn_app(db).await;
    let p = t.product("SHOP").await;
    let (_, po) = t.member(&p, "po@example.com", &[Role::Po]).await;
    let keep = opportunity(&t, json!({"title": "Bulk export"})).await;
    let dup = opportunity(&t, json!({"title": "Export everything"})).await;
    let (k, d) = (keep["id"].as_i64().unwrap(), dup["id"].as_i64().unwrap());
    let fb = "/api/v1/products/SHOP/feedback";
    let (_, f1) = post(
        &t,
        &t.admin_token,
        fb,
        json!({"text": "CSV please", "company": "Acme", "revenue": 10, "opportunities": [d]}),
    )
    .await;
    let (_, f2) = post(
        &t,
        &t.admin_token,
        fb,
        json!({"text": "Excel too", "company": "Globex", "revenue": 20, "opportunities": [k, d]}),
    )
    .await;
    let (_, f3) =
        post(&t, &t.admin_token, fb, json!({"text": "Unrelated", "company": "Initech", "revenue": 30})).await;
    let merge = format!("/api/v1/opportunities/{d}/merge");
    // Only the PM merges; into itself or into nothing is a 422; nothing changes.
    let (s, _) = post(&t, &po, &merge, json!({"into": k})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (into, field) in [(json!(d), "into"), (json!(999999), "into")] {
        let (s, v) = post(&t, &t.admin_token, &merge, json!({"into": into})).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{v}");
    }
    let (s, v) = post(&t, &t.admin_token, &merge, json!({"into": k})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["id"].as_i64(), v["demand"].clone()), (Some(k), json!({"feedback": 2, "revenue": 30.0})));
    let (s, _) = get(&t, &t.admin_token, &format!("/api/v1/opportunities/{d}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (f, want) in [(&f1, json!([k])), (&f2, json!([k])), (&f3, json!([]))] {
        let (_, v) = get(&t, &t.admin_token, &format!("/api/v1/feedback/{}", f["id"])).await;
        assert_eq!(v["opportunities"], want, "{v}");
    }
}
