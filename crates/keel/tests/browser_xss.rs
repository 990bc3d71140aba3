//! A corpus of known XSS payloads written through the API into every user text the pages render
//! (product name and description, item titles, descriptions and criteria, comments, initiatives,
//! opportunities, feedback, goals, key results, KPIs, releases, the vision, teams, sprints,
//! retrospective cards, questions, stakeholders, competitors), then every page that shows them
//! opened in headless Chromium. On each page no payload may have run (`window.__xss`, the title,
//! an alert would stop the WebDriver call), and the DOM may hold no event-handler attribute, no
//! `javascript:` or `data:text/html` link or source, no inline script, no iframe, object or embed.
//! The escaped text itself must show on the pages (positive control). The response's
//! Content-Security-Policy must not allow inline scripts.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::TestDb;
use serde_json::{json, Value};

mod support;
use support::browser::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db).await;
}

/// Each payload, if it ran, sets `window.__xss` (or the title).
const CORPUS: &[&str] = &[
    "<script>window.__xss=1;document.title='XSS'</script>",
    "<img src=x onerror=\"window.__xss=1\">",
    "<svg onload=\"window.__xss=1\"><circle r=1 /></svg>",
    "<svg><script>window.__xss=1</script></svg>",
    "[click me](javascript:window.__xss=1)",
    "[mixed case](JaVaScRiPt:window.__xss=1)",
    "[tab](java\tscript:window.__xss=1)",
    "<a href=\"javascript:window.__xss=1\">link</a>",
    "<a href=\"jav&#x61;script:window.__xss=1\">encoded</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:window.__xss=1\">dec</a>",
    "[data](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "<iframe src=\"data:text/html,<script>parent.__xss=1</script>\"></iframe>",
    "![img](x\" onerror=\"window.__xss=1)",
    "![img](javascript:window.__xss=1)",
    "\"><script>window.__xss=1</script>",
    "'><img src=x onerror=window.__xss=1>",
    "</textarea><script>window.__xss=1</script>",
    "</title><script>window.__xss=1</script>",
    "<details open ontoggle=\"window.__xss=1\">x</details>",
    "<body onload=window.__xss=1>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<form action=\"javascript:window.__xss=1\"><button>go</button></form>",
    "<object data=\"javascript:window.__xss=1\"></object>",
    "<embed src=\"javascript:window.__xss=1\">",
    "&lt;script&gt;window.__xss=1&lt;/script&gt;",
    "%3Cscript%3Ewindow.__xss=1%3C/script%3E",
    "<scr<script>ipt>window.__xss=1</scr</script>ipt>",
    "<a href=\"#\" style=\"background:url(javascript:window.__xss=1)\">css</a>",
];

/// Every payload in one Markdown text (one per paragraph).
fn all() -> String {
    CORPUS.join("\n\n")
}

/// A text for a one-line field (they refuse control characters: a tab is written as its entity).
/// Names are short (sprints, teams, releases: 40-60 characters), so one-line fields take the
/// payloads of at most 40 characters in turn; every payload goes through the Markdown fields.
fn one(i: usize) -> String {
    let short: Vec<&str> = CORPUS.iter().copied().filter(|p| p.len() <= 40).collect();
    short[i % short.len()].replace('\t', "&#9;")
}

const CHECK: &str = r#"
const bad = [];
// Chromium's own error page (an HTTP error): the page under test did not load.
if (typeof loadTimeDataRaw !== 'undefined') return { bad: ['the page did not load'], shown: false };
if (window.__xss) bad.push('a payload ran');
if (document.title.includes('XSS')) bad.push('the title changed');
for (const el of document.querySelectorAll('*')) {
  for (const a of el.attributes) {
    const n = a.name.toLowerCase();
    const v = (a.value || '').replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
    if (n.startsWith('on')) bad.push(el.tagName + ' has ' + n);
    if (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(n)
        && (v.startsWith('javascript:') || v.startsWith('data:text/html'))) bad.push(el.tagName + ' ' + n + '=' + v);
  }
  if (el.tagName === 'SCRIPT' && !el.getAttribute('src')) bad.push('inline script ' + el.textContent.slice(0, 60));
  if (['IFRAME', 'OBJECT', 'EMBED', 'FRAME'].includes(el.tagName)) bad.push(el.tagName);
}
return { bad, shown: document.body.innerText.includes('__xss') };
"#;

async fn api(t: &keel_testkit::TestApp, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .request(method.clone(), t.url(path))
        .bearer_auth(&t.admin_token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "{method} {path}: {s} {v}");
    v
}

async fn run(driver: &Driver, db: TestDb) {
    use reqwest::Method as M;
    let t = keel_testkit::spawn_app(db).await;
    t.product("XS").await;
    let p = "/api/v1/products/XS";
    let mut n = 0usize;
    let mut next = || {
        n += 1;
        one(n)
    };
    api(&t, M::PATCH, p, json!({"name": next(), "description": all()})).await;
    let epic = api(
        &t,
        M::POST,
        &format!("{p}/items"),
        json!({"kind": "epic", "title": next(), "description": all()}),
    )
    .await;
    let epic = epic["key"].as_str().unwrap().to_string();
    let mut items = vec![epic.clone()];
    for _ in 0..4 {
        let v = api(
            &t,
            M::POST,
            &format!("{p}/items"),
            json!({"title": next(), "description": all(), "parent": epic, "labels": ["x"],
                   "as_a": next(), "i_want": next(), "so_that": next(),
                   "criteria": [{"text": next(), "checked": false}, {"text": next(), "checked": true}]}),
        )
        .await;
        items.push(v["key"].as_str().unwrap().to_string());
    }
    let story = items[1].clone();
    api(&t, M::POST, &format!("/api/v1/items/{story}/comments"), json!({"body": all()})).await;
    api(&t, M::POST, &format!("/api/v1/items/{story}/questions"), json!({"text": next()})).await;
    let ini = api(
        &t,
        M::POST,
        &format!("{p}/initiatives"),
        json!({"title": next(), "description": all(), "public": true, "public_title": next(),
               "public_description": all(), "epics": [epic]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    api(&t, M::POST, &format!("/api/v1/initiatives/{ini}/comments"), json!({"body": all()})).await;
    let opp = api(&t, M::POST, &format!("{p}/opportunities"), json!({"title": next(), "description": all()}))
        .await["id"]
        .as_i64()
        .unwrap();
    let fb = api(
        &t,
        M::POST,
        &format!("{p}/feedback"),
        json!({"text": all(), "person": next(), "company": next(), "segment": next(), "opportunities": [opp]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    assert!(fb > 0);
    let goal = api(&t, M::POST, &format!("{p}/goals"), json!({"title": next(), "description": all()})).await
        ["id"]
        .as_i64()
        .unwrap();
    let kpi = api(
        &t,
        M::POST,
        &format!("{p}/kpis"),
        json!({"name": next(), "unit": "count", "baseline": 1, "target": 5}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    api(&t, M::POST, &format!("/api/v1/goals/{goal}/key-results"), json!({"title": next(), "kpi_id": kpi}))
        .await;
    api(
        &t,
        M::POST,
        &format!("/api/v1/kpis/{kpi}/measurements"),
        json!({"date": "2026-01-02", "value": 2, "note": next()}),
    )
    .await;
    let rel = api(&t, M::POST, &format!("{p}/releases"), json!({"name": next(), "description": all()})).await
        ["id"]
        .as_i64()
        .unwrap();
    api(&t, M::PATCH, &format!("/api/v1/items/{story}"), json!({"release": rel})).await;
    api(
        &t,
        M::POST,
        &format!("/api/v1/releases/{rel}/launch/items"),
        json!({"title": next(), "note": next()}),
    )
    .await;
    api(
        &t,
        M::PUT,
        &format!("{p}/vision"),
        json!({"statement": all(), "target_group": next(), "needs": next(), "product": next(), "business_goals": all()}),
    )
    .await;
    let team = api(&t, M::POST, &format!("{p}/teams"), json!({"name": next()})).await["id"].as_i64().unwrap();
    let sprint = api(
        &t,
        M::POST,
        &format!("/api/v1/teams/{team}/sprints"),
        json!({"name": next(), "goal": next(), "start": "2026-01-05", "end": "2026-01-16"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    api(&t, M::POST, &format!("/api/v1/sprints/{sprint}/items"), json!({"key": story})).await;
    api(
        &t,
        M::POST,
        &format!("/api/v1/sprints/{sprint}/retro/cards"),
        json!({"column": "went_well", "text": next()}),
    )
    .await;
    api(
        &t,
        M::POST,
        &format!("{p}/stakeholders"),
        json!({"person": next(), "organisation": next(), "power": 3, "interest": 3}),
    )
    .await;
    api(&t, M::POST, &format!("{p}/competitors"), json!({"name": next(), "positioning": next()})).await;
    let published = api(&t, M::POST, &format!("{p}/roadmap/publish"), Value::Null).await;
    let token = published["token"].as_str().unwrap_or_default().to_string();

    let mut pages: Vec<String> = vec![
        "/".into(),
        "/portfolio".into(),
        "/inbox".into(),
        "/products/XS".into(),
        "/products/XS/backlog".into(),
        "/products/XS/board".into(),
        "/products/XS/refinement".into(),
        "/products/XS/roadmap".into(),
        "/products/XS/roadmap/timeline".into(),
        "/products/XS/opportunities".into(),
        "/products/XS/feedback".into(),
        "/products/XS/goals".into(),
        "/products/XS/kpis".into(),
        "/products/XS/releases".into(),
        "/products/XS/vision".into(),
        "/products/XS/vision/card".into(),
        "/products/XS/sprints".into(),
        "/products/XS/reports".into(),
        "/products/XS/decisions".into(),
        "/products/XS/stakeholders".into(),
        "/products/XS/competitors".into(),
        "/products/XS/alignment".into(),
        "/products/XS/proposals".into(),
        format!("/initiatives/{ini}/prd"),
        format!("/initiatives/{ini}/outcomes"),
        format!("/goals/{goal}"),
        format!("/kpis/{kpi}"),
        format!("/releases/{rel}"),
        format!("/sprints/{sprint}"),
        format!("/sprints/{sprint}/retro"),
        format!("/sprints/{sprint}/plan"),
        format!("/teams/{team}/board"),
        format!("/teams/{team}/standup"),
        format!("/items/{epic}/prd"),
    ];
    pages.extend(items.iter().map(|k| format!("/items/{k}")));
    pages.extend(items.iter().take(2).map(|k| format!("/items/{k}/edit")));
    if !token.is_empty() {
        pages.push(format!("/roadmaps/{token}"));
    }

    let csp = reqwest::get(t.url("/signin")).await.expect("signin page");
    let csp = csp.headers()["content-security-policy"].to_str().expect("csp").to_string();
    let scripts = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).expect("script-src");
    assert!(!scripts.contains("unsafe-inline") && !scripts.contains("unsafe-eval"), "{csp}");

    let b = driver.session().await;
    b.goto(&t.url("/signin")).await;
    sign_in(&b, keel_testkit::app::ADMIN_EMAIL, keel_testkit::app::ADMIN_PASSWORD).await;
    b.wait_url_ends("/").await;
    let mut failures = vec![];
    let mut shown = 0;
    for page in &pages {
        b.goto(&t.url(page)).await;
        b.wait_css("body").await;
        let r = b.js(CHECK, json!([])).await;
        let bad = r["bad"].as_array().cloned().unwrap_or_default();
        if !bad.is_empty() {
            failures.push(format!("{page}: {bad:?}"));
        }
        if r["shown"] == json!(true) {
            shown += 1;
        }
    }
    println!("xss: {} payloads in {n} one-line fields and every Markdown field; {} pages, {shown} showing the escaped text", CORPUS.len(), pages.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(shown * 2 >= pages.len(), "only {shown} of {} pages show the payloads as text", pages.len());
}
