//! The `keel` binary as a user runs it: subcommands, their errors and exit codes, and `serve`
//! creating the first administrator from the environment.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn data_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("keel-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn keel(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
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
    assert_eq!(err.trim().lines().filter(|l| l.starts_with("keel:")).count(), 1, "one error line: {err}");
}

#[test]
fn administers_users_tokens_products_and_members() {
    let d = data_dir("admin");
    let first = keel(&d, &["migrate"]);
    assert!(ok(&first).contains("up to date"));
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("0001_init"),
        "the first run applies the migrations"
    );
    assert!(ok(&keel(&d, &["migrate"])).contains("up to date"));
    let out = ok(&keel(&d, &["user", "add", "--email", "ann@example.com", "--name", "Ann", "--admin"]));
    assert!(out.contains("created user ann@example.com") && out.contains("password: "), "{out}");
    fails(&keel(&d, &["user", "add", "--email", "ann@example.com"]), "exists");
    fails(&keel(&d, &["user", "add", "--email", "not-an-email"]), "email");
    ok(&keel(&d, &["user", "add", "--email", "bob@example.com"]));
    assert!(ok(&keel(&d, &["user", "list"])).contains("bob@example.com"));
    ok(&keel(&d, &["product", "add", "--key", "SHOP", "--name", "Webshop"]));
    fails(&keel(&d, &["product", "add", "--key", "shop", "--name", "x"]), "key");
    fails(&keel(&d, &["product", "add", "--key", "SHOP", "--name", "x"]), "taken");
    assert!(ok(&keel(&d, &["product", "list"])).contains("Webshop"));
    ok(&keel(
        &d,
        &["member", "set", "--product", "SHOP", "--email", "bob@example.com", "--roles", "po,team"],
    ));
    assert!(ok(&keel(&d, &["member", "list", "--product", "SHOP"])).contains("po,team"));
    fails(
        &keel(&d, &["member", "set", "--product", "SHOP", "--email", "bob@example.com", "--roles", "boss"]),
        "roles",
    );
    fails(
        &keel(&d, &["member", "set", "--product", "NOPE", "--email", "bob@example.com", "--roles", "po"]),
        "product",
    );
    ok(&keel(&d, &["member", "remove", "--product", "SHOP", "--email", "bob@example.com"]));
    fails(
        &keel(&d, &["member", "remove", "--product", "SHOP", "--email", "bob@example.com"]),
        "not a member",
    );
    let token = ok(&keel(&d, &["token", "create", "--email", "bob@example.com", "--name", "laptop"]));
    assert!(token.trim().starts_with("keel_"));
    let id = token.trim().trim_start_matches("keel_").split('_').next().unwrap().to_string();
    assert!(ok(&keel(&d, &["token", "list", "--email", "bob@example.com"])).contains("laptop"));
    ok(&keel(&d, &["token", "revoke", "--id", &id]));
    fails(&keel(&d, &["token", "revoke", "--id", "999"]), "no token");
    ok(&keel(&d, &["user", "deactivate", "--email", "bob@example.com"]));
    fails(&keel(&d, &["user", "deactivate", "--email", "nobody@example.com"]), "no user");
    // Password from standard input, and a too-short one.
    let mut c = Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("--data-dir")
        .arg(&d)
        .args(["user", "passwd", "--email", "ann@example.com", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let o = c.wait_with_output().unwrap();
    fails(&o, "password");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_configuration_is_one_line_and_non_zero() {
    let d = data_dir("config");
    let o = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["serve", "--bind", "nowhere"])
        .arg("--data-dir")
        .arg(&d)
        .output()
        .unwrap();
    fails(&o, "bind");
    let o = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    fails(&o, "postgres://");
    let cfg = d.with_extension("toml");
    std::fs::write(&cfg, "bnid = \"x\"\n").unwrap();
    let o =
        Command::new(env!("CARGO_BIN_EXE_keel")).arg("--config").arg(&cfg).arg("migrate").output().unwrap();
    fails(&o, "bnid");
    let _ = std::fs::remove_file(&cfg);
    assert!(ok(&Command::new(env!("CARGO_BIN_EXE_keel")).arg("config").output().unwrap()).contains("bind ="));
}

#[test]
fn serve_creates_the_configured_admin_and_answers() {
    let d = data_dir("serve");
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&d)
        .env("KEEL_ADMIN_EMAIL", "boss@example.com")
        .env("KEEL_ADMIN_PASSWORD", "boss-password-1")
        .env("KEEL_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut addr = None;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Some(rest) = line.split("serving http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    let addr = addr.expect("serving line");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = rt.block_on(async {
        let c = reqwest::Client::new();
        let r = c.get(format!("http://{addr}/readyz")).send().await?;
        assert_eq!(r.status(), 200);
        let r = c
            .post(format!("http://{addr}/api/v1/session"))
            .json(&serde_json::json!({"email": "boss@example.com", "password": "boss-password-1"}))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        Ok::<_, reqwest::Error>(())
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&d);
    result.unwrap();
}

/// `keel serve` builds the search index of what an upload imported: the upload's items are
/// listed for the indexer (the bulk path does not tokenize in its transaction), and the
/// serving process's own indexer drains the list, as `/metrics` shows.
#[test]
fn serve_indexes_an_uploaded_import_in_the_background() {
    use base64::Engine as _;
    let d = data_dir("indexer");
    ok(&keel(&d, &["user", "add", "--email", "ann@example.com", "--name", "Ann", "--admin"]));
    ok(&keel(&d, &["product", "add", "--key", "SHOP", "--name", "Shop"]));
    ok(&keel(&d, &["member", "set", "--product", "SHOP", "--email", "ann@example.com", "--roles", "pm,po"]));
    let token = ok(&keel(&d, &["token", "create", "--email", "ann@example.com", "--name", "test"]))
        .trim()
        .to_string();
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&d)
            .env_remove("DATABASE_URL")
            .env_remove("KEEL_CONFIG")
            .env("KEEL_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
    let addr = lines
        .by_ref()
        .find_map(|l| {
            l.split("serving http://").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string)
        })
        .expect("serving line");
    // Keep reading the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let fixture = |n: &str| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira").join(n);
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap())
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = rt.block_on(async {
        let c = reqwest::Client::new();
        let url = |p: &str| format!("http://{addr}{p}");
        let files: Vec<serde_json::Value> = ["issues.csv", "history.csv", "sprints.csv"]
            .iter()
            .map(|n| serde_json::json!({"name": n, "content_base64": fixture(n)}))
            .collect();
        let r = c
            .post(url("/api/v1/products/SHOP/import"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"format": "jira", "files": files}))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        let report: serde_json::Value = r.json().await?;
        assert!(report["items_created"].as_u64().unwrap_or(0) >= 5, "{report}");
        // The indexer looks every 2 s when idle; the list is empty well within 20.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let m = c.get(url("/metrics")).send().await?.text().await?;
            let pending = m
                .lines()
                .find_map(|l| l.strip_prefix("keel_search_index_pending "))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .expect("the gauge is on /metrics");
            if pending == 0.0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{pending} items still wait for the indexer");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // And the index finds them: a word from an imported description.
        let hits: serde_json::Value = c
            .get(url("/api/v1/search?q=leaving&product=SHOP"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        assert!(hits.to_string().contains("Checkout"), "{hits}");
        Ok::<_, reqwest::Error>(())
    });
    drop(child);
    let _ = std::fs::remove_dir_all(&d);
    result.unwrap();
}

/// A child process killed when dropped, also when a failed assertion unwinds: a server left
/// running would hold the test's output open.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
