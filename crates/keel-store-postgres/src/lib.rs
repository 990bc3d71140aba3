//! The store port on PostgreSQL.
#![forbid(unsafe_code)]

use keel_store::{StoreError, StoreResult};

/// The PostgreSQL store.
pub struct PgStore {}

impl PgStore {
    /// Connects a pool to `url` and runs pending migrations.
    pub async fn connect(_url: &str) -> StoreResult<Self> {
        Err(StoreError::invalid("url", "the PostgreSQL store is being written"))
    }
}
