//! The store port on embedded SQLite (WAL, foreign keys, busy timeout).
#![forbid(unsafe_code)]

use keel_store::{StoreError, StoreResult};
use std::path::Path;

/// The SQLite store.
pub struct SqliteStore {}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and runs pending migrations.
    pub async fn open(_path: &Path) -> StoreResult<Self> {
        Err(StoreError::invalid("path", "the SQLite store is being written"))
    }
}
