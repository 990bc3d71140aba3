//! The storage conformance suite: one async function per behaviour of the store port, run on
//! every backend by `store_tests!` in `tests/conformance.rs`.

use keel_store::Store;
use std::sync::Arc;

/// A database answers after migration.
pub async fn pings(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}
