//! `keel import jira` as a user runs it, beside a serving process on the same database: a
//! hand-written Jira UI export (BOM, CRLF, repeated columns, wiki markup, a parent given by id)
//! with a changelog, a sprint file and a status mapping; then the items, sprints, releases and the
//! delivery figures read back through the API and compared with figures worked out by hand. A dry
//! run writes nothing; a second run skips what is there; a strict run over a file with one bad
//! row writes nothing. On SQLite and (when `KEEL_TEST_DATABASE_URL` is set) on PostgreSQL.

use keel_testkit::{TestApp, TestDb};
use reqwest::Client;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

macro_rules! api_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(keel_testkit::TestDb::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = keel_testkit::TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

api_tests!(
    a_jira_export_with_its_changelog_gives_the_hand_computed_figures,
    strict_with_one_bad_row_writes_nothing
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira").join(name)
}

/// Runs `keel import jira …` against the test's database.
fn import(db: &TestDb, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keel"));
    match db.url.strip_prefix("sqlite:") {
        Some(path) => c.arg("--data-dir").arg(Path::new(path).parent().expect("data dir")),
        None => c.arg("--database-url").arg(&db.url),
    };
    c.args(["import", "jira"])
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KEEL_CONFIG")
        .env_remove("KEEL_DATA_DIR")
        .output()
        .expect("run keel")
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

async fn get(t: &TestApp, path: &str) -> Value {
    let res = Client::new().get(t.url(path)).bearer_auth(&t.admin_token).send().await.expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

async fn items(t: &TestApp) -> Vec<Value> {
    let v = get(t, "/api/v1/products/SHOP/items?limit=500").await;
    v["items"].as_array().cloned().unwrap_or_default()
}

fn by_jira_key<'a>(items: &'a [Value], key: &str) -> &'a Value {
    let label = format!("jira:{key}");
    items
        .iter()
        .find(|i| {
            i["labels"].as_array().is_some_and(|l| l.iter().any(|x| x == &Value::String(label.clone())))
        })
        .unwrap_or_else(|| panic!("no item labelled {label}"))
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|x| (x - b).abs() < 1e-3)
}

async fn a_jira_export_with_its_changelog_gives_the_hand_computed_figures(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    let files = [fixture("issues.csv"), fixture("history.csv"), fixture("sprints.csv")];
    let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let mapping = fixture("mapping.toml");
    let mut args = files.clone();
    args.extend(["--product", "SHOP", "--mapping", mapping.to_str().unwrap()]);

    // Without the mapping, the two statuses with no state of that name are listed.
    let mut dry = files.clone();
    dry.extend(["--product", "SHOP", "--dry-run"]);
    let o = import(&t.db, &dry);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("\"Code Review\": 1") && text.contains("\"Backlog\": 1"), "{text}");
    assert!(text.contains("would create 5 items"), "{text}");
    assert!(text.contains("\"ann@elsewhere.test\""), "unknown users listed: {text}");
    assert!(items(&t).await.is_empty(), "a dry run writes nothing");
    assert!(get(&t, "/api/v1/products/SHOP/releases").await.as_array().unwrap().is_empty());

    // The real run.
    let o = import(&t.db, &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 7 items") && text.contains("2 sprints, 2 releases"), "{text}");
    let all = items(&t).await;
    assert_eq!(all.len(), 7);
    let epic = by_jira_key(&all, "SHOP-1");
    assert_eq!(epic["kind"], "epic");
    assert_eq!(epic["description"], "## Goal\nBuyers pay **without** leaving the page.");
    let card = by_jira_key(&all, "SHOP-2");
    assert_eq!((card["kind"].as_str(), card["status"].as_str()), (Some("story"), Some("Done")), "{card}");
    assert_eq!(card["parent"], epic["key"], "{card}");
    assert_eq!(card["estimate"], 5.0);
    assert_eq!(card["description"], "As a buyer I pay by card.\n- Visa\n- Mastercard");
    let form = by_jira_key(&all, "SHOP-5");
    assert_eq!(
        (form["kind"].as_str(), form["parent"].as_str()),
        (Some("task"), card["key"].as_str()),
        "{form}"
    );
    assert_eq!(by_jira_key(&all, "SHOP-6")["status"], "In Review");
    let gift = by_jira_key(&all, "SHOP-7");
    assert_eq!(gift["status"], "To Do");
    assert_eq!(gift["labels"], serde_json::json!(["jira:SHOP-7", "gift-cards", "promo"]));
    assert_eq!(by_jira_key(&all, "SHOP-3")["assignee_id"], Value::Null, "an unknown user is not assigned");
    let releases = get(&t, "/api/v1/products/SHOP/releases").await;
    let mut names: Vec<&str> =
        releases.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["1.0", "1.1"]);

    // Velocity, worked out by hand from the files. Sprint 1 (4-15 March): SHOP-2 (5) and SHOP-3
    // (3) committed, SHOP-2 done, SHOP-3 carried into Sprint 2 after the close. Sprint 2 (18-29
    // March): SHOP-3 (3) and SHOP-6 (8, re-estimated from 5 the day before the start) committed,
    // SHOP-4 (2) added an hour after the start; SHOP-3 and SHOP-4 done.
    let teams = get(&t, "/api/v1/products/SHOP/teams").await;
    let team = teams.as_array().unwrap().iter().find(|t| t["name"] == "Jira").expect("the Jira team");
    let v = get(&t, &format!("/api/v1/teams/{}/velocity", team["id"])).await;
    let s = v["sprints"].as_array().expect("sprints");
    assert_eq!(s.len(), 2, "{v}");
    assert_eq!((s[0]["name"].as_str(), s[1]["name"].as_str()), (Some("Sprint 1"), Some("Sprint 2")));
    for (sprint, committed, completed, added) in [(&s[0], 8.0, 5.0, 0.0), (&s[1], 11.0, 5.0, 2.0)] {
        assert!(close(&sprint["committed"], committed), "{sprint}");
        assert!(close(&sprint["completed"], completed), "{sprint}");
        assert!(close(&sprint["added"], added), "{sprint}");
    }
    assert!(close(&v["average"], 5.0), "{v}");

    // Cycle time (first start → done) and lead time (created → done), in days.
    let c = get(&t, "/api/v1/products/SHOP/cycle-time?from=2024-03-01&to=2024-03-31").await;
    assert_eq!(c["count"], 3, "{c}");
    let want = [
        ("SHOP-2", 7.0 + 8.0 / 24.0, 11.0 + 7.0 / 24.0),
        ("SHOP-3", 9.0, 18.0 + 22.0 / 24.0),
        ("SHOP-4", 2.0, 2.0 + 23.0 / 24.0),
    ];
    for (jira, cycle, lead) in want {
        let key = by_jira_key(&all, jira)["key"].clone();
        let row = c["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .unwrap_or_else(|| panic!("{jira}: {c}"));
        assert!(close(&row["cycle_days"], cycle), "{jira}: {row}");
        assert!(close(&row["lead_days"], lead), "{jira}: {row}");
    }

    // Running again skips every key already imported.
    let o = import(&t.db, &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 0 items") && text.contains("7 already imported"), "{text}");
    assert!(text.contains("0 sprints, 0 releases"), "{text}");
    assert_eq!(items(&t).await.len(), 7);
}

async fn strict_with_one_bad_row_writes_nothing(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    let dir = std::env::temp_dir().join(format!("keel-import-{}-{}", std::process::id(), t.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read_to_string(fixture("issues.csv"))
        .unwrap()
        .replace("ann@elsewhere.test", "admin@keel.test");
    // One row whose creation date no one can read, and the file otherwise fine.
    let bad = format!("{good}Broken,SHOP-8,10008,Story,To Do,Major,,,someday,,,,,,,,,,,,,,\r\n");
    std::fs::write(dir.join("issues.csv"), &bad).unwrap();
    let file = dir.join("issues.csv");
    let mapping = fixture("mapping.toml");
    let args = ["--product", "SHOP", "--mapping", mapping.to_str().unwrap(), "--strict"];
    let mut a = vec![file.to_str().unwrap()];
    a.extend(args);
    let o = import(&t.db, &a);
    let text = out(&o);
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("line 14 field \"Created\""), "{text}");
    assert!(text.contains("strict: nothing was written"), "{text}");
    assert!(items(&t).await.is_empty());
    assert!(get(&t, "/api/v1/products/SHOP/teams").await.as_array().unwrap().is_empty());
    // Without the bad row the strict run writes everything.
    std::fs::write(&file, &good).unwrap();
    let o = import(&t.db, &a);
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(items(&t).await.len(), 7);
    let _ = std::fs::remove_dir_all(&dir);
}
