//! Fresh test databases: a SQLite file in a temporary directory, or a new PostgreSQL database
//! created on the server named by `KEEL_TEST_DATABASE_URL` and dropped afterwards.

use keel_store::Store;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("keel_test_{}_{}_{}", std::process::id(), t % 1_000_000_000, n)
}

/// A database for one test; removed when dropped.
pub struct TestDb {
    store: Arc<dyn Store>,
    /// The database URL a server process can be pointed at (`sqlite:` path or `postgres://`).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite database in its own temporary directory, migrated.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let path = dir.join("keel.db");
        let store = keel_store_sqlite::SqliteStore::open(&path).await.expect("open sqlite");
        TestDb {
            store: Arc::new(store),
            url: format!("sqlite:{}", path.display()),
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh PostgreSQL database, migrated; `None` (after reporting the skip) when
    /// `KEEL_TEST_DATABASE_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("KEEL_TEST_DATABASE_URL") else {
            crate::skip("PostgreSQL test: KEEL_TEST_DATABASE_URL is not set");
            return None;
        };
        let name = unique_name();
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("KEEL_TEST_DATABASE_URL does not answer: {e}"));
        tokio::spawn(conn);
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        let url = with_database(&admin_url, &name);
        let store = keel_store_postgres::PgStore::connect(&url).await.expect("open postgres");
        Some(TestDb { store: Arc::new(store), url, cleanup: Cleanup::Postgres { admin_url, name } })
    }

    /// The store, as the application holds it.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop runs inside the test's runtime; a thread of its own can block on a fresh one.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async {
                        let (client, conn) =
                            tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.ok()?;
                        tokio::spawn(conn);
                        client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await
                            .ok()
                    })
                })
                .join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_replaced() {
        assert_eq!(super::with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(
            super::with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
