//! `keel import …`: moving in from other tools. Runs beside a serving process on the same
//! database (every write is an ordinary transaction through the store).

use crate::cli::{app_err, open_store};
use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use keel_app::import::{ImportOptions, ImportReport, ImportSource, Mapping};
use keel_app::{App, Settings};
use keel_domain::import::generic::{self, ColumnMap};
use keel_domain::import::{jira, json, linear, ImportSet, Severity};
use keel_store::Page;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Largest JSON or Linear/generic CSV file read (such a file is held in memory while it is
/// parsed; Jira CSV files are read a record at a time and have no limit).
const FILE_MAX: u64 = 1 << 30;
/// Problems printed one per line; the rest are counted.
const SHOWN: usize = 50;

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCmd {
    /// Read back a `keel export` JSON document: into an empty database or one without its products
    Keel {
        /// The exported file
        file: PathBuf,
    },
    /// Import Jira exports into a product: CSV (UI export or Data Center data pipeline files:
    /// issues, issue history, sprints, users) and REST JSON (search pages with their changelog,
    /// agile sprint pages), in any mix
    Jira {
        /// The files; the kind of each is recognised by its content
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Import Linear's CSV export into a product (projects become epics, cycles sprints)
    Linear {
        /// The exported file
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Import any CSV into a product, its columns named by a TOML column map
    Csv {
        /// The file
        file: PathBuf,
        /// A TOML file naming the column of each field (key, title, status, …) and the delimiter
        #[arg(long, value_name = "FILE")]
        columns: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

/// The options every import from another tool takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
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
}

fn read_input(f: &Path) -> Result<(String, Vec<u8>)> {
    let meta = std::fs::metadata(f).with_context(|| format!("files: cannot read {}", f.display()))?;
    if meta.len() > FILE_MAX {
        bail!(
            "files: {} is {} MB; files up to {} MB are read (split the export, e.g. by project or by date)",
            f.display(),
            meta.len() >> 20,
            FILE_MAX >> 20
        );
    }
    let bytes = std::fs::read(f).with_context(|| format!("files: cannot read {}", f.display()))?;
    Ok((file_name(f), bytes))
}

/// The name problems are reported under: the file's own name.
fn file_name(f: &Path) -> String {
    f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub(crate) async fn run(cfg: &Config, c: ImportCmd) -> Result<()> {
    let t0 = Instant::now();
    let (set, common, source) = match c {
        ImportCmd::Keel { .. } => {
            bail!("import: a Keel export goes through `keel import keel`")
        }
        ImportCmd::Jira { files, common } => {
            // CSV files are read one record at a time (a large export is never held whole);
            // JSON pages are read whole.
            eprintln!("reading {} file(s)…", files.len());
            let mut set = ImportSet::default();
            for f in &files {
                let file =
                    std::fs::File::open(f).with_context(|| format!("files: cannot read {}", f.display()))?;
                let mut src = std::io::BufReader::with_capacity(1 << 20, file);
                let head = std::io::BufRead::fill_buf(&mut src)
                    .with_context(|| format!("files: cannot read {}", f.display()))?;
                if json::looks_like_json(head) {
                    let (name, bytes) = read_input(f)?;
                    json::read_json(&name, &bytes, &mut set);
                } else {
                    jira::read_reader(&mut set, &file_name(f), src);
                }
            }
            jira::attach_history(&mut set);
            set.finish();
            (set, common, ImportSource::Jira)
        }
        ImportCmd::Linear { file, common } => {
            let (name, bytes) = read_input(&file)?;
            let mut set = ImportSet::default();
            linear::read_linear(&name, &bytes, &mut set);
            set.finish();
            (set, common, ImportSource::Linear)
        }
        ImportCmd::Csv { file, columns, common } => {
            let text = std::fs::read_to_string(&columns)
                .with_context(|| format!("columns: cannot read {}", columns.display()))?;
            let map: ColumnMap = toml::from_str(&text)
                .map_err(|e| anyhow!("columns: {}: {}", columns.display(), e.message()))?;
            map.delimiter_byte().map_err(|m| anyhow!("columns: {}: delimiter: {m}", columns.display()))?;
            let (name, bytes) = read_input(&file)?;
            let mut set = ImportSet::default();
            generic::read_generic(&name, &bytes, &map, &mut set);
            set.finish();
            (set, common, ImportSource::Csv)
        }
    };
    let Common { product, dry_run, mapping, strict, as_user } = common;
    let mapping: Mapping = match &mapping {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("mapping: cannot read {}", p.display()))?;
            toml::from_str(&text).map_err(|e| anyhow!("mapping: {}: {}", p.display(), e.message()))?
        }
        None => Mapping::default(),
    };
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
    let opts = ImportOptions { dry_run, strict, mapping, source };
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
    if rep.written {
        index_search(&app).await?;
    }
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
    println!(
        "comments: {} {would}, {} already imported (skipped); links: {} {would}, {} already there (skipped)",
        r.comments_created, r.comments_skipped, r.links_created, r.links_skipped
    );
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

/// Builds the search index of what the import wrote (committed and searchable already, by
/// reading the text; the index makes searches fast). A server running meanwhile shares the work.
async fn index_search(app: &App) -> anyhow::Result<()> {
    let t = Instant::now();
    let mut last = Instant::now();
    let mut progress = |done: u64, total: u64| {
        if last.elapsed().as_millis() >= 500 {
            eprint!("\rsearch index: {done}/{total} items   ");
            let _ = std::io::stderr().flush();
            last = Instant::now();
        }
    };
    let n = app.index_search(&mut progress).await.map_err(app_err)?;
    if n > 0 {
        eprint!("\r");
        println!("search index: {n} items in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
