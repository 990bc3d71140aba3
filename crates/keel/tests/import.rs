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
    strict_with_one_bad_row_writes_nothing,
    jira_rest_json_with_comments_links_and_agile_sprints,
    a_linear_export_with_projects_and_cycles,
    a_generic_csv_by_its_column_map,
    the_upload_endpoint_reports_then_imports,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira").join(name)
}

fn fixture_in(dir: &str, name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir).join(name).display().to_string()
}

/// Runs `keel import jira …` against the test's database.
fn import(db: &TestDb, args: &[&str]) -> Output {
    import_with(db, "jira", args)
}

/// Runs `keel import <format> …` against the test's database.
fn import_with(db: &TestDb, format: &str, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keel"));
    match db.url.strip_prefix("sqlite:") {
        Some(path) => c.arg("--data-dir").arg(Path::new(path).parent().expect("data dir")),
        None => c.arg("--database-url").arg(&db.url),
    };
    c.args(["import", format])
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
    // The command indexes what it wrote before it exits.
    assert!(text.contains("search index: 7 items in"), "{text}");
    assert_eq!(t.app.store().search_backlog().await.unwrap(), 0);
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
    // Components become `component:` labels (spaces turned to dashes, as in other labels).
    assert_eq!(
        gift["labels"],
        serde_json::json!(["jira:SHOP-7", "gift-cards", "promo", "component:Checkout", "component:Web-UI"])
    );
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
    assert!(text.contains("comments: 0 created, 1 already imported"), "{text}");
    assert_eq!(items(&t).await.len(), 7);
    // The CSV's one comment, by a member: as that member, at its original time, once.
    let mut found = 0;
    for it in items(&t).await {
        for c in comments(&t, it["key"].as_str().unwrap()).await {
            assert_eq!(
                (c["author"].as_str(), c["body"].as_str()),
                (Some("Administrator"), Some("Looks `good`")),
                "{c}"
            );
            assert!(c["created_at"].as_str().unwrap().starts_with("2024-03-04T10:00:00"), "{c}");
            found += 1;
        }
    }
    assert_eq!(found, 1);
}

async fn comments(t: &TestApp, key: &str) -> Vec<Value> {
    let v = get(t, &format!("/api/v1/items/{key}/comments")).await;
    v.as_array().cloned().or_else(|| v["comments"].as_array().cloned()).unwrap_or_default()
}

fn by_label<'a>(items: &'a [Value], label: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["labels"].as_array().is_some_and(|l| l.iter().any(|x| x == label)))
        .unwrap_or_else(|| panic!("no item labelled {label}"))
}

async fn jira_rest_json_with_comments_links_and_agile_sprints(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    // A JSON page and an agile sprint page, the latter without a .json name: told by content.
    let dir = std::env::temp_dir().join(format!("keel-import-json-{}-{}", std::process::id(), t.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("board-sprints.json"), dir.join("sprints.txt")).unwrap();
    let page = fixture("search-v3.json");
    let sprints = dir.join("sprints.txt");
    let args = [page.to_str().unwrap(), sprints.to_str().unwrap(), "--product", "SHOP"];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let o = import(&t.db, &dry);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("would create 3 items"), "{text}");
    assert!(
        text.contains("comments: 2 would create, 0 already imported (skipped); links: 1 would create"),
        "{text}"
    );
    assert!(text.contains("API-2 links to OTHER-9"), "{text}");
    assert!(items(&t).await.is_empty());

    let o = import(&t.db, &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 3 items") && text.contains("2 sprints, 1 releases"), "{text}");
    let all = items(&t).await;
    let epic = by_jira_key(&all, "API-1");
    assert_eq!(epic["kind"], "epic");
    assert_eq!(epic["description"], "## Goal\n\nPartners **integrate** alone.");
    let token = by_jira_key(&all, "API-2");
    assert_eq!((token["status"].as_str(), token["parent"].as_str()), (Some("Done"), epic["key"].as_str()));
    assert_eq!(token["estimate"], 3.0);
    assert_eq!(token["labels"], serde_json::json!(["jira:API-2", "component:Auth"]));
    assert_eq!(token["description"], "- OAuth\n- `expiry`");
    let limits = by_jira_key(&all, "API-3");
    // The sprints, with the agile page's dates and goals.
    let teams = get(&t, "/api/v1/products/SHOP/teams").await;
    let team = teams.as_array().unwrap().iter().find(|t| t["name"] == "Jira").expect("the Jira team");
    let sprints = get(&t, &format!("/api/v1/teams/{}/sprints", team["id"])).await;
    let list = sprints.as_array().cloned().or_else(|| sprints["sprints"].as_array().cloned()).unwrap();
    let s1 = list.iter().find(|s| s["name"] == "API Sprint 1").expect("sprint 1");
    assert_eq!((s1["goal"].as_str(), s1["start"].as_str()), (Some("Tokens"), Some("2024-04-01")), "{s1}");
    let s2 = list.iter().find(|s| s["name"] == "API Sprint 2").expect("sprint 2");
    assert_eq!(s2["state"], "active", "{s2}");
    // Cycle time from the changelog: 3 April 09:00 → 8 April 15:00.
    let c = get(&t, "/api/v1/products/SHOP/cycle-time?from=2024-04-01&to=2024-04-30").await;
    let row = c["items"].as_array().unwrap().iter().find(|i| i["key"] == token["key"]).expect("row");
    assert!(close(&row["cycle_days"], 5.25), "{row}");
    // Comments: a member's as that member; an outsider's as the importer, named on line one.
    let cs = comments(&t, token["key"].as_str().unwrap()).await;
    assert_eq!(cs.len(), 2, "{cs:?}");
    assert_eq!(cs[0]["body"], "Scope agreed.");
    assert!(cs[0]["created_at"].as_str().unwrap().starts_with("2024-04-03T10:00:00"), "{}", cs[0]);
    assert_eq!(cs[1]["body"], "*Zoe Partner wrote:*\n\nWe need refresh tokens.");
    assert!(cs[1]["created_at"].as_str().unwrap().starts_with("2024-04-04T11:30:00"), "{}", cs[1]);
    // The link: API-2 blocks API-3.
    let links = get(&t, &format!("/api/v1/items/{}/links", token["key"].as_str().unwrap())).await;
    let links = links.as_array().cloned().or_else(|| links["links"].as_array().cloned()).unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["kind"], "blocks");
    assert_eq!(links[0]["to"], limits["key"]);

    // Again: nothing twice.
    let o = import(&t.db, &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 0 items"), "{text}");
    assert!(
        text.contains("comments: 0 created, 2 already imported (skipped); links: 0 created, 1 already there"),
        "{text}"
    );
    assert_eq!(comments(&t, token["key"].as_str().unwrap()).await.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn a_linear_export_with_projects_and_cycles(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    let file = fixture_in("linear", "export.csv");
    let mapping = fixture_in("linear", "mapping.toml");
    // Without the mapping, Linear's own status names are listed.
    let o = import_with(&t.db, "linear", &[&file, "--product", "SHOP", "--dry-run"]);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("\"Todo\": 1") && text.contains("\"Canceled\": 1"), "{text}");
    let args = [file.as_str(), "--product", "SHOP", "--mapping", mapping.as_str()];
    let o = import_with(&t.db, "linear", &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 5 items") && text.contains("1 sprints"), "{text}");
    let all = items(&t).await;
    let epic = by_label(&all, "linear:project-4b7e91c0");
    assert_eq!((epic["kind"].as_str(), epic["title"].as_str()), (Some("epic"), Some("Onboarding")));
    assert_eq!(epic["status"], "In Progress");
    let signup = by_label(&all, "linear:ENG-1");
    assert_eq!((signup["kind"].as_str(), signup["status"].as_str()), (Some("story"), Some("Done")));
    assert_eq!(signup["parent"], epic["key"]);
    assert_eq!(signup["estimate"], 3.0);
    // Linear's priority becomes a label; "No priority" none.
    assert_eq!(signup["labels"], serde_json::json!(["linear:ENG-1", "Frontend", "Growth", "priority:high"]));
    assert_eq!(
        by_label(&all, "linear:ENG-2")["labels"],
        serde_json::json!(["linear:ENG-2", "Growth", "priority:medium"])
    );
    assert_eq!(by_label(&all, "linear:ENG-4")["labels"], serde_json::json!(["linear:ENG-4"]));
    assert_eq!(signup["description"], "Email **and** password");
    let check = by_label(&all, "linear:ENG-3");
    assert_eq!((check["kind"].as_str(), check["parent"].as_str()), (Some("task"), signup["key"].as_str()));
    assert_eq!(by_label(&all, "linear:ENG-4")["status"], "Done");
    let teams = get(&t, "/api/v1/products/SHOP/teams").await;
    assert!(teams.as_array().unwrap().iter().any(|t| t["name"] == "Linear"), "{teams}");
    // Cycle time from Started and Completed: 7 May 09:00 → 10 May 16:00.
    let c = get(&t, "/api/v1/products/SHOP/cycle-time?from=2024-05-01&to=2024-05-31").await;
    let row = c["items"].as_array().unwrap().iter().find(|i| i["key"] == signup["key"]).expect("row");
    assert!(close(&row["cycle_days"], 3.0 + 7.0 / 24.0), "{row}");
    // Again: nothing twice.
    let o = import_with(&t.db, "linear", &args);
    assert!(out(&o).contains("created 0 items") && out(&o).contains("5 already imported"), "{}", out(&o));
    assert_eq!(items(&t).await.len(), 5);
}

async fn a_generic_csv_by_its_column_map(db: TestDb) {
    let t = keel_testkit::spawn_app(db).await;
    t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    let file = fixture_in("csv", "items.csv");
    let columns = fixture_in("csv", "columns.toml");
    let args = [file.as_str(), "--columns", columns.as_str(), "--product", "SHOP"];
    // Strict: every row problem by line and column, nothing written.
    let mut strict = args.to_vec();
    strict.push("--strict");
    let o = import_with(&t.db, "csv", &strict);
    let text = out(&o);
    assert!(!o.status.success(), "{text}");
    for want in [
        "items.csv line 4 field \"Opened\"",
        "items.csv line 5 field \"Ticket\": is empty",
        "items.csv line 6 field \"SP\"",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(items(&t).await.is_empty());
    // A column the file does not have.
    let dir = std::env::temp_dir().join(format!("keel-import-csv-{}-{}", std::process::id(), t.addr.port()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("columns.toml");
    std::fs::write(&bad, "key = \"Ticket\"\ntitle = \"Name\"\ndelimiter = \";\"\n").unwrap();
    let o = import_with(&t.db, "csv", &[&file, "--columns", bad.to_str().unwrap(), "--product", "SHOP"]);
    assert!(
        out(&o).contains("line 1 field \"Name\": the column map's title names this column"),
        "{}",
        out(&o)
    );
    std::fs::write(&bad, "key = \"Ticket\"\ntitle = \"Subject\"\ndelimiter = \";;\"\n").unwrap();
    let o = import_with(&t.db, "csv", &[&file, "--columns", bad.to_str().unwrap(), "--product", "SHOP"]);
    assert!(!o.status.success() && out(&o).contains("delimiter"), "{}", out(&o));
    // Without --strict the good rows go in.
    let o = import_with(&t.db, "csv", &args);
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("created 4 items"), "{text}");
    let all = items(&t).await;
    let search = by_label(&all, "csv:T-1");
    assert_eq!((search["kind"].as_str(), search["status"].as_str()), (Some("epic"), Some("In Progress")));
    let facets = by_label(&all, "csv:T-2");
    assert_eq!(
        (facets["title"].as_str(), facets["parent"].as_str()),
        (Some("Filters; facets"), search["key"].as_str())
    );
    assert_eq!(facets["estimate"], 3.5);
    assert_eq!(search["labels"], serde_json::json!(["csv:T-1", "search", "web"]));
    assert_eq!(by_label(&all, "csv:T-5")["kind"], "bug");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn the_upload_endpoint_reports_then_imports(db: TestDb) {
    use base64::Engine as _;
    let t = keel_testkit::spawn_app(db).await;
    let product = t.app.create_product(Some(&t.admin), "SHOP", "Webshop", "").await.expect("product");
    let b64 = |p: &str| base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).unwrap());
    let body = |dry: bool| {
        serde_json::json!({
            "format": "linear",
            "files": [{"name": "export.csv", "content_base64": b64(&fixture_in("linear", "export.csv"))}],
            "mapping": std::fs::read_to_string(fixture_in("linear", "mapping.toml")).unwrap(),
            "dry_run": dry,
        })
    };
    let post = |token: String, b: Value| {
        let url = t.url("/api/v1/products/SHOP/import");
        async move { Client::new().post(url).bearer_auth(token).json(&b).send().await.expect("request") }
    };
    let res = post(t.admin_token.clone(), body(true)).await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!((r["written"].as_bool(), r["items_created"].as_u64()), (Some(false), Some(5)), "{r}");
    assert!(items(&t).await.is_empty());
    // Bad input: named fields, no 500.
    for (b, field) in [
        (serde_json::json!({"format": "trello", "files": []}), "format"),
        (serde_json::json!({"format": "jira", "files": []}), "files"),
        (
            serde_json::json!({"format": "jira", "files": [{"name": "a.csv", "content_base64": "***"}]}),
            "files[0].content_base64",
        ),
        (serde_json::json!({"format": "csv", "files": [{"name": "a.csv", "content_base64": ""}]}), "columns"),
        (
            serde_json::json!({"format": "jira", "files": [{"name": "a.csv", "content_base64": ""}], "mapping": "[statuses"}),
            "mapping",
        ),
    ] {
        let res = post(t.admin_token.clone(), b).await;
        let status = res.status().as_u16();
        let p: Value = res.json().await.unwrap();
        assert!(status == 400 || status == 422, "{field}: {status} {p}");
        assert!(p.to_string().contains(field), "{field}: {p}");
    }
    // A member without the importing rights is refused before anything is read.
    let (_, token) = t.member(&product, "dev@keel.test", &[keel_domain::product::Role::Team]).await;
    let res = post(token, body(false)).await;
    assert_eq!(res.status(), 403);
    assert!(items(&t).await.is_empty());
    // Too large a body.
    let big = serde_json::json!({"format": "jira", "files": [{"name": "a.csv", "content_base64": "A".repeat(30 << 20)}]});
    // The server answers 413 as soon as the declared length is over the limit; it may close the
    // connection before the client has sent everything, which the client sees as a failed send.
    let sent = Client::new()
        .post(t.url("/api/v1/products/SHOP/import"))
        .bearer_auth(&t.admin_token)
        .json(&big)
        .send()
        .await;
    match sent {
        Ok(res) => assert_eq!(res.status(), 413),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // Over the general 1 MB body limit but under the upload's: read.
    let pad = "x".repeat(2 << 20);
    let csv = format!("Summary,Issue key,Issue Type,Status,Description\nBig,SHOP-900,Story,To Do,{pad}\n");
    let b = serde_json::json!({"format": "jira", "dry_run": true,
        "files": [{"name": "big.csv", "content_base64": base64::engine::general_purpose::STANDARD.encode(csv)}]});
    let res = post(t.admin_token.clone(), b).await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["items_created"], 1, "{r}");
    // The real run.
    let res = post(t.admin_token.clone(), body(false)).await;
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!((r["written"].as_bool(), r["items_created"].as_u64()), (Some(true), Some(5)), "{r}");
    let all = items(&t).await;
    assert_eq!(all.len(), 5);
    // Written in bulk: searchable at once by their text, indexed after (by `keel serve`'s
    // indexer; here by hand), and found the same way then.
    let title = all[0]["title"].as_str().unwrap();
    let word = title.split(|c: char| !c.is_alphanumeric()).rfind(|w| !w.is_empty()).unwrap().to_string();
    let found = |q: String| {
        let t = &t;
        async move {
            let v = get(t, &format!("/api/v1/products/SHOP/items?q={q}")).await;
            v["items"].as_array().unwrap().iter().map(|i| i["key"].clone()).collect::<Vec<_>>()
        }
    };
    let before = found(word.clone()).await;
    assert!(before.contains(&all[0]["key"]), "{word}: {before:?}");
    assert_eq!(t.app.store().search_backlog().await.unwrap(), 5);
    assert_eq!(t.app.index_search(&mut |_, _| {}).await.unwrap(), 5);
    assert_eq!(t.app.store().search_backlog().await.unwrap(), 0);
    assert_eq!(found(word).await, before);
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
