//! Online backup and offline restore of the database file (`keel backup`, `keel restore`).

use keel_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

fn other(msg: impl Into<String>) -> StoreError {
    StoreError::Other(msg.into().into())
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::other(e)
}

/// Writes a consistent copy of the database at `db` to `to` (which must not exist) with
/// `VACUUM INTO`: one read transaction, so the copy is the database as of one commit, while
/// servers go on reading and writing (WAL readers do not block the writer).
pub fn backup(db: &Path, to: &Path) -> StoreResult<()> {
    if !db.exists() {
        return Err(other(format!("there is no database at {}", db.display())));
    }
    if to.exists() {
        return Err(StoreError::invalid("file", format!("{} exists; choose a new file name", to.display())));
    }
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql)?;
    c.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql)?;
    let target = to.to_str().ok_or_else(|| StoreError::invalid("file", "is not valid UTF-8"))?;
    c.execute("VACUUM INTO ?1", [target]).map_err(sql)?;
    Ok(())
}

/// Checks that `file` is an intact Keel database: `PRAGMA integrity_check` answers `ok` and the
/// schema has Keel's migrations. Returns the number of migrations it has.
pub fn verify(file: &Path) -> StoreResult<usize> {
    if !file.is_file() {
        return Err(StoreError::invalid("file", format!("{} is not a file", file.display())));
    }
    let c = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::invalid("file", format!("{} cannot be opened: {e}", file.display())))?;
    let bad = |e: rusqlite::Error| {
        StoreError::invalid("file", format!("{} is not a SQLite database: {e}", file.display()))
    };
    let check: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(bad)?;
    if check != ["ok"] {
        return Err(StoreError::invalid(
            "file",
            format!("{} fails the integrity check: {}", file.display(), check.join("; ")),
        ));
    }
    let n: i64 = c
        .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
        .map_err(|_| StoreError::invalid("file", format!("{} is not a Keel database", file.display())))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Whether another process has the database at `db` open: every connection in WAL mode holds a
/// shared lock on the file, so an exclusive lock is granted only when nobody else is there.
pub fn in_use(db: &Path) -> StoreResult<bool> {
    if !db.exists() {
        return Ok(false);
    }
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sql)?;
    c.busy_timeout(std::time::Duration::ZERO).map_err(sql)?;
    c.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(sql)?;
    match c.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
        Ok(()) => Ok(false),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DatabaseBusy => Ok(true),
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DatabaseLocked => {
            Ok(true)
        }
        Err(e) => Err(sql(e)),
    }
}
