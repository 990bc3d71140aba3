//! API tests of go-to-market: the launch checklist template, a release's checklist with owners,
//! due dates and overdue flags, the go / no-go decision log, decision rights and bad input; on
//! SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

use keel_domain::event::ObjectKind;
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
    template_default_edit_and_bad_input,
    checklist_from_template_tick_and_overdue,
    checklist_bad_input_and_rights,
    go_no_go_recorded_and_listed,
    launch_section_on_the_release_page,
    demo_release_has_a_launch_under_way,
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

async fn put(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(t, token, Method::PUT, path, Some(body)).await
}

/// A release of SHOP made by the administrator (its PO); its id.
async fn release(t: &TestApp, name: &str, target: Option<&str>) -> i64 {
    let (s, v) = post(
        t,
        &t.admin_token,
        "/api/v1/products/SHOP/releases",
        json!({"name": name, "target_date": target}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

const TPL: &str = "/api/v1/products/SHOP/launch-template";

fn titles(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_string()).collect()
}

async fn template_default_edit_and_bad_input(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let pm = &t.admin_token;

    // Never set: the default, readable by everyone.
    let (s, v) = get(&t, &sh, TPL).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["default"].as_bool(), v["version"].as_i64()), (Some(true), Some(0)));
    assert_eq!(
        titles(&v),
        [
            "Pricing decided",
            "Documentation ready",
            "Sales enablement",
            "Marketing announcement",
            "Support briefed"
        ]
    );
    assert_eq!(v["items"][0], json!({"title": "Pricing decided", "owner_role": "pm", "due_offset_days": 21}));

    let mine = json!({"items": [
        {"title": "Pricing decided", "owner_role": "pm", "due_offset_days": 14},
        {"title": "Legal review", "owner_role": null, "due_offset_days": 10},
        {"title": "Launch blog post", "owner_role": "stakeholder", "due_offset_days": -1},
    ], "version": 0});
    // Only the PM edits it.
    for tok in [&po, &team, &sh] {
        let (s, v) = put(&t, tok, TPL, mine.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let (s, v) = put(&t, pm, TPL, mine.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["default"].as_bool(), v["version"].as_i64()), (Some(false), Some(1)));
    assert_eq!(titles(&v), ["Pricing decided", "Legal review", "Launch blog post"]);
    assert_eq!(v["items"][1]["owner_role"], Value::Null);
    assert_eq!(get(&t, &team, TPL).await.1, v);
    // A stale version is a 409.
    assert_eq!(put(&t, pm, TPL, mine).await.0, StatusCode::CONFLICT);

    // Bad input names the field; nothing changes.
    for (body, field) in [
        (json!({"items": [{"title": "  "}]}), "items[0].title"),
        (json!({"items": [{"title": "a"}, {"title": "b", "owner_role": "boss"}]}), "items[1].owner_role"),
        (json!({"items": [{"title": "a", "due_offset_days": 999}]}), "items[0].due_offset_days"),
    ] {
        let (s, e) = put(&t, pm, TPL, body).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{e}");
    }
    let (s, _) = put(&t, pm, TPL, json!({"items": [], "colour": "red"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(get(&t, pm, TPL).await.1["version"], 1);
    assert_eq!(get(&t, pm, "/api/v1/products/NOPE/launch-template").await.0, StatusCode::NOT_FOUND);
    // The endpoints are in the OpenAPI document.
    let (_, doc) = get(&t, pm, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/products/{product}/launch-template",
        "/api/v1/releases/{id}/launch",
        "/api/v1/releases/{id}/launch/items",
        "/api/v1/releases/{id}/launch/items/{n}",
        "/api/v1/releases/{id}/launch/decision",
        "/api/v1/initiatives/{id}/prd",
        "/api/v1/initiatives/{id}/prd/regenerate",
        "/api/v1/items/{key}/prd",
        "/api/v1/items/{key}/prd/regenerate",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }

    // A release's checklist follows the saved template: dates from the target date, the PM role
    // to the first member holding it (the administrator), no stakeholder → no owner.
    let r = release(&t, "3.0", Some("2026-06-30")).await;
    let (s, l) = get(&t, &sh, &format!("/api/v1/releases/{r}/launch")).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(titles(&l), ["Pricing decided", "Legal review", "Launch blog post"]);
    assert_eq!(l["items"][0]["due"], "2026-06-16");
    assert_eq!(l["items"][2]["due"], "2026-07-01");
    assert_eq!(l["items"][0]["owner"], json!(t.admin.id.0));
    assert_eq!(l["items"][1]["owner"], Value::Null);
    let _ = sh;
}

async fn checklist_from_template_tick_and_overdue(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (ted, team) = t.member(&shop, "ted@keel.test", &[Role::Team]).await;
    let pm = &t.admin_token;
    // Target date long past: every open item is overdue.
    let r = release(&t, "1.0", Some("2020-03-01")).await;
    let path = format!("/api/v1/releases/{r}/launch");
    let (s, l) = get(&t, &team, &path).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!((l["from_template"].as_bool(), l["version"].as_i64()), (Some(true), Some(0)));
    assert_eq!((l["open"].as_i64(), l["overdue"].as_i64()), (Some(5), Some(5)));
    assert_eq!(l["items"][0]["due"], "2020-02-09");
    assert_eq!(l["items"][0]["overdue"], true);
    assert_eq!(l["items"][0]["owner_name"], json!(t.admin.name));
    assert_eq!(l["decision"], Value::Null);
    // Reading writes nothing.
    assert_eq!(get(&t, &team, &path).await.1["version"], 0);

    // The PM ticks "Pricing decided": the checklist is made from the template by that change.
    let (s, l) =
        put(&t, pm, &format!("{path}/items/1"), json!({"done": true, "note": "Flat 10 €", "version": 0}))
            .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!((l["from_template"].as_bool(), l["version"].as_i64()), (Some(false), Some(1)));
    assert_eq!((l["open"].as_i64(), l["overdue"].as_i64()), (Some(4), Some(4)));
    let i = &l["items"][0];
    assert_eq!((i["done"].as_bool(), i["overdue"].as_bool()), (Some(true), Some(false)));
    assert_eq!((i["done_by"].as_i64(), i["note"].as_str()), (Some(t.admin.id.0), Some("Flat 10 €")));
    assert!(i["done_at"].as_str().unwrap().ends_with('Z'));

    // An item for the team member, due far ahead: not overdue.
    let (s, l) = post(
        &t,
        pm,
        &format!("{path}/items"),
        json!({"title": "Release video", "owner": ted.id.0, "due": "2099-01-01"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let video = &l["items"][5];
    assert_eq!((video["id"].as_i64(), video["overdue"].as_bool()), (Some(6), Some(false)));
    assert_eq!(video["owner_name"], json!(ted.name));
    assert_eq!((l["open"].as_i64(), l["overdue"].as_i64()), (Some(5), Some(4)));

    // Its owner ticks it and notes on it; unticking clears who and when.
    let (s, l) = put(&t, &team, &format!("{path}/items/6"), json!({"done": true, "note": "cut"})).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(
        (l["items"][5]["done_by"].as_i64(), l["items"][5]["note"].as_str()),
        (Some(ted.id.0), Some("cut"))
    );
    let (s, l) = put(&t, &team, &format!("{path}/items/6"), json!({"done": false})).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(
        (l["items"][5]["done_by"].clone(), l["items"][5]["done_at"].clone()),
        (Value::Null, Value::Null)
    );
    // But not retitle it, nor tick another's.
    assert_eq!(
        put(&t, &team, &format!("{path}/items/6"), json!({"title": "x"})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&t, &team, &format!("{path}/items/2"), json!({"done": true})).await.0,
        StatusCode::FORBIDDEN
    );

    // The PM edits an item: new due date, owner cleared; then removes one.
    let (s, l) = put(&t, pm, &format!("{path}/items/2"), json!({"due": "2099-12-31", "owner": null})).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(
        (l["items"][1]["due"].as_str(), l["items"][1]["overdue"].as_bool()),
        (Some("2099-12-31"), Some(false))
    );
    assert_eq!(l["items"][1]["owner"], Value::Null);
    let (s, l) = call(&t, pm, Method::DELETE, &format!("{path}/items/3"), None).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(
        titles(&l),
        [
            "Pricing decided",
            "Documentation ready",
            "Marketing announcement",
            "Support briefed",
            "Release video"
        ]
    );
    assert_eq!(call(&t, pm, Method::DELETE, &format!("{path}/items/3"), None).await.0, StatusCode::NOT_FOUND);

    // Each change is one event batch on the checklist record.
    let rec = t.app.store().record_by_key(ObjectKind::LaunchChecklist, &format!("launch:{r}")).await.unwrap();
    let events = t.app.store().history(ObjectKind::LaunchChecklist, rec.id.0, None, 100).await.unwrap();
    assert!(events.len() >= 6, "{events:?}");
    assert!(events.iter().any(|e| e.actor_id == Some(ted.id)));

    // A release without a target date: no due dates, nothing overdue.
    let r2 = release(&t, "1.1", None).await;
    let (_, l) = get(&t, pm, &format!("/api/v1/releases/{r2}/launch")).await;
    assert_eq!((l["overdue"].as_i64(), l["items"][0]["due"].clone()), (Some(0), Value::Null));

    // Deleting the release deletes its checklist in the same batch.
    let (s, v) = call(&t, pm, Method::DELETE, &format!("/api/v1/releases/{r}"), None).await;
    assert!(s.is_success(), "{s} {v}");
    let gone = t.app.store().record_by_key(ObjectKind::LaunchChecklist, &format!("launch:{r}")).await;
    assert!(matches!(gone, Err(keel_store::StoreError::NotFound)), "{gone:?}");
}

async fn checklist_bad_input_and_rights(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let (outsider, _) = t.member(&other, "out@keel.test", &[Role::Team]).await;
    let (_, stranger) = t.member(&other, "stranger@keel.test", &[Role::Pm]).await;
    let pm = &t.admin_token;
    let r = release(&t, "2.0", Some("2030-01-31")).await;
    let items = format!("/api/v1/releases/{r}/launch/items");

    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "x".repeat(201)}), "title"),
        (json!({"title": "Docs", "owner": 99999}), "owner"),
        (json!({"title": "Docs", "owner": outsider.id.0}), "owner"),
        (json!({"title": "Docs", "due": "next week"}), "due"),
        (json!({"title": "Docs", "due": "2026-02-30"}), "due"),
    ] {
        let (s, e) = post(&t, pm, &items, body.clone()).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body} {e}");
    }
    let (s, e) = put(&t, pm, &format!("{items}/1"), json!({"due": "31/01/2030"})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("due")), "{e}");
    assert_eq!(post(&t, pm, &items, json!({"title": "x", "colour": 1})).await.0, StatusCode::BAD_REQUEST);
    // Nothing was written by any of them.
    assert_eq!(get(&t, pm, &format!("/api/v1/releases/{r}/launch")).await.1["version"], 0);
    // Unknown release or item: 404.
    assert_eq!(get(&t, pm, "/api/v1/releases/999999/launch").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&t, pm, "/api/v1/releases/999999/launch/items", json!({"title": "x"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(put(&t, pm, &format!("{items}/77"), json!({"done": true})).await.0, StatusCode::NOT_FOUND);
    // Non-members of the product do not see it.
    assert_eq!(get(&t, &stranger, &format!("/api/v1/releases/{r}/launch")).await.0, StatusCode::NOT_FOUND);

    // Team and stakeholders read; only the PM changes the checklist (the PO too gets a 403).
    for tok in [&po, &team, &sh] {
        assert_eq!(get(&t, tok, &format!("/api/v1/releases/{r}/launch")).await.0, StatusCode::OK);
        let (s, e) = post(&t, tok, &items, json!({"title": "Docs"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
        assert_eq!(put(&t, tok, &format!("{items}/1"), json!({"done": true})).await.0, StatusCode::FORBIDDEN);
        assert_eq!(call(&t, tok, Method::DELETE, &format!("{items}/1"), None).await.0, StatusCode::FORBIDDEN);
    }
    let (_, e) = post(&t, &po, &items, json!({"title": "Docs"})).await;
    assert!(e["detail"].as_str().unwrap_or_default().contains("go / no-go"), "{e}");

    // Stale versions are refused.
    assert_eq!(post(&t, pm, &items, json!({"title": "Docs", "version": 0})).await.0, StatusCode::CREATED);
    assert_eq!(post(&t, pm, &items, json!({"title": "Docs 2", "version": 0})).await.0, StatusCode::CONFLICT);
}

async fn go_no_go_recorded_and_listed(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let pm = &t.admin_token;
    let r = release(&t, "4.0", Some("2030-05-01")).await;
    let dec = format!("/api/v1/releases/{r}/launch/decision");
    let launch = format!("/api/v1/releases/{r}/launch");

    // "Go" over open items needs acknowledging: 422 naming the field and the items.
    let (s, e) = post(&t, pm, &dec, json!({"decision": "go"})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("acknowledge_open")), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("Support briefed"), "{e}");
    assert_eq!(get(&t, pm, &launch).await.1["decisions"], json!([]));
    let (s, e) = post(&t, pm, &dec, json!({"decision": "maybe"})).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("decision")), "{e}");

    // No-go, then go with the open items acknowledged.
    let (s, v) = post(&t, pm, &dec, json!({"decision": "no_go", "note": "Docs are not ready"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["recorded"]["decision"].as_str(), v["recorded"]["proposed"].as_bool()),
        (Some("no_go"), Some(false))
    );
    assert_eq!(v["launch"]["decision"], "no_go");
    let (s, v) =
        post(&t, pm, &dec, json!({"decision": "go", "note": "Ship it", "acknowledge_open": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["recorded"]["open_items"].as_array().unwrap().len(), 5);
    assert_eq!(v["recorded"]["by"], json!(t.admin.id.0));

    // The PO's call is a recommendation (202); it does not change the decision.
    let (s, v) = post(&t, &po, &dec, json!({"decision": "no_go", "note": "Support is not briefed"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["recorded"]["proposed"], true);
    // Team and stakeholders may not.
    assert_eq!(post(&t, &team, &dec, json!({"decision": "go"})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(post(&t, &sh, &dec, json!({"decision": "go"})).await.0, StatusCode::FORBIDDEN);

    // The log, oldest first, for everyone.
    let (s, l) = get(&t, &sh, &launch).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["decision"], "go");
    let log: Vec<(String, String, bool)> = l["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["decision"].as_str().unwrap().into(),
                d["note"].as_str().unwrap().into(),
                d["proposed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        log,
        [
            ("no_go".into(), "Docs are not ready".into(), false),
            ("go".into(), "Ship it".into(), false),
            ("no_go".into(), "Support is not briefed".into(), true)
        ]
    );
    assert!(l["decisions"][1]["at"].as_str().unwrap().ends_with('Z'));

    // With every item ticked, "go" needs no acknowledgement and records no open items.
    for n in 1..=5 {
        assert_eq!(
            put(&t, pm, &format!("{launch}/items/{n}"), json!({"done": true})).await.0,
            StatusCode::OK
        );
    }
    let (s, v) = post(&t, pm, &dec, json!({"decision": "go"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["recorded"]["open_items"], json!([]));
}

/// A cookie client signed in as the administrator (no redirects followed) and its CSRF token.
async fn browser_client(t: &TestApp) -> (Client, String) {
    let c = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body =
        json!({ "email": keel_testkit::app::ADMIN_EMAIL, "password": keel_testkit::app::ADMIN_PASSWORD });
    let me: Value = c.post(t.url("/api/v1/session")).json(&body).send().await.unwrap().json().await.unwrap();
    (c, me["csrf_token"].as_str().unwrap().to_string())
}

async fn form(c: &Client, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = c.post(t.url(path)).form(fields).send().await.unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), loc)
}

async fn launch_section_on_the_release_page(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let pm = &t.admin_token;
    let r = release(&t, "5.0", Some("2020-01-10")).await;
    let (s, _) = post(
        &t,
        pm,
        &format!("/api/v1/releases/{r}/launch/items"),
        json!({"title": "<script>alert(1)</script> press kit", "note": "<b>bold</b>"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    post(
        &t,
        pm,
        &format!("/api/v1/releases/{r}/launch/decision"),
        json!({"decision": "no_go", "note": "<img src=x onerror=alert(1)>"}),
    )
    .await;
    let _ = sh;
    let (c, csrf) = browser_client(&t).await;
    let csrf = csrf.as_str();
    let page = c.get(t.url(&format!("/releases/{r}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"launch\""), "no launch section");
    assert!(html.contains("Pricing decided"));
    assert!(html.contains("overdue"));
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; press kit"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("No go"));

    // Ticking through the form.
    let (s, loc) =
        form(&c, &t, &format!("/releases/{r}/launch/items/1"), &[("csrf", csrf), ("done", "1")]).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, l) = get(&t, pm, &format!("/api/v1/releases/{r}/launch")).await;
    assert_eq!(l["items"][0]["done"], true, "{l}");
    // A go through the form without acknowledging: refused, the reason shown.
    let dec = format!("/releases/{r}/launch/decision");
    let (s, loc) = form(&c, &t, &dec, &[("csrf", csrf), ("decision", "go"), ("note", "")]).await;
    assert_eq!((s, loc.contains("error=")), (StatusCode::SEE_OTHER, true), "{loc}");
    assert!(loc.contains("acknowledge"), "{loc}");
    let fields = [("csrf", csrf), ("decision", "go"), ("note", "ok"), ("acknowledge_open", "1")];
    let (s, loc) = form(&c, &t, &dec, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, l) = get(&t, pm, &format!("/api/v1/releases/{r}/launch")).await;
    assert_eq!(l["decision"], "go", "{l}");
    // Adding an item through the form; a bad due date is named.
    let items = format!("/releases/{r}/launch/items");
    let (s, loc) =
        form(&c, &t, &items, &[("csrf", csrf), ("title", "Webinar"), ("owner", ""), ("due", "soon")]).await;
    assert_eq!((s, loc.contains("error=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let fields = [("csrf", csrf), ("title", "Webinar"), ("owner", ""), ("due", "2099-02-01")];
    let (s, loc) = form(&c, &t, &items, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, l) = get(&t, pm, &format!("/api/v1/releases/{r}/launch")).await;
    assert_eq!(l["items"].as_array().unwrap().last().unwrap()["title"], "Webinar");
    let _ = sh;

    // The template editor: rows in order, blank rows dropped, a bad offset named.
    let tpl = "/products/SHOP/launch-template";
    let html = c.get(t.url(tpl)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Support briefed") && html.contains("id=\"template-form\""));
    let fields = [
        ("csrf", csrf),
        ("version", "0"),
        ("title", "Pricing decided"),
        ("role", "pm"),
        ("offset", "30"),
        ("title", ""),
        ("role", ""),
        ("offset", "0"),
        ("title", "Launch party"),
        ("role", ""),
        ("offset", "-2"),
    ];
    let (s, loc) = form(&c, &t, tpl, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, v) = get(&t, pm, TPL).await;
    assert_eq!(
        v["items"],
        json!([{"title": "Pricing decided", "owner_role": "pm", "due_offset_days": 30},
            {"title": "Launch party", "owner_role": null, "due_offset_days": -2}])
    );
    let fields = [("csrf", csrf), ("version", "1"), ("title", "Docs"), ("role", "po"), ("offset", "a week")];
    let (s, loc) = form(&c, &t, tpl, &fields).await;
    assert_eq!((s, loc.contains("error=")), (StatusCode::SEE_OTHER, true), "{loc}");
    assert_eq!(get(&t, pm, TPL).await.1["version"], 1);
}

async fn demo_release_has_a_launch_under_way(db: TestDb) {
    let t = spawn_app(db).await;
    let info = keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let (s, list) = get(&t, &t.admin_token, &format!("/api/v1/products/{}/releases", info.product_key)).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let planned = list
        .as_array()
        .or_else(|| list["releases"].as_array())
        .unwrap()
        .iter()
        .find(|r| r["state"] == "planned")
        .expect("a planned release")
        .clone();
    let (s, l) = get(&t, &t.admin_token, &format!("/api/v1/releases/{}/launch", planned["id"])).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!((l["from_template"].as_bool(), l["open"].as_i64()), (Some(false), Some(3)), "{l}");
    assert_eq!(l["decision"], "no_go");
    assert_eq!(l["items"][0]["note"], "Same price; free returns stay.");
}
