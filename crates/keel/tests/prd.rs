//! API tests of PRDs per initiative and epic: generated from the real data (opportunity,
//! feedback, goals and KPIs, stories with criteria, releases, open questions), the PM's edits
//! kept through regeneration, reset, Markdown export, rights, and the page's sanitising; on
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

api_tests!(prd_generated_from_the_data, prd_edits_regenerate_reset_and_rights, prd_pages_and_forms);

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

async fn ok(t: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let (s, v) = call(t, token, method, path, Some(body)).await;
    assert!(s.is_success(), "{path}: {s} {v}");
    v
}

/// The world a PRD is made of; returns (initiative id, KPI id, tokens of po, team, stakeholder).
struct World {
    initiative: i64,
    kpi: i64,
    po: String,
    team: String,
    sh: String,
}

/// A goal with a key result on a KPI, an initiative serving it, an opportunity with feedback
/// promoted into an epic of the initiative (SHOP-1), two stories: SHOP-2 estimated with a
/// criterion and planned in release 2.0, SHOP-3 neither, with an open question.
async fn world(t: &TestApp) -> World {
    let shop = t.product("SHOP").await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, team) = t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let pm = &t.admin_token;
    let kpi = ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/kpis",
        json!({"name": "Checkout conversion", "kind": "adoption", "unit": "percent", "direction": "up",
            "baseline": 40, "target": 50, "due": "2026-12-31"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        t,
        pm,
        Method::POST,
        &format!("/api/v1/kpis/{kpi}/measurements"),
        json!({"date": "2026-02-28", "value": 42}),
    )
    .await;
    let goal = ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/goals",
        json!({"title": "Make checkout effortless", "due": "2026-12-31"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        t,
        pm,
        Method::POST,
        &format!("/api/v1/goals/{goal}/key-results"),
        json!({"title": "Conversion to 50 %", "kpi_id": kpi}),
    )
    .await;
    let initiative = ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/initiatives",
        json!({"title": "One-tap checkout", "goals": [goal], "owner": t.admin.id.0,
            "start": "2026-04-01", "end": "2026-06-30"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let opp = ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/opportunities",
        json!({"title": "Paying takes too long", "description": "Buyers drop out at the payment form."}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/feedback",
        json!({"text": "I typed my card number three times", "person": "Ann", "company": "Acme",
            "segment": "enterprise", "revenue": 250000, "opportunities": [opp]}),
    )
    .await;
    let promoted = ok(
        t,
        pm,
        Method::POST,
        &format!("/api/v1/opportunities/{opp}/promote"),
        json!({"initiative": initiative}),
    )
    .await;
    assert_eq!(promoted["epic"]["key"], "SHOP-1");
    let rel = ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/releases",
        json!({"name": "2.0", "target_date": "2026-06-15"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/items",
        json!({"title": "Save the card", "parent": "SHOP-1", "release": rel}),
    )
    .await;
    ok(
        t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/items",
        json!({"title": "Pay by wallet", "parent": "SHOP-1"}),
    )
    .await;
    ok(t, pm, Method::POST, "/api/v1/items/SHOP-2/criteria", json!({"text": "A saved card pays in one tap"}))
        .await;
    ok(t, &team, Method::PATCH, "/api/v1/items/SHOP-2", json!({"estimate": 5})).await;
    ok(t, &team, Method::POST, "/api/v1/items/SHOP-3/questions", json!({"text": "Which wallets first?"}))
        .await;
    World { initiative, kpi, po, team, sh }
}

fn section<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

fn md<'a>(v: &'a Value, id: &str) -> &'a str {
    section(v, id)["markdown"].as_str().unwrap()
}

async fn prd_generated_from_the_data(db: TestDb) {
    let t = spawn_app(db).await;
    let w = world(&t).await;
    let path = format!("/api/v1/initiatives/{}/prd", w.initiative);
    // Everyone in the product reads it.
    let (s, v) = get(&t, &w.sh, &path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<&str> =
        v["sections"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["overview", "problem", "goals", "scope", "non_goals", "releases", "open_questions"]);
    assert_eq!(
        (v["subject"].as_str(), v["title"].as_str(), v["version"].as_i64()),
        (Some("initiative"), Some("One-tap checkout"), Some(0))
    );
    let overview = md(&v, "overview");
    assert!(overview.contains(&format!("- **Owner:** {}", t.admin.name)), "{overview}");
    assert!(overview.contains("- **Status:** proposed"), "{overview}");
    assert!(overview.contains("2026-04-01 – 2026-06-30"), "{overview}");
    let problem = md(&v, "problem");
    assert!(problem.contains("### Paying takes too long"), "{problem}");
    assert!(problem.contains("Buyers drop out at the payment form."), "{problem}");
    assert!(problem.contains("Demand: 1 feedback, revenue 250,000 behind it."), "{problem}");
    assert!(
        problem.contains("> I typed my card number three times\n>\n> — Ann, Acme, enterprise"),
        "{problem}"
    );
    let goals = md(&v, "goals");
    assert!(goals.contains("### Make checkout effortless"), "{goals}");
    assert!(goals.contains("Due 2026-12-31, 20 % there."), "{goals}");
    assert!(
        goals.contains("- Conversion to 50 % — KPI Checkout conversion: baseline 40 %, target 50 %, latest 42 % (2026-02-28)"),
        "{goals}"
    );
    let scope = md(&v, "scope");
    assert!(scope.contains("### SHOP-1 Paying takes too long"), "{scope}");
    assert!(scope.contains("2 stories, 5 points."), "{scope}");
    assert!(
        scope.contains("- **SHOP-2 Save the card** — 5 points, To Do\n  - [ ] A saved card pays in one tap"),
        "{scope}"
    );
    assert!(scope.contains("- **SHOP-3 Pay by wallet** — not estimated"), "{scope}");
    assert!(md(&v, "non_goals").contains("edit this section"));
    assert_eq!(md(&v, "releases"), "- **2.0** — target 2026-06-15: SHOP-2");
    let q = md(&v, "open_questions");
    assert!(q.contains("- SHOP-3: Which wallets first?"), "{q}");
    assert!(q.contains("- SHOP-3 Pay by wallet is not estimated"), "{q}");
    assert!(section(&v, "scope")["edited"] == false);
    assert_eq!(md(&v, "scope"), section(&v, "scope")["generated_markdown"].as_str().unwrap());
    let whole = v["markdown"].as_str().unwrap();
    assert!(whole.starts_with("# PRD: One-tap checkout\n\n## Overview\n"), "{whole}");
    assert!(whole.contains("\n## Problem and evidence\n\n### Paying takes too long"));

    // The epic's PRD: the same evidence and scope, and the initiative it delivers.
    let (s, e) = get(&t, &w.team, "/api/v1/items/SHOP-1/prd").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!((e["subject"].as_str(), e["subject_id"].as_str()), (Some("epic"), Some("SHOP-1")));
    assert!(md(&e, "overview").contains("- **Delivers:** One-tap checkout"));
    assert!(md(&e, "problem").contains("I typed my card number three times"));
    assert!(md(&e, "goals").contains("Conversion to 50 %"));
    assert!(md(&e, "scope").contains("SHOP-2 Save the card"));
    // Not an epic, unknown, another product: 404.
    assert_eq!(get(&t, &w.team, "/api/v1/items/SHOP-2/prd").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &w.team, "/api/v1/items/SHOP-99/prd").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&t, &w.team, "/api/v1/initiatives/999999/prd").await.0, StatusCode::NOT_FOUND);
    let (s, e) = get(&t, &w.team, &format!("{path}?format=pdf")).await;
    assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("format")));

    // Export: the Markdown file as an attachment, by query or by Accept.
    let c = Client::new();
    for req in [
        c.get(t.url(&format!("{path}?format=md"))).bearer_auth(&w.po),
        c.get(t.url(&path)).bearer_auth(&w.po).header("accept", "text/markdown"),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        let cd = res.headers()["content-disposition"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/markdown"), "{ct}");
        assert_eq!(cd, "attachment; filename=\"prd-one-tap-checkout.md\"");
        assert_eq!(res.text().await.unwrap(), whole);
    }
}

async fn prd_edits_regenerate_reset_and_rights(db: TestDb) {
    let t = spawn_app(db).await;
    let w = world(&t).await;
    let pm = &t.admin_token;
    let path = format!("/api/v1/initiatives/{}/prd", w.initiative);
    let edit = json!({"sections": {"non_goals": "- No mobile wallet in this release", "goals": "Our own words."}, "version": 0});
    // Only the PM writes the PRD.
    for tok in [&w.po, &w.team, &w.sh] {
        let (s, v) = put(&t, tok, &path, edit.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    }
    let (s, v) = put(&t, pm, &path, edit.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(
        (md(&v, "non_goals"), section(&v, "non_goals")["edited"].as_bool()),
        ("- No mobile wallet in this release", Some(true))
    );
    assert_eq!(section(&v, "goals")["outdated"], false);
    assert!(v["markdown"].as_str().unwrap().contains("## Non-goals\n\n- No mobile wallet in this release\n"));
    assert_eq!(put(&t, pm, &path, edit).await.0, StatusCode::CONFLICT);

    // The data changes: a new story, a new measurement.
    ok(
        &t,
        pm,
        Method::POST,
        "/api/v1/products/SHOP/items",
        json!({"title": "Refund a payment", "parent": "SHOP-1"}),
    )
    .await;
    ok(
        &t,
        pm,
        Method::POST,
        &format!("/api/v1/kpis/{}/measurements", w.kpi),
        json!({"date": "2026-03-31", "value": 45}),
    )
    .await;
    for (m, p) in [(Method::GET, path.clone()), (Method::POST, format!("{path}/regenerate"))] {
        let (s, v) = call(&t, &w.team, m, &p, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(md(&v, "scope").contains("SHOP-4 Refund a payment"), "unedited sections follow the data");
        assert_eq!(md(&v, "non_goals"), "- No mobile wallet in this release");
        assert_eq!(md(&v, "goals"), "Our own words.");
        let g = section(&v, "goals");
        assert_eq!((g["edited"].as_bool(), g["outdated"].as_bool()), (Some(true), Some(true)));
        assert!(g["generated_markdown"].as_str().unwrap().contains("latest 45 % (2026-03-31)"));
        assert_eq!(section(&v, "non_goals")["outdated"], false);
    }
    // Regenerating writes nothing.
    assert_eq!(get(&t, pm, &path).await.1["version"], 1);

    // Reset one section to generated; edit another in the same request.
    let (s, v) =
        put(&t, pm, &path, json!({"reset": ["goals"], "sections": {"open_questions": "- Pricing?"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(section(&v, "goals")["edited"], false);
    assert!(md(&v, "goals").contains("latest 45 % (2026-03-31)"));
    assert_eq!(md(&v, "open_questions"), "- Pricing?");
    assert_eq!(md(&v, "non_goals"), "- No mobile wallet in this release");

    // Bad input names the field; nothing is written.
    for (body, field) in [
        (json!({"sections": {"nope": "x"}}), "sections.nope"),
        (json!({"reset": ["scope", "appendix"]}), "reset[1]"),
        (json!({"sections": {"scope": "x".repeat(50_001)}}), "sections.scope"),
    ] {
        let (s, e) = put(&t, pm, &path, body).await;
        assert_eq!((s, e["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{e}");
    }
    assert_eq!(put(&t, pm, &path, json!({"section": {}})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&t, pm, &path).await.1["version"], 2);

    // Epic PRDs are their own documents.
    let (s, e) =
        put(&t, pm, "/api/v1/items/SHOP-1/prd", json!({"sections": {"non_goals": "- Epic only"}})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(md(&e, "non_goals"), "- Epic only");
    assert_eq!(md(&get(&t, pm, &path).await.1, "non_goals"), "- No mobile wallet in this release");
    assert_eq!(
        put(&t, &w.po, "/api/v1/items/SHOP-1/prd", json!({"sections": {}})).await.0,
        StatusCode::FORBIDDEN
    );
}

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

async fn prd_pages_and_forms(db: TestDb) {
    let t = spawn_app(db).await;
    let w = world(&t).await;
    let pm = &t.admin_token;
    let api = format!("/api/v1/initiatives/{}/prd", w.initiative);
    let page = format!("/initiatives/{}/prd", w.initiative);
    let evil = "Some **Bold** words\n\n<script>alert('x')</script>\n\n[link](javascript:alert(1)) and <img src=x onerror=alert(2)>";
    let (s, _) = put(&t, pm, &api, json!({"sections": {"non_goals": evil}})).await;
    assert_eq!(s, StatusCode::OK);
    let (c, csrf) = browser_client(&t).await;
    let res = c.get(t.url(&page)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for needle in [
        "PRD: One-tap checkout",
        "id=\"s-problem\"",
        "I typed my card number three times",
        "<strong>Bold</strong>",
        "prd-edited",
        "?format=md",
        "Regenerate",
    ] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    // Raw HTML in a section is shown as text, never run; javascript: links lose their target.
    assert!(!html.contains("<script>alert('x')"), "a script tag was rendered");
    assert!(!html.contains("<img src=x"), "an img tag was rendered");
    assert!(!html.contains("href=\"javascript:"), "a javascript: link was rendered");
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"));

    // Editing a section through the form, then resetting it.
    let fields = [
        ("csrf", csrf.as_str()),
        ("op", "save"),
        ("section", "problem"),
        ("markdown", "Our *own* problem"),
        ("version", "1"),
    ];
    let (s, loc) = form(&c, &t, &page, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, v) = get(&t, pm, &api).await;
    assert_eq!(md(&v, "problem"), "Our *own* problem");
    let html = c.get(t.url(&page)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<em>own</em>"));
    let fields = [("csrf", csrf.as_str()), ("op", "reset"), ("section", "problem"), ("version", "2")];
    let (s, loc) = form(&c, &t, &page, &fields).await;
    assert_eq!((s, loc.contains("notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    assert_eq!(section(&get(&t, pm, &api).await.1, "problem")["edited"], false);
    // A bad section id comes back as an error message.
    let fields = [("csrf", csrf.as_str()), ("op", "save"), ("section", "appendix"), ("markdown", "x")];
    let (s, loc) = form(&c, &t, &page, &fields).await;
    assert_eq!((s, loc.contains("error=")), (StatusCode::SEE_OTHER, true), "{loc}");

    // The page's export link works with the browser's session.
    let res = c.get(t.url(&format!("{api}?format=md"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(res.text().await.unwrap().starts_with("# PRD: One-tap checkout"));

    // The epic's page, and the links to both.
    let res = c.get(t.url("/items/SHOP-1/prd")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("PRD: SHOP-1 Paying takes too long"));
    assert_eq!(c.get(t.url("/items/SHOP-2/prd")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let item = c.get(t.url("/items/SHOP-1")).send().await.unwrap().text().await.unwrap();
    assert!(item.contains("href=\"/items/SHOP-1/prd\""));
    let ini = c
        .get(t.url(&format!("/products/SHOP/roadmap/initiatives/{}", w.initiative)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ini.contains(&format!("href=\"/initiatives/{}/prd\"", w.initiative)));
}
