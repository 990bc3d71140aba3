//! The command palette, the keyboard shortcuts and the theme switch in a real browser (headless
//! Chromium through WebDriver), over the demo, keyboard only: Ctrl+K finds items by key and by
//! words and opens them, jumps to a page, runs "assign to me"; `?` lists the shortcuts, `c`
//! focuses the quick add, `g b` goes to the backlog; the dark theme changes the page's colours
//! and survives a reload. With `KEEL_SCREENSHOTS` set, the main pages are shot in both themes.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};

mod support;
use support::browser::*;

const CONTROL: &str = "\u{E009}";
const ESCAPE: &str = "\u{E00C}";
const ARROW_DOWN: &str = "\u{E015}";
const TAB: &str = "\u{E004}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn palette_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn palette_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn open_palette(b: &Browser) {
    b.keys(&[CONTROL, "k"], &["k", CONTROL]).await;
    b.wait_js("const d = document.getElementById('palette'); return !!d && d.open && document.activeElement.id === 'palette-input'").await;
}

async fn type_keys(b: &Browser, text: &str) {
    let chars: Vec<String> = text.chars().map(|c| c.to_string()).collect();
    let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
    b.keys(&refs, &refs).await;
}

/// Moves the palette's selection with the arrow keys to the first option whose text contains
/// `label`, then presses Enter.
async fn choose(b: &Browser, label: &str) {
    let find = "const o = Array.from(document.querySelectorAll('#palette-list [role=option]'));
                return o.findIndex(x => x.textContent.includes(arguments[0]));";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let target = loop {
        let busy =
            b.js("return document.getElementById('palette-list').hasAttribute('aria-busy')", json!([])).await;
        let i = b.js(find, json!([label])).await.as_i64().unwrap_or(-1);
        if i >= 0 && busy == json!(false) {
            break i;
        }
        assert!(std::time::Instant::now() < deadline, "no palette option {label}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    for _ in 0..target {
        b.keys(&[ARROW_DOWN], &[ARROW_DOWN]).await;
    }
    // The input names the chosen option as its active descendant.
    let active = b
        .js(
            "const id = document.getElementById('palette-input').getAttribute('aria-activedescendant');
             return id ? document.getElementById(id).textContent : null;",
            json!([]),
        )
        .await;
    assert!(active.as_str().unwrap_or("").contains(label), "active option {active}, wanted {label}");
    b.keys(&[ENTER], &[ENTER]).await;
}

async fn background(b: &Browser) -> Value {
    b.js("return getComputedStyle(document.body).backgroundColor", json!([])).await
}

async fn set_theme(b: &Browser, theme: &str) {
    b.js(
        "const s = document.getElementById('theme-switch'); s.value = arguments[0];
         s.dispatchEvent(new Event('change', { bubbles: true }));",
        json!([theme]),
    )
    .await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let me = api_get(&t, "/api/v1/me").await["user"]["id"].as_i64().expect("my id");
    let backlog = api_get(&t, "/api/v1/products/SHOP/backlog?limit=200").await;
    let items = backlog["items"].as_array().expect("items").clone();
    let by_key = items[3]["key"].as_str().unwrap().to_string();
    let worded = items
        .iter()
        .rev()
        .find(|i| {
            // An item whose title words find no earlier item in the backlog.
            let title = i["title"].as_str().unwrap_or("").to_lowercase();
            items
                .iter()
                .filter(|j| {
                    let other = j["title"].as_str().unwrap_or("").to_lowercase();
                    title.split_whitespace().all(|w| other.contains(w))
                })
                .count()
                == 1
        })
        .expect("an item with a distinct title")
        .clone();
    let to_assign = items
        .iter()
        .find(|i| i["assignee_id"].as_i64() != Some(me) && i["kind"] == "story")
        .expect("an item not assigned to me")["key"]
        .as_str()
        .unwrap()
        .to_string();

    let b = driver.session().await;
    b.goto(&t.url("/signin?next=/products/SHOP/backlog")).await;
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_contains("/products/SHOP/backlog").await;
    b.wait_css("#backlog tbody tr[data-key]").await;

    // The active sprint and the next release are in the sidebar of every page of the product.
    let now = b
        .js(
            "return Array.prototype.map.call(document.querySelectorAll('.nav-now a'), function (a) {
               return [a.getAttribute('href'), a.lastChild.textContent.trim()]; })",
            json!([]),
        )
        .await;
    let now = now.as_array().expect("links").clone();
    assert_eq!(now.len(), 2, "{now:?}");
    let sprint = api_get(&t, &format!("/api/v1{}", now[0][0].as_str().unwrap())).await;
    assert_eq!(
        (sprint["state"].clone(), sprint["name"].clone()),
        (json!("active"), now[0][1].clone()),
        "{sprint}"
    );
    let release = api_get(&t, &format!("/api/v1{}", now[1][0].as_str().unwrap())).await;
    assert_eq!(
        (release["state"].clone(), release["name"].clone()),
        (json!("planned"), now[1][1].clone()),
        "{release}"
    );

    // The palette's script is fetched on its first use, not with the page; the backlog follows
    // live updates, so it loads live.js, which a page without live regions does not.
    let scripts =
        "return [!!window.KeelPalette, !!document.querySelector('script[src*=\\'/assets/palette.\\']'),
        !!document.querySelector('script[src*=\\'/assets/live.\\']')]";
    assert_eq!(b.js(scripts, json!([])).await, json!([false, false, true]));
    // The palette is a labelled modal dialog with a listbox.
    open_palette(&b).await;
    assert_eq!(b.js(scripts, json!([])).await, json!([true, true, true]));
    let a11y = b
        .js(
            "const d = document.getElementById('palette'), i = document.getElementById('palette-input');
             return [d.getAttribute('role'), d.getAttribute('aria-modal'), i.labels.length > 0,
                     document.getElementById(i.getAttribute('aria-controls')).getAttribute('role')];",
            json!([]),
        )
        .await;
    assert_eq!(a11y, json!(["dialog", "true", true, "listbox"]));
    // Escape closes it, and focus returns to where it was; Tab keeps focus inside.
    b.keys(&[ESCAPE], &[ESCAPE]).await;
    b.wait_js("return !document.getElementById('palette').open").await;
    b.js("document.querySelector('#backlog tbody tr[data-key]').focus()", json!([])).await;
    open_palette(&b).await;
    b.keys(&[TAB], &[TAB]).await;
    assert_eq!(b.js("return document.activeElement.id", json!([])).await, json!("palette-input"));
    b.keys(&[ESCAPE], &[ESCAPE]).await;
    b.wait_js(
        "return !document.getElementById('palette').open
             && document.activeElement === document.querySelector('#backlog tbody tr[data-key]')",
    )
    .await;

    // By key.
    open_palette(&b).await;
    type_keys(&b, &by_key.to_lowercase()).await;
    choose(&b, &by_key).await;
    b.wait_url_ends(&format!("/items/{by_key}")).await;

    // By words.
    let key = worded["key"].as_str().unwrap();
    open_palette(&b).await;
    type_keys(&b, worded["title"].as_str().unwrap()).await;
    choose(&b, key).await;
    b.wait_url_ends(&format!("/items/{key}")).await;

    // A page of the product.
    open_palette(&b).await;
    type_keys(&b, "forecast").await;
    choose(&b, "Forecast").await;
    b.wait_url_ends("/products/SHOP/forecast").await;

    // An action on the open item: assign it to me.
    b.goto(&t.url(&format!("/items/{to_assign}"))).await;
    b.wait_css("#edit-link").await;
    open_palette(&b).await;
    type_keys(&b, "assign").await;
    choose(&b, &format!("Assign {to_assign} to me")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api_get(&t, &format!("/api/v1/items/{to_assign}")).await["assignee_id"].as_i64() != Some(me) {
        assert!(std::time::Instant::now() < deadline, "{to_assign} was not assigned to me");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The page reloads to show it.
    b.wait_js("return document.readyState === 'complete' && !document.getElementById('palette')").await;

    // `s` chooses a new status for the open item from the workflow's states.
    let now =
        api_get(&t, &format!("/api/v1/items/{to_assign}")).await["status"].as_str().unwrap().to_string();
    let states = api_get(&t, "/api/v1/products/SHOP/workflow").await;
    let next = states
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["category"] != "done" && st["name"] != now.as_str())
        .expect("another open state")["name"]
        .as_str()
        .unwrap()
        .to_string();
    b.wait_css("#edit-link").await;
    b.keys(&["s"], &["s"]).await;
    b.wait_js("const d = document.getElementById('palette'); return !!d && d.open").await;
    type_keys(&b, &next.to_lowercase()).await;
    choose(&b, &next).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api_get(&t, &format!("/api/v1/items/{to_assign}")).await["status"] != next.as_str() {
        assert!(std::time::Instant::now() < deadline, "{to_assign} did not move to {next}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.wait_js("return document.readyState === 'complete' && !document.getElementById('palette')").await;

    // Another action: into the team's active sprint.
    let outside = items
        .iter()
        .find(|i| i["sprint_id"].is_null() && i["kind"] == "story" && i["key"] != to_assign.as_str())
        .expect("a story in no sprint")["key"]
        .as_str()
        .unwrap()
        .to_string();
    b.goto(&t.url(&format!("/items/{outside}"))).await;
    b.wait_css("#edit-link").await;
    open_palette(&b).await;
    type_keys(&b, "active sprint").await;
    choose(&b, &format!("Move {outside} to the active sprint")).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while api_get(&t, &format!("/api/v1/items/{outside}")).await["sprint_id"].is_null() {
        let toast = b.js("return document.getElementById('toast').textContent", json!([])).await;
        assert!(std::time::Instant::now() < deadline, "{outside} is in no sprint: {toast}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.wait_js("return document.readyState === 'complete' && !document.getElementById('palette')").await;
    b.goto(&t.url(&format!("/items/{to_assign}"))).await;

    // `?` lists the shortcuts; Escape closes the list.
    b.wait_css("#edit-link").await;
    b.keys(&["?"], &["?"]).await;
    b.wait_js("const h = document.getElementById('help'); return !!h && h.open").await;
    let listed = b.js("return document.querySelectorAll('#help dt').length", json!([])).await;
    assert!(listed.as_u64().unwrap() >= 12, "{listed}");
    b.keys(&[ESCAPE], &[ESCAPE]).await;
    b.wait_js("return !document.getElementById('help').open").await;

    // `g b` goes to the backlog, where `c` focuses the quick add.
    b.keys(&["g"], &["g"]).await;
    b.keys(&["b"], &["b"]).await;
    b.wait_url_ends("/products/SHOP/backlog").await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    b.keys(&["c"], &["c"]).await;
    b.wait_js("return document.activeElement.id === 'qa-title-top'").await;
    // Keys typed in a field are text, not shortcuts.
    type_keys(&b, "gb?").await;
    let typed = b
        .js("return [document.activeElement.value, !!document.querySelector('dialog[open]')]", json!([]))
        .await;
    assert_eq!(typed, json!(["gb?", false]));
    b.js("document.activeElement.blur()", json!([])).await;

    // `g s` goes to the sprint board, where j / k walk the cards and Enter opens one.
    b.keys(&["g"], &["g"]).await;
    b.keys(&["s"], &["s"]).await;
    // The product's board is its team's (one team here).
    b.wait_url_ends("/board").await;
    b.wait_css(".bd-card[data-key]").await;
    b.keys(&["j"], &["j"]).await;
    b.keys(&["j"], &["j"]).await;
    b.keys(&["k"], &["k"]).await;
    b.keys(&["j"], &["j"]).await;
    let second = b
        .js(
            "const c = document.querySelectorAll('.bd-card[data-key]');
             return document.activeElement === c[1] ? c[1].dataset.key : null;",
            json!([]),
        )
        .await;
    let second = second.as_str().expect("the second card has the focus").to_string();
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_url_ends(&format!("/items/{second}")).await;
    b.goto(&t.url("/products/SHOP/backlog")).await;
    b.wait_css("#backlog tbody tr[data-key]").await;

    // Themes: the system's (light in headless Chromium), then dark, kept across a reload.
    let light = background(&b).await;
    assert_eq!(light, json!("rgb(255, 255, 255)"));
    set_theme(&b, "dark").await;
    let dark = background(&b).await;
    assert_eq!(dark, json!("rgb(21, 22, 25)"));
    b.refresh().await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    assert_eq!(background(&b).await, dark);
    assert_eq!(b.js("return document.getElementById('theme-switch').value", json!([])).await, json!("dark"));
    set_theme(&b, "auto").await;
    assert_eq!(background(&b).await, light);

    screenshots(&b, &t, backend, &to_assign).await;
    b.close().await;
}

/// The main pages in both themes, for a person to look at.
async fn screenshots(b: &Browser, t: &TestApp, backend: &str, item: &str) {
    if std::env::var_os("KEEL_SCREENSHOTS").is_none() {
        return;
    }
    let shots = Shots::new(&format!("palette-{backend}"));
    let item_page = format!("/items/{item}");
    let pages = [
        ("home", "/products/SHOP"),
        ("backlog", "/products/SHOP/backlog"),
        ("board", "/products/SHOP/board"),
        ("sprints", "/products/SHOP/sprints"),
        ("roadmap", "/products/SHOP/roadmap"),
        ("reports", "/products/SHOP/reports"),
        ("forecast", "/products/SHOP/forecast"),
        ("goals", "/products/SHOP/goals"),
        ("vision", "/products/SHOP/vision"),
        ("opportunities", "/products/SHOP/opportunities"),
        ("stakeholders", "/products/SHOP/stakeholders"),
        ("competitors", "/products/SHOP/competitors"),
        ("feedback", "/products/SHOP/feedback"),
        ("alignment", "/products/SHOP/alignment"),
        ("standup", "/products/SHOP/standup"),
        ("releases", "/products/SHOP/releases"),
        ("refinement", "/products/SHOP/refinement"),
        ("decisions", "/products/SHOP/decisions"),
        ("item", item_page.as_str()),
    ];
    for theme in ["light", "dark"] {
        b.goto(&t.url("/products/SHOP")).await;
        b.wait_css("#theme-switch").await;
        // The product's home has no live regions: no live-updates script.
        let live = "return !!document.querySelector('script[src*=\\'/assets/live.\\']')";
        assert_eq!(b.js(live, json!([])).await, json!(false));
        set_theme(b, theme).await;
        for (name, path) in pages {
            b.goto(&t.url(path)).await;
            b.wait_css("#main").await;
            shots.take(b, &format!("{name}-{theme}")).await;
        }
        b.goto(&t.url("/products/SHOP/backlog")).await;
        b.wait_css("#backlog").await;
        open_palette(b).await;
        type_keys(b, "check").await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        shots.take(b, &format!("palette-{theme}")).await;
        b.keys(&[ESCAPE], &[ESCAPE]).await;
        b.keys(&["?"], &["?"]).await;
        b.wait_js("const h = document.getElementById('help'); return !!h && h.open").await;
        shots.take(b, &format!("help-{theme}")).await;
        b.keys(&[ESCAPE], &[ESCAPE]).await;
    }
    // Phone width: the header's tools shrink to icons.
    b.post("/window/rect", json!({ "width": 390, "height": 844 })).await;
    for theme in ["light", "dark"] {
        b.goto(&t.url("/products/SHOP/backlog")).await;
        b.wait_css("#theme-switch").await;
        set_theme(b, theme).await;
        shots.take(b, &format!("phone-backlog-{theme}")).await;
    }
}
