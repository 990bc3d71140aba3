//! Sessions, CSRF, secrets at rest, sign-in throttling and security headers, against the real
//! server: cookie flags (HttpOnly, SameSite, Secure when configured), a new session at every
//! sign-in, sessions that expire and that sign-out ends on the server, CSRF on every form and on
//! cookie-authenticated API writes (bearer calls need none), API tokens stored as hashes,
//! argon2id passwords, sign-in throttling per account and per address that holds across
//! processes, and the security headers on every page.

mod support;

use keel_app::Settings;
use keel_testkit::{TestApp, TestDb};
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::server::{Server, ADMIN_EMAIL, ADMIN_PASSWORD};

/// A client that keeps no cookies and follows no redirects: the test sends what it means to.
fn bare() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// The session cookie's `Set-Cookie` line, if the answer sets one.
fn set_cookie(h: &HeaderMap) -> Option<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("keel_session="))
        .map(str::to_string)
}

/// The cookie's value from its `Set-Cookie` line.
fn value(line: &str) -> String {
    line["keel_session=".len()..].split(';').next().unwrap_or("").to_string()
}

/// Signs in through the API, sending `cookie` if given; the new cookie value and CSRF token.
async fn sign_in(base: &str, email: &str, password: &str, cookie: Option<&str>) -> (String, String) {
    let mut r =
        bare().post(format!("{base}/api/v1/session")).json(&json!({"email": email, "password": password}));
    if let Some(c) = cookie {
        r = r.header("cookie", format!("keel_session={c}"));
    }
    let res = r.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let line = set_cookie(res.headers()).expect("a session cookie");
    let body: Value = res.json().await.unwrap();
    (value(&line), body["csrf_token"].as_str().expect("csrf token").to_string())
}

/// `GET /api/v1/me` with a session cookie: its status.
async fn me(base: &str, cookie: &str) -> StatusCode {
    bare()
        .get(format!("{base}/api/v1/me"))
        .header("cookie", format!("keel_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_flags_and_lifetime_follow_the_configuration() {
    let db = TestDb::sqlite().await;
    let plain = Server::start(&db.url, &[]).await;
    let res = bare()
        .post(plain.url("/api/v1/session"))
        .json(&json!({"email": support::server::ADMIN_EMAIL, "password": support::server::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let line = set_cookie(res.headers()).expect("cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", &format!("Max-Age={}", 14 * 24 * 3600)] {
        assert!(line.split("; ").any(|p| p == flag), "{flag} in {line}");
    }
    assert!(!line.contains("Secure"), "no Secure without TLS configured: {line}");
    drop(plain);
    let tls =
        Server::start(&db.url, &[("KEEL_SECURE_COOKIES", "true"), ("KEEL_SESSION_LIFETIME", "30")]).await;
    let res = bare()
        .post(tls.url("/api/v1/session"))
        .json(&json!({"email": support::server::ADMIN_EMAIL, "password": support::server::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let line = set_cookie(res.headers()).expect("cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Max-Age=1800"] {
        assert!(line.split("; ").any(|p| p == flag), "{flag} in {line}");
    }
    // The stored session ends when the cookie does.
    let conn = rusqlite::Connection::open(db.url.strip_prefix("sqlite:").unwrap()).unwrap();
    let (created, expires): (i64, i64) = conn
        .query_row("SELECT created_at, expires_at FROM sessions ORDER BY created_at DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(expires - created, 1800 * 1000);
    // A lifetime out of range is refused at start.
    let out =
        support::server::cli(&db.url, &["serve", "--bind", "127.0.0.1:0"], &[("KEEL_SESSION_LIFETIME", "0")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEEL_SESSION_LIFETIME"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_session_at_every_sign_in_and_sign_out_ends_it_on_the_server() {
    let t = keel_testkit::spawn_app(TestDb::sqlite().await).await;
    // A value planted before signing in is not adopted.
    let planted = "a".repeat(43);
    let (first, _) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, Some(&planted)).await;
    assert_ne!(first, planted);
    assert_eq!(me(&t.base, &first).await, StatusCode::OK);
    // Signing in again with that cookie: a new one, and the old one is dead.
    let (second, csrf) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, Some(&first)).await;
    assert_ne!(second, first);
    assert_eq!(me(&t.base, &first).await, StatusCode::UNAUTHORIZED, "the pre-sign-in cookie still works");
    assert_eq!(me(&t.base, &second).await, StatusCode::OK);
    // The same through the sign-in form.
    let res = bare()
        .post(t.url("/signin"))
        .header("cookie", format!("keel_session={second}"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let third = value(&set_cookie(res.headers()).expect("cookie"));
    assert_ne!(third, second);
    assert_eq!(me(&t.base, &second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&t.base, &third).await, StatusCode::OK);
    // Sign-out through the API ends the session on the server: the copied value is dead too.
    let res = bare()
        .delete(t.url("/api/v1/session"))
        .header("cookie", format!("keel_session={third}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie(res.headers()).is_some_and(|l| l.contains("Max-Age=0")));
    assert_eq!(me(&t.base, &third).await, StatusCode::UNAUTHORIZED);
    // And through the form, which needs the session's CSRF token.
    let (fourth, csrf4) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_ne!(csrf4, csrf);
    let res = bare()
        .post(t.url("/signout"))
        .header("cookie", format!("keel_session={fourth}"))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a cross-site sign-out");
    assert_eq!(me(&t.base, &fourth).await, StatusCode::OK);
    let res = bare()
        .post(t.url("/signout"))
        .header("cookie", format!("keel_session={fourth}"))
        .form(&[("csrf", csrf4.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(me(&t.base, &fourth).await, StatusCode::UNAUTHORIZED);
    let rows: i64 = rusqlite::Connection::open(t.db.url.strip_prefix("sqlite:").unwrap())
        .unwrap()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "every ended session is gone from the database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire() {
    let settings = Settings { session_ttl_secs: 1, ..Settings::default() };
    let t = keel_testkit::spawn_app_with(TestDb::sqlite().await, settings).await;
    let (c, _) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    assert_eq!(me(&t.base, &c).await, StatusCode::OK);
    let page = bare().get(t.url("/")).header("cookie", format!("keel_session={c}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(me(&t.base, &c).await, StatusCode::UNAUTHORIZED, "an expired session still works");
    let page = bare().get(t.url("/")).header("cookie", format!("keel_session={c}")).send().await.unwrap();
    assert!(page.status().is_redirection(), "{}", page.status());
    let to = page.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/signin"), "{to}");
}

/// Every `<form method="post">` of a page: its action and whether it carries the CSRF token.
fn post_forms(html: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<form") {
        let start = at + i;
        let end = lower[start..].find("</form>").map_or(lower.len(), |e| start + e);
        let tag_end = lower[start..].find('>').map_or(end, |e| start + e);
        let tag = &html[start..tag_end];
        at = end.max(start + 5);
        if !tag.to_ascii_lowercase().contains("method=\"post\"") {
            continue;
        }
        let action = tag
            .split("action=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .replace("&amp;", "&");
        out.push((action, lower[start..end].contains("name=\"csrf\"")));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_guards_every_form_and_cookie_api_write_but_not_bearer_calls() {
    let t = keel_testkit::spawn_app(TestDb::sqlite().await).await;
    let p = t.product("SEC").await;
    let (_, dev) = t.member(&p, "dev@keel.test", &[keel_domain::product::Role::Team]).await;
    let _ = dev;
    let c = Client::new();
    let item: Value = c
        .post(t.url("/api/v1/products/SEC/items"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"title": "Bearer needs no CSRF token"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = item["key"].as_str().expect("created with a bearer token and no CSRF token").to_string();
    let bearer_post = |path: &'static str, body: Value| {
        let r = c.post(t.url(path)).bearer_auth(&t.admin_token).json(&body).send();
        async move { r.await.unwrap().json::<Value>().await.unwrap() }
    };
    let opp = bearer_post("/api/v1/products/SEC/opportunities", json!({"title": "Slow search"})).await["id"]
        .as_i64()
        .expect("an opportunity");
    let fb = bearer_post(
        "/api/v1/products/SEC/feedback",
        json!({"text": "Search is slow", "opportunities": [opp]}),
    )
    .await["id"]
        .as_i64()
        .expect("feedback");
    let (cookie, csrf) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let ck = format!("keel_session={cookie}");
    // Cookie-authenticated API writes: without the token, with a wrong one, with the right one.
    for (name, token) in [("no token", None), ("wrong token", Some("x".repeat(csrf.len())))] {
        let mut r = bare()
            .post(t.url("/api/v1/products/SEC/items"))
            .header("cookie", &ck)
            .header("origin", "https://evil.example");
        if let Some(tok) = &token {
            r = r.header("x-csrf-token", tok);
        }
        let res = r.json(&json!({"title": "Cross-site"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["type"], "https://keel.dev/problems/csrf", "{name}: {body}");
        let res = bare()
            .patch(t.url(&format!("/api/v1/items/{key}")))
            .header("cookie", &ck)
            .json(&json!({"title": "Cross-site edit"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}");
    }
    let res = bare()
        .post(t.url("/api/v1/products/SEC/items"))
        .header("cookie", &ck)
        .header("x-csrf-token", &csrf)
        .json(&json!({"title": "Same-site"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, list): (StatusCode, Value) = {
        let r = c.get(t.url("/api/v1/products/SEC/items")).bearer_auth(&t.admin_token).send().await.unwrap();
        (r.status(), r.json().await.unwrap())
    };
    let titles: Vec<&str> =
        list["items"].as_array().unwrap().iter().filter_map(|i| i["title"].as_str()).collect();
    assert!(!titles.iter().any(|x| x.starts_with("Cross-site")), "{titles:?}");

    // Every form of every main page: carries the token, and posting it without one is refused.
    let mut pages: Vec<String> =
        support::pages::FIXED.iter().map(|(_, path)| path.replace("{p}", "SEC")).collect();
    pages.extend([
        format!("/items/{key}"),
        format!("/items/{key}/edit"),
        format!("/opportunities/{opp}"),
        format!("/feedback/{fb}"),
    ]);
    let mut actions = std::collections::BTreeSet::new();
    let mut forms = 0;
    for path in &pages {
        let res = bare().get(t.url(path)).header("cookie", &ck).send().await.unwrap();
        if res.status().is_redirection() {
            continue; // a page with nothing to show yet (the vision card) sends elsewhere
        }
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        for (action, has_token) in post_forms(&html) {
            forms += 1;
            let action = if action.is_empty() { path.clone() } else { action };
            if action == "/signin" {
                continue;
            }
            assert!(has_token, "a form to {action} on {path} has no CSRF token");
            actions.insert(action);
        }
    }
    assert!(actions.len() > 20, "too few forms found: {actions:?}");
    let before = dump(&t);
    for action in &actions {
        let res = bare()
            .post(t.url(action))
            .header("cookie", &ck)
            .header("origin", "https://evil.example")
            .form(&[("title", "Cross-site"), ("name", "Cross-site"), ("confirm", "yes")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "POST {action} without a CSRF token");
    }
    assert_eq!(dump(&t), before, "a refused form changed the database");
    println!(
        "csrf: {forms} post forms on {} pages, {} distinct actions, each refused without the token",
        pages.len(),
        actions.len()
    );
}

/// Every row of every table (sessions, tokens and throttling aside), in stored order.
fn dump(t: &TestApp) -> String {
    let conn = rusqlite::Connection::open(t.db.url.strip_prefix("sqlite:").unwrap()).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .filter(|t: &String| !["sessions", "api_tokens", "sign_in_failures"].contains(&t.as_str()))
        .collect();
    assert!(tables.len() > 10, "{tables:?}");
    let mut out = String::new();
    for table in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).map(|v| format!("{v:?}"))))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        for row in rows {
            out.push_str(&table);
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_stored_hashed_and_passwords_as_argon2id() {
    let t = keel_testkit::spawn_app(TestDb::sqlite().await).await;
    let res: Value = Client::new()
        .post(t.url("/api/v1/tokens"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"name": "ci"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = res["token"].as_str().expect("token").to_string();
    // keel_<id>_<secret>; the secret may hold underscores itself.
    let secret =
        token.strip_prefix("keel_").and_then(|r| r.split_once('_')).map(|(_, s)| s).expect("token form");
    let conn = rusqlite::Connection::open(t.db.url.strip_prefix("sqlite:").unwrap()).unwrap();
    let mut st = conn.prepare("SELECT * FROM api_tokens").unwrap();
    let n = st.column_count();
    let rows: Vec<String> = st
        .query_map([], |r| {
            Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() >= 2);
    assert!(rows.iter().all(|r| !r.contains(secret)), "a token secret is stored as it is: {rows:?}");
    let hashes: Vec<String> = conn
        .prepare("SELECT secret_hash FROM api_tokens")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(hashes.contains(&keel_app::auth::sha256_hex(secret)), "stored as the SHA-256 of the secret");
    assert!(hashes.iter().all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())));
    // The token works; a token with one character of the secret changed does not.
    let c = Client::new();
    assert_eq!(c.get(t.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap().status(), StatusCode::OK);
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(
        c.get(t.url("/api/v1/me")).bearer_auth(&forged).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // Passwords: argon2id PHC strings, never the password.
    let hashes: Vec<String> = conn
        .prepare("SELECT password_hash FROM users")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!hashes.is_empty());
    for h in &hashes {
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(!h.contains(ADMIN_PASSWORD));
    }
    // Sessions too are kept by the hash of the cookie.
    let (cookie, _) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let ids: Vec<String> = conn
        .prepare("SELECT id_hash FROM sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, vec![keel_app::auth::sha256_hex(&cookie)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sign_in_throttling_holds_across_processes() {
    throttling(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sign_in_throttling_holds_across_processes() {
    let Some(db) = TestDb::postgres().await else { return };
    throttling(db).await;
}

async fn throttling(db: TestDb) {
    let a = Server::start(&db.url, &[]).await;
    let b = Server::start(&db.url, &[]).await;
    let admin = support::server::ADMIN_EMAIL;
    let try_in = |base: String, email: String, password: &'static str| async move {
        let res = bare()
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        (res.status(), retry, res.json::<Value>().await.unwrap_or(Value::Null))
    };
    let t = Instant::now();
    // Per account: five failures, alternating processes; then even the right password waits.
    for i in 0..5 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (st, _, _) = try_in(base.clone(), admin.to_string(), "wrong-password").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    for base in [&a.base, &b.base] {
        let (st, retry, body) =
            try_in(base.clone(), admin.to_string(), support::server::ADMIN_PASSWORD).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["type"], "https://keel.dev/problems/throttled");
        let secs: i64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!(secs > 0 && secs <= 15 * 60, "{secs}");
        assert_eq!(body["retry_after"], secs);
    }
    // The sign-in form answers the same.
    let res = bare()
        .post(b.url("/signin"))
        .form(&[("email", admin), ("password", support::server::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // Per address: 30 failures (the five above count) over many accounts from this address; then
    // every account waits.
    for i in 0..25 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (st, _, body) = try_in(base.clone(), format!("nobody{i}@keel.test"), "wrong-password").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "address failure {i}: {body}");
    }
    let (st, retry, _) = try_in(a.base.clone(), "someone-else@keel.test".into(), "any-password").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    println!(
        "throttling ({}): 5 account failures and 30 address failures through 2 processes, then 429 with Retry-After on both, in {:.1} s",
        if db.url.starts_with("sqlite:") { "sqlite" } else { "postgres" },
        t.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_page() {
    let t = keel_testkit::spawn_app(TestDb::sqlite().await).await;
    t.product("SEC").await;
    let (cookie, _) = sign_in(&t.base, ADMIN_EMAIL, ADMIN_PASSWORD, None).await;
    let ck = format!("keel_session={cookie}");
    let mut paths: Vec<String> =
        support::pages::FIXED.iter().map(|(_, path)| path.replace("{p}", "SEC")).collect();
    paths.extend(
        [
            "/signin",
            "/no-such-page",
            "/api/v1/me",
            "/api/v1/openapi.json",
            "/healthz",
            "/readyz",
            "/api/v1/nothing",
        ]
        .map(String::from),
    );
    let (mut signed_in, mut signed_out) = (0, 0);
    for path in &paths {
        for with_cookie in [true, false] {
            let mut r = bare().get(t.url(path));
            if with_cookie {
                r = r.header("cookie", &ck);
            }
            let res = r.send().await.unwrap();
            let h = res.headers();
            let csp = h
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no CSP"));
            let script = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap_or("");
            assert!(script == "script-src 'self'", "{path}: {csp}");
            assert!(!csp.contains("'unsafe-inline'") || !script.contains("unsafe"), "{path}: {csp}");
            assert!(csp.split(';').any(|d| d.trim() == "frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            if with_cookie {
                signed_in += 1;
            } else {
                signed_out += 1;
            }
        }
    }
    println!(
        "security headers: {} answers ({signed_in} signed in, {signed_out} signed out), all with the headers",
        signed_in + signed_out
    );
}
