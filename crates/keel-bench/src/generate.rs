//! `keel-bench generate`: writes a benchmark dataset through Keel's own bulk path.
//!
//! The dataset has the shape of the reference server's: one large product `BENCH` whose items
//! are ~40-character titles (1 % containing "zebra") and ~200-character descriptions, four
//! workflow states with 25 % of the items done, estimates from the planning-poker cards, and a
//! few history events per item; plus many small products. Everything is derived from the seed,
//! so two runs with the same arguments write the same data (only secrets differ).

use crate::rng::SplitMix64;
use anyhow::{anyhow, bail, Context, Result};
use keel_app::users::UserInput;
use keel_app::{App, Settings};
use keel_domain::item::{ItemKind, NewItem, Points, StoryFields};
use keel_domain::product::Product;
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{StateId, Timestamp, UserId};
use keel_store::{BulkEvent, BulkItem, Store, WriteCtx};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The administrator's e-mail.
pub const ADMIN_EMAIL: &str = "bench@keel.test";
/// The administrator's password (a benchmark account on a throw-away database).
pub const ADMIN_PASSWORD: &str = "bench-password-keel";
/// The large product's key.
pub const BENCH_KEY: &str = "BENCH";
/// Items per bulk call (one transaction each).
pub const CHUNK: usize = 10_000;

/// 2025-01-01T00:00:00Z: the fixed "now" of generated data, so datasets do not depend on the clock.
const BASE_MS: i64 = 1_735_689_600_000;
const DAY_MS: i64 = 86_400_000;
/// Items are created over the two years before [`BASE_MS`].
const SPAN_MS: i64 = 730 * DAY_MS;

/// Length of a sprint of the history team.
const SPRINT_MS: i64 = 14 * DAY_MS;
/// Closed sprints of the history team: a year of two-week sprints ending at [`BASE_MS`].
pub const HISTORY_SPRINTS: usize = 26;
/// One item in this many (epics aside) is planned into the history team's sprints.
const SPRINT_EVERY: u64 = 100;

/// Where to write.
#[derive(Debug, Clone)]
pub enum Target {
    /// `DIR/keel.db`, the file `keel serve --data-dir DIR` opens.
    Sqlite(PathBuf),
    /// A PostgreSQL database (must hold no users yet).
    Postgres(String),
}

/// Options of `generate`.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Where.
    pub target: Target,
    /// Items in BENCH.
    pub items: u64,
    /// Number of small products.
    pub small_products: u32,
    /// Items in each small product.
    pub small_items: u64,
    /// Seed.
    pub seed: u64,
    /// Remove an existing database file first (SQLite).
    pub force: bool,
    /// Print the API token on standard output.
    pub print_token: bool,
}

const WORDS: &[&str] = &[
    "account",
    "admin",
    "alert",
    "api",
    "audit",
    "backup",
    "badge",
    "basket",
    "billing",
    "board",
    "budget",
    "cache",
    "calendar",
    "card",
    "cart",
    "chart",
    "checkout",
    "client",
    "comment",
    "config",
    "coupon",
    "customer",
    "dashboard",
    "data",
    "delivery",
    "discount",
    "draft",
    "email",
    "export",
    "feed",
    "filter",
    "form",
    "gateway",
    "guest",
    "history",
    "import",
    "inbox",
    "invoice",
    "label",
    "layout",
    "ledger",
    "limit",
    "link",
    "login",
    "map",
    "menu",
    "merchant",
    "mobile",
    "network",
    "notice",
    "order",
    "owner",
    "page",
    "panel",
    "partner",
    "payment",
    "plan",
    "policy",
    "portal",
    "price",
    "profile",
    "quota",
    "rating",
    "receipt",
    "refund",
    "report",
    "request",
    "review",
    "role",
    "route",
    "schedule",
    "search",
    "session",
    "setting",
    "shipping",
    "signup",
    "sku",
    "status",
    "stock",
    "store",
    "summary",
    "supplier",
    "survey",
    "tax",
    "team",
    "template",
    "ticket",
    "timeline",
    "token",
    "tracking",
    "upload",
    "user",
    "vendor",
    "voucher",
    "wallet",
    "warehouse",
    "webhook",
    "widget",
    "wishlist",
    "workflow",
];
const VERBS: &[&str] = &[
    "add", "allow", "archive", "block", "build", "change", "check", "clean", "create", "define", "delete",
    "display", "enable", "export", "fix", "group", "hide", "improve", "limit", "list", "merge", "move",
    "notify", "open", "rename", "reorder", "retry", "save", "send", "show", "sort", "split", "speed", "sync",
    "track", "update", "validate", "verify",
];
const ESTIMATES: [f64; 6] = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0];

/// Appends words to `s` until it holds about `target` characters.
fn words(r: &mut SplitMix64, s: &mut String, target: usize, zebra: bool) {
    let zebra_at = if zebra { Some(r.below(4) as usize) } else { None };
    let mut n = 0;
    while s.len() < target {
        if !s.is_empty() {
            s.push(' ');
        }
        if zebra_at == Some(n) {
            s.push_str("zebra");
        } else if n % 5 == 0 {
            let w = VERBS[r.below(VERBS.len() as u64) as usize];
            s.push_str(w);
        } else {
            let w = WORDS[r.below(WORDS.len() as u64) as usize];
            s.push_str(w);
        }
        n += 1;
    }
}

/// The states items are spread over: (state, percent). 25 % end in a done state.
fn spread(w: &Workflow) -> Result<Vec<(StateId, Category, u64)>> {
    let todo = w.states.iter().filter(|s| s.category == Category::Todo).collect::<Vec<_>>();
    let prog = w.states.iter().filter(|s| s.category == Category::InProgress).collect::<Vec<_>>();
    let done = w.states.iter().filter(|s| s.category == Category::Done).collect::<Vec<_>>();
    let (Some(t), Some(d)) = (todo.first(), done.first()) else {
        bail!("the product's workflow has no to-do or no done state");
    };
    let mut out = vec![(t.id, t.category, 45)];
    match prog.len() {
        0 => out[0].2 += 30,
        1 => out.push((prog[0].id, prog[0].category, 30)),
        _ => {
            out.push((prog[0].id, prog[0].category, 18));
            out.push((prog[1].id, prog[1].category, 12));
        }
    }
    out.push((d.id, d.category, 25));
    Ok(out)
}

/// Makes `n` items numbered from `first` (their creation times spread evenly over the span).
fn make_items(
    r: &mut SplitMix64,
    states: &[(StateId, Category, u64)],
    admin: UserId,
    first: u64,
    n: usize,
    total: u64,
    sprints: &[i64],
) -> Vec<BulkItem> {
    let mut out = Vec::with_capacity(n);
    for k in 0..n as u64 {
        let number = first + k;
        let kind = match r.below(100) {
            0..=4 => ItemKind::Epic,
            5..=14 => ItemKind::Task,
            15..=21 => ItemKind::Bug,
            _ => ItemKind::Story,
        };
        let mut title = String::with_capacity(48);
        let (len, zebra) = (34 + r.below(10) as usize, r.percent(1));
        words(r, &mut title, len, zebra);
        let mut description = String::with_capacity(220);
        let len = 190 + r.below(20) as usize;
        words(r, &mut description, len, false);
        description.push('.');
        // The final state, by the spread's percentages.
        let mut roll = r.below(100);
        let mut si = 0;
        while si + 1 < states.len() && roll >= states[si].2 {
            roll -= states[si].2;
            si += 1;
        }
        let created_at =
            BASE_MS - SPAN_MS + (SPAN_MS as u128 * number as u128 / (total.max(1) as u128 + 1)) as i64;
        let mut at = created_at;
        let mut step = |r: &mut SplitMix64| {
            at += r.range(1, 72) as i64 * 3_600_000;
            Timestamp(at.min(BASE_MS - 1))
        };
        let mut history = Vec::with_capacity(6);
        // First estimate, then (for a third) a re-estimate.
        let mut estimate = *r.pick(&ESTIMATES);
        history.push(BulkEvent {
            at: step(r),
            actor: Some(admin),
            field: "estimate".into(),
            old: serde_json::Value::Null,
            new: json!(estimate),
        });
        if r.percent(33) {
            let next = *r.pick(&ESTIMATES);
            history.push(BulkEvent {
                at: step(r),
                actor: Some(admin),
                field: "estimate".into(),
                old: json!(estimate),
                new: json!(next),
            });
            estimate = next;
        }
        // Walk the workflow from the first state to the final one.
        for w in states.windows(2).take(si) {
            history.push(BulkEvent {
                at: step(r),
                actor: Some(admin),
                field: "status".into(),
                old: json!(w[0].0),
                new: json!(w[1].0),
            });
        }
        // Some items go through the history team's sprints: planned into the sprint in which
        // their last change falls, an hour before it starts (committed) or when created (added).
        let mut sprint_id = None;
        if number % SPRINT_EVERY == 0 && kind != ItemKind::Epic && !sprints.is_empty() {
            let first_start = BASE_MS - SPRINT_MS * sprints.len() as i64;
            let last = history.last().map_or(created_at, |e| e.at.0);
            if last >= first_start {
                let idx = (((last - first_start) / SPRINT_MS) as usize).min(sprints.len() - 1);
                let start = first_start + SPRINT_MS * idx as i64;
                history.push(BulkEvent {
                    at: Timestamp((start - 3_600_000).max(created_at)),
                    actor: Some(admin),
                    field: "sprint".into(),
                    old: serde_json::Value::Null,
                    new: json!(sprints[idx]),
                });
                history.sort_by_key(|e| e.at);
                sprint_id = Some(keel_domain::RecordId(sprints[idx]));
            }
        }
        let item = NewItem {
            kind,
            parent_id: None,
            title,
            description,
            story: StoryFields::default(),
            criteria: Vec::new(),
            estimate: Some(Points::from_trusted(estimate)),
            labels: Vec::new(),
            assignee_id: None,
            status_id: Some(states[si].0),
            sprint_id,
            release_id: None,
        };
        out.push(BulkItem { item, created_at: Timestamp(created_at), created_by: Some(admin), history });
    }
    out
}

/// Writes `total` items into `product` in chunks, generating the next chunk on another thread
/// while the store writes the current one. Returns (items, events) written.
async fn fill(
    store: &Arc<dyn Store>,
    product: &Product,
    admin: &User,
    total: u64,
    seed: u64,
    quiet: bool,
    sprints: Vec<i64>,
) -> Result<(u64, u64)> {
    let w =
        store.workflow(product.id).await.map_err(|e| anyhow!("{e}")).context("while reading the workflow")?;
    let states = spread(&w)?;
    let admin_id = admin.id;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<BulkItem>>(2);
    let producer = std::thread::spawn(move || {
        let mut r = SplitMix64::new(seed);
        let mut first = 1;
        while first <= total {
            let n = (total - first + 1).min(CHUNK as u64) as usize;
            let chunk = make_items(&mut r, &states, admin_id, first, n, total, &sprints);
            if tx.blocking_send(chunk).is_err() {
                return;
            }
            first += n as u64;
        }
    });
    let ctx = WriteCtx { actor: Some(admin_id), at: Timestamp(BASE_MS), proposal: None };
    let (mut items, mut events) = (0u64, 0u64);
    let t0 = Instant::now();
    let mut last_report = Instant::now();
    while let Some(chunk) = rx.recv().await {
        events += chunk.iter().map(|b| 1 + b.history.len() as u64).sum::<u64>();
        items += store
            .bulk_create_items(product.id, chunk, &ctx)
            .await
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("while writing items of {}", product.key))?;
        if !quiet && (last_report.elapsed().as_secs() >= 5 || items == total) {
            let s = t0.elapsed().as_secs_f64();
            eprintln!("  {}: {items}/{total} items, {:.0} items/s", product.key, items as f64 / s);
            last_report = Instant::now();
        }
    }
    producer.join().map_err(|_| anyhow!("the item generator panicked"))?;
    Ok((items, events))
}

async fn open(target: &Target, force: bool) -> Result<Arc<dyn Store>> {
    Ok(match target {
        Target::Sqlite(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
            let db = dir.join("keel.db");
            if db.exists() {
                if !force {
                    bail!("{} exists; pass --force to replace it", db.display());
                }
                for suffix in ["", "-wal", "-shm"] {
                    let p = PathBuf::from(format!("{}{suffix}", db.display()));
                    if p.exists() {
                        std::fs::remove_file(&p)
                            .with_context(|| format!("while removing {}", p.display()))?;
                    }
                }
            }
            Arc::new(keel_store_sqlite::SqliteStore::open(&db).await.map_err(|e| anyhow!("{e}"))?)
        }
        Target::Postgres(url) => {
            Arc::new(keel_store_postgres::PgStore::connect(url).await.map_err(|e| anyhow!("{e}"))?)
        }
    })
}

/// Runs `generate`.
/// Cards on the benchmark board: the active sprint's items.
pub const BOARD_ITEMS: usize = 500;
/// Items in each sprint made for the sprint-close benchmark.
pub const CLOSE_ITEMS: usize = 300;
/// Sprints made for the sprint-close benchmark.
pub const CLOSE_SPRINTS: usize = 4;

/// The team and sprints made in BENCH.
pub struct SprintPlan {
    /// The team's record id.
    pub team: i64,
    /// The active sprint (the board's cards).
    pub active: i64,
    /// Active sprints (one per team) full of open items, to be closed by the benchmark.
    pub to_close: Vec<i64>,
}

/// Gives BENCH a team with an active sprint of [`BOARD_ITEMS`] open items (its board) and
/// [`CLOSE_SPRINTS`] more teams, each with an active sprint of [`CLOSE_ITEMS`] open items for the
/// sprint-close benchmark; items from the top of the backlog, all written through the store's
/// batch path as the application would.
async fn plan_sprints(store: &Arc<dyn Store>, product: &Product, admin: &User) -> Result<SprintPlan> {
    use keel_domain::event::ObjectKind;
    use keel_domain::item::ItemPatch;
    use keel_domain::sprint::{Commitment, Sprint, SprintState, Team, TeamMember};
    use keel_domain::{Date, RecordId};
    use keel_store::{ItemFilter, NewRecord, Page, Ref, WriteOp, Written};
    let e = |e: keel_store::StoreError| anyhow!("{e}");
    let ctx = WriteCtx { actor: Some(admin.id), at: Timestamp(BASE_MS), proposal: None };
    let team = Team {
        name: "Bench team".into(),
        products: vec![product.id],
        members: vec![TeamMember { user_id: admin.id, points: Some(40.0), days: Some(10.0) }],
        board: Default::default(),
    };
    let rec = |kind, parent: Option<i64>, state: &str, key: Option<String>, data: serde_json::Value| {
        WriteOp::CreateRecord(NewRecord {
            kind,
            product_id: Some(product.id),
            parent_id: parent,
            state: state.into(),
            unique_key: key,
            data,
        })
    };
    let mut team_ids = Vec::new();
    for n in 0..=CLOSE_SPRINTS {
        let mut t = team.clone();
        if n > 0 {
            t.name = format!("Close team {n}");
        }
        let key = Some(format!("team:{}:{}", product.id, t.name.to_lowercase()));
        let w = store
            .write_batch(vec![rec(ObjectKind::Team, None, "", key, serde_json::to_value(&t)?)], &ctx)
            .await
            .map_err(e)?;
        let Some(Written::Record(team_rec)) = w.first() else { bail!("no team record") };
        team_ids.push(team_rec.id.0);
    }
    let team_id = team_ids[0];
    let open = ItemFilter { open_only: true, kind: Some(ItemKind::Story), ..Default::default() };
    let need = BOARD_ITEMS + CLOSE_SPRINTS * CLOSE_ITEMS;
    let mut picked = Vec::with_capacity(need);
    let mut page = Page::first(500);
    while picked.len() < need {
        let got = store.list_items(product.id, &open, &page).await.map_err(e)?;
        let Some(last) = got.last() else { break };
        page.after = Some(last.rank.as_str().to_string());
        picked.extend(got.into_iter().map(|i| (i.id, i.estimate.map_or(0.0, |p| p.value()))));
    }
    picked.truncate(need);
    let start = Date::of(Timestamp(BASE_MS));
    let mut sprint_ids = Vec::new();
    for (n, chunk) in std::iter::once(&picked[..BOARD_ITEMS.min(picked.len())])
        .chain(picked[BOARD_ITEMS.min(picked.len())..].chunks(CLOSE_ITEMS))
        .enumerate()
    {
        let sprint = Sprint {
            name: if n == 0 { "Board sprint".into() } else { format!("Close sprint {n}") },
            goal: String::new(),
            start,
            end: start.plus_days(13),
            capacity: vec![],
            commitment: Some(Commitment {
                at: Timestamp(BASE_MS),
                items: chunk.to_vec(),
                points: chunk.iter().map(|(_, p)| p).sum(),
            }),
            summary: None,
        };
        let state = SprintState::Active;
        let mut ops = vec![rec(
            ObjectKind::Sprint,
            Some(team_ids[n]),
            state.as_str(),
            None,
            serde_json::to_value(&sprint)?,
        )];
        for (id, _) in chunk {
            ops.push(WriteOp::UpdateItem {
                id: Ref::Id(id.0),
                expected_version: None,
                patch: ItemPatch { sprint_id: Some(Some(RecordId(0))), ..Default::default() },
            });
        }
        // The sprint's id is known only once created: create it alone, then plan its items.
        let first = store.write_batch(ops.drain(..1).collect(), &ctx).await.map_err(e)?;
        let Some(Written::Record(sr)) = first.first() else { bail!("no sprint record") };
        for op in &mut ops {
            if let WriteOp::UpdateItem { patch, .. } = op {
                patch.sprint_id = Some(Some(sr.id));
            }
        }
        store.write_batch(ops, &ctx).await.map_err(e)?;
        sprint_ids.push(sr.id.0);
    }
    let (active, to_close) = sprint_ids.split_first().ok_or_else(|| anyhow!("no sprints made"))?;
    Ok(SprintPlan { team: team_id, active: *active, to_close: to_close.to_vec() })
}

/// Gives `product` a "History team" with [`HISTORY_SPRINTS`] closed two-week sprints ending at
/// [`BASE_MS`] (their items are planned into them through the items' own history, see
/// `make_items`); returns the team's id and the sprints' ids, oldest first.
async fn plan_history(store: &Arc<dyn Store>, product: &Product, admin: &User) -> Result<(i64, Vec<i64>)> {
    use keel_domain::event::ObjectKind;
    use keel_domain::sprint::{Commitment, Sprint, SprintState, SprintSummary, Team, TeamMember};
    use keel_domain::Date;
    use keel_store::{NewRecord, WriteOp, Written};
    let e = |e: keel_store::StoreError| anyhow!("{e}");
    let ctx = WriteCtx { actor: Some(admin.id), at: Timestamp(BASE_MS), proposal: None };
    let team = Team {
        name: "History team".into(),
        products: vec![product.id],
        members: vec![TeamMember { user_id: admin.id, points: Some(40.0), days: Some(10.0) }],
        board: Default::default(),
    };
    let rec = |kind, parent: Option<i64>, state: &str, key: Option<String>, data: serde_json::Value| {
        WriteOp::CreateRecord(NewRecord {
            kind,
            product_id: Some(product.id),
            parent_id: parent,
            state: state.into(),
            unique_key: key,
            data,
        })
    };
    let key = Some(format!("team:{}:history team", product.id));
    let w = store
        .write_batch(vec![rec(ObjectKind::Team, None, "", key, serde_json::to_value(&team)?)], &ctx)
        .await
        .map_err(e)?;
    let Some(Written::Record(t)) = w.first() else { bail!("no team record") };
    let mut ops = Vec::new();
    for k in 0..HISTORY_SPRINTS as i64 {
        let start = BASE_MS - SPRINT_MS * (HISTORY_SPRINTS as i64 - k);
        let sprint = Sprint {
            name: format!("History sprint {}", k + 1),
            goal: String::new(),
            start: Date::of(Timestamp(start)),
            end: Date::of(Timestamp(start + SPRINT_MS - 1)),
            capacity: vec![],
            commitment: Some(Commitment { at: Timestamp(start), items: vec![], points: 0.0 }),
            summary: Some(SprintSummary {
                at: Timestamp(start + SPRINT_MS - 1),
                committed: 0.0,
                completed: 0.0,
                added: 0.0,
                removed: 0.0,
                completed_items: vec![],
                carried_over: vec![],
            }),
        };
        ops.push(rec(
            ObjectKind::Sprint,
            Some(t.id.0),
            SprintState::Closed.as_str(),
            None,
            serde_json::to_value(&sprint)?,
        ));
    }
    let w = store.write_batch(ops, &ctx).await.map_err(e)?;
    let ids = w
        .iter()
        .map(|x| match x {
            Written::Record(r) => Ok(r.id.0),
            _ => Err(anyhow!("no sprint record")),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((t.id.0, ids))
}

pub async fn run(o: GenOptions) -> Result<()> {
    let t0 = Instant::now();
    let store = open(&o.target, o.force).await?;
    if store.count_users().await.map_err(|e| anyhow!("{e}"))? > 0 {
        bail!("the database already has users; generate into a fresh one");
    }
    let app = App::new(store.clone(), Settings::default());
    let err = |e: keel_app::AppError| anyhow!("{e}");
    let admin = app
        .create_user(
            None,
            UserInput {
                email: ADMIN_EMAIL.into(),
                name: Some("Bench Administrator".into()),
                password: ADMIN_PASSWORD.into(),
                is_admin: true,
            },
        )
        .await
        .map_err(err)?;
    let bench = app
        .create_product(Some(&admin), BENCH_KEY, "Benchmark", "The large product of the benchmark dataset.")
        .await
        .map_err(err)?;
    eprintln!("writing {} items into {BENCH_KEY} in chunks of {CHUNK}", o.items);
    let tb = Instant::now();
    let (history_team, history_sprints) = plan_history(&store, &bench, &admin).await?;
    let (mut items, mut events) =
        fill(&store, &bench, &admin, o.items, o.seed, false, history_sprints.clone()).await?;
    // The burndown benchmark's sprint: the one before the last, whose items were all created
    // before the data ends.
    let last_sprint = history_sprints.iter().rev().nth(1).copied().unwrap_or_default();
    let bench_secs = tb.elapsed().as_secs_f64();
    eprintln!(
        "{BENCH_KEY}: {items} items and {events} events in {bench_secs:.1} s: {:.0} items/s, {:.0} rows/s",
        items as f64 / bench_secs,
        events as f64 / bench_secs + items as f64 / bench_secs
    );
    let ts = Instant::now();
    let plan = plan_sprints(&store, &bench, &admin).await?;
    eprintln!(
        "{BENCH_KEY}: team {} with an active sprint of {} items and {} more teams with active sprints of {} in {:.1} s",
        plan.team,
        BOARD_ITEMS,
        plan.to_close.len(),
        CLOSE_ITEMS,
        ts.elapsed().as_secs_f64()
    );
    if o.small_products > 0 && o.small_items > 0 {
        eprintln!("writing {} small products of {} items", o.small_products, o.small_items);
    }
    for i in 1..=o.small_products {
        let key = format!("P{i:03}");
        let p =
            app.create_product(Some(&admin), &key, &format!("Small product {i}"), "").await.map_err(err)?;
        if o.small_items > 0 {
            let (a, b) = fill(
                &store,
                &p,
                &admin,
                o.small_items,
                o.seed ^ (i as u64).wrapping_mul(0x9E37),
                true,
                vec![],
            )
            .await?;
            items += a;
            events += b;
        }
    }
    store.refresh_statistics().await.map_err(|e| anyhow!("{e}"))?;
    let token = app.create_token(&admin, "bench").await.map_err(err)?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "generated {items} items with {events} events in {secs:.1} s ({:.0} items/s, {:.0} rows/s incl. events)",
        items as f64 / secs,
        (items + events) as f64 / secs
    );
    // The bulk path leaves the text for the search indexer; the dataset is handed over indexed,
    // so that searches measured on it read the index, as they would on a settled database.
    let ti = std::time::Instant::now();
    let indexed = app.index_search(&mut |_, _| {}).await.map_err(err)?;
    println!("search index: {indexed} items in {:.1} s", ti.elapsed().as_secs_f64());
    println!("administrator: {ADMIN_EMAIL} password: {ADMIN_PASSWORD} (roles pm, po in {BENCH_KEY})");
    if let Target::Sqlite(dir) = &o.target {
        let f = dir.join("bench-token");
        std::fs::write(&f, format!("{}\n", token.token))
            .with_context(|| format!("while writing {}", f.display()))?;
        println!("API token written to {}", f.display());
        let f = dir.join("bench-sprints");
        let closes: Vec<String> = plan.to_close.iter().map(|i| i.to_string()).collect();
        std::fs::write(
            &f,
            format!(
                "team={}\nactive_sprint={}\nclose_sprints={}\nhistory_team={history_team}\nhistory_sprint={last_sprint}\n",
                plan.team,
                plan.active,
                closes.join(",")
            ),
        )
        .with_context(|| format!("while writing {}", f.display()))?;
        println!("team and sprint ids written to {}", f.display());
    }
    if o.print_token || matches!(o.target, Target::Postgres(_)) {
        println!("token: {}", token.token);
        let closes: Vec<String> = plan.to_close.iter().map(|i| i.to_string()).collect();
        println!(
            "sprints: team={} active_sprint={} close_sprints={}",
            plan.team,
            plan.active,
            closes.join(",")
        );
        println!("history: history_team={history_team} history_sprint={last_sprint}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::workflow::WorkflowState;
    use keel_domain::ProductId;

    fn workflow() -> Workflow {
        let names = [
            ("To Do", Category::Todo),
            ("In Progress", Category::InProgress),
            ("In Review", Category::InProgress),
            ("Done", Category::Done),
        ];
        Workflow {
            states: names
                .iter()
                .enumerate()
                .map(|(i, (n, c))| WorkflowState {
                    id: StateId(i as i64 + 1),
                    product_id: ProductId(1),
                    name: n.to_string(),
                    category: *c,
                    position: i as i64,
                })
                .collect(),
        }
    }

    #[test]
    fn shape_matches_the_reference() {
        let states = spread(&workflow()).unwrap();
        let sprints: Vec<i64> = (1..=HISTORY_SPRINTS as i64).collect();
        let items = make_items(&mut SplitMix64::new(42), &states, UserId(1), 1, 20_000, 20_000, &sprints);
        let done = items.iter().filter(|b| b.item.status_id == Some(StateId(4))).count();
        let zebra = items.iter().filter(|b| b.item.title.contains("zebra")).count();
        let stories = items.iter().filter(|b| b.item.kind == ItemKind::Story).count();
        assert!((4_500..5_500).contains(&done), "{done} done");
        assert!((120..300).contains(&zebra), "{zebra} zebras");
        assert!(stories > 14_000);
        let avg_t = items.iter().map(|b| b.item.title.len()).sum::<usize>() / items.len();
        let avg_d = items.iter().map(|b| b.item.description.len()).sum::<usize>() / items.len();
        assert!((35..50).contains(&avg_t) && (190..220).contains(&avg_d), "{avg_t} {avg_d}");
        assert!(items.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(items.iter().all(|b| b.history.iter().all(|e| e.at.0 < BASE_MS && e.at >= b.created_at)));
        let again = make_items(&mut SplitMix64::new(42), &states, UserId(1), 1, 100, 20_000, &sprints);
        assert_eq!(again[..], items[..100]);
        // One item in a hundred went through a sprint, its history in time order.
        let planned: Vec<&BulkItem> = items.iter().filter(|b| b.item.sprint_id.is_some()).collect();
        assert!((80..200).contains(&planned.len()), "{}", planned.len());
        assert!(planned.iter().all(|b| b.history.windows(2).all(|w| w[0].at <= w[1].at)));
        assert!(planned.iter().all(|b| b.history.iter().any(|e| e.field == "sprint")));
    }
}
