//! API tests of the market part of issue 5: the competitor matrix, stakeholders and their
//! updates; on SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

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
    competitor_matrix_crud_and_cells,
    competitor_matrix_rights_and_bad_input,
    competitor_matrix_concurrent_edits_conflict,
    competitor_page_and_forms,
    stakeholders_crud_quadrants_and_contacts,
    stakeholders_rights_and_bad_input,
    stakeholder_pages,
    stakeholder_update_composed_edited_published,
);

/// A request with a bearer token; returns status and JSON body (Null when empty).
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

/// A bare record of `kind` in `product`, made directly in the store; its id.
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

const M: &str = "/api/v1/products/SHOP/competitors";

async fn competitor_matrix_crud_and_cells(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let pm = &t.admin_token;
    let (s, v) = get(&t, &team, M).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 0);
    assert_eq!(
        v["competitors"],
        json!([{"id": 0, "name": "Product SHOP", "site": "", "pricing": "",
        "positioning": "", "ours": true}])
    );
    assert_eq!(v["capabilities"], json!([]));

    let (s, v) = post(
        &t,
        pm,
        M,
        json!({"name": "Acme", "site": "https://acme.example", "pricing": "$10/seat",
        "positioning": "Cheap and cheerful", "version": 0}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme = v["competitors"][1]["id"].as_i64().unwrap();
    assert_eq!(v["competitors"][1]["site"], "https://acme.example");
    let (s, v) = post(&t, pm, M, json!({"name": "Globex"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let globex = v["competitors"][2]["id"].as_i64().unwrap();

    let opp =
        record(&t, &shop, ObjectKind::Opportunity, json!({"title": "Enterprise buyers need SSO"})).await;
    let (s, v) =
        post(&t, pm, "/api/v1/products/SHOP/capabilities", json!({"name": "SSO", "opportunities": [opp]}))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sso = v["capabilities"][0]["id"].as_i64().unwrap();
    assert_eq!(v["capabilities"][0]["opportunities"], json!([opp]));
    assert_eq!(v["capabilities"][0]["cells"].as_array().unwrap().len(), 3);
    assert_eq!(v["capabilities"][0]["cells"][1]["mark"], "unknown");
    let (s, v) = post(&t, pm, "/api/v1/products/SHOP/capabilities", json!({"name": "Offline mode"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let offline = v["capabilities"][1]["id"].as_i64().unwrap();

    // Cells: ours (0) and a competitor's.
    let cell = |c: i64, k: i64| format!("{M}/{c}/cells/{k}");
    let (s, v) =
        call(&t, pm, Method::PUT, &cell(0, sso), Some(json!({"mark": "partial", "notes": "SAML only"})))
            .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(&t, pm, Method::PUT, &cell(acme, sso), Some(json!({"mark": "has"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(&t, pm, Method::PUT, &cell(globex, offline), Some(json!({"mark": "lacks"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let row = &v["capabilities"][0]["cells"];
    assert_eq!(row[0], json!({"competitor": 0, "mark": "partial", "notes": "SAML only"}));
    assert_eq!(row[1], json!({"competitor": acme, "mark": "has", "notes": ""}));
    assert_eq!(row[2]["mark"], "unknown");
    // A cell of an unknown competitor or capability is 404; a bad mark is 422 naming `mark`.
    let (s, _) = call(&t, pm, Method::PUT, &cell(99, sso), Some(json!({"mark": "has"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&t, pm, Method::PUT, &cell(acme, 99), Some(json!({"mark": "has"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, p) = call(&t, pm, Method::PUT, &cell(acme, sso), Some(json!({"mark": "maybe"}))).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("mark")), "{p}");

    // Edits.
    let (s, v) =
        call(&t, pm, Method::PATCH, &format!("{M}/{acme}"), Some(json!({"pricing": "$12/seat"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["competitors"][1]["pricing"], &v["competitors"][1]["name"]),
        (&json!("$12/seat"), &json!("Acme"))
    );
    let (s, v) = call(
        &t,
        pm,
        Method::PATCH,
        &format!("/api/v1/products/SHOP/capabilities/{sso}"),
        Some(json!({"name": "Single sign-on", "opportunities": []})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["capabilities"][0]["name"], &v["capabilities"][0]["opportunities"]),
        (&json!("Single sign-on"), &json!([]))
    );

    // Deleting a competitor drops its column; deleting a capability its row.
    let (s, v) = call(&t, pm, Method::DELETE, &format!("{M}/{acme}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["competitors"].as_array().unwrap().len(), 2);
    assert_eq!(v["capabilities"][0]["cells"].as_array().unwrap().len(), 2);
    let (s, _) = call(&t, pm, Method::DELETE, &format!("{M}/{acme}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) =
        call(&t, pm, Method::DELETE, &format!("/api/v1/products/SHOP/capabilities/{offline}"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = get(&t, &team, M).await;
    assert_eq!(v["capabilities"].as_array().unwrap().len(), 1);
    assert_eq!(v["capabilities"][0]["cells"][0]["mark"], "partial");

    // Every change is an event in the history.
    let events = t
        .app
        .store()
        .product_events_of(
            shop.id,
            &[ObjectKind::CompetitorMatrix],
            &["created", "competitors", "cells", "capabilities"],
            keel_domain::Timestamp(0),
            100,
        )
        .await
        .unwrap();
    assert!(events.len() >= 8, "{}", events.len());

    // The OpenAPI document lists the paths.
    let (_, doc) = get(&t, pm, "/api/v1/openapi.json").await;
    for p in [M, "/api/v1/products/{product}/competitors/{competitor}/cells/{capability}"] {
        let p = p.replace("SHOP", "{product}");
        assert!(doc["paths"].get(&p).is_some(), "{p}");
    }
}

async fn competitor_matrix_rights_and_bad_input(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Pm]).await;
    let (s, v) = post(&t, &pm, M, json!({"name": "Acme"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme = v["competitors"][1]["id"].as_i64().unwrap();
    let (_, v) = post(&t, &pm, "/api/v1/products/SHOP/capabilities", json!({"name": "SSO"})).await;
    let sso = v["capabilities"][0]["id"].as_i64().unwrap();
    let before = get(&t, &team, M).await.1;

    // The team and the Product Owner read but may not write (403, nothing changed).
    for tok in [&team, &po] {
        let (s, p) = post(&t, tok, M, json!({"name": "Initech"})).await;
        assert_eq!((s, &p["deciders"]), (StatusCode::FORBIDDEN, &json!(["pm"])), "{p}");
        let (s, _) =
            call(&t, tok, Method::PUT, &format!("{M}/{acme}/cells/{sso}"), Some(json!({"mark": "has"})))
                .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&t, tok, Method::DELETE, &format!("{M}/{acme}"), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = post(&t, tok, "/api/v1/products/SHOP/capabilities", json!({"name": "X"})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(get(&t, tok, M).await.0, StatusCode::OK);
    }
    // Non-members see nothing.
    assert_eq!(get(&t, &stranger, M).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&t, &stranger, M, json!({"name": "Initech"})).await.0, StatusCode::NOT_FOUND);

    // Bad input: a 422 naming the field, nothing written.
    for (body, field) in [
        (json!({"name": "Initech", "site": "javascript:alert(1)"}), "site"),
        (json!({"name": "Initech", "site": "initech.example"}), "site"),
        (json!({"name": "  "}), "name"),
        (json!({"site": "https://initech.example"}), "name"),
    ] {
        let (s, p) = post(&t, &pm, M, body.clone()).await;
        assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body} {p}");
    }
    let (s, p) = post(&t, &pm, M, json!({"name": "Initech", "colour": "red"})).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::BAD_REQUEST, Some("colour")), "{p}");
    let (s, p) =
        call(&t, &pm, Method::PATCH, &format!("{M}/{acme}"), Some(json!({"site": "ftp://acme"}))).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("site")), "{p}");
    // An opportunity of another product, or a record of another kind, cannot be linked.
    let foreign = record(&t, &other, ObjectKind::Opportunity, json!({"title": "x"})).await;
    let goal = record(&t, &shop, ObjectKind::Goal, json!({"title": "x"})).await;
    for id in [foreign, goal, 999_999] {
        let (s, p) =
            post(&t, &pm, "/api/v1/products/SHOP/capabilities", json!({"name": "Y", "opportunities": [id]}))
                .await;
        assert_eq!(
            (s, p["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("opportunities[0]")),
            "{p}"
        );
    }
    assert_eq!(get(&t, &team, M).await.1, before);
}

async fn competitor_matrix_concurrent_edits_conflict(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let pm = &t.admin_token;
    let (_, v) = post(&t, pm, M, json!({"name": "Acme"})).await;
    let version = v["version"].as_i64().unwrap();
    let acme = v["competitors"][1]["id"].as_i64().unwrap();
    // Two editors start from the same version: the first wins, the second gets a 409.
    let (s, v) = call(
        &t,
        pm,
        Method::PATCH,
        &format!("{M}/{acme}"),
        Some(json!({"name": "Acme Inc", "version": version})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, p) = call(
        &t,
        pm,
        Method::PATCH,
        &format!("{M}/{acme}"),
        Some(json!({"name": "ACME", "version": version})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    let (s, _) = call(&t, pm, Method::DELETE, &format!("{M}/{acme}?version={version}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, v) = get(&t, pm, M).await;
    assert_eq!(v["competitors"][1]["name"], "Acme Inc");
    // Many writers at once: every one either lands or is a 409, and the landed ones all show.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let url = t.url(M);
        let tok = pm.clone();
        tasks.push(tokio::spawn(async move {
            Client::new()
                .post(url)
                .bearer_auth(tok)
                .json(&json!({"name": format!("C{i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let s = task.await.unwrap();
        assert!(s == StatusCode::CREATED || s == StatusCode::CONFLICT, "{s}");
        ok += usize::from(s == StatusCode::CREATED);
    }
    let (_, v) = get(&t, pm, M).await;
    assert_eq!(v["competitors"].as_array().unwrap().len(), 2 + ok);
}

/// A browser-like client signed in as the administrator: cookies kept, redirects not followed.
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

async fn competitor_page_and_forms(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (c, csrf) = browser_client(&t).await;
    let page = "/products/SHOP/competitors";
    let html = c.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No competitors compared yet"), "{html}");
    let csrf = csrf.as_str();
    for fields in [
        vec![
            ("csrf", csrf),
            ("op", "add_competitor"),
            ("name", "Acme <b>"),
            ("site", "https://acme.example"),
        ],
        vec![("csrf", csrf), ("op", "add_capability"), ("name", "Offline mode"), ("opportunities", "")],
    ] {
        let (s, loc) = form(&c, &t, page, &fields).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert!(loc.contains("notice="), "{loc}");
    }
    let (_, v) = get(&t, &t.admin_token, M).await;
    let (acme, cap) = (v["competitors"][1]["id"].to_string(), v["capabilities"][0]["id"].to_string());
    let html = c.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    for needle in ["id=\"matrix\"", "https://acme.example", "Offline mode", "mk-unknown"] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    assert!(html.contains("Acme &") && !html.contains("Acme <b>"));
    // A cell changes through its form.
    let fields = [
        ("csrf", csrf),
        ("op", "set_cell"),
        ("competitor", acme.as_str()),
        ("capability", cap.as_str()),
        ("mark", "has"),
        ("notes", "since 2024"),
        ("version", &v["version"].to_string()),
    ];
    let (s, loc) = form(&c, &t, page, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let html = c.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("mk-cell mk-has") && html.contains("since 2024"), "{html}");
    // A stale form and a bad site come back as errors; nothing changes.
    let (_, loc) = form(&c, &t, page, &fields).await;
    assert!(loc.contains("error="), "{loc}");
    let (_, loc) =
        form(&c, &t, page, &[("csrf", csrf), ("op", "add_competitor"), ("name", "X"), ("site", "nope")])
            .await;
    assert!(loc.contains("error=Site"), "{loc}");
    let (_, after) = get(&t, &t.admin_token, M).await;
    assert_eq!(after["competitors"].as_array().unwrap().len(), 2);
    // Without the CSRF token nothing happens; a team member sees the matrix without forms.
    let (s, _) = form(&c, &t, page, &[("op", "remove_competitor"), ("id", acme.as_str())]).await;
    assert_ne!(s, StatusCode::SEE_OTHER);
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let _ = team;
    let tc = Client::builder().cookie_store(true).build().unwrap();
    let body = json!({"email": "team@keel.test", "password": keel_testkit::app::MEMBER_PASSWORD});
    assert!(tc.post(t.url("/api/v1/session")).json(&body).send().await.unwrap().status().is_success());
    let html = tc.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("since 2024") && !html.contains("name=\"op\""), "{html}");
}

const SH: &str = "/api/v1/products/SHOP/stakeholders";

async fn stakeholders_crud_quadrants_and_contacts(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let pm = &t.admin_token;
    let init = record(&t, &shop, ObjectKind::Initiative, json!({"title": "Self-serve checkout"})).await;
    assert_eq!(get(&t, &team, SH).await.1, json!([]));
    let (s, v) = post(
        &t,
        pm,
        SH,
        json!({"person": "Dana Reyes", "organisation": "Big Retail", "role": "customer",
        "power": 5, "interest": 4, "initiatives": [init]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((&v["quadrant"], &v["strategy"]), (&json!("manage_closely"), &json!("Manage closely")));
    assert_eq!(v["initiatives"], json!([init]));
    let dana = v["id"].as_i64().unwrap();
    for (person, power, interest, q) in [
        ("Ann CFO", 5, 2, "keep_satisfied"),
        ("Ben Support", 2, 5, "keep_informed"),
        ("Cy Partner", 3, 3, "monitor"),
    ] {
        let (s, v) = post(&t, pm, SH, json!({"person": person, "power": power, "interest": interest})).await;
        assert_eq!(
            (s, v["quadrant"].as_str(), v["role"].as_str()),
            (StatusCode::CREATED, Some(q), Some("other")),
            "{v}"
        );
    }
    let (_, list) = get(&t, &team, SH).await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["person"].as_str().unwrap()).collect();
    assert_eq!(names, ["Ann CFO", "Ben Support", "Cy Partner", "Dana Reyes"]);

    // Changes move them between quadrants; a stale version is a 409.
    let one = format!("/api/v1/stakeholders/{dana}");
    let (s, v) = call(&t, pm, Method::PATCH, &one, Some(json!({"interest": 1, "version": 1}))).await;
    assert_eq!((s, v["quadrant"].as_str()), (StatusCode::OK, Some("keep_satisfied")), "{v}");
    assert_eq!(v["organisation"], "Big Retail");
    let (s, _) = call(&t, pm, Method::PATCH, &one, Some(json!({"interest": 5, "version": 1}))).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // The contact log, newest first.
    let contacts = format!("{one}/contacts");
    for (date, channel, notes) in [("2026-03-02", "call", "Wants SSO"), ("2026-04-11", "meeting", "QBR")] {
        let (s, v) = post(&t, pm, &contacts, json!({"date": date, "channel": channel, "notes": notes})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = get(&t, &team, &one).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["contacts"][0],
        json!({"id": 2, "date": "2026-04-11", "channel": "meeting", "notes": "QBR"})
    );
    assert_eq!(v["contacts"][1]["notes"], "Wants SSO");

    // Delete.
    let (s, _) = call(&t, pm, Method::DELETE, &one, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(get(&t, pm, &one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, pm, SH).await.1.as_array().unwrap().len(), 3);
    let events = t
        .app
        .store()
        .product_events_of(
            shop.id,
            &[ObjectKind::Stakeholder],
            &["created", "interest", "contacts", "deleted"],
            keel_domain::Timestamp(0),
            100,
        )
        .await
        .unwrap();
    assert!(events.len() >= 7, "{}", events.len());
}

async fn stakeholders_rights_and_bad_input(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, stranger) = t.member(&other, "x@keel.test", &[Role::Pm]).await;
    let pm = &t.admin_token;
    let (_, v) = post(&t, pm, SH, json!({"person": "Dana", "power": 4, "interest": 4})).await;
    let one = format!("/api/v1/stakeholders/{}", v["id"]);
    let before = get(&t, pm, &one).await.1;
    for tok in [&team, &po] {
        let (s, p) = post(&t, tok, SH, json!({"person": "Eve", "power": 1, "interest": 1})).await;
        assert_eq!((s, &p["deciders"]), (StatusCode::FORBIDDEN, &json!(["pm"])), "{p}");
        assert_eq!(
            call(&t, tok, Method::PATCH, &one, Some(json!({"power": 1}))).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(call(&t, tok, Method::DELETE, &one, None).await.0, StatusCode::FORBIDDEN);
        let c = json!({"date": "2026-01-01", "channel": "call"});
        assert_eq!(post(&t, tok, &format!("{one}/contacts"), c).await.0, StatusCode::FORBIDDEN);
        assert_eq!(get(&t, tok, &one).await.0, StatusCode::OK);
    }
    assert_eq!(get(&t, &stranger, &one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &stranger, SH).await.0, StatusCode::NOT_FOUND);

    let foreign = record(&t, &other, ObjectKind::Initiative, json!({"title": "x"})).await;
    for (body, field) in [
        (json!({"person": "E", "power": 0, "interest": 3}), "power"),
        (json!({"person": "E", "power": 3, "interest": 6}), "interest"),
        (json!({"person": "E", "interest": 3}), "power"),
        (json!({"person": " ", "power": 3, "interest": 3}), "person"),
        (json!({"person": "E", "power": 3, "interest": 3, "role": "boss"}), "role"),
        (json!({"person": "E", "power": 3, "interest": 3, "initiatives": [foreign]}), "initiatives[0]"),
    ] {
        let (s, p) = post(&t, pm, SH, body.clone()).await;
        assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body} {p}");
    }
    let contacts = format!("{one}/contacts");
    for (body, field) in [
        (json!({"date": "2026-02-30", "channel": "call"}), "date"),
        (json!({"date": "", "channel": "call"}), "date"),
        (json!({"date": "2026-02-03", "channel": ""}), "channel"),
    ] {
        let (s, p) = post(&t, pm, &contacts, body.clone()).await;
        assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body} {p}");
    }
    let (s, p) = post(&t, pm, &contacts, json!({"channel": "call"})).await;
    assert!(s.is_client_error() && p["field"] == "date", "{s} {p}");
    assert_eq!(get(&t, pm, &one).await.1, before);
    assert_eq!(get(&t, pm, SH).await.1.as_array().unwrap().len(), 1);
}

async fn stakeholder_pages(db: TestDb) {
    let t = spawn_app(db).await;
    t.product("SHOP").await;
    let (c, csrf) = browser_client(&t).await;
    let csrf = csrf.as_str();
    let page = "/products/SHOP/stakeholders";
    let html = c.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("No stakeholders yet") && html.contains("id=\"sh-grid\""), "{html}");
    let fields = [
        ("csrf", csrf),
        ("person", "Dana <i>Reyes</i>"),
        ("role", "executive"),
        ("power", "5"),
        ("interest", "5"),
    ];
    let (s, loc) = form(&c, &t, page, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (s, loc) =
        form(&c, &t, page, &[("csrf", csrf), ("person", "X"), ("power", "9"), ("interest", "1")]).await;
    assert_eq!((s, loc.contains("error=Power")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, list) = get(&t, &t.admin_token, SH).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let id = list[0]["id"].as_i64().unwrap();
    let html = c.get(t.url(page)).send().await.unwrap().text().await.unwrap();
    let link = format!("href=\"/stakeholders/{id}\"");
    for needle in [link.as_str(), "Manage closely", "sh-p-manage_closely", "<circle"] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    assert!(!html.contains("<i>Reyes</i>"));
    let one = format!("/stakeholders/{id}");
    let (_, loc) = form(
        &c,
        &t,
        &one,
        &[
            ("csrf", csrf),
            ("op", "contact"),
            ("date", "2026-05-01"),
            ("channel", "call"),
            ("notes", "Renewal risk"),
        ],
    )
    .await;
    assert!(loc.contains("notice="), "{loc}");
    let (_, loc) =
        form(&c, &t, &one, &[("csrf", csrf), ("op", "edit"), ("interest", "2"), ("version", "2")]).await;
    assert!(loc.contains("notice="), "{loc}");
    let html = c.get(t.url(&one)).send().await.unwrap().text().await.unwrap();
    for needle in ["Renewal risk", "2026-05-01", "Keep satisfied", "id=\"add-contact\""] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    let (_, loc) = form(&c, &t, &one, &[("csrf", csrf), ("op", "delete")]).await;
    assert!(loc.starts_with("/products/SHOP/stakeholders"), "{loc}");
    assert_eq!(c.get(t.url(&one)).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn stakeholder_update_composed_edited_published(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let pm = &t.admin_token;
    let now = keel_app::now().0;
    // A goal with two key results: one KPI halfway (40 → 50, at 45), one without measurements.
    let kpi = record(
        &t,
        &shop,
        ObjectKind::Kpi,
        json!({"name": "Conversion", "baseline": 40.0, "target": 50.0,
        "measurements": [{"date": "2026-01-01", "value": 42.0}, {"date": "2026-02-01", "value": 45.0}]}),
    )
    .await;
    let bare =
        record(&t, &shop, ObjectKind::Kpi, json!({"name": "NPS", "baseline": 10.0, "target": 30.0})).await;
    record(&t, &shop, ObjectKind::Goal, json!({"title": "Effortless checkout", "due": "2026-09-30",
        "key_results": [{"id": 1, "title": "Conversion 50 %", "kpi_id": kpi}, {"id": 2, "title": "NPS 30", "kpi_id": bare}]})).await;
    record(&t, &shop, ObjectKind::Initiative, json!({"title": "One-page checkout", "lane": "now"})).await;
    let op = WriteOp::CreateRecord(NewRecord {
        kind: ObjectKind::Release,
        product_id: Some(shop.id),
        parent_id: None,
        state: "released".into(),
        unique_key: None,
        data: json!({"name": "2.4", "released_at": now}),
    });
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    t.app.store().write_batch(vec![op], &ctx).await.unwrap();
    for title in ["Payment API", "Checkout page"] {
        let (s, v) = post(&t, pm, "/api/v1/products/SHOP/items", json!({"title": title})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = post(&t, pm, "/api/v1/items/SHOP-1/links", json!({"kind": "blocks", "to": "SHOP-2"})).await;
    assert!(s.is_success(), "{v}");

    let list = "/api/v1/products/SHOP/stakeholder-updates";
    for tok in [&team, &po] {
        let (s, p) = call(&t, tok, Method::POST, list, None).await;
        assert_eq!((s, &p["deciders"]), (StatusCode::FORBIDDEN, &json!(["pm"])), "{p}");
    }
    let (s, d) = call(&t, pm, Method::POST, list, None).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!((&d["state"], &d["since"]), (&json!("draft"), &Value::Null));
    let body = d["body"].as_str().unwrap();
    for needle in [
        "**Effortless checkout**: 50 %, due 2026-09-30",
        "Conversion 50 %: 50 %",
        "NPS 30: no measurement yet",
        "**One-page checkout** (",
        "**2.4**, released",
        "1 open item is blocked",
    ] {
        assert!(body.contains(needle), "the draft lacks {needle}:\n{body}");
    }
    // Drafts are the PM's: the team neither lists nor reads them.
    let one = format!("/api/v1/stakeholder-updates/{}", d["id"]);
    assert_eq!(get(&t, &team, list).await.1, json!([]));
    assert_eq!(get(&t, &team, &one).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        call(&t, &team, Method::PATCH, &one, Some(json!({"body": "x"}))).await.0,
        StatusCode::NOT_FOUND
    );
    // The PM edits and publishes.
    let (s, p) = call(&t, pm, Method::PATCH, &one, Some(json!({"body": "  "}))).await;
    assert_eq!((s, p["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("body")), "{p}");
    let edited = format!("{body}\nWe are on track. <script>alert(1)</script>");
    let (s, v) = call(
        &t,
        pm,
        Method::PATCH,
        &one,
        Some(json!({"body": edited, "title": "March update", "version": d["version"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) =
        call(&t, pm, Method::PATCH, &one, Some(json!({"title": "x", "version": d["version"]}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = call(&t, pm, Method::POST, &format!("{one}/publish"), None).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("published")), "{v}");
    assert!(v["published_at"].is_string());
    // Published updates are kept: no more edits, and everyone in the product reads them.
    assert_eq!(call(&t, pm, Method::PATCH, &one, Some(json!({"title": "y"}))).await.0, StatusCode::CONFLICT);
    assert_eq!(call(&t, pm, Method::POST, &format!("{one}/publish"), None).await.0, StatusCode::CONFLICT);
    let (_, l) = get(&t, &team, list).await;
    assert_eq!((l.as_array().unwrap().len(), &l[0]["title"]), (1, &json!("March update")));
    // The next draft covers only what happened since: nothing changed, nothing shipped.
    let (s, d2) = call(&t, pm, Method::POST, list, None).await;
    assert_eq!(s, StatusCode::CREATED, "{d2}");
    assert_eq!(d2["since"], v["published_at"]);
    let body2 = d2["body"].as_str().unwrap();
    assert!(
        body2.contains("No initiative changed.") && body2.contains("## Releases shipped\n\nNone."),
        "{body2}"
    );

    // The page shows the published update sanitised and the draft's editor.
    let (c, _) = browser_client(&t).await;
    let html = c.get(t.url("/products/SHOP/stakeholder-updates")).send().await.unwrap().text().await.unwrap();
    for needle in ["March update", "We are on track.", "su-draft", "<strong>Effortless checkout</strong>"] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    assert!(!html.contains("<script>alert(1)"), "{html}");

    // Through the page's forms: compose, save, publish.
    let (c, csrf) = browser_client(&t).await;
    let page = "/products/SHOP/stakeholder-updates";
    let (s, loc) = form(&c, &t, page, &[("csrf", csrf.as_str()), ("op", "compose")]).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, l) = get(&t, pm, list).await;
    let draft = l.as_array().unwrap().iter().find(|u| u["state"] == "draft").unwrap().clone();
    let (id, version) = (draft["id"].to_string(), draft["version"].to_string());
    let save = [
        ("csrf", csrf.as_str()),
        ("op", "save"),
        ("id", id.as_str()),
        ("version", version.as_str()),
        ("title", "April update"),
        ("body", "All good."),
    ];
    let (_, loc) = form(&c, &t, page, &save).await;
    assert!(loc.contains("notice="), "{loc}");
    let (_, loc) = form(&c, &t, page, &save).await;
    assert!(loc.contains("error="), "a stale save is refused: {loc}");
    let (_, loc) =
        form(&c, &t, page, &[("csrf", csrf.as_str()), ("op", "publish"), ("id", id.as_str())]).await;
    assert!(loc.contains("notice="), "{loc}");
    let (_, l) = get(&t, &team, list).await;
    assert_eq!((l[0]["title"].as_str(), l[0]["body"].as_str()), (Some("April update"), Some("All good.")));
}
