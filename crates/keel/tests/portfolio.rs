//! Tests of the portfolio (API and page), the goal and KPI forms of the web UI and the vision
//! card as PDF, on SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

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
    portfolio_shows_each_product_as_the_role_may_see_it,
    portfolio_page_renders_side_by_side,
    vision_card_as_pdf,
    kpi_forms_keep_values_and_show_errors_inline,
    goal_and_key_result_forms,
    measurement_and_import_forms,
    goal_owner_over_the_api,
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

/// POSTs and expects a 2xx; returns the body.
async fn ok_post(t: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let (s, v) = call(t, token, Method::POST, path, Some(body)).await;
    assert!(s.is_success(), "POST {path}: {s} {v}");
    v
}

/// A KPI `baseline → target` (percent) measured once at `value`; returns its id.
async fn kpi(
    t: &TestApp,
    product: &str,
    name: &str,
    dir: &str,
    baseline: f64,
    target: f64,
    value: f64,
) -> i64 {
    let k = ok_post(
        t,
        &t.admin_token,
        &format!("/api/v1/products/{product}/kpis"),
        json!({"name": name, "unit": "percent", "direction": dir, "baseline": baseline, "target": target}),
    )
    .await;
    let id = k["id"].as_i64().unwrap();
    ok_post(
        t,
        &t.admin_token,
        &format!("/api/v1/kpis/{id}/measurements"),
        json!({"date": "2026-02-01", "value": value}),
    )
    .await;
    id
}

/// A goal with a key result per KPI; returns its id.
async fn goal(t: &TestApp, product: &str, title: &str, due: Option<&str>, kpis: &[i64]) -> i64 {
    let g = ok_post(
        t,
        &t.admin_token,
        &format!("/api/v1/products/{product}/goals"),
        json!({"title": title, "due": due}),
    )
    .await;
    let id = g["id"].as_i64().unwrap();
    for (n, k) in kpis.iter().enumerate() {
        ok_post(
            t,
            &t.admin_token,
            &format!("/api/v1/goals/{id}/key-results"),
            json!({"title": format!("KR {n}"), "kpi_id": k}),
        )
        .await;
    }
    id
}

async fn initiative(t: &TestApp, product: &str, body: Value) {
    ok_post(t, &t.admin_token, &format!("/api/v1/products/{product}/initiatives"), body).await;
}

/// SHOP (vision, three goals, initiatives, a release, an active sprint), CRM (a private and a
/// public initiative, releases) and HR (nothing); Mia is PM of SHOP and a stakeholder of CRM.
async fn setup(t: &TestApp) -> String {
    let shop = t.product("SHOP").await;
    let crm = t.product("CRM").await;
    let _hr = t.product("HR").await;
    let (mia_user, mia) = t.member(&shop, "mia@keel.test", &[Role::Pm]).await;
    t.app
        .set_member(None, &crm, mia_user.id, keel_domain::product::Roles::of(&[Role::Stakeholder]))
        .await
        .expect("member");
    let (s, v) = call(
        t,
        &t.admin_token,
        Method::PUT,
        "/api/v1/products/SHOP/vision",
        Some(json!({"version": 0, "statement": "Checkout in one tap", "target_group": "Busy shoppers",
            "needs": "Pay fast", "product": "A shop app", "business_goals": "Grow revenue"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Conversion 40 → 50 at 45: 50 %. Churn 8 → 4 at 7: 25 %.
    let conv = kpi(t, "SHOP", "Conversion", "up", 40.0, 50.0, 45.0).await;
    let churn = kpi(t, "SHOP", "Churn", "down", 8.0, 4.0, 7.0).await;
    goal(t, "SHOP", "Make checkout effortless", Some("2026-12-31"), &[conv, churn]).await;
    goal(t, "SHOP", "Convert more", Some("2026-06-30"), &[conv]).await;
    goal(t, "SHOP", "Someday", None, &[]).await;
    initiative(t, "SHOP", json!({"title": "One-tap pay", "lane": "now", "status": "in_progress"})).await;
    initiative(t, "SHOP", json!({"title": "Abandoned", "lane": "next", "status": "dropped"})).await;
    initiative(t, "SHOP", json!({"title": "Loyalty", "lane": "later", "quarter": "2027-Q1"})).await;
    initiative(t, "CRM", json!({"title": "Internal rework", "lane": "now", "status": "planned"})).await;
    initiative(
        t,
        "CRM",
        json!({"title": "Pipeline v2", "lane": "next", "status": "planned", "public": true,
            "public_title": "A better pipeline"}),
    )
    .await;
    for (name, date) in [("2.0", Some("2026-09-01")), ("1.9", None), ("1.5", Some("2026-04-01"))] {
        ok_post(
            t,
            &t.admin_token,
            "/api/v1/products/CRM/releases",
            json!({"name": name, "target_date": date}),
        )
        .await;
    }
    let team = ok_post(t, &t.admin_token, "/api/v1/products/SHOP/teams", json!({"name": "Core"})).await;
    let sprint = ok_post(
        t,
        &t.admin_token,
        &format!("/api/v1/teams/{}/sprints", team["id"]),
        json!({"name": "Sprint 7", "start": "2026-02-02", "end": "2026-02-13"}),
    )
    .await;
    ok_post(t, &t.admin_token, &format!("/api/v1/sprints/{}/start", sprint["id"]), json!({})).await;
    mia
}

fn titles(lanes: &Value) -> Vec<Vec<String>> {
    lanes
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["initiatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

async fn portfolio_shows_each_product_as_the_role_may_see_it(db: TestDb) {
    let t = spawn_app(db).await;
    let mia = setup(&t).await;
    let (s, v) = get(&t, &mia, "/api/v1/portfolio").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let products = v["products"].as_array().unwrap();
    // HR, where Mia is no member, is absent; the rest by key.
    let keys: Vec<&str> = products.iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["CRM", "SHOP"]);
    let (crm, shop) = (&products[0], &products[1]);
    assert_eq!((&shop["roles"], &crm["roles"]), (&json!(["pm"]), &json!(["stakeholder"])));

    // SHOP: the vision line, goals by due date with hand-computed progress.
    assert_eq!((&shop["vision"], &shop["vision_version"]), (&json!("Checkout in one tap"), &json!(1)));
    let goals: Vec<(String, Value, Value)> = shop["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["title"].as_str().unwrap().to_string(), g["due"].clone(), g["progress"].clone()))
        .collect();
    assert_eq!(
        goals,
        vec![
            ("Convert more".to_string(), json!("2026-06-30"), json!(50.0)),
            // (50 + 25) / 2.
            ("Make checkout effortless".to_string(), json!("2026-12-31"), json!(37.5)),
            ("Someday".to_string(), Value::Null, Value::Null),
        ]
    );
    // The PM sees every initiative but the dropped one; lanes in order.
    assert_eq!(shop["public_roadmap"], json!(false));
    let lanes: Vec<&str> =
        shop["lanes"].as_array().unwrap().iter().map(|l| l["lane"].as_str().unwrap()).collect();
    assert_eq!(lanes, ["now", "next", "later"]);
    assert_eq!(titles(&shop["lanes"]), vec![vec!["One-tap pay".to_string()], vec![], vec!["Loyalty".into()]]);
    assert_eq!(shop["lanes"][2]["initiatives"][0]["start"], json!("2027-01-01"));
    // The team's active sprint.
    let sprints = shop["sprints"].as_array().unwrap();
    assert_eq!(sprints.len(), 1, "{shop}");
    assert_eq!((&sprints[0]["team"], &sprints[0]["name"]), (&json!("Core"), &json!("Sprint 7")));

    // CRM as a stakeholder: only what the published roadmap shows, in its public wording; no
    // vision yet; releases by target date, undated last; no sprints.
    assert_eq!((&crm["vision"], &crm["public_roadmap"]), (&Value::Null, &json!(true)));
    assert_eq!(titles(&crm["lanes"]), vec![vec![], vec!["A better pipeline".to_string()], vec![]]);
    assert!(!crm.to_string().contains("Internal rework"), "{crm}");
    assert!(!crm.to_string().contains("Pipeline v2"), "{crm}");
    let rel: Vec<&str> =
        crm["releases"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(rel, ["1.5", "2.0", "1.9"]);
    assert_eq!(crm["releases"][0]["target_date"], json!("2026-04-01"));
    assert_eq!(crm["sprints"], json!([]));

    // The administrator sees every product, the private CRM initiative included.
    let (_, all) = get(&t, &t.admin_token, "/api/v1/portfolio").await;
    let keys: Vec<&str> =
        all["products"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["CRM", "HR", "SHOP"]);
    assert_eq!(
        titles(&all["products"][0]["lanes"]),
        vec![vec!["Internal rework".to_string()], vec!["Pipeline v2".into()], vec![]]
    );
    // A user in no product has an empty portfolio; no token is a 401.
    let (_, nobody) = t.member(&t.product("ZZ").await, "nobody@keel.test", &[]).await;
    let (s, v) = get(&t, &nobody, "/api/v1/portfolio").await;
    assert_eq!((s, &v["products"]), (StatusCode::OK, &json!([])), "{v}");
    let res = Client::new().get(t.url("/api/v1/portfolio")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The path is in the OpenAPI document.
    let (_, doc) = get(&t, &t.admin_token, "/api/v1/openapi.json").await;
    assert!(doc["paths"].get("/api/v1/portfolio").is_some());
}

/// A browser-like client signed in as `email`: cookies kept, redirects not followed.
async fn signed_in(t: &TestApp, email: &str, password: &str) -> (Client, String) {
    let c = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let body = json!({ "email": email, "password": password });
    let res = c.post(t.url("/api/v1/session")).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "sign in as {email}");
    let me: Value = res.json().await.unwrap();
    (c, me["csrf_token"].as_str().unwrap().to_string())
}

async fn page(c: &Client, t: &TestApp, path: &str) -> (StatusCode, String) {
    let r = c.get(t.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn portfolio_page_renders_side_by_side(db: TestDb) {
    let t = spawn_app(db).await;
    setup(&t).await;
    let (c, _) = signed_in(&t, "mia@keel.test", keel_testkit::app::MEMBER_PASSWORD).await;
    let (s, html) = page(&c, &t, "/portfolio").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("data-product=\"SHOP\"") && html.contains("data-product=\"CRM\""), "{html}");
    assert!(!html.contains("data-product=\"HR\""));
    assert!(html.contains("Checkout in one tap"));
    assert!(html.contains("<progress max=\"100\" value=\"38\">"), "37.5 % shows rounded");
    assert!(html.contains("A better pipeline") && !html.contains("Internal rework"));
    assert!(html.contains("Sprint 7"));
    // CRM has no vision yet: the stakeholder is told who writes it, not offered the form.
    assert!(html.contains("No vision yet. The Product Manager writes it."), "{html}");
    assert!(html.contains("href=\"/portfolio\""), "the sidebar links the portfolio");
    // The products list links it too.
    let (_, home) = page(&c, &t, "/").await;
    assert!(home.contains("id=\"portfolio-link\""));
    // Someone in no product gets an empty state that says what to do.
    let _ = t.member(&t.product("ZZ").await, "nobody@keel.test", &[]).await;
    let (c, _) = signed_in(&t, "nobody@keel.test", keel_testkit::app::MEMBER_PASSWORD).await;
    let (s, html) = page(&c, &t, "/portfolio").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("No products in your portfolio") && html.contains("Ask an administrator"),
        "{html}"
    );
}

async fn vision_card_as_pdf(db: TestDb) {
    let t = spawn_app(db).await;
    let _ = t.product("SHOP").await;
    let path = "/api/v1/products/SHOP/vision-card?format=pdf";
    // Nothing to print before the vision is saved.
    assert_eq!(get(&t, &t.admin_token, path).await.0, StatusCode::NOT_FOUND);
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PUT,
        "/api/v1/products/SHOP/vision",
        Some(json!({"version": 0, "statement": "Checkout in one tap (really)", "target_group": "Busy shoppers",
            "needs": "- Pay fast\n- Feel safe", "product": "A shop app", "business_goals": "Grow revenue by 20 %"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let res = Client::new().get(t.url(path)).bearer_auth(&t.admin_token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("SHOP-vision-card.pdf"));
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"%PDF-1.4\n"));
    assert!(body.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("(Checkout in one tap \\(really\\)) Tj"), "the statement, escaped");
    assert!(text.contains("(\\225 Feel safe) Tj"));
    // An unknown format names the field; the card page links the PDF.
    let (s, v) = get(&t, &t.admin_token, "/api/v1/products/SHOP/vision-card?format=docx").await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("format")), "{v}");
    let (c, _) = signed_in(&t, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    let (s, html) = page(&c, &t, "/products/SHOP/vision/card").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("href=\"/api/v1/products/SHOP/vision-card?format=pdf\""), "{html}");
    // The signed-in browser downloads it with its session.
    let r = c.get(t.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// POSTs a form; returns the status, the redirect target and the body.
async fn form(c: &Client, t: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r = c.post(t.url(path)).form(fields).send().await.unwrap();
    let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (r.status(), loc, r.text().await.unwrap())
}

async fn kpi_forms_keep_values_and_show_errors_inline(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (_, team) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (c, csrf) = signed_in(&t, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("name", "Net promoter <score>"),
        ("kind", "nps"),
        ("unit", "score"),
        ("direction", "up"),
        ("baseline", "30"),
        ("target", "30"),
        ("due", "2026-12-31"),
    ];
    // Without the CSRF token nothing happens.
    let (s, _, _) = form(&c, &t, "/products/SHOP/kpis", &fields[1..]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Target equal to the baseline: the page again, the error beside Target, values kept.
    let (s, _, html) = form(&c, &t, "/products/SHOP/kpis", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(
            r#"<span class="field-error" id="kpi-target-err">Must differ from the baseline</span>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"value="Net promoter &#60;score&#62;""#)
            || html.contains(r#"value="Net promoter &lt;score&gt;""#),
        "name kept, escaped"
    );
    assert!(
        html.contains(r#"<option value="nps" selected>"#)
            && html.contains(r#"<option value="score" selected>"#)
    );
    assert!(html.contains(r#"value="2026-12-31""#));
    let (_, list) = get(&t, &t.admin_token, "/api/v1/products/SHOP/kpis").await;
    assert_eq!(list["kpis"], json!([]), "nothing written");
    // A number that is none is named too.
    fields[6] = ("target", "lots");
    let (s, _, html) = form(&c, &t, "/products/SHOP/kpis", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Must be a number"), "{html}");
    // A good one is created and shown.
    fields[6] = ("target", "45");
    let (s, loc, _) = form(&c, &t, "/products/SHOP/kpis", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/kpis/"), "{loc}");
    let id = loc.trim_start_matches("/kpis/").split('?').next().unwrap().to_string();
    let (_, k) = get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await;
    assert_eq!(
        (&k["kind"], &k["target"], &k["due"]),
        (&json!("nps"), &json!(45.0), &json!("2026-12-31")),
        "{k}"
    );

    // Editing: the form shows the definition; a target on the wrong side is refused inline.
    let edit = format!("/kpis/{id}/edit");
    let (_, page_html) = page(&c, &t, &format!("/kpis/{id}")).await;
    assert!(
        page_html.contains(r#"id="kpi-edit-form""#)
            && page_html.contains(r#"id="kpi-edit-target" required inputmode="decimal" value="45""#),
        "{page_html}"
    );
    let version = k["version"].as_i64().unwrap().to_string();
    let mut e = vec![
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("name", "NPS"),
        ("kind", "nps"),
        ("unit", "score"),
        ("direction", "up"),
        ("baseline", "30"),
        ("target", "20"),
        ("due", ""),
    ];
    let (s, _, html) = form(&c, &t, &edit, &e).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Must be above the baseline when up is good")
            && html.contains(r#"details class="panel kpi-edit" id="kpi-edit" open"#),
        "{html}"
    );
    assert!(html.contains(r#"value="NPS""#), "typed name kept");
    let (_, same) = get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await;
    assert_eq!(same, k, "nothing written");
    e[7] = ("target", "50");
    let (s, loc, _) = form(&c, &t, &edit, &e).await;
    assert_eq!((s, loc.starts_with(&format!("/kpis/{id}?notice="))), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, k2) = get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await;
    assert_eq!((&k2["name"], &k2["target"], &k2["due"]), (&json!("NPS"), &json!(50.0), &Value::Null), "{k2}");
    // The same stale version again: not saved, said so.
    e[2] = ("name", "Stale");
    let (s, loc, _) = form(&c, &t, &edit, &e).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error="), "{loc}");
    assert_eq!(get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await.1["name"], "NPS");

    // The team reads the page without the forms and cannot post them.
    let _ = team;
    let (dc, dcsrf) = signed_in(&t, "dev@keel.test", keel_testkit::app::MEMBER_PASSWORD).await;
    let (s, html) = page(&dc, &t, &format!("/kpis/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("kpi-edit-form") && !html.contains("measure-form"), "{html}");
    let (_, list_html) = page(&dc, &t, "/products/SHOP/kpis").await;
    assert!(
        !list_html.contains(r#"id="kpi-form""#)
            && list_html.contains("Only the Product Manager defines KPIs")
    );
    e[0] = ("csrf", dcsrf.as_str());
    e[1] = ("version", k2["version"].as_str().unwrap_or(""));
    let v2 = k2["version"].as_i64().unwrap().to_string();
    e[1] = ("version", v2.as_str());
    let (s, loc, _) = form(&dc, &t, &edit, &e).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error="), "{loc}");
    assert_eq!(get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await.1["name"], "NPS");
}

async fn goal_and_key_result_forms(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let (mia, _) = t.member(&shop, "mia@keel.test", &[Role::Po]).await;
    let (c, csrf) = signed_in(&t, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    // Conversion 40 → 50 measured at 44: 40 %.
    let conv = kpi(&t, "SHOP", "Conversion", "up", 40.0, 50.0, 44.0).await.to_string();
    let mia_id = mia.id.0.to_string();
    // No title: the error beside it, the other values kept, nothing written.
    let mut g = vec![
        ("csrf", csrf.as_str()),
        ("title", " "),
        ("due", "2026-09-30"),
        ("owner", mia_id.as_str()),
        ("description", "Fewer *drop-outs*"),
    ];
    let (s, _, html) = form(&c, &t, "/products/SHOP/goals", &g).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="goal-title-err""#), "{html}");
    assert!(html.contains(r#"value="2026-09-30""#) && html.contains("Fewer *drop-outs*</textarea>"));
    assert!(html.contains(&format!(r#"<option value="{mia_id}" selected>"#)), "owner kept");
    let (_, list) = get(&t, &t.admin_token, "/api/v1/products/SHOP/goals").await;
    assert_eq!(list["goals"], json!([]));
    // An owner who is no member is refused on its field.
    g[1] = ("title", "Make checkout effortless");
    g[3] = ("owner", "999");
    let (s, _, html) = form(&c, &t, "/products/SHOP/goals", &g).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Is not a member of this product"), "{html}");
    g[3] = ("owner", mia_id.as_str());
    let (s, loc, _) = form(&c, &t, "/products/SHOP/goals", &g).await;
    assert_eq!((s, loc.starts_with("/products/SHOP/goals?notice=")), (StatusCode::SEE_OTHER, true), "{loc}");
    let (_, list) = get(&t, &t.admin_token, "/api/v1/products/SHOP/goals").await;
    let goal = &list["goals"][0];
    assert_eq!(
        (&goal["title"], &goal["owner"], &goal["due"]),
        (&json!("Make checkout effortless"), &json!(mia.id.0), &json!("2026-09-30")),
        "{goal}"
    );
    let gid = goal["id"].as_i64().unwrap();

    // A key result tracking the KPI: the goal is 40 % there.
    let kr_path = format!("/goals/{gid}/key-results");
    let (s, _, html) = form(&c, &t, &kr_path, &[("csrf", &csrf), ("title", ""), ("kpi_id", &conv)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(&format!(r#"<option value="{conv}" selected>"#)), "KPI kept");
    let (s, _, _) =
        form(&c, &t, &kr_path, &[("csrf", &csrf), ("title", "Conversion to 50 %"), ("kpi_id", &conv)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, g1) = get(&t, &t.admin_token, &format!("/api/v1/goals/{gid}")).await;
    assert_eq!(
        (&g1["progress"], &g1["key_results"][0]["kpi_id"]),
        (&json!(40.0), &json!(conv.parse::<i64>().unwrap())),
        "{g1}"
    );
    let kr = g1["key_results"][0]["id"].as_i64().unwrap();
    // Editing the key result: a new title, the KPI unlinked (no progress then).
    let (s, _, _) = form(
        &c,
        &t,
        &format!("{kr_path}/{kr}/edit"),
        &[("csrf", &csrf), ("title", "Conversion up"), ("kpi_id", "")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, g2) = get(&t, &t.admin_token, &format!("/api/v1/goals/{gid}")).await;
    assert_eq!(
        (&g2["key_results"][0]["title"], &g2["key_results"][0]["kpi_id"], &g2["progress"]),
        (&json!("Conversion up"), &Value::Null, &Value::Null),
        "{g2}"
    );
    // Editing the goal: a bad date is refused beside Due; a good edit clears the owner.
    let version = g2["version"].as_i64().map(|v| v.to_string()).unwrap_or_default();
    let edit = format!("/goals/{gid}/edit");
    let mut e = vec![
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("title", "Effortless checkout"),
        ("due", "2026-13-40"),
        ("owner", ""),
        ("description", ""),
    ];
    let (s, _, html) = form(&c, &t, &edit, &e).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!(r#"id="goal-{gid}-due""#)) && html.contains(r#"value="2026-13-40""#),
        "{html}"
    );
    assert!(html.contains(r#"<details class="goal-edit" open>"#));
    e[3] = ("due", "2026-10-31");
    let (s, _, _) = form(&c, &t, &edit, &e).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, g3) = get(&t, &t.admin_token, &format!("/api/v1/goals/{gid}")).await;
    assert_eq!(
        (&g3["title"], &g3["due"], &g3["owner"]),
        (&json!("Effortless checkout"), &json!("2026-10-31"), &Value::Null),
        "{g3}"
    );
    // The PO (who does not set goals) sees the page without the forms; a post is refused.
    let (pc, pcsrf) = signed_in(&t, "mia@keel.test", keel_testkit::app::MEMBER_PASSWORD).await;
    let (_, html) = page(&pc, &t, "/products/SHOP/goals").await;
    assert!(
        !html.contains("goal-edit-form")
            && !html.contains(r#"id="goal-form""#)
            && html.contains("Effortless checkout")
    );
    let (s, loc, _) = form(&pc, &t, "/products/SHOP/goals", &[("csrf", &pcsrf), ("title", "Mine")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("error="), "{loc}");
    assert_eq!(
        get(&t, &t.admin_token, "/api/v1/products/SHOP/goals").await.1["goals"].as_array().unwrap().len(),
        1
    );
}

async fn measurement_and_import_forms(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let _ = shop;
    let (c, csrf) = signed_in(&t, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    let id = kpi(&t, "SHOP", "Conversion", "up", 40.0, 50.0, 42.0).await;
    let m = format!("/kpis/{id}/measurements");
    // A value that is no number comes back beside Value, the date kept.
    let (s, _, html) =
        form(&c, &t, &m, &[("csrf", &csrf), ("date", "2026-03-01"), ("value", "x"), ("note", "March")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(r#"value="2026-03-01""#)
            && html.contains(r#"value="March""#)
            && html.contains("Must be a number"),
        "{html}"
    );
    // No date is named as such.
    let (s, _, html) = form(&c, &t, &m, &[("csrf", &csrf), ("date", ""), ("value", "45")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Is required"), "{html}");
    let (s, _, _) =
        form(&c, &t, &m, &[("csrf", &csrf), ("date", "2026-03-01"), ("value", "45"), ("note", "March")])
            .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, k) = get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await;
    assert_eq!((&k["latest"], &k["progress"]), (&json!(45.0), &json!(50.0)), "{k}");
    // An import with a bad row: nothing imported, the rows named, the text kept.
    let bad = "date,value,note\n2026-04-01,46,April\n2026-05-01,lots,May";
    let imp = format!("/kpis/{id}/import");
    let (s, _, html) = form(&c, &t, &imp, &[("csrf", &csrf), ("csv", bad)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Nothing imported. Row 3"), "{html}");
    assert!(html.contains("2026-05-01,lots,May</textarea>"));
    assert_eq!(
        get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await.1["measurements"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let good = "date,value,note\n2026-04-01,46,April\n2026-05-01,48,May";
    let (s, loc, _) = form(&c, &t, &imp, &[("csrf", &csrf), ("csv", good)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("Imported%202") || loc.contains("Imported+2"), "{loc}");
    let (_, k) = get(&t, &t.admin_token, &format!("/api/v1/kpis/{id}")).await;
    assert_eq!((&k["latest"], k["measurements"].as_array().unwrap().len()), (&json!(48.0), 4), "{k}");
}

async fn goal_owner_over_the_api(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let other = t.product("OTHER").await;
    let (dev, _) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (stranger, _) = t.member(&other, "stranger@keel.test", &[Role::Team]).await;
    let path = "/api/v1/products/SHOP/goals";
    // Someone from another product cannot own the goal; nothing is written.
    let (s, v) =
        call(&t, &t.admin_token, Method::POST, path, Some(json!({"title": "Grow", "owner": stranger.id.0})))
            .await;
    assert_eq!((s, &v["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("owner")), "{v}");
    assert_eq!(get(&t, &t.admin_token, path).await.1["goals"], json!([]));
    let (s, g) =
        call(&t, &t.admin_token, Method::POST, path, Some(json!({"title": "Grow", "owner": dev.id.0}))).await;
    assert_eq!((s, &g["owner"]), (StatusCode::CREATED, &json!(dev.id.0)), "{g}");
    let goal = format!("/api/v1/goals/{}", g["id"]);
    // A patch without `owner` keeps it; `null` clears it.
    let (s, g) = call(&t, &t.admin_token, Method::PATCH, &goal, Some(json!({"title": "Grow more"}))).await;
    assert_eq!((s, &g["owner"]), (StatusCode::OK, &json!(dev.id.0)), "{g}");
    let (s, g) = call(&t, &t.admin_token, Method::PATCH, &goal, Some(json!({"owner": null}))).await;
    assert_eq!((s, &g["owner"], &g["title"]), (StatusCode::OK, &Value::Null, &json!("Grow more")), "{g}");
}
