//! A small WebDriver client for the browser tests: starts chromedriver with headless Chromium,
//! opens sessions, finds elements, types, clicks, drags, runs scripts and takes screenshots.
#![allow(dead_code)]

use keel_testkit::TestApp;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C name of an element reference in WebDriver answers.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub async fn sign_in(b: &Browser, email: &str, password: &str) {
    let e = b.wait_css("input[name=email]").await;
    b.clear(&e).await;
    b.type_text(&e, email).await;
    b.type_text(&b.wait_css("input[name=password]").await, password).await;
    b.click(&b.wait_css("form[action='/signin'] button[type=submit]").await).await;
}

/// Drags the row `from` by its handle to just above the row `to`, in small steps as a hand would.
pub async fn drag(b: &Browser, from: &str, to: &str) {
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

pub async fn dom_order(b: &Browser) -> Vec<String> {
    let v = b
        .js("return Array.from(document.querySelectorAll('#backlog tbody tr[data-key]')).map(r => r.dataset.key)", json!([]))
        .await;
    serde_json::from_value(v).expect("keys")
}

pub async fn api_get(t: &TestApp, path: &str) -> Value {
    let r = reqwest::Client::new().get(t.url(path)).bearer_auth(&t.admin_token).send().await.expect("api");
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.expect("json")
}

pub async fn api_order(t: &TestApp) -> Vec<String> {
    let v = api_get(t, "/api/v1/products/SHOP/backlog").await;
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["key"].as_str().unwrap_or("").to_string())
        .collect()
}

// WebDriver key codes.
pub const ALT: &str = "\u{E00A}";
pub const ARROW_UP: &str = "\u{E013}";
pub const ENTER: &str = "\u{E007}";

/// Screenshots into `KEEL_SCREENSHOTS`, when set.
pub struct Shots {
    dir: Option<PathBuf>,
    prefix: String,
}

impl Shots {
    pub fn new(backend: &str) -> Self {
        let dir = std::env::var_os("KEEL_SCREENSHOTS").map(PathBuf::from);
        if let Some(d) = &dir {
            std::fs::create_dir_all(d).expect("screenshot directory");
        }
        Shots { dir, prefix: backend.to_string() }
    }

    pub async fn take(&self, b: &Browser, name: &str) {
        if let Some(d) = &self.dir {
            let png = b.screenshot().await;
            std::fs::write(d.join(format!("{}-{name}.png", self.prefix)), png).expect("write screenshot");
        }
    }
}

/// A running chromedriver, stopped when dropped.
pub struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Driver {
    /// Starts chromedriver on a free port, or reports the skip and returns `None`.
    pub async fn start() -> Option<Driver> {
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
    pub async fn session(&self) -> Browser {
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

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// One WebDriver session: the handful of commands the test needs.
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    pub async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Value {
        let r = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let status = r.status();
        let v: Value = r.json().await.unwrap_or_default();
        assert!(status.is_success(), "{what}: {status} {v}");
        v["value"].clone()
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body), path).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(self.http.get(format!("{}{path}", self.base)), path).await
    }

    pub async fn delete(&self, path: &str) -> Value {
        self.send(self.http.delete(format!("{}{path}", self.base)), path).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url").await.as_str().unwrap_or("").to_string()
    }

    /// The element matching `css`, waiting up to ten seconds for it to appear.
    pub async fn wait_css(&self, css: &str) -> String {
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
    pub async fn wait_js(&self, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.js(script, json!([])).await != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for: {script} on {}", self.url().await);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_url_ends(&self, suffix: &str) {
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

    pub async fn wait_url_contains(&self, part: &str) {
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

    pub async fn click(&self, el: &str) {
        self.post(&format!("/element/{el}/click"), json!({})).await;
    }

    pub async fn clear(&self, el: &str) {
        self.post(&format!("/element/{el}/clear"), json!({})).await;
    }

    pub async fn type_text(&self, el: &str, text: &str) {
        self.post(&format!("/element/{el}/value"), json!({ "text": text })).await;
    }

    pub async fn text(&self, el: &str) -> String {
        self.get(&format!("/element/{el}/text")).await.as_str().unwrap_or("").to_string()
    }

    pub async fn js(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Runs an asynchronous script: it calls its last argument with the answer.
    pub async fn js_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    /// Sets the window to `width` × `height` CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height })).await;
    }

    /// Presses `down` in order, then releases `up` in order, as one key chord.
    pub async fn keys(&self, down: &[&str], up: &[&str]) {
        let mut acts: Vec<Value> = down.iter().map(|k| json!({ "type": "keyDown", "value": k })).collect();
        acts.extend(up.iter().map(|k| json!({ "type": "keyUp", "value": k })));
        self.post("/actions", json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": acts }] }))
            .await;
        self.delete("/actions").await;
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.get("/screenshot").await;
        base64_decode(b64.as_str().unwrap_or(""))
    }

    pub async fn close(&self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

/// Standard base64 without line breaks (WebDriver's screenshot encoding).
pub fn base64_decode(s: &str) -> Vec<u8> {
    pub fn val(c: u8) -> Option<u32> {
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
pub fn decodes_base64() {
    assert_eq!(base64_decode("S2VlbA=="), b"Keel");
    assert_eq!(base64_decode("S2Vlbg"), b"Keen");
}
