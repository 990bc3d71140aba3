//! `keel-bench`: Keel's benchmark tool.
//!
//! * `generate` writes a large dataset through the store's bulk path (SQLite or PostgreSQL),
//!   with an administrator and an API token to drive it with;
//! * `run` drives one of the five benchmark requests against a running `keel serve` with a
//!   closed loop of concurrent clients and reports requests/s and latency percentiles;
//! * `soak` drives a steady mix of reads and writes for a long time and samples errors, p99 and
//!   the server's memory every minute.
//!
//! `bench/compare.sh` in the repository runs Keel and the reference server back to back with
//! `wrk`; this driver is the self-contained alternative (and works where `wrk` is missing).
#![forbid(unsafe_code)]

mod forecast;
mod generate;
mod jira_csv;
mod pages;
mod rng;
mod run;
mod soak;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Keel's benchmark tool: dataset generator and HTTP load driver.
#[derive(Debug, Parser)]
#[command(name = "keel-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a benchmark dataset (administrator bench@keel.test, product BENCH, small products)
    Generate {
        /// Directory of the SQLite database (DIR/keel.db, as `keel serve --data-dir DIR`)
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "database_url",
            required_unless_present = "database_url"
        )]
        data_dir: Option<PathBuf>,
        /// PostgreSQL URL (the database must have no users yet)
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Items in product BENCH
        #[arg(long, default_value_t = 1_000_000)]
        items: u64,
        /// Small products P001, P002, …
        #[arg(long, default_value_t = 100)]
        small_products: u32,
        /// Items in each small product
        #[arg(long, default_value_t = 1_000)]
        small_items: u64,
        /// Seed of the generated data
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Replace DIR/keel.db if it exists
        #[arg(long)]
        force: bool,
        /// Also print the API token (always printed for PostgreSQL)
        #[arg(long)]
        print_token: bool,
    },
    /// Drive one request with a closed loop of concurrent clients and report throughput and latency
    Run {
        /// Base URL of `keel serve`
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        /// API token [env: KEEL_BENCH_TOKEN]; or --token-file
        #[arg(long, env = "KEEL_BENCH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// File holding the API token (as written by `generate`: DIR/bench-token)
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Which request
        #[arg(long, value_enum)]
        endpoint: run::Endpoint,
        /// Requests in flight
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Warm-up seconds (not measured)
        #[arg(long, default_value_t = 5.0)]
        warmup: f64,
        /// Measured seconds
        #[arg(long, default_value_t = 20.0)]
        duration: f64,
        /// Items in BENCH to pick keys from
        #[arg(long, default_value_t = 1_000_000)]
        items: u64,
        /// Seed of the key choices (default: from the clock, so that back-to-back runs do not
        /// replay the same keys into warm caches)
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Steady mixed load (70 % reads, 30 % writes) for a long time: error rate, p99 and the
    /// server's RSS per minute, and whether its memory keeps growing
    Soak {
        /// Base URL of `keel serve`
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        /// API token [env: KEEL_BENCH_TOKEN]; or --token-file
        #[arg(long, env = "KEEL_BENCH_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// File holding the API token (as written by `generate`: DIR/bench-token)
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Requests in flight
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Requests per second over all requests in flight (a steady load); without it, each
        /// next request goes as soon as the last is answered
        #[arg(long)]
        rate: Option<f64>,
        /// `mixed` (70 % reads, 30 % writes) or `reads` (reads only: the data does not grow)
        #[arg(long, value_enum, default_value = "mixed")]
        mix: soak::Mix,
        /// Minutes of load
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Seconds per sample (60: one row a minute)
        #[arg(long, default_value_t = 60)]
        sample_secs: u64,
        /// The product whose items are read and written
        #[arg(long, default_value = "BENCH")]
        product: String,
        /// Items in the product to pick keys from (keys PRODUCT-1 to PRODUCT-items)
        #[arg(long, default_value_t = 100_000)]
        items: u64,
        /// Process id of the server, for its resident memory (from /proc)
        #[arg(long)]
        pid: Option<u32>,
        /// Seed of the choices
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Page weight and server time of the web UI: every main page of a product, signed in
    /// (`keel serve --demo`: the demo's members share the password it prints)
    Pages {
        /// Base URL of `keel serve`
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        /// Who signs in
        #[arg(long, default_value = "olivia@northwind.example")]
        email: String,
        /// Their password [env: KEEL_BENCH_PASSWORD]
        #[arg(long, env = "KEEL_BENCH_PASSWORD", hide_env_values = true)]
        password: String,
        /// The product whose pages are fetched
        #[arg(long, default_value = "SHOP")]
        product: String,
        /// Timed fetches per page (after one warm-up)
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Times the Monte-Carlo forecaster: many "when" forecasts, time per run
    ForecastBench {
        /// Forecasts timed
        #[arg(long, default_value_t = 1_000)]
        runs: u32,
        /// Items left to do
        #[arg(long, default_value_t = 500)]
        remaining: u64,
        /// Trials per forecast
        #[arg(long, default_value_t = 10_000)]
        trials: u32,
        /// The reference server's history instead of ours: 30 days of 0 to 15 items a day, so
        /// both forecasters draw about as many days per trial
        #[arg(long)]
        like_reference: bool,
    },
    /// Backtests the forecaster on real sprint histories: coverage of the 85 % band
    Backtest {
        /// Folder with one sub-folder per organisation holding <org>_iteration_80.csv
        folder: PathBuf,
        /// Also compare the candidate methods (windows and samplings)
        #[arg(long)]
        compare: bool,
    },
    /// Write a Jira-shaped export (issues.csv in the UI dialect, history.csv, sprints.csv) for
    /// the import benchmark (`keel import jira DIR/*.csv --product SHOP`)
    JiraCsv {
        /// Issues to write
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Directory to write the three files into
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// Seed
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Folder of Deep-SE story-point CSVs (issuekey,title,description,storypoint) for real texts
        #[arg(long, value_name = "DIR")]
        texts: Option<PathBuf>,
        /// Comments per issue on average (0 to twice this many, in repeated `Comment` columns)
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=50))]
        comments: u64,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The forecaster's benchmarks are CPU-bound and synchronous: no runtime for them.
    match &cli.command {
        Command::ForecastBench { runs, remaining, trials, like_reference } => {
            return forecast::bench((*runs).max(1), *remaining, *trials, *like_reference)
        }
        Command::Backtest { folder, compare } => return forecast::backtest(folder, *compare),
        Command::JiraCsv { rows, output, seed, texts, comments } => {
            let t0 = std::time::Instant::now();
            let (n, h) = jira_csv::run(output, *rows, *seed, texts.as_deref(), *comments)?;
            println!(
                "wrote {n} issues and {h} changelog rows to {} in {:.1} s",
                output.display(),
                t0.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the runtime")?;
    rt.block_on(async move {
        match cli.command {
            Command::Generate {
                data_dir,
                database_url,
                items,
                small_products,
                small_items,
                seed,
                force,
                print_token,
            } => {
                let target = match (data_dir, database_url) {
                    (Some(d), None) => generate::Target::Sqlite(d),
                    (None, Some(u)) => generate::Target::Postgres(u),
                    _ => bail!("give exactly one of --data-dir and --database-url"),
                };
                generate::run(generate::GenOptions {
                    target,
                    items,
                    small_products,
                    small_items,
                    seed,
                    force,
                    print_token,
                })
                .await
            }
            Command::Run {
                url,
                token,
                token_file,
                endpoint,
                concurrency,
                warmup,
                duration,
                items,
                seed,
                json,
            } => {
                let token = match (token, token_file) {
                    (Some(t), _) => t,
                    (None, Some(f)) => std::fs::read_to_string(&f)
                        .with_context(|| format!("while reading {}", f.display()))?,
                    (None, None) => bail!("give --token, KEEL_BENCH_TOKEN or --token-file"),
                };
                let seed = seed.unwrap_or_else(|| {
                    let t = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default();
                    t.as_nanos() as u64
                });
                run::run(run::RunOptions {
                    url,
                    token,
                    endpoint,
                    concurrency,
                    warmup,
                    duration,
                    items,
                    seed,
                    json,
                })
                .await
            }
            Command::Soak {
                url,
                token,
                token_file,
                concurrency,
                rate,
                mix,
                minutes,
                sample_secs,
                product,
                items,
                pid,
                seed,
                json,
            } => {
                let token = match (token, token_file) {
                    (Some(t), _) => t,
                    (None, Some(f)) => std::fs::read_to_string(&f)
                        .with_context(|| format!("while reading {}", f.display()))?,
                    (None, None) => bail!("give --token, KEEL_BENCH_TOKEN or --token-file"),
                };
                soak::run(soak::SoakOptions {
                    url,
                    token,
                    concurrency,
                    rate,
                    mix,
                    minutes,
                    sample_secs,
                    product,
                    items,
                    pid,
                    seed,
                    json,
                })
                .await
            }
            Command::Pages { url, email, password, product, runs, json } => {
                pages::pages(pages::PagesOptions { url, email, password, product, runs, json }).await
            }
            Command::ForecastBench { .. } | Command::Backtest { .. } | Command::JiraCsv { .. } => Ok(()),
        }
    })
}
