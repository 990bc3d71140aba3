//! Query strings of the list and search endpoints (item filters, full-text search, cursors,
//! report ranges), sent through the whole router to a real SQLite store holding the demo
//! product. Any query must get a success or a 4xx problem, never a 5xx (or a panic).
#![no_main]
use axum::body::Body;
use axum::http::{Request, StatusCode};
use keel_app::{App, Settings};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

const PATHS: &[&str] = &[
    "/api/v1/products/SHOP/items",
    "/api/v1/products/SHOP/backlog",
    "/api/v1/search",
    "/api/v1/products/SHOP/feedback",
    "/api/v1/products/SHOP/opportunities",
    "/api/v1/products/SHOP/cumulative-flow",
    "/api/v1/products/SHOP/cycle-time",
    "/api/v1/products/SHOP/throughput",
    "/api/v1/products/SHOP/bug-trend",
    "/api/v1/products/SHOP/decisions",
    "/api/v1/products/SHOP/proposals",
];

struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    auth: String,
    _dir: std::path::PathBuf,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = std::env::temp_dir().join(format!("keel-fuzz-queries-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (router, auth) = rt.block_on(async {
            let store = keel_store_sqlite::SqliteStore::open(&dir.join("keel.db")).await.expect("open");
            let app = App::new(Arc::new(store), Settings::default());
            app.ensure_first_admin(None, None).await.expect("admin");
            let admin = app.user_by_email("admin@localhost").await.expect("admin");
            keel_app::demo::seed(&app, Some(&admin)).await.expect("demo");
            // The demo's Product Manager reads everything in the product.
            let pm = app.user_by_email("priya@northwind.example").await.expect("pm");
            let token = app.create_token(&pm, "fuzz").await.expect("token").token;
            (keel_web::router(app, keel_web::WebConfig::default()), format!("Bearer {token}"))
        });
        World { rt, router, auth, _dir: dir }
    })
}

/// The bytes as a query string: kept where they are valid in a URI, percent-encoded elsewhere.
fn query(bytes: &[u8]) -> String {
    let mut q = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
            q.push(b as char);
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    q
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let w = world();
    let uri = format!("{}?{}", PATHS[which as usize % PATHS.len()], query(rest));
    let Ok(req) = Request::get(&uri).header("authorization", &w.auth).body(Body::empty()) else { return };
    let res = w.rt.block_on(w.router.clone().oneshot(req)).expect("the router is infallible");
    let status = res.status();
    assert!(status.is_success() || status.is_client_error(), "{uri} answered {status}");
    if status != StatusCode::OK {
        let body = w.rt.block_on(axum::body::to_bytes(res.into_body(), 1 << 20)).expect("body");
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok(), "{uri}: {status} without a JSON problem");
    }
});
