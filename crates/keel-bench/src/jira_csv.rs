//! `keel-bench jira-csv`: writes a Jira-shaped export for the import benchmark: `issues.csv` in
//! the UI dialect (BOM, CRLF, repeated `Sprint`/`Labels`/`Fix versions` columns, `d/MMM/yy h:mm a`
//! dates, estimates in seconds, wiki markup), `history.csv` (the changelog: status walks, sprint
//! moves, re-estimates) and `sprints.csv` (26 closed two-week sprints). Texts come from the Deep-SE
//! story-point CSVs when `--texts DIR` is given (real issue titles and descriptions), otherwise
//! from a word list. Everything follows from the seed.

use crate::rng::SplitMix64;
use anyhow::{Context, Result};
use keel_domain::import::csv;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// 2025-01-01T00:00:00Z, the end of the generated history.
const BASE_S: i64 = 1_735_689_600;
const DAY_S: i64 = 86_400;
const SPRINTS: i64 = 26;
const SPRINT_S: i64 = 14 * DAY_S;
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WORDS: &[&str] = &[
    "checkout",
    "basket",
    "invoice",
    "login",
    "search",
    "profile",
    "report",
    "export",
    "payment",
    "refund",
    "order",
    "shipping",
    "coupon",
    "review",
    "stock",
    "widget",
    "session",
    "token",
    "webhook",
    "dashboard",
];

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `11/May/24 03:26 PM`.
fn ui_date(s: i64) -> String {
    let (y, m, d) = civil(s.div_euclid(DAY_S));
    let sec = s.rem_euclid(DAY_S);
    let (h, mi) = (sec / 3600, (sec % 3600) / 60);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{d:02}/{}/{:02} {h12:02}:{mi:02} {ampm}", MONTHS[(m - 1) as usize], y % 100)
}

/// `2024-05-11 15:26`.
fn iso(s: i64) -> String {
    let (y, m, d) = civil(s.div_euclid(DAY_S));
    let sec = s.rem_euclid(DAY_S);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", sec / 3600, (sec % 3600) / 60)
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// (title, description) pairs from the Deep-SE CSVs under `dir`.
fn load_texts(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("while listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    files.sort();
    for f in files {
        let bytes = std::fs::read(&f).with_context(|| format!("while reading {}", f.display()))?;
        let Ok(text) = csv::decode(&bytes) else { continue };
        let Ok(rows) = csv::parse(text) else { continue };
        for r in rows.iter().skip(1) {
            if let (Some(t), Some(d)) = (r.cells.get(1), r.cells.get(2)) {
                if !t.trim().is_empty() {
                    out.push((t.chars().take(200).collect(), d.chars().take(4000).collect()));
                }
            }
        }
    }
    Ok(out)
}

/// Writes the three files into `dir`; returns (issues, history rows).
pub fn run(dir: &Path, rows: u64, seed: u64, texts: Option<&Path>, comments: u64) -> Result<(u64, u64)> {
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let texts = match texts {
        Some(t) if t.exists() => load_texts(t)?,
        _ => Vec::new(),
    };
    let mut r = SplitMix64::new(seed);
    let first_sprint = BASE_S - SPRINTS * SPRINT_S;
    {
        let mut s = BufWriter::new(std::fs::File::create(dir.join("sprints.csv"))?);
        writeln!(s, "id,name,state,start_date,end_date,complete_date,goal")?;
        for k in 0..SPRINTS {
            let st = first_sprint + k * SPRINT_S;
            writeln!(
                s,
                "{},Sprint {},closed,{},{},{},",
                k + 1,
                k + 1,
                iso(st),
                iso(st + SPRINT_S - 3600),
                iso(st + SPRINT_S - 60)
            )?;
        }
        s.flush()?;
    }
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("issues.csv"))?);
    let mut h = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join("history.csv"))?);
    w.write_all(b"\xEF\xBB\xBF")?;
    w.write_all(b"Summary,Issue key,Issue id,Issue Type,Status,Priority,Assignee,Reporter,Created,Updated,Resolved,Fix versions,Fix versions,Labels,Labels,Description,Sprint,Sprint,Original Estimate,Custom field (Story Points),Custom field (Epic Link),Parent")?;
    // With no comments asked for, the file is as it always was (no draws from the generator).
    for _ in 0..2 * comments {
        w.write_all(b",Comment")?;
    }
    w.write_all(b"\r\n")?;
    writeln!(h, "issue_key,author_id,field,from_string,to_string,changed_at")?;
    let span = 730 * DAY_S;
    let statuses = ["To Do", "In Progress", "In Review", "Done"];
    let points = [1, 2, 3, 5, 8, 13];
    let (mut last_epic, mut last_story) = (0u64, 0u64);
    let mut history = 0u64;
    for n in 1..=rows {
        let created = BASE_S - span + (span as u128 * n as u128 / (rows as u128 + 1)) as i64;
        let roll = r.below(100);
        let kind = match roll {
            0..=4 => "Epic",
            5..=14 => "Sub-task",
            15..=29 => "Bug",
            30..=34 => "Task",
            _ => "Story",
        };
        let (title, desc) = if texts.is_empty() {
            let mut t = String::new();
            for _ in 0..6 {
                t.push_str(WORDS[r.below(WORDS.len() as u64) as usize]);
                t.push(' ');
            }
            (
                t.trim().to_string(),
                format!(
                    "h3. Context\nThe *{}* flow needs {{{{care}}}}.\n* one\n* two",
                    WORDS[r.below(20) as usize]
                ),
            )
        } else {
            texts[r.below(texts.len() as u64) as usize].clone()
        };
        // Final status: 45 % to do, 18 % in progress, 12 % in review, 25 % done.
        let st = match r.below(100) {
            0..=44 => 0,
            45..=62 => 1,
            63..=74 => 2,
            _ => 3,
        };
        let pts = (kind != "Epic" && kind != "Sub-task").then(|| points[r.below(6) as usize]);
        let mut at = created;
        let mut walk = Vec::new();
        for s in 0..st {
            at += r.range(1, 72) as i64 * 3600;
            walk.push((at.min(BASE_S - 60), statuses[s], statuses[s + 1]));
        }
        let updated = walk.last().map_or(created, |x| x.0);
        let resolved = (st == 3).then_some(updated);
        // A third of the stories and bugs in the last year went through a sprint: the one of
        // their last change, planned an hour before it started.
        let mut sprint = None;
        if matches!(kind, "Story" | "Bug") && r.percent(33) && updated >= first_sprint {
            let k = ((updated - first_sprint) / SPRINT_S).min(SPRINTS - 1);
            sprint = Some(k + 1);
            let plan_at = (first_sprint + k * SPRINT_S - 3600).max(created);
            writeln!(h, "SHOP-{n},u1,Sprint,,Sprint {},{}", k + 1, iso(plan_at))?;
            history += 1;
        }
        for (t, from, to) in &walk {
            writeln!(h, "SHOP-{n},u1,status,{from},{to},{}", iso(*t))?;
            history += 1;
        }
        if let Some(p) = pts {
            if r.percent(20) {
                writeln!(
                    h,
                    "SHOP-{n},u1,Story Points,{},{p},{}",
                    points[r.below(6) as usize],
                    iso(created + 600)
                )?;
                history += 1;
            }
        }
        let epic = if matches!(kind, "Story" | "Bug" | "Task") && last_epic > 0 && r.percent(60) {
            format!("SHOP-{last_epic}")
        } else {
            String::new()
        };
        let parent = if kind == "Sub-task" && last_story > 0 {
            format!("{}", 100_000 + last_story)
        } else {
            String::new()
        };
        let kind = if kind == "Sub-task" && last_story == 0 { "Task" } else { kind };
        let release = if st == 3 { format!("{}.{}", 1 + n * 4 / rows.max(1), n % 10) } else { String::new() };
        write!(
            w,
            "{},SHOP-{n},{},{kind},{},Major,,,{},{},{},{},,{},,{},{},,{},{},{},{}",
            quote(&title),
            100_000 + n,
            statuses[st],
            ui_date(created),
            ui_date(updated),
            resolved.map(ui_date).unwrap_or_default(),
            release,
            if r.percent(30) { WORDS[r.below(20) as usize] } else { "" },
            quote(&desc),
            sprint.map(|k| format!("Sprint {k}")).unwrap_or_default(),
            pts.map(|p| (p * 4 * 3600).to_string()).unwrap_or_default(),
            pts.map(|p| p.to_string()).unwrap_or_default(),
            epic,
            parent,
        )?;
        if comments > 0 {
            let k = r.below(2 * comments + 1);
            for j in 0..2 * comments {
                w.write_all(b",")?;
                if j < k {
                    let mut text = String::new();
                    for _ in 0..8 {
                        text.push_str(WORDS[r.below(WORDS.len() as u64) as usize]);
                        text.push(' ');
                    }
                    let at = (created + (j as i64 + 1) * 3600).min(BASE_S - 60);
                    w.write_all(quote(&format!("{};u1;{}", ui_date(at), text.trim())).as_bytes())?;
                }
            }
        }
        w.write_all(b"\r\n")?;
        match kind {
            "Epic" => last_epic = n,
            "Story" => last_story = n,
            _ => {}
        }
    }
    w.flush()?;
    h.flush()?;
    Ok((rows, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::import::jira;

    /// The three files of an export in `dir`, read as `keel import jira` reads them.
    fn read_back(dir: &std::path::Path) -> keel_domain::import::ImportSet {
        let files: Vec<(String, Vec<u8>)> = ["issues.csv", "history.csv", "sprints.csv"]
            .iter()
            .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
            .collect();
        jira::read_files(&files)
    }

    #[test]
    fn the_generated_export_reads_back_without_problems() {
        let dir = std::env::temp_dir().join(format!("keel-jira-csv-{}", std::process::id()));
        let (n, hist) = run(&dir, 2_000, 7, None, 0).unwrap();
        let set = read_back(&dir);
        assert!(set.problems.is_empty(), "{:?}", &set.problems[..set.problems.len().min(5)]);
        assert_eq!(set.items.len() as u64, n);
        assert_eq!(set.items.iter().map(|i| i.changes.len() as u64).sum::<u64>(), hist);
        assert_eq!(set.sprints.len(), SPRINTS as usize);
        assert!(set.items.iter().any(|i| i.kind == "Sub-task" && i.parent.is_some()));
        assert_eq!(ui_date(1_715_441_160), "11/May/24 03:26 PM");
        assert!(set.items.iter().all(|i| i.comments.is_empty()));
        let _ = std::fs::remove_dir_all(&dir);
        // With comments: 0 to 4 an issue, each dated and by its author.
        let dir = std::env::temp_dir().join(format!("keel-jira-csv-c-{}", std::process::id()));
        run(&dir, 500, 7, None, 2).unwrap();
        let set = read_back(&dir);
        assert!(set.problems.is_empty(), "{:?}", &set.problems[..set.problems.len().min(5)]);
        let counts: Vec<usize> = set.items.iter().map(|i| i.comments.len()).collect();
        assert!(counts.iter().all(|c| *c <= 4) && counts.iter().sum::<usize>() > 500, "{counts:?}");
        assert!(set.items.iter().flat_map(|i| &i.comments).all(|c| c.at.is_some() && c.author == "u1"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
