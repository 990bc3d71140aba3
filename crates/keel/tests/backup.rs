//! `keel backup` under a write load through a running server, `keel restore` into a new data
//! directory, a server started on it, and every write acknowledged before the backup began found
//! there. Restore refuses a database in use and a file that is not an intact Keel database.

use keel_testkit::{spawn_app, TestDb};
use reqwest::StatusCode;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

fn keel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .env_remove("KEEL_DATA_DIR")
        .output()
        .expect("run keel")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output, needle: &str) {
    assert!(!o.status.success(), "should fail: {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keel-backup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_keeps_every_acknowledged_write() {
    let t = spawn_app(TestDb::sqlite().await).await;
    t.product("SHOP").await;
    let src_dir = Path::new(t.db.url.strip_prefix("sqlite:").unwrap()).parent().unwrap().to_path_buf();
    let work = temp("load");
    std::fs::create_dir_all(&work).unwrap();
    let file = work.join("keel-backup.db");

    // Writers create items as fast as the server acknowledges them.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (acked, stop, url, token) =
            (acked.clone(), stop.clone(), t.url("/api/v1/products/SHOP/items"), t.admin_token.clone());
        writers.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let r = c
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("w{w} #{n}")}))
                    .send()
                    .await;
                let r = r.expect("post");
                assert_eq!(r.status(), StatusCode::CREATED);
                let v: serde_json::Value = r.json().await.unwrap();
                acked.lock().unwrap().push(v["key"].as_str().unwrap().to_string());
            }
        }));
    }
    // Let the load build up, then note what was acknowledged before the backup starts.
    while acked.lock().unwrap().len() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let (d, f) = (src_dir.display().to_string(), file.display().to_string());
    let out = tokio::task::spawn_blocking(move || keel(&["--data-dir", &d, "backup", &f])).await.unwrap();
    let during = acked.lock().unwrap().len();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(ok(&out).contains("integrity ok"));
    assert!(during > before.len(), "writes went on while the backup ran ({} → {during})", before.len());

    // The server still has the database open: restoring over it is refused.
    fails(
        &keel(&["--data-dir", &src_dir.display().to_string(), "restore", &file.display().to_string()]),
        "in use",
    );
    // A second backup to the same file is refused rather than overwriting it.
    fails(
        &keel(&["--data-dir", &src_dir.display().to_string(), "backup", &file.display().to_string()]),
        "exists",
    );

    // Restore into a new data directory and serve it.
    let new_dir = work.join("restored");
    let nd = new_dir.display().to_string();
    ok(&keel(&["--data-dir", &nd, "restore", &file.display().to_string()]));
    let token = ok(&keel(&["--data-dir", &nd, "token", "create", "--email", keel_testkit::app::ADMIN_EMAIL]));
    let token = token.trim().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["--data-dir", &nd, "serve", "--bind", "127.0.0.1:0"])
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .env("KEEL_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).find_map(|l| {
            l.split("serving http://").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string)
        })
    })
    .await
    .unwrap()
    .expect("serving line");
    let c = reqwest::Client::new();
    let mut missing = Vec::new();
    for key in &before {
        let r = c.get(format!("http://{addr}/api/v1/items/{key}")).bearer_auth(&token).send().await.unwrap();
        if r.status() != StatusCode::OK {
            missing.push(key.clone());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(missing.is_empty(), "acknowledged before the backup but not restored: {missing:?}");

    // Restoring again over a stopped database keeps the old one beside it.
    let again = ok(&keel(&["--data-dir", &nd, "restore", &file.display().to_string()]));
    assert!(again.contains("before-restore"), "{again}");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn restore_refuses_what_is_not_an_intact_keel_database() {
    let work = temp("bad");
    std::fs::create_dir_all(&work).unwrap();
    let garbage = work.join("garbage.db");
    std::fs::write(&garbage, b"this is not a database at all, just some bytes").unwrap();
    let nd = work.join("data").display().to_string();
    fails(&keel(&["--data-dir", &nd, "restore", &garbage.display().to_string()]), "garbage.db");
    fails(&keel(&["--data-dir", &nd, "restore", "/nonexistent/backup.db"]), "is not a file");
    assert!(!work.join("data").join("keel.db").exists(), "nothing restored");
    // PostgreSQL is backed up with its own tools.
    fails(&keel(&["--database-url", "postgres://nobody@127.0.0.1:1/none", "backup", "x.db"]), "pg_dump");
    let _ = std::fs::remove_dir_all(&work);
}
