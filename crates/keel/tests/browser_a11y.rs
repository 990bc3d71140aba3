//! Accessibility of every main page of the demo product, in the light and the dark theme:
//! axe-core (from the npm registry, loaded only here: its file is injected through WebDriver, so
//! the pages' Content-Security-Policy stays as strict as for real users) runs on each page and
//! the test fails listing every serious or critical violation of WCAG 2.x A/AA.
//!
//! `KEEL_AXE_JS` names axe-core's `axe.min.js` (`.ci/run` installs it); without it, or without
//! chromedriver, the test is skipped (a failure under `KEEL_TEST_STRICT=1`).
//!
//! Then the same pages of a new, empty product: each explains what goes there and offers a first
//! action, and is checked by axe too.
//!
//! With `KEEL_SCREENSHOTS=DIR` the same walk also shoots every page at laptop (1440×900) and
//! phone (390×844) width, in both themes, and prints the printable documents (vision card, PRD,
//! release notes, stakeholder updates, sprint review) to PDF, into DIR (`bench/screenshots.sh`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};
use std::path::PathBuf;

mod support;
use support::browser::*;
use support::pages::main_pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a11y_sqlite() {
    let Some(axe) = axe_source() else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, &axe, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a11y_postgres() {
    let Some(axe) = axe_source() else { return };
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    // The pages are the same templates on either database; screenshots are shot once.
    run(&driver, db, &axe, false).await;
}

/// The pages people print: they have a print stylesheet.
const PRINTED: &[&str] =
    &["vision-card", "initiative-prd", "release", "stakeholder-updates", "sprint-review"];

fn axe_source() -> Option<String> {
    let Some(path) = std::env::var_os("KEEL_AXE_JS").map(PathBuf::from) else {
        keel_testkit::skip("accessibility test: KEEL_AXE_JS (axe-core's axe.min.js) is not set");
        return None;
    };
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("KEEL_AXE_JS {}: {e}", path.display())))
}

async fn set_theme(b: &Browser, theme: &str) {
    b.js(
        "const s = document.getElementById('theme-switch'); s.value = arguments[0];
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([theme]),
    )
    .await;
}

/// Runs axe on the open page; answers one line per serious or critical violation.
async fn check(b: &Browser, axe: &str, page: &str, theme: &str) -> Vec<String> {
    if b.js("return typeof window.axe", json!([])).await != json!("object") {
        b.js(&format!("{axe}\n;return true;"), json!([])).await;
    }
    let v = b
        .js_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag',
                   values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
                   resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n').slice(1, 2).join('')),
                              count: v.nodes.length }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [], count: 0 }]));",
            json!([]),
        )
        .await;
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|x: &Value| {
            let nodes: Vec<String> = x["nodes"]
                .as_array()
                .map(|n| n.iter().map(|s| s.as_str().unwrap_or("").to_string()).collect())
                .unwrap_or_default();
            format!(
                "{page} [{theme}] {} ({}, {} nodes): {}\n      {}",
                x["id"].as_str().unwrap_or(""),
                x["impact"].as_str().unwrap_or(""),
                x["count"],
                x["help"].as_str().unwrap_or(""),
                nodes.join("\n      ")
            )
        })
        .collect()
}

async fn run(driver: &Driver, db: TestDb, axe: &str, shoot: bool) {
    let t: TestApp = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let b = driver.session().await;
    b.post("/timeouts", json!({ "script": 120_000 })).await;
    b.resize(1440, 900).await;
    b.goto(&t.url("/signin?next=/products/SHOP")).await;
    b.wait_css("input[name=email]").await;
    let mut problems = check(&b, axe, "signin", "auto").await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_contains("/products/SHOP").await;

    // The demo has opportunities but no feedback yet: one piece, linked to the first opportunity.
    let c = reqwest::Client::new();
    let opps: Value = c
        .get(t.url("/api/v1/products/SHOP/opportunities"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .expect("opportunities")
        .json()
        .await
        .expect("json");
    let opp = opps["opportunities"][0]["id"].as_i64().expect("a demo opportunity");
    let r = c
        .post(t.url("/api/v1/products/SHOP/feedback"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"text": "Checkout asks for my address twice.", "person": "Dana", "company": "Acme",
                      "revenue": 1200, "opportunities": [opp]}))
        .send()
        .await
        .expect("feedback");
    assert!(r.status().is_success(), "{}", r.text().await.unwrap_or_default());

    let pages = main_pages(&b, &t.base, "SHOP").await;
    // Every kind of object page was found in the demo (it has no stakeholders yet).
    for want in [
        "item",
        "sprint",
        "sprint-plan",
        "sprint-review",
        "team",
        "goal",
        "kpi",
        "initiative",
        "release",
        "opportunity",
        "feedback-entry",
    ] {
        assert!(pages.iter().any(|(n, _)| n == want), "no {want} page in {pages:?}");
    }
    let shots = std::env::var_os("KEEL_SCREENSHOTS").filter(|_| shoot).map(PathBuf::from);
    if let Some(d) = &shots {
        std::fs::create_dir_all(d).expect("screenshot directory");
    }

    for theme in ["light", "dark"] {
        b.resize(1440, 900).await;
        b.goto(&t.url("/products/SHOP")).await;
        b.wait_css("#theme-switch").await;
        set_theme(&b, theme).await;
        for (name, path) in &pages {
            b.goto(&t.url(path)).await;
            b.wait_css("body").await;
            b.wait_js("return document.readyState === 'complete'").await;
            problems.extend(check(&b, axe, name, theme).await);
            if let Some(d) = &shots {
                let png = b.screenshot().await;
                std::fs::write(d.join(format!("{name}-laptop-{theme}.png")), png).expect("write screenshot");
            }
        }
        // On a phone every page fits the width: wide tables and boards scroll inside their own
        // box, the page itself never sideways (checked once, in the light theme).
        if shots.is_some() || theme == "light" {
            b.resize(390, 844).await;
            for (name, path) in &pages {
                b.goto(&t.url(path)).await;
                b.wait_css("body").await;
                b.wait_js("return document.readyState === 'complete'").await;
                if theme == "light" {
                    let w = b
                        .js(
                            "var e = document.documentElement, cw = e.clientWidth + 1;
                             var wide = function (y) { var r = y.getBoundingClientRect(); return r.right > cw && r.width > 0; };
                             var clipped = function (y) {
                               for (var a = y.parentElement; a && a !== e; a = a.parentElement) {
                                 if (getComputedStyle(a).overflowX !== 'visible') return true;
                               }
                               return false;
                             };
                             return [e.scrollWidth, e.clientWidth,
                               Array.prototype.filter.call(document.querySelectorAll('body *'), function (x) {
                                 var abs = /absolute|fixed/.test(getComputedStyle(x).position);
                                 return wide(x) && (abs || (!wide(x.parentElement) && !clipped(x)));
                               }).slice(0, 3).map(function (x) {
                                 return x.tagName + '.' + x.getAttribute('class') + ' in ' + x.parentElement.tagName + '.' + x.parentElement.getAttribute('class');
                               })]",
                            json!([]),
                        )
                        .await;
                    if w[0].as_u64() > w[1].as_u64() {
                        problems
                            .push(format!("{name} is wider than a phone ({} > {} px): {}", w[0], w[1], w[2]));
                    }
                }
                if let Some(d) = &shots {
                    let png = b.screenshot().await;
                    std::fs::write(d.join(format!("{name}-phone-{theme}.png")), png)
                        .expect("write screenshot");
                }
            }
        }
    }
    // A new, empty product: every page explains what goes there and offers a first action
    // (a link, a button or a form in the page's main region), and stays accessible.
    t.product("NEW").await;
    let empty: Vec<(String, String)> = support::pages::FIXED
        .iter()
        .filter(|(_, p)| p.contains("{p}"))
        .map(|(n, p)| (n.to_string(), p.replace("{p}", "NEW")))
        .collect();
    for (name, path) in &empty {
        b.goto(&t.url(path)).await;
        b.wait_js("return document.readyState === 'complete'").await;
        let v = b
            .js(
                "const m = document.querySelector('main') || document.body;
                 return [m.innerText.trim().length,
                         m.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea').length];",
                json!([]),
            )
            .await;
        let (text, actions) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
        assert!(text >= 40 && actions >= 1, "the empty product's {name} page is bare: {v}");
        problems.extend(check(&b, axe, &format!("empty {name}"), "dark").await);
        if let Some(d) = &shots {
            let png = b.screenshot().await;
            std::fs::write(d.join(format!("empty-{name}-laptop-dark.png")), png).expect("write screenshot");
        }
    }

    // The printable documents, as PDF (print stylesheet), for the same look.
    if let Some(d) = &shots {
        b.resize(1440, 900).await;
        for (name, path) in pages.iter().filter(|(n, _)| PRINTED.contains(&n.as_str())) {
            b.goto(&t.url(path)).await;
            b.wait_js("return document.readyState === 'complete'").await;
            let pdf = b.post("/print", json!({ "background": true })).await;
            let pdf = base64_decode(pdf.as_str().unwrap_or(""));
            std::fs::write(d.join(format!("{name}-print.pdf")), pdf).expect("write pdf");
        }
    }
    b.close().await;
    assert!(
        problems.is_empty(),
        "{} serious or critical accessibility violations:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
