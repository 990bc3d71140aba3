//! Measures the bulk path: `cargo test --release -p keel-store-sqlite --test bulk_rate -- --ignored --nocapture`.
//! Ignored by default because it only means something in a release build.

use keel_domain::item::{ItemKind, NewItem, StoryFields};
use keel_domain::product::ProductKey;
use keel_domain::Timestamp;
use keel_store::{BulkEvent, BulkItem, ItemFilter, ItemStore, NewProduct, Page, ProductStore, WriteCtx};
use keel_store_sqlite::SqliteStore;
use serde_json::json;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run in release with --ignored"]
async fn bulk_insert_rate() {
    let dir = std::env::temp_dir().join(format!("keel_sqlite_bulk_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("keel.db")).await.expect("open");
    let ctx = WriteCtx { actor: None, at: Timestamp(1), proposal: None };
    let key = ProductKey::parse("key", "BENCH").expect("key");
    let p = store
        .create_product(
            NewProduct { key, name: "Bench".into(), description: String::new(), owner: None },
            &ctx,
        )
        .await
        .expect("product");
    let total = 200_000;
    let batch = 20_000;
    let started = Instant::now();
    for b in 0..total / batch {
        let items = (0..batch)
            .map(|i| {
                let n = b * batch + i;
                BulkItem {
                    item: NewItem {
                        kind: ItemKind::Story,
                        parent_id: None,
                        title: format!("Generated story number {n} about checkout and payment"),
                        description: "As generated for the benchmark, with a few words of text.".into(),
                        story: StoryFields::default(),
                        criteria: vec![],
                        estimate: None,
                        labels: vec![format!("l{}", n % 7)],
                        assignee_id: None,
                        status_id: None,
                        sprint_id: None,
                        release_id: None,
                    },
                    created_at: Timestamp(n as i64),
                    created_by: None,
                    history: if n % 4 == 0 {
                        vec![BulkEvent {
                            at: Timestamp(n as i64 + 1),
                            actor: None,
                            field: "title".into(),
                            old: json!("x"),
                            new: json!("y"),
                        }]
                    } else {
                        vec![]
                    },
                }
            })
            .collect();
        store.bulk_create_items(p.id, items, &ctx).await.expect("bulk");
    }
    let secs = started.elapsed().as_secs_f64();
    println!("bulk: {total} items in {secs:.2}s = {:.0} items/s", total as f64 / secs);
    let t = Instant::now();
    let page = store
        .list_items(p.id, &ItemFilter { open_only: true, ..Default::default() }, &Page::first(50))
        .await
        .expect("list");
    println!("backlog page of {} in {:?}", page.len(), t.elapsed());
    let t = Instant::now();
    let n = store
        .count_items(p.id, &ItemFilter { q: Some("payment numb".into()), ..Default::default() })
        .await
        .expect("count");
    println!("search count {n} in {:?}", t.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}
