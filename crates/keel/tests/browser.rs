//! The web UI in a real browser: headless Chromium driven through WebDriver (chromedriver),
//! against the real server on a fresh database of each backend.
//!
//! It signs in through the form, reorders the backlog by dragging with pointer actions and with
//! the keyboard, edits an item through its form, checks an acceptance criterion, and confirms
//! every change against the JSON API after a reload; then a team member's drag must turn into a
//! proposal and leave the order alone. With `KEEL_SCREENSHOTS=<dir>` it saves a screenshot of
//! each main page there.
//!
//! Without chromedriver the test is skipped (a failure under `KEEL_TEST_STRICT=1`).

use keel_domain::product::Role;
use keel_testkit::app::{ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_PASSWORD};
use keel_testkit::{TestApp, TestDb};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sqlite() {
    let Some(driver) = Driver::start().await else { return };
    run(&driver, TestDb::sqlite().await, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_postgres() {
    let Some(db) = TestDb::postgres().await else { return };
    let Some(driver) = Driver::start().await else { return };
    run(&driver, db, "postgres").await;
}

async fn run(driver: &Driver, db: TestDb, backend: &str) {
    let t = keel_testkit::spawn_app(db).await;
    keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("fresh database");
    let shop = t.app.product_by_key("SHOP").await.expect("SHOP");
    t.member(&shop, "team@keel.test", &[Role::Team]).await;
    let b = driver.session().await;
    let shots = Shots::new(backend);

    // Sign in through the form: a wrong password first, then the right one.
    b.goto(&t.url("/signin?next=/products/SHOP/backlog")).await;
    shots.take(&b, "signin").await;
    sign_in(&b, ADMIN_EMAIL, "not-the-password").await;
    let err = b.text(&b.wait_css("#signin-error").await).await;
    assert!(err.contains("Wrong e-mail or password"), "{err}");
    sign_in(&b, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/backlog").await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    shots.take(&b, "backlog").await;

    // Drag the third row above the first with pointer actions.
    let before = dom_order(&b).await;
    assert!(before.len() >= 6, "the demo backlog has rows: {before:?}");
    drag(&b, &before[2], &before[0]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '1'").await;
    let mut expected = before.clone();
    let moved = expected.remove(2);
    expected.insert(0, moved);
    assert_eq!(dom_order(&b).await[..6], expected[..6], "the page shows the drop");
    assert_eq!(api_order(&t).await[..6], expected[..6], "the server stored the drop");

    // Keyboard: select the fifth row and move it up with Alt+ArrowUp.
    b.js(
        "document.querySelector('#backlog tr[data-key=\"' + arguments[0] + '\"]').focus()",
        json!([expected[4]]),
    )
    .await;
    b.keys(&[ALT, ARROW_UP], &[ARROW_UP, ALT]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '2'").await;
    expected.swap(3, 4);
    assert_eq!(api_order(&t).await[..6], expected[..6], "the keyboard move was stored");
    let opened = expected[3].clone();

    // Enter opens the selected item; edit its title through the form.
    b.keys(&[ENTER], &[ENTER]).await;
    b.wait_url_ends(&format!("/items/{opened}")).await;
    shots.take(&b, "item").await;
    b.click(&b.wait_css("#edit-link").await).await;
    b.wait_url_ends(&format!("/items/{opened}/edit")).await;
    shots.take(&b, "edit").await;
    let title = b.wait_css("#f-title").await;
    b.clear(&title).await;
    b.type_text(&title, "Renamed in the browser test").await;
    b.click(&b.wait_css(".edit-form button[type=submit]").await).await;
    b.wait_url_contains(&format!("/items/{opened}?notice=")).await;

    // Add an acceptance criterion, then tick it (the checkbox submits itself).
    let crit = b.wait_css("#new-crit").await;
    b.type_text(&crit, "Given the browser When the box is ticked Then it stays ticked").await;
    b.click(&b.wait_css("#new-crit + button").await).await;
    b.wait_js("return !!document.querySelector('.criteria li:last-child') && document.querySelector('.criteria li:last-child').textContent.includes('stays ticked')").await;
    let box_ = b.wait_css(".criteria li:last-child input[type=checkbox]").await;
    b.click(&box_).await;
    b.wait_js("return !!document.querySelector('.criteria li:last-child.checked')").await;

    // Reload: the title and the tick are stored, and so is the order.
    b.refresh().await;
    let h1 = b.text(&b.wait_css(".item-title").await).await;
    assert_eq!(h1, "Renamed in the browser test");
    assert!(
        b.js("return !!document.querySelector('.criteria li:last-child.checked input:checked')", json!([]))
            .await
            == json!(true)
    );
    let item = api_get(&t, &format!("/api/v1/items/{opened}")).await;
    assert_eq!(item["title"], "Renamed in the browser test");
    b.goto(&t.url("/products/SHOP/backlog")).await;
    b.wait_css("#backlog tbody tr[data-key]").await;
    assert_eq!(dom_order(&b).await[..6], expected[..6], "the order survives a reload");

    // The other main pages, for the record.
    for (name, path) in [
        ("home", "/"),
        ("proposals", "/products/SHOP/proposals"),
        ("members", "/products/SHOP/members"),
        ("users", "/admin/users"),
        ("tokens", "/settings/tokens"),
    ] {
        b.goto(&t.url(path)).await;
        b.wait_css("main h1").await;
        shots.take(&b, name).await;
    }
    b.goto(&t.url("/items/SHOP-99999")).await;
    assert_eq!(b.text(&b.wait_css("main h1").await).await, "Not found");
    shots.take(&b, "not-found").await;

    // A team member may only propose a new order: the row goes back and a notice says so.
    b.click(&b.wait_css("form[action='/signout'] button").await).await;
    b.wait_url_contains("/signin").await;
    b.goto(&t.url("/signin?next=/products/SHOP/backlog")).await;
    sign_in(&b, "team@keel.test", MEMBER_PASSWORD).await;
    b.wait_url_ends("/products/SHOP/backlog").await;
    let before = dom_order(&b).await;
    drag(&b, &before[2], &before[0]).await;
    b.wait_js("return document.getElementById('backlog').dataset.moves === '1'").await;
    let toast = b.text(&b.wait_css("#toast:not([hidden])").await).await;
    assert!(toast.contains("Proposed"), "{toast}");
    shots.take(&b, "team-proposed").await;
    assert_eq!(dom_order(&b).await, before, "the row went back");
    assert_eq!(api_order(&t).await[..6], before[..6], "the order is unchanged");
    let proposals = api_get(&t, "/api/v1/products/SHOP/proposals?state=pending").await;
    assert!(proposals.to_string().contains(&format!("Move {}", before[2])), "{proposals}");

    b.close().await;
}

async fn sign_in(b: &Browser, email: &str, password: &str) {
    let e = b.wait_css("input[name=email]").await;
    b.clear(&e).await;
    b.type_text(&e, email).await;
    b.type_text(&b.wait_css("input[name=password]").await, password).await;
    b.click(&b.wait_css("form[action='/signin'] button[type=submit]").await).await;
}

/// Drags the row `from` by its handle to just above the row `to`, in small steps as a hand would.
async fn drag(b: &Browser, from: &str, to: &str) {
    let handle = b.wait_css(&format!("#backlog tr[data-key='{from}'] .handle")).await;
    let target = b.wait_css(&format!("#backlog tr[data-key='{to}'] .handle")).await;
    let origin = |e: &str| json!({ ELEMENT: e });
    let actions = json!({ "actions": [{
        "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
        "actions": [
            { "type": "pointerMove", "duration": 0, "origin": origin(&handle), "x": 0, "y": 0 },
            { "type": "pointerDown", "button": 0 },
            { "type": "pointerMove", "duration": 100, "origin": "pointer", "x": 0, "y": -10 },
            { "type": "pointerMove", "duration": 150, "origin": origin(&target), "x": 0, "y": 4 },
            { "type": "pointerMove", "duration": 150, "origin": origin(&target), "x": 0, "y": -8 },
            { "type": "pause", "duration": 100 },
            { "type": "pointerUp", "button": 0 }
        ]
    }]});
    b.post("/actions", actions).await;
    b.delete("/actions").await;
}

async fn dom_order(b: &Browser) -> Vec<String> {
    let v = b
        .js("return Array.from(document.querySelectorAll('#backlog tbody tr[data-key]')).map(r => r.dataset.key)", json!([]))
        .await;
    serde_json::from_value(v).expect("keys")
}

async fn api_get(t: &TestApp, path: &str) -> Value {
    let r = reqwest::Client::new().get(t.url(path)).bearer_auth(&t.admin_token).send().await.expect("api");
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.expect("json")
}

async fn api_order(t: &TestApp) -> Vec<String> {
    let v = api_get(t, "/api/v1/products/SHOP/backlog").await;
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["key"].as_str().unwrap_or("").to_string())
        .collect()
}

// WebDriver key codes.
const ALT: &str = "\u{E00A}";
const ARROW_UP: &str = "\u{E013}";
const ENTER: &str = "\u{E007}";

/// Screenshots into `KEEL_SCREENSHOTS`, when set.
struct Shots {
    dir: Option<PathBuf>,
    prefix: String,
}

impl Shots {
    fn new(backend: &str) -> Self {
        let dir = std::env::var_os("KEEL_SCREENSHOTS").map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).expect("screenshot directory");
        }
        Shots { dir, prefix: backend.to_string() }
    }

    async fn take(&self, b: &Browser, name: &str) {
        if let Some(d) = &self.dir {
            let png = b.screenshot().await;
            std::fs::write(d.join(format!("{}-{name}.png", self.prefix)), png).expect("write screenshot");
        }
    }
}

/// A running chromedriver, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Driver {
    /// Starts chromedriver on a free port, or reports the skip and returns `None`.
    async fn start() -> Option<Driver> {
        let Some(bin) = find_binary("chromedriver") else {
            keel_testkit::skip("browser test: chromedriver not found");
            return None;
        };
        if find_binary("chromium").is_none() && !std::path::Path::new(CHROMIUM).exists() {
            keel_testkit::skip("browser test: chromium not found");
            return None;
        }
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let d = Driver { child, url: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.url)).send().await {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(d)
    }

    /// A new headless browser session.
    async fn session(&self) -> Browser {
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": find_binary("chromium").map_or_else(|| CHROMIUM.to_string(), |p| p.display().to_string()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--window-size=1400,900"]
            }
        }}});
        let v: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&caps)
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("session json");
        let id = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        Browser { base: format!("{}/session/{id}", self.url), http: self.http.clone() }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CHROMIUM: &str = "/usr/bin/chromium";

fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// One WebDriver session: the handful of commands the test needs.
struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Value {
        let r = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap_or_default();
        assert!(status.is_success(), "{what}: {status} {v}");
        v["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), path).await
    }

    async fn get(&self, path: &str) -> Value {
        self.send(self.http.get(format!("{}{path}", self.base)), path).await
    }

    async fn delete(&self, path: &str) -> Value {
        self.send(self.http.delete(format!("{}{path}", self.base)), path).await
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or("").to_string()
    }

    /// The element matching `css`, waiting up to ten seconds for it to appear.
    async fn wait_css(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self
                .http
                .post(format!("{}/element", self.base))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .expect("find element");
            if r.status().is_success() {
                let v: Value = r.json().await.expect("element json");
                return v["value"][ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("element id in {v}"))
                    .to_string();
            }
            assert!(Instant::now() < deadline, "no element {css} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` returns true.
    async fn wait_js(&self, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.js(script, json!([])).await != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for: {script} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_url_ends(&self, suffix: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let u = self.url().await;
            let path = u.split(['?', '#']).next().unwrap_or("");
            if path.ends_with(suffix) {
                return;
            }
            assert!(Instant::now() < deadline, "expected a URL ending in {suffix}, at {u}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_url_contains(&self, part: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let u = self.url().await;
            if u.contains(part) {
                return;
            }
            assert!(Instant::now() < deadline, "expected a URL containing {part}, at {u}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, el: &str) {
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    async fn clear(&self, el: &str) {
        self.post(&format!("/element/{el}/clear"), json!({})).await;
    }

    async fn type_text(&self, el: &str, text: &str) {
        self.post(&format!("/element/{el}/value"), json!({ "text": text })).await;
    }

    async fn text(&self, el: &str) -> String {
        self.get(&format!("/element/{el}/text")).await.as_str().unwrap_or("").to_string()
    }

    async fn js(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Presses `down` in order, then releases `up` in order, as one key chord.
    async fn keys(&self, down: &[&str], up: &[&str]) {
        let mut acts: Vec<Value> = down.iter().map(|k| json!({ "type": "keyDown", "value": k })).collect();
        acts.extend(up.iter().map(|k| json!({ "type": "keyUp", "value": k })));
        self.post("/actions", json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": acts }] }))
            .await;
        self.delete("/actions").await;
    }

    async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.get("/screenshot").await;
        base64_decode(b64.as_str().unwrap_or(""))
    }

    async fn close(&self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

/// Standard base64 without line breaks (WebDriver's screenshot encoding).
fn base64_decode(s: &str) -> Vec<u8> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn decodes_base64() {
    assert_eq!(base64_decode("S2VlbA=="), b"Keel");
    assert_eq!(base64_decode("S2Vlbg"), b"Keen");
}
