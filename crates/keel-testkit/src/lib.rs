//! Test support shared by every crate's integration tests: fresh databases of each backend,
//! the real server on a loopback port, and the storage conformance suite.
//!
//! PostgreSQL tests run when `KEEL_TEST_DATABASE_URL` is set. Without it they skip with a
//! message, unless `KEEL_TEST_STRICT=1` (as in CI), where a skip is a failure.
#![forbid(unsafe_code)]

pub mod app;
pub mod conformance;
pub mod db;

pub use app::{spawn_app, spawn_app_with, TestApp};
pub use db::TestDb;

/// Reports a test that cannot run here: prints why, or fails when `KEEL_TEST_STRICT=1`.
pub fn skip(reason: &str) {
    if std::env::var("KEEL_TEST_STRICT").as_deref() == Ok("1") {
        panic!("KEEL_TEST_STRICT=1 but this test would be skipped: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Generates one `#[tokio::test]` per backend for each named conformance test:
/// `store_tests!(name, …)` makes `sqlite::name` and `postgres::name`, each on a fresh database.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::TestDb::sqlite().await;
                    $crate::conformance::$name(db.store()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::TestDb::postgres().await else { return };
                    $crate::conformance::$name(db.store()).await;
                }
            )*
        }
    };
}
