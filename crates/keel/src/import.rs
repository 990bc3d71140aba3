//! `keel import …`: moving in from other tools. Runs beside a serving process on the same
//! database (every write is an ordinary transaction through the store).

use crate::cli::{app_err, open_store};
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use keel_app::import::{ImportOptions, ImportReport, Mapping};
use keel_app::{App, Settings};
use keel_domain::import::{jira, ImportSet, Severity};
use keel_store::Page;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Problems printed one per line; the rest are counted.
const SHOWN: usize = 50;

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCmd {
    /// Read back a `keel export` JSON document: into an empty database or one without its products
    Keel {
        /// The exported file
        file: PathBuf,
    },
    /// Import Jira CSV exports (UI export or Data Center data pipeline files: issues, issue
    /// history, sprints, users) into a product
    Jira {
        /// The files; the kind of each is recognised by its header
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The product to import into (its key)
        #[arg(long)]
        product: String,
        /// Work everything out and report it; write nothing
        #[arg(long)]
        dry_run: bool,
        /// A TOML file mapping statuses, issue types and users ([statuses], [kinds], [users])
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
        /// Write nothing if anything in the files or the mapping is wrong
        #[arg(long)]
        strict: bool,
        /// Import as this user (default: the first administrator)
        #[arg(long = "as", value_name = "EMAIL")]
        as_user: Option<String>,
    },
}

pub(crate) async fn run(cfg: &Config, c: ImportCmd) -> Result<()> {
    let ImportCmd::Jira { files, product, dry_run, mapping, strict, as_user } = c else {
        bail!("import: only Jira files are read here; a Keel export goes through `keel import keel`");
    };
    let mapping: Mapping = match &mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("mapping: cannot read {}", p.display()))?;
            toml::from_str(&text).map_err(|e| anyhow!("mapping: {}: {}", p.display(), e.message()))?
        }
        None => Mapping::default(),
    };
    let t0 = Instant::now();
    // Each file is read one record at a time (the records are never all held at once).
    eprintln!("reading {} file(s)…", files.len());
    let mut set = ImportSet::default();
    for f in &files {
        let file = std::fs::File::open(f).with_context(|| format!("files: cannot read {}", f.display()))?;
        let name =
            f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned());
        jira::read_reader(&mut set, &name, std::io::BufReader::with_capacity(1 << 20, file));
    }
    jira::attach_history(&mut set);
    set.finish();
    let read_secs = t0.elapsed().as_secs_f64();
    eprintln!("read {} items in {read_secs:.1} s", set.items.len());
    let (store, _) = open_store(cfg).await?;
    let app = App::new(store.clone(), Settings::default());
    let user = match as_user {
        Some(e) => app.user_by_email(&e).await.map_err(|_| anyhow!("as: no user {e}"))?,
        None => {
            let users = app.list_users(None, &Page::first(500)).await.map_err(app_err)?;
            users
                .into_iter()
                .find(|u| u.is_admin && u.is_active)
                .ok_or_else(|| anyhow!("as: no administrator yet; create one or pass --as EMAIL"))?
        }
    };
    let opts = ImportOptions { dry_run, strict, mapping };
    let tw = Instant::now();
    let mut last = Instant::now();
    let mut progress = |done: u64, total: u64| {
        if last.elapsed().as_millis() >= 500 || done == total {
            let rate = done as f64 / tw.elapsed().as_secs_f64().max(1e-3);
            eprint!(
                "\rimporting: {done}/{total} items ({:.0}%), {rate:.0} items/s   ",
                100.0 * done as f64 / total.max(1) as f64
            );
            let _ = std::io::stderr().flush();
            last = Instant::now();
        }
    };
    let rep = app.import_jira(&user, &product, &set, &opts, &mut progress).await.map_err(app_err)?;
    if rep.written {
        eprintln!();
    }
    let secs = t0.elapsed().as_secs_f64();
    print_report(&rep, dry_run, secs);
    if strict && !rep.written && !dry_run && rep.has_problems() {
        bail!("strict: nothing was written ({} problem(s) above)", problem_count(&rep));
    }
    Ok(())
}

fn problem_count(r: &ImportReport) -> usize {
    r.problems.len() + r.unknown_users.len() + r.unmapped_statuses.len() + r.unmapped_kinds.len()
}

fn print_report(r: &ImportReport, dry_run: bool, secs: f64) {
    let would = if dry_run {
        "would create"
    } else if r.written {
        "created"
    } else {
        "would have created"
    };
    println!(
        "{} items read: {would} {} items ({} history events), {} sprints, {} releases; {} already imported (skipped); {} left out",
        r.items_read, r.items_created, r.events, r.sprints_created, r.releases_created, r.items_skipped, r.items_left_out
    );
    if r.written {
        println!("in {secs:.1} s ({:.0} items/s)", r.items_created as f64 / secs.max(1e-3));
    }
    if r.comments_skipped > 0 {
        println!("{} comments were read but are not imported yet", r.comments_skipped);
    }
    for (title, list) in [
        ("statuses with no workflow state (map them under [statuses])", &r.unmapped_statuses),
        ("users who are not members of the product (map them under [users] or add them)", &r.unknown_users),
        ("issue types imported as stories (map them under [kinds])", &r.unmapped_kinds),
    ] {
        if !list.is_empty() {
            println!("{title}:");
            for (name, n) in list {
                println!("  {name:?}: {n}");
            }
        }
    }
    let errors = r.problems.iter().filter(|p| p.severity == Severity::Error).count();
    if !r.problems.is_empty() {
        println!("{} problem(s), {errors} left something out:", r.problems.len());
        for p in r.problems.iter().take(SHOWN) {
            println!("  {p}");
        }
        if r.problems.len() > SHOWN {
            println!("  … and {} more", r.problems.len() - SHOWN);
        }
    }
}
