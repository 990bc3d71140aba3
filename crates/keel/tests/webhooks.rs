//! API tests of outgoing webhooks: management and rights, the outbox written in the change's
//! transaction, signed deliveries to a real HTTP receiver on a loopback port that fails and
//! then succeeds, retries and the log, the guard against internal targets, and deliveries over
//! HTTPS to a loopback receiver whose certificate chains to a test authority (trusted only through
//! the extra-CA setting); on SQLite and (when `KEEL_TEST_DATABASE_URL` is set) PostgreSQL.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::post as axpost;
use keel_app::webhooks::hmac_sha256_hex;
use keel_app::Settings;
use keel_domain::event::ObjectKind;
use keel_domain::product::Role;
use keel_domain::RecordId;
use keel_store::webhooks::NewWebhook;
use keel_store::{NewRecord, WriteCtx, WriteOp};
use keel_testkit::{spawn_app, spawn_app_with, TestApp, TestDb};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    delivery_is_retried_until_it_lands_signed,
    failed_delivery_gives_up_and_is_retried_by_hand,
    outbox_row_is_written_in_the_change_transaction,
    internal_targets_are_refused_without_the_allow_setting,
    webhook_rights_and_bad_input,
    https_delivery_checks_the_certificate,
);

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = Client::new().request(method, t.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let res = r.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        },
    )
}

/// Settings for tests: internal targets allowed, retries within a fraction of a second.
fn fast(window_ms: i64) -> Settings {
    let mut s = Settings::default();
    s.webhooks.allow_private = true;
    s.webhooks.base_backoff_ms = 150;
    s.webhooks.retry_window_ms = window_ms;
    s.webhooks.poll_ms = 30;
    s.webhooks.timeout_ms = 3000;
    s
}

/// A request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A real HTTP receiver on a loopback port: answers each request with the next status of
/// `plan` (the last one repeats), and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<Vec<u16>>>,
}

async fn receiver(plan: &[u16]) -> Receiver {
    let got: Arc<Mutex<Vec<Received>>> = Arc::default();
    let plan = Arc::new(Mutex::new(plan.to_vec()));
    let (g, p) = (got.clone(), plan.clone());
    let app = axum::Router::new().route(
        "/hook",
        axpost(move |headers: HeaderMap, body: Bytes| {
            let (g, p) = (g.clone(), p.clone());
            async move {
                g.lock().unwrap().push(Received { headers, body });
                let mut plan = p.lock().unwrap();
                let code = if plan.len() > 1 { plan.remove(0) } else { plan[0] };
                AxStatus::from_u16(code).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url: format!("http://{addr}/hook"), got, plan }
}

/// Polls the webhook's deliveries until `pred` holds (at most 20 s).
async fn wait_for(t: &TestApp, hook: i64, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..400 {
        let (s, v) =
            call(t, &t.admin_token, Method::GET, &format!("/api/v1/webhooks/{hook}/deliveries"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let list = v.as_array().unwrap().clone();
        if pred(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("deliveries never reached the expected state");
}

async fn create_hook(t: &TestApp, product: &str, url: &str, events: &[&str]) -> Value {
    let (s, h) = call(
        t,
        &t.admin_token,
        Method::POST,
        &format!("/api/v1/products/{product}/webhooks"),
        Some(json!({"url": url, "events": events})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    h
}

async fn delivery_count(t: &TestApp, hook: i64) -> usize {
    t.app.store().deliveries(hook, 1000).await.unwrap().len()
}

async fn delivery_is_retried_until_it_lands_signed(db: TestDb) {
    let t = spawn_app_with(db, fast(60_000)).await;
    t.product("SHOP").await;
    let rx = receiver(&[500, 503, 200]).await;
    let hook = create_hook(&t, "SHOP", &rx.url, &["item.created", "item.moved"]).await;
    let (id, secret) = (hook["id"].as_i64().unwrap(), hook["secret"].as_str().unwrap().to_string());
    assert!(secret.len() >= 32, "{hook}");
    assert_eq!(hook["events"], json!(["item.created", "item.moved"]));
    assert_eq!(hook["active"], true);

    let (s, item) = call(
        &t,
        &t.admin_token,
        Method::POST,
        "/api/v1/products/SHOP/items",
        Some(json!({"title": "Pay by card"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{item}");
    // Written with the change, before any worker runs.
    let pending = wait_for(&t, id, |l| l.len() == 1).await;
    assert_eq!((pending[0]["status"].as_str(), pending[0]["attempts"].as_i64()), (Some("pending"), Some(0)));

    let worker = tokio::spawn(t.app.clone().run_webhook_worker());
    let done = wait_for(&t, id, |l| l.first().is_some_and(|d| d["status"] == "delivered")).await;
    let d = &done[0];
    assert_eq!(d["attempts"], 3, "{d}");
    assert_eq!(d["response_code"], 200);
    assert_eq!(d["event_type"], "item.created");
    assert!(d["last_error"].is_null() && d["delivered_at"].is_string(), "{d}");

    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "two failures, then the success");
    for r in &got {
        let h = |n: &str| r.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert_eq!(h("keel-event"), "item.created");
        assert_eq!(h("keel-delivery"), d["id"].as_i64().unwrap().to_string());
        assert_eq!(h("content-type"), "application/json");
        let sig = h("keel-signature");
        let (ts, v1) = sig.split_once(",v1=").expect("signature format");
        let ts = ts.strip_prefix("t=").expect("timestamp");
        let unix: i64 = ts.parse().unwrap();
        assert!((keel_app::now().0 / 1000 - unix).abs() < 60, "{sig}");
        let mut msg = format!("{ts}.").into_bytes();
        msg.extend_from_slice(&r.body);
        assert_eq!(v1, hmac_sha256_hex(secret.as_bytes(), &msg), "the signature verifies with the secret");
        assert_ne!(v1, hmac_sha256_hex(b"another secret", &msg));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!((body["type"].as_str(), body["product"].as_str()), (Some("item.created"), Some("SHOP")));
        assert_eq!(body["data"]["object"], "item");
        assert_eq!(body["data"]["new"]["title"], "Pay by card", "{body}");
        assert_eq!(body["data"]["actor_id"], t.admin.id.0);
    }

    // A status change is announced as item.moved; a title change is not subscribed.
    let key = item["key"].as_str().unwrap();
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PATCH,
        &format!("/api/v1/items/{key}"),
        Some(json!({"status": "In Progress", "title": "Pay by card or wallet", "version": item["version"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let all = wait_for(&t, id, |l| l.len() == 2 && l[0]["status"] == "delivered").await;
    assert_eq!(all[0]["event_type"], "item.moved");
    let last: Value = serde_json::from_slice(&rx.got.lock().unwrap().last().unwrap().body).unwrap();
    assert_eq!(last["data"]["field"], "status");
    worker.abort();
}

async fn failed_delivery_gives_up_and_is_retried_by_hand(db: TestDb) {
    // Retries for 400 ms: at 150 ms and 450 ms after the first try would pass the window.
    let t = spawn_app_with(db, fast(400)).await;
    let shop = t.product("SHOP").await;
    let rx = receiver(&[500]).await;
    let hook = create_hook(&t, "SHOP", &rx.url, &["release.shipped", "initiative.created"]).await;
    let id = hook["id"].as_i64().unwrap();
    let worker = tokio::spawn(t.app.clone().run_webhook_worker());
    let op = WriteOp::CreateRecord(NewRecord {
        kind: ObjectKind::Initiative,
        product_id: Some(shop.id),
        parent_id: None,
        state: String::new(),
        unique_key: None,
        data: json!({"title": "Wallets"}),
    });
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    t.app.store().write_batch(vec![op], &ctx).await.unwrap();
    let failed = wait_for(&t, id, |l| l.first().is_some_and(|d| d["status"] == "failed")).await;
    let d = &failed[0];
    assert_eq!(d["event_type"], "initiative.created");
    assert_eq!(d["response_code"], 500);
    assert!(d["last_error"].as_str().unwrap().contains("500"), "{d}");
    let attempts = d["attempts"].as_i64().unwrap();
    assert!((2..=4).contains(&attempts), "retried within the window, then given up: {d}");
    assert_eq!(rx.got.lock().unwrap().len() as i64, attempts);
    let (s, h) = call(&t, &t.admin_token, Method::GET, &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!((s, h["recent"]["failed"].as_i64()), (StatusCode::OK, Some(1)), "{h}");

    // The receiver recovers; a retry by hand delivers it.
    *rx.plan.lock().unwrap() = vec![204];
    let did = d["id"].as_i64().unwrap();
    let (s, r) =
        call(&t, &t.admin_token, Method::POST, &format!("/api/v1/deliveries/{did}/retry"), None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let done = wait_for(&t, id, |l| l[0]["status"] == "delivered").await;
    assert_eq!(
        (done[0]["attempts"].as_i64(), done[0]["response_code"].as_i64()),
        (Some(attempts + 1), Some(204))
    );
    // Unknown deliveries are 404.
    let (s, _) = call(&t, &t.admin_token, Method::POST, "/api/v1/deliveries/999999/retry", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    worker.abort();
}

async fn outbox_row_is_written_in_the_change_transaction(db: TestDb) {
    let t = spawn_app_with(db, fast(60_000)).await;
    let shop = t.product("SHOP").await;
    let hook =
        create_hook(&t, "SHOP", "http://127.0.0.1:9/hook", &["initiative.created", "item.created"]).await;
    let id = hook["id"].as_i64().unwrap();
    let initiative = |title: &str| {
        WriteOp::CreateRecord(NewRecord {
            kind: ObjectKind::Initiative,
            product_id: Some(shop.id),
            parent_id: None,
            state: String::new(),
            unique_key: None,
            data: json!({ "title": title }),
        })
    };
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    // The second operation fails, so the whole batch rolls back: no initiative, no delivery.
    let bad =
        vec![initiative("Lost"), WriteOp::DeleteRecord { id: RecordId(987_654_321), expected_version: None }];
    assert!(t.app.store().write_batch(bad, &ctx).await.is_err());
    assert_eq!(delivery_count(&t, id).await, 0, "a rolled-back change writes no delivery");
    t.app.store().write_batch(vec![initiative("Kept")], &ctx).await.unwrap();
    let list = t.app.store().deliveries(id, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].event_type.as_str(), list[0].status.as_str()), ("initiative.created", "pending"));
    // No worker runs here: retrying a delivery that is still waiting is a conflict.
    let (s, v) =
        call(&t, &t.admin_token, Method::POST, &format!("/api/v1/deliveries/{}/retry", list[0].id), None)
            .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let events = t.app.store().product_events(shop.id, None, 1000).await.unwrap();
    let ev = events.iter().find(|e| e.id == list[0].event_id).expect("the event announced");
    assert_eq!((ev.object, ev.field.as_str()), (ObjectKind::Initiative, "created"));

    // Derived types: a release created planned, then shipped, is announced as release.shipped.
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"events": ["initiative.created", "item.created", "release.shipped"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let release = NewRecord {
        kind: ObjectKind::Release,
        product_id: Some(shop.id),
        parent_id: None,
        state: "planned".into(),
        unique_key: None,
        data: json!({"name": "2.4"}),
    };
    let w = t.app.store().write_batch(vec![WriteOp::CreateRecord(release)], &ctx).await.unwrap();
    let keel_store::Written::Record(rec) = &w[0] else { panic!("a record") };
    assert_eq!(delivery_count(&t, id).await, 1, "release.created is not subscribed");
    let ship = WriteOp::UpdateRecord {
        id: rec.id,
        expected_version: None,
        state: Some("released".into()),
        data: json!({"name": "2.4"}),
        refs: vec![],
    };
    t.app.store().write_batch(vec![ship], &ctx).await.unwrap();
    let list = t.app.store().deliveries(id, 10).await.unwrap();
    assert_eq!((list.len(), list[0].event_type.as_str()), (2, "release.shipped"));

    // Not subscribed: no delivery. Paused: no delivery. Another product: no delivery.
    let (s, _) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/items", Some(json!({"title": "A"})))
            .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(delivery_count(&t, id).await, 3);
    let other = t.product("OPS").await;
    let op = WriteOp::CreateRecord(NewRecord {
        kind: ObjectKind::Feedback,
        product_id: Some(other.id),
        parent_id: None,
        state: String::new(),
        unique_key: None,
        data: json!({"text": "x"}),
    });
    let _ = t.app.store().write_batch(vec![op], &ctx).await;
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::PATCH,
        &format!("/api/v1/webhooks/{id}"),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(false)), "{v}");
    let (s, _) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/items", Some(json!({"title": "B"})))
            .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(delivery_count(&t, id).await, 3, "paused webhooks get nothing");
    // The history records the webhook's changes without its secret.
    let hist = t.app.store().product_events(shop.id, None, 1000).await.unwrap();
    let hook_events: Vec<_> = hist.iter().filter(|e| e.object == ObjectKind::Webhook).collect();
    assert_eq!(hook_events.len(), 3, "created, events, active");
    assert!(hook_events.iter().all(|e| !e.new.to_string().contains(hook["secret"].as_str().unwrap())));
}

async fn internal_targets_are_refused_without_the_allow_setting(db: TestDb) {
    let t = spawn_app(db).await;
    let shop = t.product("SHOP").await;
    let rx = receiver(&[200]).await;
    for url in [
        rx.url.as_str(),
        "http://localhost:8080/hook",
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "not a url",
    ] {
        let (s, v) = call(
            &t,
            &t.admin_token,
            Method::POST,
            "/api/v1/products/SHOP/webhooks",
            Some(json!({"url": url, "events": ["item.created"]})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert!(v.to_string().contains("url"), "{url}: {v}");
    }
    // A webhook stored before the setting was turned off is refused again at delivery time.
    let ctx = WriteCtx { actor: Some(t.admin.id), at: keel_app::now(), proposal: None };
    let hook = NewWebhook {
        product_id: shop.id,
        url: rx.url.clone(),
        secret: "s".repeat(32),
        events: vec!["item.created".into()],
        active: true,
    };
    let hook = t.app.store().create_webhook(hook, &ctx).await.unwrap();
    let (s, _) =
        call(&t, &t.admin_token, Method::POST, "/api/v1/products/SHOP/items", Some(json!({"title": "A"})))
            .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(t.app.send_due_deliveries().await.unwrap(), 1);
    let d = &t.app.store().deliveries(hook.id, 10).await.unwrap()[0];
    assert_eq!((d.status.as_str(), d.attempts, d.response_code), ("pending", 1, None));
    assert!(d.last_error.as_deref().unwrap_or("").contains("127.0.0.1"), "{d:?}");
    assert!(rx.got.lock().unwrap().is_empty(), "nothing reached the internal address");
}

async fn webhook_rights_and_bad_input(db: TestDb) {
    let t = spawn_app_with(db, fast(60_000)).await;
    let shop = t.product("SHOP").await;
    let (_, pm) = t.member(&shop, "pm@keel.test", &[Role::Pm]).await;
    let (_, po) = t.member(&shop, "po@keel.test", &[Role::Po]).await;
    let (_, dev) = t.member(&shop, "dev@keel.test", &[Role::Team]).await;
    let (_, sh) = t.member(&shop, "sh@keel.test", &[Role::Stakeholder]).await;
    let (_, outsider) = t.member(&shop, "out@keel.test", &[]).await;
    let body = json!({"url": "http://127.0.0.1:9/h", "events": ["sprint.started", "sprint.closed"]});
    let path = "/api/v1/products/SHOP/webhooks";
    for tok in [&dev, &sh] {
        let (s, v) = call(&t, tok, Method::POST, path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, _) = call(&t, tok, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let (s, _) = call(&t, &outsider, Method::GET, path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, a) = call(&t, &pm, Method::POST, path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, b) = call(&t, &po, Method::POST, path, Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, list) = call(&t, &po, Method::GET, path, None).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let id = a["id"].as_i64().unwrap();
    for (m, p) in [
        (Method::GET, format!("/api/v1/webhooks/{id}")),
        (Method::PATCH, format!("/api/v1/webhooks/{id}")),
        (Method::DELETE, format!("/api/v1/webhooks/{id}")),
        (Method::GET, format!("/api/v1/webhooks/{id}/deliveries")),
    ] {
        let (s, v) = call(&t, &dev, m.clone(), &p, Some(json!({"active": false}))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{m} {p}: {v}");
        let (s, _) = call(&t, &outsider, m, &p, Some(json!({"active": false}))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    // Bad input: 4xx naming the field, nothing written.
    for (b, field) in [
        (json!({"events": ["item.created"]}), "url"),
        (json!({"url": "http://127.0.0.1:9/", "events": []}), "events"),
        (json!({"url": "http://127.0.0.1:9/", "events": ["item.exploded"]}), "events"),
        (json!({"url": "http://127.0.0.1:9/"}), "events"),
        (json!({"url": "http://127.0.0.1:9/", "events": "item.created"}), "events"),
        (json!({"url": 5, "events": ["item.created"]}), "url"),
        (json!({"url": "http://127.0.0.1:9/", "events": ["item.created"], "colour": "red"}), "colour"),
    ] {
        let (s, v) = call(&t, &pm, Method::POST, path, Some(b.clone())).await;
        assert!(s.is_client_error(), "{b}: {s} {v}");
        assert!(v.to_string().contains(field), "{b}: {v}");
    }
    let (_, list) = call(&t, &pm, Method::GET, path, None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let (s, v) =
        call(&t, &pm, Method::PATCH, &format!("/api/v1/webhooks/{id}"), Some(json!({"url": "gopher://x/"})))
            .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // Rotating the secret replaces it; the PO may delete the PM's webhook.
    let (s, r) =
        call(&t, &po, Method::PATCH, &format!("/api/v1/webhooks/{id}"), Some(json!({"rotate_secret": true})))
            .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_ne!(r["secret"], a["secret"]);
    assert_eq!(r["events"], json!(["sprint.closed", "sprint.started"]));
    let (s, _) = call(&t, &po, Method::DELETE, &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&t, &po, Method::GET, &format!("/api/v1/webhooks/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, ev) = call(&t, &dev, Method::GET, "/api/v1/webhook-events", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ev["events"].as_array().unwrap().iter().any(|e| e == "release.shipped"));
}

const TEST_CA: &str = include_str!("fixtures/tls/ca.pem");

/// An HTTPS receiver on a loopback port, its certificate (for 127.0.0.1 and localhost) signed by
/// the test authority: answers every request 204 and keeps the raw requests.
async fn tls_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("fixtures/tls/server.pem"))
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("fixtures/tls/server.key")).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, g) = (acceptor.clone(), g.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to record.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len = text[..i]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= i + 4 + len {
                            g.lock().unwrap().push(text);
                            let _ =
                                tls.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").await;
                            let _ = tls.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("https://{addr}/hook"), got)
}

async fn https_delivery_checks_the_certificate(db: TestDb) {
    let (url, got) = tls_receiver().await;

    // Without the test authority the receiver's certificate is refused, and nothing is sent.
    let plain = spawn_app_with(TestDb::sqlite().await, fast(300)).await;
    plain.product("SHOP").await;
    let hook = create_hook(&plain, "SHOP", &url, &["item.created"]).await;
    let id = hook["id"].as_i64().unwrap();
    let worker = tokio::spawn(plain.app.clone().run_webhook_worker());
    let (s, v) = call(
        &plain,
        &plain.admin_token,
        Method::POST,
        "/api/v1/products/SHOP/items",
        Some(json!({"title": "A"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let failed = wait_for(&plain, id, |l| l.first().is_some_and(|d| d["status"] == "failed")).await;
    let err = failed[0]["last_error"].as_str().unwrap_or("");
    assert!(err.contains("TLS handshake failed"), "{}", failed[0]);
    assert!(got.lock().unwrap().is_empty(), "no request over an untrusted connection");
    worker.abort();

    // With it, the delivery lands, signed, over TLS.
    let mut settings = fast(60_000);
    settings.webhooks.extra_ca_pem = Some(TEST_CA.to_string());
    let t = spawn_app_with(db, settings).await;
    t.product("SHOP").await;
    let hook = create_hook(&t, "SHOP", &url, &["item.created"]).await;
    let (id, secret) = (hook["id"].as_i64().unwrap(), hook["secret"].as_str().unwrap().to_string());
    let worker = tokio::spawn(t.app.clone().run_webhook_worker());
    let (s, v) = call(
        &t,
        &t.admin_token,
        Method::POST,
        "/api/v1/products/SHOP/items",
        Some(json!({"title": "Over TLS"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let done = wait_for(&t, id, |l| l.first().is_some_and(|d| d["status"] == "delivered")).await;
    assert_eq!(
        (done[0]["attempts"].as_i64(), done[0]["response_code"].as_i64()),
        (Some(1), Some(204)),
        "{}",
        done[0]
    );
    let req = got.lock().unwrap().last().cloned().expect("a request");
    assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
    let (head, body) = req.split_once("\r\n\r\n").unwrap();
    let sig = head.lines().find_map(|l| l.strip_prefix("Keel-Signature: ")).expect("a signature");
    let (ts, v1) = sig.split_once(",v1=").unwrap();
    let msg = format!("{}.{body}", ts.trim_start_matches("t="));
    assert_eq!(v1, hmac_sha256_hex(secret.as_bytes(), msg.as_bytes()));
    assert!(body.contains("Over TLS"), "{body}");
    worker.abort();
}
