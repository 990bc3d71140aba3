//! The WAL is copied into the database file by the store's checkpointer thread, not by the
//! writer's commits: a small write reaches the main file (read here with the WAL ignored)
//! without any further write, and the WAL does not outgrow its limit under larger ones.

use keel_domain::product::ProductKey;
use keel_domain::Timestamp;
use keel_store::{NewProduct, ProductStore, WriteCtx};
use keel_store_sqlite::SqliteStore;
use rusqlite::{Connection, OpenFlags};
use std::time::{Duration, Instant};

/// Product keys in the database file itself, ignoring the WAL (`immutable=1` reads the file
/// as it is on disk).
fn keys_in_main_file(path: &std::path::Path) -> Vec<String> {
    let uri = format!("file:{}?immutable=1", path.display());
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    let Ok(c) = Connection::open_with_flags(uri, flags) else { return vec![] };
    let Ok(mut st) = c.prepare("SELECT key FROM products ORDER BY key") else { return vec![] };
    st.query_map([], |r| r.get(0)).map(|rows| rows.flatten().collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_checkpointed_in_the_background() {
    let dir = std::env::temp_dir().join(format!("keel_sqlite_ckpt_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("keel.db");
    let store = SqliteStore::open(&path).await.expect("open");
    let ctx = WriteCtx { actor: None, at: Timestamp(1), proposal: None };
    let product = |k: &str| NewProduct {
        key: ProductKey::parse("key", k).expect("key"),
        name: k.into(),
        description: String::new(),
        owner: None,
    };
    store.create_product(product("CKPT"), &ctx).await.expect("product");
    let started = Instant::now();
    while !keys_in_main_file(&path).contains(&"CKPT".to_string()) {
        assert!(started.elapsed() < Duration::from_secs(10), "the commit never reached the database file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Many writes in a row: the WAL starts over once copied, and stays under its size limit.
    for n in 0..300 {
        store.create_product(product(&format!("P{n}")), &ctx).await.expect("product");
    }
    let wal = std::fs::metadata(dir.join("keel.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal < 64 << 20, "WAL is {wal} bytes");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
