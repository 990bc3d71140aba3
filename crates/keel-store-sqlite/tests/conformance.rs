//! Runs the shared storage conformance suite (keel-testkit/src/conformance.rs) on SQLite from
//! this crate, so the store can be tested without building the rest of the workspace that
//! keel-testkit depends on. The suite itself is maintained in keel-testkit.

#[path = "../../keel-testkit/src/conformance.rs"]
#[allow(dead_code)]
mod conformance;

use keel_store::Store;
use keel_store_sqlite::SqliteStore;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static COUNTER: AtomicU64 = AtomicU64::new(0);

async fn fresh() -> (Arc<dyn Store>, PathBuf) {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keel_sqlite_conf_{}_{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("db").join("keel.db")).await.expect("open");
    (Arc::new(store), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings() {
    let (store, dir) = fresh().await;
    conformance::pings(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_create_and_read() {
    let (store, dir) = fresh().await;
    conformance::users_create_and_read(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_duplicate_email_conflicts() {
    let (store, dir) = fresh().await;
    conformance::users_duplicate_email_conflicts(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_update() {
    let (store, dir) = fresh().await;
    conformance::users_update(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_lifecycle() {
    let (store, dir) = fresh().await;
    conformance::tokens_lifecycle(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_lifecycle() {
    let (store, dir) = fresh().await;
    conformance::sessions_lifecycle(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_failures() {
    let (store, dir) = fresh().await;
    conformance::sign_in_failures(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_create() {
    let (store, dir) = fresh().await;
    conformance::products_create(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_duplicate_key_conflicts() {
    let (store, dir) = fresh().await;
    conformance::products_duplicate_key_conflicts(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_update() {
    let (store, dir) = fresh().await;
    conformance::products_update(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_members_and_access() {
    let (store, dir) = fresh().await;
    conformance::products_members_and_access(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_create_and_number() {
    let (store, dir) = fresh().await;
    conformance::items_create_and_number(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_number_concurrently() {
    let (store, dir) = fresh().await;
    conformance::items_number_concurrently(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_parent_rules() {
    let (store, dir) = fresh().await;
    conformance::items_parent_rules(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_status_and_assignee_checked() {
    let (store, dir) = fresh().await;
    conformance::items_status_and_assignee_checked(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_update_stale_version() {
    let (store, dir) = fresh().await;
    conformance::items_update_stale_version(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_noop_patch_records_nothing() {
    let (store, dir) = fresh().await;
    conformance::items_noop_patch_records_nothing(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_update_events_per_field() {
    let (store, dir) = fresh().await;
    conformance::items_update_events_per_field(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_move_positions() {
    let (store, dir) = fresh().await;
    conformance::items_move_positions(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_move_other_product_invalid() {
    let (store, dir) = fresh().await;
    conformance::items_move_other_product_invalid(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_random_moves_follow_model() {
    let (store, dir) = fresh().await;
    conformance::items_random_moves_follow_model(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_rebalance_keeps_order() {
    let (store, dir) = fresh().await;
    conformance::items_rebalance_keeps_order(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_delete() {
    let (store, dir) = fresh().await;
    conformance::items_delete(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_filters() {
    let (store, dir) = fresh().await;
    conformance::items_filters(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_paging() {
    let (store, dir) = fresh().await;
    conformance::items_paging(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_lifecycle() {
    let (store, dir) = fresh().await;
    conformance::links_lifecycle(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_lifecycle() {
    let (store, dir) = fresh().await;
    conformance::proposals_lifecycle(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_accept_through_write() {
    let (store, dir) = fresh().await;
    conformance::proposals_accept_through_write(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_order_and_atomicity() {
    let (store, dir) = fresh().await;
    conformance::history_order_and_atomicity(store).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_create_items() {
    let (store, dir) = fresh().await;
    conformance::bulk_create_items(store).await;
    let _ = std::fs::remove_dir_all(dir);
}
