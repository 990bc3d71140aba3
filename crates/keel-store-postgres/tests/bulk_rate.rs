//! Measures the bulk path and the hot reads on a large product:
//! `KEEL_TEST_DATABASE_URL=… cargo test --release -p keel-store-postgres --test bulk_rate -- --ignored --nocapture`
//! (`BULK_ITEMS` sets the size, 200,000 by default). Ignored by default: it only means
//! something in a release build on a quiet machine.

use keel_domain::item::{ItemKind, NewItem, Points, StoryFields};
use keel_domain::product::ProductKey;
use keel_domain::proposal::Position;
use keel_domain::Timestamp;
use keel_store::{BulkEvent, BulkItem, ItemFilter, ItemStore, NewProduct, Page, ProductStore, WriteCtx};
use keel_store_postgres::PgStore;
use serde_json::json;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run in release with --ignored"]
async fn bulk_insert_rate() {
    let Ok(admin) = std::env::var("KEEL_TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: KEEL_TEST_DATABASE_URL is not set");
        return;
    };
    let total: usize = std::env::var("BULK_ITEMS").ok().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let name = format!("keel_pg_bulk_{}", std::process::id());
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop");
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    let store = PgStore::connect(&format!("{base}/{name}")).await.expect("store");
    let ctx = WriteCtx { actor: None, at: Timestamp(1), proposal: None };
    let key = ProductKey::parse("key", "BENCH").expect("key");
    let p = store
        .create_product(
            NewProduct { key, name: "Bench".into(), description: String::new(), owner: None },
            &ctx,
        )
        .await
        .expect("product");
    let wf = store.workflow(p.id).await.expect("workflow");
    let batch = 10_000;
    let started = Instant::now();
    for b in 0..total.div_ceil(batch) {
        let items = (0..batch.min(total - b * batch))
            .map(|i| {
                let n = b * batch + i;
                let zebra = if n % 100 == 0 { " zebra" } else { "" };
                BulkItem {
                    item: NewItem {
                        kind: ItemKind::Story,
                        parent_id: None,
                        title: format!("Generated story number {n} about checkout{zebra} and payment"),
                        description:
                            "As generated for the benchmark, with a few words of text to make it two \
                                      hundred characters long or so, like the descriptions people write for \
                                      stories in a real backlog."
                                .into(),
                        story: StoryFields::default(),
                        criteria: vec![],
                        estimate: Some(Points::from_trusted(3.0)),
                        labels: vec![],
                        assignee_id: None,
                        status_id: Some(wf.states[n % 4].id),
                        sprint_id: None,
                        release_id: None,
                    },
                    created_at: Timestamp(n as i64),
                    created_by: None,
                    history: (0..n % 3)
                        .map(|k| BulkEvent {
                            at: Timestamp(n as i64 + 1 + k as i64),
                            actor: None,
                            field: "status".into(),
                            old: json!(k),
                            new: json!(k + 1),
                        })
                        .collect(),
                }
            })
            .collect();
        store.bulk_create_items(p.id, items, &ctx).await.expect("bulk");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("bulk: {total} items in {secs:.1}s = {:.0} items/s", total as f64 / secs);

    let open = ItemFilter { open_only: true, ..Default::default() };
    let zebra = ItemFilter { q: Some("zebra".into()), ..Default::default() };
    let s = &store;
    let pid = p.id;
    let total = total as i64;
    macro_rules! timed {
        ($what:expr, $n:expr, |$i:ident| $body:expr) => {{
            let t = Instant::now();
            for $i in 0..$n {
                let _ = $body;
            }
            eprintln!("{}: {:.2} ms each", $what, t.elapsed().as_secs_f64() * 1000.0 / f64::from($n));
        }};
    }
    timed!("backlog 50", 50u32, |_i| s.list_items(pid, &open, &Page::first(50)).await.expect("list"));
    timed!("search zebra 100", 20u32, |_i| s.list_items(pid, &zebra, &Page::first(100)).await.expect("q"));
    timed!("get by number", 200u32, |i| s
        .item_by_number(pid, i64::from(i) * 997 % total + 1)
        .await
        .expect("get"));
    timed!("create", 50u32, |i| {
        let it = NewItem {
            kind: ItemKind::Task,
            parent_id: None,
            title: format!("new {i}"),
            description: String::new(),
            story: StoryFields::default(),
            criteria: vec![],
            estimate: None,
            labels: vec![],
            assignee_id: None,
            status_id: None,
            sprint_id: None,
            release_id: None,
        };
        s.create_item(pid, it, &Position::Top, &ctx).await.expect("create")
    });
    timed!("move (2 gets + move)", 100u32, |i| {
        let a = s.item_by_number(pid, i64::from(i) * 7919 % total + 1).await.expect("a");
        let b = s.item_by_number(pid, i64::from(i) * 104_729 % total + 1).await.expect("b");
        if a.id != b.id {
            s.move_item(a.id, &Position::Before(b.id), &ctx).await.expect("move");
        }
    });
    timed!("count open", 5u32, |_i| s.count_items(pid, &open).await.expect("count"));
    drop(store);
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.expect("drop");
}
