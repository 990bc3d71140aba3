//! `keel export` and `keel import keel` as a user runs them: the demo product with comments,
//! proposals and a webhook goes out, into an empty database and out again, and the two documents
//! are the same bytes; on SQLite, on PostgreSQL and from SQLite to PostgreSQL. A bad document is
//! refused with the path of the bad value and writes nothing.

use keel_app::{App, Settings};
use keel_domain::product::{Role, Roles};
use keel_testkit::{spawn_app_with, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The flags that point the binary at `db`.
fn db_args(db: &TestDb) -> Vec<String> {
    match db.url.strip_prefix("sqlite:") {
        Some(path) => {
            let dir = Path::new(path).parent().expect("data dir");
            vec!["--data-dir".into(), dir.display().to_string()]
        }
        None => vec!["--database-url".into(), db.url.clone()],
    }
}

fn keel(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(db_args(db))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .env_remove("KEEL_DATA_DIR")
        .output()
        .expect("run keel")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output, needle: &str) {
    assert!(!o.status.success(), "should fail: {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

fn file(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keel-transfer-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

async fn post(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r =
        reqwest::Client::new().post(t.url(path)).bearer_auth(token).json(&body).send().await.expect("post");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The demo product, a second product, comments, a pending and a decided proposal, a webhook.
async fn source(db: TestDb) -> (TestApp, String) {
    let mut settings = Settings::default();
    settings.webhooks.allow_private = true;
    let t = spawn_app_with(db, settings).await;
    let demo = keel_app::demo::seed(&t.app, Some(&t.admin)).await.expect("demo").expect("seeded");
    let key = demo.product_key;
    let p = t.app.product_by_key(&key).await.expect("product");
    let (dev, team) = t.member(&p, "dev@keel.test", &[Role::Team]).await;
    let tok = t.admin_token.clone();
    let (s, c) =
        post(&t, &team, &format!("/api/v1/items/{key}-3/comments"), json!({"body": "Looks *good*, @admin?"}))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, c) = post(
        &t,
        &tok,
        &format!("/api/v1/items/{key}-3/comments"),
        json!({"body": "Ünïcode \"quotes\"\nand lines"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    for reason in ["blocks the release", "customers asked"] {
        let (s, v) = post(
            &t,
            &team,
            &format!("/api/v1/items/{key}-4/move"),
            json!({"before": format!("{key}-1"), "reason": reason}),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    let (s, v) = post(
        &t,
        &tok,
        &format!("/api/v1/products/{key}/webhooks"),
        json!({"url": "http://127.0.0.1:9/hook", "events": ["item.created"]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let other = t.product("OTHER").await;
    // A user in both products travels with each and is written once.
    t.app.set_member(None, &other, dev.id, Roles::of(&[Role::Po])).await.expect("member");
    (t, key)
}

async fn round_trip(src: TestDb, dst: TestDb) {
    let (t, key) = source(src).await;
    let tag = format!("{}-{}", t.db.url.len(), dst.url.len());
    let (a, b) = (file(&format!("a-{tag}.json")), file(&format!("b-{tag}.json")));
    let out = ok(&keel(&t.db, &["export", "--with-secrets", "--output", a.to_str().unwrap()]));
    assert!(out.contains(&key) && out.contains("OTHER"), "{out}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    assert_eq!((doc["format"].as_str(), doc["version"].as_i64()), (Some("keel-export"), Some(1)));
    let products = doc["products"].as_array().unwrap();
    let demo = products.iter().find(|p| p["products"][0]["key"] == key.as_str()).expect("demo exported");
    for table in
        ["items", "events", "records", "proposals", "memberships", "users", "workflow_states", "webhooks"]
    {
        assert!(!demo[table].as_array().unwrap().is_empty(), "{table} exported");
    }
    let kinds: Vec<&str> =
        demo["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(kinds.contains(&"comment") && kinds.contains(&"sprint"), "{kinds:?}");

    let imported = ok(&keel(&dst, &["import", "keel", a.to_str().unwrap()]));
    assert!(imported.contains(&key) && imported.contains("OTHER"), "{imported}");
    ok(&keel(&dst, &["export", "--with-secrets", "--output", b.to_str().unwrap()]));
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "export → import → export changed the document"
    );

    // Without secrets: hashes and webhook secrets are null, and the round trip is still exact.
    let (c, d) = (file(&format!("c-{tag}.json")), file(&format!("d-{tag}.json")));
    ok(&keel(&t.db, &["export", "--product", &key, "--output", c.to_str().unwrap()]));
    let doc: Value = serde_json::from_slice(&std::fs::read(&c).unwrap()).unwrap();
    assert!(doc["products"][0]["users"].as_array().unwrap().iter().all(|u| u["password_hash"].is_null()));
    assert!(doc["products"][0]["webhooks"][0]["secret"].is_null());
    assert_eq!(doc["products"].as_array().unwrap().len(), 1);
    ok(&keel(&dst, &["export", "--product", &key, "--output", d.to_str().unwrap()]));
    assert!(std::fs::read(&c).unwrap() == std::fs::read(&d).unwrap());

    // The imported product works: the application reads its items and their history.
    let app = App::new(dst.store(), Settings::default());
    let p = app.product_by_key(&key).await.expect("imported product");
    let item = dst.store().item_by_number(p.id, 3).await.expect("item 3");
    assert!(!dst
        .store()
        .history(keel_domain::event::ObjectKind::Item, item.id.0, None, 50)
        .await
        .unwrap()
        .is_empty());

    // A second import finds the products there and writes nothing.
    fails(&keel(&dst, &["import", "keel", a.to_str().unwrap()]), "already in this database");

    // Items as CSV.
    let csv = file(&format!("e-{tag}.csv"));
    ok(&keel(&dst, &["export", "--format", "csv", "--product", &key, "--output", csv.to_str().unwrap()]));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("product,key,kind,title,state,"), "{text}");
    assert_eq!(text.lines().count(), 1 + demo["items"].as_array().unwrap().len());
    assert!(text.contains(&format!("\n{key},{key}-3,")));
    for f in [a, b, c, d, csv] {
        let _ = std::fs::remove_file(f);
    }
}

async fn bad_documents_write_nothing(db: TestDb, empty: TestDb) {
    let (t, key) = source(db).await;
    let a = file(&format!("bad-{}.json", empty.url.len()));
    ok(&keel(&t.db, &["export", "--output", a.to_str().unwrap()]));
    let good: Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    let di = good["products"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["products"][0]["key"] == key.as_str())
        .unwrap();
    let p = format!("products[{di}]");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, String)> = vec![
        (
            Box::new(move |d| d["products"][di]["items"] = json!([])),
            format!("{p}.item_labels[0].item_id: no item"),
        ),
        (
            Box::new(move |d| d["products"][di]["items"][2]["title"] = json!(7)),
            format!("{p}.items[2].title: expected a string"),
        ),
        (
            Box::new(move |d| d["products"][di]["items"][0]["status_id"] = json!(999_999)),
            format!("{p}.items[0].status_id: no workflow state"),
        ),
        (
            Box::new(move |d| d["products"][di]["users"][0]["email"] = json!("nope")),
            format!("{p}.users[0].email"),
        ),
        (
            Box::new(move |d| d["products"][di]["events"][0]["colour"] = json!(1)),
            format!("{p}.events[0].colour: unknown column"),
        ),
        (Box::new(|d| d["version"] = json!(2)), "version: version 2 is not supported".to_string()),
    ];
    for (edit, needle) in cases {
        let mut doc = good.clone();
        edit(&mut doc);
        // The second product is valid: nothing of it may be written either.
        std::fs::write(&a, serde_json::to_vec(&doc).unwrap()).unwrap();
        fails(&keel(&empty, &["import", "keel", a.to_str().unwrap()]), &needle);
        assert!(empty.store().products().await.unwrap().is_empty(), "{needle}: nothing written");
    }
    std::fs::write(&a, b"{\"format\": \"keel-export\", \"version\": 1, \"products\": [").unwrap();
    fails(&keel(&empty, &["import", "keel", a.to_str().unwrap()]), "is not JSON");
    fails(&keel(&empty, &["import", "keel", "/nonexistent/x.json"]), "while reading");
    assert!(empty.store().products().await.unwrap().is_empty());
    // A different user holding an exported user's id here: refused before anything is written.
    std::fs::write(&a, serde_json::to_vec(&good).unwrap()).unwrap();
    let input = keel_app::users::UserInput {
        email: "someone@else.test".into(),
        name: None,
        password: "a long password".into(),
        is_admin: false,
    };
    App::new(empty.store(), Settings::default()).create_user(None, input).await.expect("user");
    fails(&keel(&empty, &["import", "keel", a.to_str().unwrap()]), "clashes with a different user");
    assert!(empty.store().products().await.unwrap().is_empty());
    let _ = std::fs::remove_file(a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_round_trip() {
    round_trip(TestDb::sqlite().await, TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trip() {
    let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) else { return };
    round_trip(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_round_trip() {
    let Some(b) = TestDb::postgres().await else { return };
    round_trip(TestDb::sqlite().await, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bad_documents_write_nothing() {
    bad_documents_write_nothing(TestDb::sqlite().await, TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bad_documents_write_nothing() {
    let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) else { return };
    bad_documents_write_nothing(a, b).await;
}
