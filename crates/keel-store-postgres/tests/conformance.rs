//! Runs the shared storage conformance suite (keel-testkit/src/conformance.rs) on PostgreSQL
//! from this crate, so the store can be tested without building the rest of the workspace that
//! keel-testkit depends on. The suite itself is maintained in keel-testkit; each test gets a
//! fresh database on the server named by `KEEL_TEST_DATABASE_URL` (skipped when unset).

#[path = "../../keel-testkit/src/conformance.rs"]
#[allow(dead_code)]
mod conformance;

use keel_store::Store;
use keel_store_postgres::PgStore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh database, dropped with the guard.
struct Db {
    admin: String,
    name: String,
}

impl Drop for Db {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
    }
}

async fn fresh() -> Option<(Arc<dyn Store>, Db)> {
    let Ok(admin) = std::env::var("KEEL_TEST_DATABASE_URL") else {
        eprintln!("SKIPPED: KEEL_TEST_DATABASE_URL is not set");
        return None;
    };
    let name = format!("keel_pg_conf_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.expect("drop");
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create");
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    let store = PgStore::connect(&format!("{base}/{name}")).await.expect("connect store");
    Some((Arc::new(store), Db { admin, name }))
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some((store, _db)) = fresh().await else { return };
            conformance::$name(store).await;
        }
    )*};
}

conformance_tests!(
    pings,
    users_create_and_read,
    users_duplicate_email_conflicts,
    users_update,
    tokens_lifecycle,
    sessions_lifecycle,
    sign_in_failures,
    products_create,
    products_duplicate_key_conflicts,
    products_update,
    products_members_and_access,
    items_create_and_number,
    items_number_concurrently,
    items_parent_rules,
    items_status_and_assignee_checked,
    items_update_stale_version,
    items_noop_patch_records_nothing,
    items_update_events_per_field,
    items_move_positions,
    items_move_other_product_invalid,
    items_random_moves_follow_model,
    items_rebalance_keeps_order,
    items_delete,
    items_filters,
    items_paging,
    links_lifecycle,
    proposals_lifecycle,
    proposals_accept_through_write,
    history_order_and_atomicity,
    bulk_create_items,
);
