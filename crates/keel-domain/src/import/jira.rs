//! Jira CSV, in the two dialects people have:
//!
//! - the **UI export** ("Export → CSV (all fields / current fields)"): display-name headers,
//!   one column per value for `Labels`, `Sprint`, `Fix versions`, `Comment`…, dates such as
//!   `11/May/24 03:26 PM`, estimates in seconds, story points in `Custom field (Story Points)` or
//!   `Custom field (Story point estimate)`, the epic in `Custom field (Epic Link)`;
//! - the **Data Center data pipeline** (snake_case headers): the issues file (`id, key,
//!   issue_type, summary, status, …`), and beside it the issue history (`issue_id, field,
//!   from_string, to_string, …`), sprints (`id, name, state, start_date, …`) and users
//!   (`user_id, email, …`) files.
//!
//! A file is recognised by its header. The history file (either dialect's items) gives the
//! changelog: status, sprint, story points and issue type changes with their times.

use super::csv::{self, Record};
use super::markup::jira_to_markdown;
use super::{
    ChangeField, ImportSet, Problem, Severity, SourceChange, SourceComment, SourceItem, SourceSprint,
    SourceUser,
};
use crate::time::days_from_civil;
use crate::Timestamp;
use std::collections::HashMap;

/// What a file holds, judged by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// UI export of issues.
    UiIssues,
    /// Data pipeline issues.
    PipelineIssues,
    /// Changelog rows.
    History,
    /// Sprints.
    Sprints,
    /// Users.
    Users,
}

/// Recognises a header.
pub fn file_kind(header: &[String]) -> Option<FileKind> {
    let has = |n: &str| header.iter().any(|h| h.trim().eq_ignore_ascii_case(n));
    if has("Issue key") && has("Summary") {
        Some(FileKind::UiIssues)
    } else if has("key") && has("summary") && (has("issue_type") || has("status")) {
        Some(FileKind::PipelineIssues)
    } else if has("field") && (has("to_string") || has("to")) && (has("issue_id") || has("issue_key")) {
        Some(FileKind::History)
    } else if has("name") && (has("start_date") || has("state")) && !has("email") {
        Some(FileKind::Sprints)
    } else if has("email") || has("email_address") {
        Some(FileKind::Users)
    } else {
        None
    }
}

/// Reads one file into `set` (items, sprints, users or changes), recording problems. Call
/// [`ImportSet::finish`] after the last file. History rows may come before or after their items.
pub fn read_file(set: &mut ImportSet, file: &str, bytes: &[u8]) {
    match csv::decode(bytes) {
        Ok(text) => read_records(set, file, csv::RecordReader::new(text.as_bytes())),
        Err(e) => set.problems.push(file_error(file, e)),
    }
}

/// [`read_file`] from a byte stream: one record at a time, so the file is never held whole.
pub fn read_reader(set: &mut ImportSet, file: &str, src: impl std::io::BufRead) {
    read_records(set, file, csv::RecordReader::new(src));
}

fn file_error(file: &str, e: csv::CsvError) -> Problem {
    Problem {
        severity: Severity::Error,
        file: file.to_string(),
        line: e.line,
        field: String::new(),
        message: e.message,
    }
}

/// Reads records into `set`; a file that cannot be read to its end (truncated, not UTF-8)
/// leaves nothing in the set but the one problem that says why.
fn read_records(set: &mut ImportSet, file: &str, mut records: csv::RecordReader<impl std::io::BufRead>) {
    // The header, and the records that came in the same read (a file whose lines end in a
    // bare CR is one read).
    let (header, rest) = loop {
        match records.next_raw().map(|r| r.and_then(|r| r.split())) {
            None => {
                return set
                    .problems
                    .push(file_error(file, csv::CsvError { line: 0, message: "is empty".into() }))
            }
            Some(Err(e)) => return set.problems.push(file_error(file, e)),
            Some(Ok(mut rows)) if !rows.is_empty() => {
                let rest = rows.split_off(1);
                break (rows.remove(0), rest);
            }
            Some(Ok(_)) => {}
        }
    };
    let Some(kind) = file_kind(&header.cells) else {
        return set.problems.push(file_error(
            file,
            csv::CsvError {
                line: 1,
                message: "is not a Jira CSV this importer knows (expected the UI export's \"Issue key\" and \"Summary\" columns, \
                          or the data pipeline's issues, issue history, sprints or users file)"
                    .into(),
            },
        ));
    };
    let width = header.cells.len();
    // Rows are read here and handed out in batches, alternately, to two workers that turn
    // them into items (markup, dates, numbers: most of the reading's time); their outputs are
    // joined in batch order, so the set is exactly what one pass in file order gives.
    let outcome = std::thread::scope(|s| {
        let workers: Vec<_> = (0..READ_WORKERS)
            .map(|_| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<csv::RawRecord>>(4);
                let header = &header.cells;
                let handle = s.spawn(move || {
                    let cols = Columns::new(header);
                    let mut parts: Vec<Result<ImportSet, csv::CsvError>> = Vec::new();
                    for batch in rx {
                        if parts.last().is_some_and(|p| p.is_err()) {
                            continue; // the file stops at that error: nothing after it counts
                        }
                        let mut part = ImportSet::default();
                        let mut r = Reader { set: &mut part, file, cols: &cols, width };
                        let mut failed = None;
                        for raw in &batch {
                            match raw.split() {
                                Ok(rows) => rows.iter().for_each(|row| r.row(kind, row)),
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        parts.push(failed.map_or(Ok(part), Err));
                    }
                    parts
                });
                (tx, handle)
            })
            .collect();
        let mut failed = None;
        let mut batch = Vec::with_capacity(READ_BATCH);
        let mut turn = 0;
        while let Some(raw) = records.next_raw() {
            match raw {
                Ok(raw) => batch.push(raw),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if batch.len() == READ_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(READ_BATCH));
                // A worker ends only when its channel closes, so the send cannot fail.
                let _ = workers[turn % READ_WORKERS].0.send(full);
                turn += 1;
            }
        }
        if !batch.is_empty() {
            let _ = workers[turn % READ_WORKERS].0.send(batch);
        }
        let mut first = ImportSet::default();
        let cols = Columns::new(&header.cells);
        let mut r = Reader { set: &mut first, file, cols: &cols, width };
        rest.iter().for_each(|row| r.row(kind, row));
        let mut outputs: Vec<_> = workers
            .into_iter()
            .map(|(tx, handle)| {
                drop(tx);
                handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p)).into_iter()
            })
            .collect();
        // Batch order is file order: the first error met in it is the one a single pass stops at.
        let mut parts = vec![first];
        'join: loop {
            for out in &mut outputs {
                match out.next() {
                    Some(p) => parts.push(p?),
                    None => break 'join,
                }
            }
        }
        failed.map_or(Ok(parts), Err)
    });
    match outcome {
        Ok(parts) => {
            for p in parts {
                set.items.extend(p.items);
                set.sprints.extend(p.sprints);
                set.users.extend(p.users);
                set.problems.extend(p.problems);
            }
        }
        // Nothing of this file is kept (the workers' output is dropped), only why it stopped.
        Err(e) => set.problems.push(file_error(file, e)),
    }
}

/// Workers that turn rows into items, and the rows each is handed at a time.
const READ_WORKERS: usize = 2;
const READ_BATCH: usize = 256;

/// Reads every file, then attaches history rows to their items and checks the set.
pub fn read_files(files: &[(String, Vec<u8>)]) -> ImportSet {
    let mut set = ImportSet::default();
    for (name, bytes) in files {
        read_file(&mut set, name, bytes);
    }
    attach_history(&mut set);
    set.finish();
    set
}

/// Column lookup by lower-cased name; repeated names keep every position.
struct Columns {
    by_name: HashMap<String, Vec<usize>>,
    /// Names already looked up, by where their text lives (the readers ask by the same literals
    /// for every row, a million times in a large export): (address, length, the name lower-cased,
    /// its positions). The text is compared too, so a reused address cannot mislead it.
    seen: std::cell::RefCell<Vec<SeenName>>,
}

/// A name [`Columns`] has looked up: its text's address and length, the name lower-cased, and
/// its columns' positions.
type SeenName = (usize, usize, String, std::rc::Rc<[usize]>);

impl Columns {
    fn new(header: &[String]) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            by_name.entry(h.trim().to_lowercase()).or_default().push(i);
        }
        Self { by_name, seen: Default::default() }
    }
    /// The positions of the columns named `n` (any case).
    fn positions(&self, n: &str) -> std::rc::Rc<[usize]> {
        let key = (n.as_ptr() as usize, n.len());
        let mut seen = self.seen.borrow_mut();
        if let Some(e) = seen.iter().find(|e| (e.0, e.1) == key && e.2.eq_ignore_ascii_case(n)) {
            return e.3.clone();
        }
        let lower = n.to_lowercase();
        let at: std::rc::Rc<[usize]> = self.by_name.get(&lower).map(|v| v.as_slice()).unwrap_or(&[]).into();
        if lower.is_ascii() {
            seen.push((key.0, key.1, lower, at.clone()));
        }
        at
    }
    /// The first non-empty cell among columns named any of `names`, with the name matched.
    fn get<'a, 'n>(&self, row: &'a Record, names: &[&'n str]) -> Option<(&'n str, &'a str)> {
        for n in names {
            for i in self.positions(n).iter() {
                if let Some(v) = row.cells.get(*i).map(|s| s.trim()).filter(|s| !s.is_empty()) {
                    return Some((n, v));
                }
            }
        }
        None
    }
    /// Every non-empty cell of the columns named any of `names`, in column order.
    fn all<'a>(&self, row: &'a Record, names: &[&str]) -> Vec<&'a str> {
        let mut idx: Vec<usize> = names.iter().flat_map(|n| self.positions(n).to_vec()).collect();
        idx.sort_unstable();
        idx.iter().filter_map(|i| row.cells.get(*i).map(|s| s.trim()).filter(|s| !s.is_empty())).collect()
    }
}

/// Jira components as labels `component:NAME` (Keel has no components; a label keeps them
/// searchable and filterable), without repeats.
pub(crate) fn component_labels<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        let l = format!("component:{n}");
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

struct Reader<'a> {
    set: &'a mut ImportSet,
    file: &'a str,
    cols: &'a Columns,
    width: usize,
}

impl Reader<'_> {
    fn row(&mut self, kind: FileKind, row: &Record) {
        match kind {
            FileKind::UiIssues => self.ui_issue(row),
            FileKind::PipelineIssues => self.pipeline_issue(row),
            FileKind::History => self.history(row),
            FileKind::Sprints => self.sprint(row),
            FileKind::Users => self.user(row),
        }
    }

    fn push(&mut self, severity: Severity, line: usize, field: &str, message: String) {
        self.set.problems.push(Problem {
            severity,
            file: self.file.to_string(),
            line,
            field: field.to_string(),
            message,
        });
    }

    fn check_width(&mut self, row: &Record) {
        if row.cells.len() > self.width && row.cells[self.width..].iter().any(|c| !c.trim().is_empty()) {
            self.push(
                Severity::Warning,
                row.line,
                "",
                format!(
                    "has {} cells but the header has {} columns; the cells beyond the header are ignored",
                    row.cells.len(),
                    self.width
                ),
            );
        }
    }

    fn time(&mut self, row: &Record, names: &[&str]) -> Option<Timestamp> {
        let (name, v) = self.cols.get(row, names)?;
        match parse_time(v) {
            Some(t) => Some(t),
            None => {
                self.push(
                    Severity::Warning,
                    row.line,
                    name,
                    format!("\"{v}\" is not a date Keel reads (such as 11/May/24 03:26 PM or 2024-05-11 15:26); left empty"),
                );
                None
            }
        }
    }

    fn number(&mut self, row: &Record, names: &[&str]) -> Option<f64> {
        let (name, v) = self.cols.get(row, names)?;
        match v.replace(',', ".").parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                self.push(Severity::Warning, row.line, name, format!("\"{v}\" is not a number; left empty"));
                None
            }
        }
    }

    /// Key, summary and the fields both dialects share; `None` (with an error) when the row
    /// cannot be an item.
    fn base(&mut self, row: &Record, key_col: &str, title_col: &str) -> Option<SourceItem> {
        self.check_width(row);
        let Some((_, key)) = self.cols.get(row, &[key_col]) else {
            self.push(Severity::Error, row.line, key_col, "is empty; the row is left out".into());
            return None;
        };
        if !valid_key(key) {
            self.push(
                Severity::Error,
                row.line,
                key_col,
                format!("\"{key}\" is not an issue key such as SHOP-12; the row is left out"),
            );
            return None;
        }
        let title = self.cols.get(row, &[title_col]).map(|x| x.1).unwrap_or("");
        if title.is_empty() {
            self.push(
                Severity::Error,
                row.line,
                title_col,
                format!("{key} has no summary; the row is left out"),
            );
            return None;
        }
        Some(SourceItem {
            file: self.file.to_string(),
            line: row.line,
            key: key.to_string(),
            title: title.replace(['\r', '\n'], " "),
            ..Default::default()
        })
    }

    fn ui_issue(&mut self, row: &Record) {
        let Some(mut it) = self.base(row, "Issue key", "Summary") else { return };
        let c = self.cols;
        it.id = c.get(row, &["Issue id"]).map(|x| x.1.to_string());
        it.kind = c.get(row, &["Issue Type"]).map(|x| x.1.to_string()).unwrap_or_default();
        it.status = c.get(row, &["Status"]).map(|x| x.1.to_string()).unwrap_or_default();
        it.description = c.get(row, &["Description"]).map(|x| jira_to_markdown(x.1)).unwrap_or_default();
        it.points = self.number(
            row,
            &[
                "Custom field (Story Points)",
                "Custom field (Story point estimate)",
                "Story Points",
                "Story point estimate",
            ],
        );
        it.estimate_seconds = self.number(row, &["Original Estimate"]).map(|s| s as i64);
        it.parent = c.get(row, &["Parent key", "Parent", "Parent id"]).map(|x| x.1.to_string());
        it.epic = c.get(row, &["Custom field (Epic Link)", "Epic Link"]).map(|x| x.1.to_string());
        it.sprints = c.all(row, &["Sprint"]).into_iter().map(str::to_string).collect();
        it.fix_versions = c
            .all(row, &["Fix versions", "Fix Version/s", "Fix versions"])
            .into_iter()
            .map(str::to_string)
            .collect();
        it.fix_versions.dedup();
        it.labels = c.all(row, &["Labels"]).into_iter().map(str::to_string).collect();
        it.labels.extend(component_labels(c.all(row, &["Component/s", "Components", "Component"])));
        it.assignee = c.get(row, &["Assignee", "Assignee Id"]).map(|x| x.1.to_string());
        it.reporter = c.get(row, &["Reporter", "Reporter Id"]).map(|x| x.1.to_string());
        it.created = self.time(row, &["Created"]);
        it.updated = self.time(row, &["Updated"]);
        it.resolved = self.time(row, &["Resolved"]);
        // `Comment` cells read "11/May/24 03:26 PM;author;text".
        for cell in c.all(row, &["Comment"]) {
            let mut parts = cell.splitn(3, ';');
            let (a, b, rest) = (parts.next(), parts.next(), parts.next());
            let comment = match (a.and_then(parse_time), b, rest) {
                (Some(at), Some(author), Some(text)) => SourceComment {
                    at: Some(at),
                    author: author.trim().to_string(),
                    body: jira_to_markdown(text),
                },
                _ => SourceComment { at: None, author: String::new(), body: jira_to_markdown(cell) },
            };
            it.comments.push(comment);
        }
        self.set.items.push(it);
    }

    fn pipeline_issue(&mut self, row: &Record) {
        let Some(mut it) = self.base(row, "key", "summary") else { return };
        let c = self.cols;
        let list = |v: Option<(&str, &str)>| -> Vec<String> {
            v.map(|x| x.1.split([';', '|']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default()
        };
        it.id = c.get(row, &["id", "issue_id"]).map(|x| x.1.to_string());
        it.kind = c.get(row, &["issue_type", "issuetype"]).map(|x| x.1.to_string()).unwrap_or_default();
        it.status = c.get(row, &["status"]).map(|x| x.1.to_string()).unwrap_or_default();
        it.description = c.get(row, &["description"]).map(|x| jira_to_markdown(x.1)).unwrap_or_default();
        it.points = self.number(row, &["story_points", "story_point_estimate"]);
        it.estimate_seconds =
            self.number(row, &["original_estimate", "time_original_estimate"]).map(|s| s as i64);
        it.parent = c.get(row, &["parent_key", "parent_id"]).map(|x| x.1.to_string());
        it.epic = c.get(row, &["epic_link", "epic_key"]).map(|x| x.1.to_string());
        it.sprints = list(c.get(row, &["sprints", "sprint"]));
        it.fix_versions = list(c.get(row, &["fix_versions", "fix_version"]));
        it.labels = c
            .get(row, &["labels"])
            .map(|x| x.1.split([';', ',', ' ']).map(str::to_string).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        // Component names may hold spaces, so only `;` and `|` separate them here.
        it.labels.extend(component_labels(
            c.get(row, &["components", "component"]).map(|x| x.1.split([';', '|'])).into_iter().flatten(),
        ));
        it.assignee = c.get(row, &["assignee_email", "assignee_id", "assignee"]).map(|x| x.1.to_string());
        it.reporter = c.get(row, &["reporter_email", "reporter_id", "reporter"]).map(|x| x.1.to_string());
        it.created = self.time(row, &["created", "created_date"]);
        it.updated = self.time(row, &["updated", "updated_date"]);
        it.resolved = self.time(row, &["resolution_date", "resolved", "resolutiondate"]);
        self.set.items.push(it);
    }

    fn history(&mut self, row: &Record) {
        self.check_width(row);
        let c = self.cols;
        let Some((_, issue)) = c.get(row, &["issue_key", "issue_id"]) else {
            return self.push(
                Severity::Error,
                row.line,
                "issue_id",
                "is empty; the change is left out".into(),
            );
        };
        let field_name = c.get(row, &["field"]).map(|x| x.1).unwrap_or("");
        let field = match field_name.to_lowercase().as_str() {
            "status" => ChangeField::Status,
            "sprint" => ChangeField::Sprint,
            "story points" | "story point estimate" | "story_points" => ChangeField::Points,
            "issuetype" | "issue type" => ChangeField::Kind,
            // Other fields do not feed any figure; skipped without a word.
            _ => return,
        };
        let Some(at) = self.time(row, &["changed_at", "created", "change_date", "date"]) else {
            return self.push(
                Severity::Error,
                row.line,
                "changed_at",
                "has no time; the change is left out".into(),
            );
        };
        let text = |names: &[&str]| c.get(row, names).map(|x| x.1.to_string());
        let change = SourceChange {
            at,
            author: text(&["author_email", "author_id", "author"]).unwrap_or_default(),
            field,
            from: text(&["from_string", "fromstring", "from"]),
            to: text(&["to_string", "tostring", "to"]),
        };
        // Parked on a placeholder item until `attach_history` finds the real one.
        let key = format!("\u{0}{issue}");
        self.set.items.push(SourceItem {
            file: self.file.to_string(),
            line: row.line,
            key,
            changes: vec![change],
            ..Default::default()
        });
    }

    fn sprint(&mut self, row: &Record) {
        self.check_width(row);
        let c = self.cols;
        let Some((_, name)) = c.get(row, &["name"]) else {
            return self.push(Severity::Error, row.line, "name", "is empty; the sprint is left out".into());
        };
        let s = SourceSprint {
            id: c.get(row, &["id", "sprint_id"]).map(|x| x.1.to_string()),
            name: name.to_string(),
            state: c.get(row, &["state"]).map(|x| x.1.to_lowercase()).unwrap_or_default(),
            start: self.time(row, &["start_date", "startdate"]),
            end: self.time(row, &["end_date", "enddate"]),
            completed: self.time(row, &["complete_date", "completed_date", "completedate"]),
            goal: c.get(row, &["goal"]).map(|x| x.1.to_string()).unwrap_or_default(),
        };
        self.set.sprints.push(s);
    }

    fn user(&mut self, row: &Record) {
        let c = self.cols;
        let id = c.get(row, &["user_id", "id", "user_key", "user_name", "username"]).map(|x| x.1.to_string());
        let email = c.get(row, &["email", "email_address"]).map(|x| x.1.to_string()).unwrap_or_default();
        let name = c.get(row, &["display_name", "name"]).map(|x| x.1.to_string()).unwrap_or_default();
        if let Some(id) = id {
            self.set.users.push(SourceUser { id, email, name });
        }
    }
}

/// Moves the changelog rows read from history files onto their items (by key or id), oldest
/// first; rows whose issue is not in the set are reported.
pub fn attach_history(set: &mut ImportSet) {
    let parked = |i: &SourceItem| i.key.starts_with('\u{0}');
    // Where each parked row's changes go (found by key or id, without copying either), then
    // the moves; the parked rows are dropped in place.
    let moves: Vec<(usize, Option<usize>)> = {
        let mut index: super::FastMap<&str, usize> = Default::default();
        for (k, it) in set.items.iter().enumerate().filter(|(_, i)| !parked(i)) {
            index.entry(it.key.as_str()).or_insert(k);
            if let Some(id) = &it.id {
                index.entry(id.as_str()).or_insert(k);
            }
        }
        set.items
            .iter()
            .enumerate()
            .filter(|(_, i)| parked(i))
            .map(|(k, p)| (k, index.get(&p.key[1..]).copied()))
            .collect()
    };
    for (from, to) in moves {
        match to {
            Some(to) => {
                let changes = std::mem::take(&mut set.items[from].changes);
                set.items[to].changes.extend(changes);
            }
            None => {
                let p = &set.items[from];
                set.problems.push(Problem {
                    severity: Severity::Warning,
                    file: p.file.clone(),
                    line: p.line,
                    field: "issue_id".into(),
                    message: format!(
                        "{} is not an issue of the imported files; the change is left out",
                        &p.key[1..]
                    ),
                });
            }
        }
    }
    set.items.retain(|i| !parked(i));
    for it in &mut set.items {
        it.changes.sort_by_key(|c| c.at);
    }
}

fn valid_key(k: &str) -> bool {
    let Some((p, n)) = k.rsplit_once('-') else { return false };
    !p.is_empty()
        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// Parses the date forms Jira writes: `11/May/24 03:26 PM` (UI export, English month names),
/// `2024-05-11 15:26[:00[.000]]`, `2024-05-11T15:26:00.000+0000` and `2024-05-11`. Times
/// without an offset are taken as UTC.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.as_bytes().get(4) == Some(&b'-') {
        return parse_iso(s);
    }
    // d/MMM/yy h:mm a
    let (date, rest) = s.split_once(' ').unwrap_or((s, ""));
    let mut dp = date.split('/');
    let d: i64 = dp.next()?.parse().ok()?;
    let mon = dp.next()?.to_lowercase();
    let m = MONTHS.iter().position(|x| mon.starts_with(x))? as i64 + 1;
    let y: i64 = dp.next()?.parse().ok()?;
    // Four digits at most, like the ISO forms: a larger year overflowed the millisecond count.
    if !(0..=9999).contains(&y) {
        return None;
    }
    let y = if y < 100 { 2000 + y } else { y };
    if !(1..=31).contains(&d) || !(0..=9999).contains(&y) || dp.next().is_some() {
        return None;
    }
    let (mut h, mut mi) = (0, 0);
    let rest = rest.trim();
    if !rest.is_empty() {
        let (hm, ampm) = rest.split_once(' ').unwrap_or((rest, ""));
        let (hh, mm) = hm.split_once(':')?;
        h = hh.parse().ok()?;
        mi = mm.parse().ok()?;
        match ampm.trim().to_ascii_uppercase().as_str() {
            "AM" if h == 12 => h = 0,
            "PM" if h < 12 => h += 12,
            "AM" | "PM" | "" => {}
            _ => return None,
        }
        if h > 23 || mi > 59 {
            return None;
        }
    }
    Some(Timestamp((days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60) * 1000))
}

fn parse_iso(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(7) != Some(&b'-') || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if b.len() > 10 {
        if !matches!(b[10], b' ' | b'T') || b.get(13) != Some(&b':') {
            return None;
        }
        let (h, mi) = (num(11..13)?, num(14..16)?);
        ms += (h * 3600 + mi * 60) * 1000;
        let mut i = 16;
        if b.get(i) == Some(&b':') {
            ms += num(i + 1..i + 3)? * 1000;
            i += 3;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = std::str::from_utf8(&b[st..i]).ok()?;
            let f3: String = frac.chars().chain("000".chars()).take(3).collect();
            ms += f3.parse::<i64>().ok()?;
        }
        match b.get(i) {
            None => {}
            Some(b'Z') => {}
            Some(sign @ (b'+' | b'-')) => {
                let off = &s[i + 1..].replace(':', "");
                let (oh, om): (i64, i64) =
                    (off.get(0..2)?.parse().ok()?, off.get(2..4).unwrap_or("00").parse().ok()?);
                let off_ms = (oh * 3600 + om * 60) * 1000;
                ms -= if *sign == b'+' { off_ms } else { -off_ms };
            }
            _ => return None,
        }
    }
    Some(Timestamp(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        parse_time(s).unwrap().0
    }

    #[test]
    fn dates() {
        // 2024-05-11 15:26 UTC
        let t = 1_715_441_160_000;
        assert_eq!(ts("11/May/24 03:26 PM"), t);
        assert_eq!(ts("11/may/24 3:26 PM"), t);
        assert_eq!(ts("2024-05-11 15:26"), t);
        assert_eq!(ts("2024-05-11T15:26:00.000+0000"), t);
        assert_eq!(ts("2024-05-11T17:26:00+02:00"), t);
        assert_eq!(ts("11/May/24 12:05 AM"), t - (15 * 60 + 21) * 60_000);
        assert!(parse_time("11/Mai/24 03:26 PM").is_none());
        assert!(parse_time("yesterday").is_none());
    }

    /// Found by the `jira_csv` fuzz target: a year of many digits overflowed the millisecond
    /// count (a panic with overflow checks, a wrong date without).
    #[test]
    fn absurd_years_are_not_dates() {
        assert!(parse_time("15/Mar/999999999999999 09:00 AM").is_none());
        assert!(parse_time("15/Mar/10000").is_none());
        assert!(parse_time("15/Mar/-5 09:00 AM").is_none());
        assert_eq!(ts("15/Mar/9999"), ts("9999-03-15"));
        assert_eq!(ts("15/Mar/0"), ts("2000-03-15"));
    }

    const UI: &str = "\u{FEFF}Summary,Issue key,Issue id,Issue Type,Status,Assignee,Reporter,Created,Updated,Resolved,Fix versions,Fix versions,Labels,Labels,Description,Sprint,Sprint,Original Estimate,Custom field (Story Points),Custom field (Epic Link),Parent,Comment,Component/s,Component/s\r\n\
Checkout epic,SHOP-1,10001,Epic,In Progress,ann@ex.test,bob@ex.test,01/Mar/24 09:00 AM,05/Mar/24 10:00 AM,,2.0,,,,\"h2. Goal\r\nPay *fast*\",,,,,,,,,\r\n\
Pay by card,SHOP-2,10002,Story,Done,ann@ex.test,bob@ex.test,02/Mar/24 09:00 AM,10/Mar/24 05:30 PM,10/Mar/24 05:30 PM,2.0,2.1,pay,web,As a buyer,Sprint 1,Sprint 2,7200,5,SHOP-1,,\"03/Mar/24 10:00 AM;bob@ex.test;Looks {{ok}}\",Web UI,Payments\r\n\
Card form,SHOP-3,10003,Sub-task,To Do,,bob@ex.test,02/Mar/24 10:00 AM,02/Mar/24 10:00 AM,,,,,,,,,,,,10002,,,,extra\r\n";

    #[test]
    fn ui_dialect() {
        let set = read_files(&[("ui.csv".into(), UI.as_bytes().to_vec())]);
        assert_eq!(set.items.len(), 3, "{:?}", set.problems);
        let e = &set.items[0];
        assert_eq!((e.key.as_str(), e.kind.as_str(), e.status.as_str()), ("SHOP-1", "Epic", "In Progress"));
        assert_eq!(e.description, "## Goal\nPay **fast**");
        let s = &set.items[1];
        assert_eq!(s.points, Some(5.0));
        assert_eq!(s.estimate_seconds, Some(7200));
        assert_eq!(s.sprints, ["Sprint 1", "Sprint 2"]);
        assert_eq!(s.fix_versions, ["2.0", "2.1"]);
        // Repeated `Component/s` columns become `component:` labels.
        assert_eq!(s.labels, ["pay", "web", "component:Web UI", "component:Payments"]);
        assert_eq!(s.epic.as_deref(), Some("SHOP-1"));
        assert_eq!(s.resolved, parse_time("2024-03-10 17:30"));
        assert_eq!(s.comments[0].author, "bob@ex.test");
        assert_eq!(s.comments[0].body, "Looks `ok`");
        // Parent given by id, resolved to the key.
        assert_eq!(set.items[2].parent.as_deref(), Some("SHOP-2"));
        // The last row has a cell beyond the header.
        assert_eq!(set.problems.len(), 1);
        // Line 5: the epic's description spans two lines.
        assert_eq!(set.problems[0].line, 5);
        assert!(set.problems[0].message.contains("beyond the header"));
    }

    #[test]
    fn pipeline_dialect_with_history_sprints_and_users() {
        let issues = "id,key,project_key,issue_type,summary,description,creator_id,reporter_id,assignee_id,status,status_category,created,updated,resolution_date,story_points,sprint,fix_versions,labels,parent_id,components\n\
1,DC-1,DC,Story,First,,u1,u1,u2,Done,Done,2024-03-01 09:00,2024-03-05 12:00,2024-03-05 12:00,3,S1,1.0,a;b,,Web UI;Payments\n\
2,DC-2,DC,Sub-task,Second,,u1,u1,,To Do,To Do,2024-03-02 09:00,2024-03-02 09:00,,,,,,1,\n";
        let history = "issue_id,changelog_id,author_id,field,from_string,to_string,changed_at\n\
1,10,u2,status,To Do,In Progress,2024-03-02 10:00\n\
1,11,u2,status,In Progress,Done,2024-03-05 12:00\n\
1,12,u2,resolution,,Fixed,2024-03-05 12:00\n\
99,13,u2,status,To Do,Done,2024-03-05 12:00\n";
        let sprints = "id,name,state,start_date,end_date,complete_date,board_id\n7,S1,closed,2024-03-01 08:00,2024-03-14 17:00,2024-03-14 18:00,1\n";
        let users = "user_id,user_name,display_name,email\nu1,bob,Bob,bob@ex.test\nu2,ann,Ann,ann@ex.test\n";
        let set = read_files(&[
            ("history.csv".into(), history.as_bytes().to_vec()),
            ("issues.csv".into(), issues.as_bytes().to_vec()),
            ("sprints.csv".into(), sprints.as_bytes().to_vec()),
            ("users.csv".into(), users.as_bytes().to_vec()),
        ]);
        assert_eq!(set.items.len(), 2);
        let a = &set.items[0];
        assert_eq!(a.assignee.as_deref(), Some("ann@ex.test"));
        assert_eq!(a.labels, ["a", "b", "component:Web UI", "component:Payments"]);
        assert_eq!(a.changes.len(), 2);
        assert_eq!(a.changes[0].field, ChangeField::Status);
        assert_eq!(a.changes[1].to.as_deref(), Some("Done"));
        assert_eq!(a.changes[0].author, "ann@ex.test");
        assert_eq!(set.items[1].parent.as_deref(), Some("DC-1"));
        assert_eq!(set.sprints.len(), 1);
        assert_eq!(set.sprints[0].start, parse_time("2024-03-01 08:00"));
        // The change of issue 99 has no item.
        assert_eq!(set.problems.len(), 1, "{:?}", set.problems);
        assert_eq!((set.problems[0].file.as_str(), set.problems[0].line), ("history.csv", 5));
    }

    #[test]
    fn many_rows_keep_file_order_and_a_late_error_drops_the_file() {
        // Enough rows for several batches on each worker, a quoted cell over two lines and a
        // warning per row, so any reordering of batches would show.
        let n = READ_BATCH * READ_WORKERS * 3 + 17;
        let mut csv = String::from("Summary,Issue key,Issue Type,Status,Created\n");
        for i in 1..=n {
            csv.push_str(&format!("\"Row {i}\nsecond line\",X-{i},Story,To Do,not a date {i}\n"));
        }
        let set = read_files(&[("big.csv".into(), csv.clone().into_bytes())]);
        assert_eq!(set.items.len(), n);
        for (i, it) in set.items.iter().enumerate() {
            assert_eq!(it.key, format!("X-{}", i + 1));
            assert_eq!(it.line, 2 + 2 * i, "{}", it.key);
        }
        let dates: Vec<usize> =
            set.problems.iter().filter(|p| p.field == "Created").map(|p| p.line).collect();
        assert_eq!(dates, (0..n).map(|i| 2 + 2 * i).collect::<Vec<_>>());
        // Not UTF-8 near the end: the file is read up to there, then nothing of it is kept.
        let mut bad = csv.into_bytes();
        let at = bad.len() - 30;
        bad[at] = 0xff;
        let set = read_files(&[("big.csv".into(), bad)]);
        assert!(set.items.is_empty());
        assert_eq!(set.problems.len(), 1, "{:?}", set.problems);
        assert!(set.problems[0].message.contains("UTF-8"), "{:?}", set.problems);
        assert_eq!(set.problems[0].line, 1 + 2 * n);
    }

    #[test]
    fn a_file_with_bare_cr_line_ends_is_read() {
        let csv = "Summary,Issue key,Issue Type,Status\rFirst,X-1,Story,To Do\rSecond,X-2,Bug,To Do\r";
        let set = read_files(&[("cr.csv".into(), csv.as_bytes().to_vec())]);
        let keys: Vec<&str> = set.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["X-1", "X-2"], "{:?}", set.problems);
    }

    #[test]
    fn bad_input_is_reported_with_line_and_field() {
        let csv = "Summary,Issue key,Issue Type,Status,Parent,Created\n\
A,X-1,Story,To Do,X-2,01/Mar/24 09:00 AM\n\
B,X-2,Story,To Do,X-1,someday\n\
C,X-1,Story,To Do,,\n\
,X-4,Story,To Do,,\n\
D,nokey,Story,To Do,,\n";
        let set = read_files(&[("bad.csv".into(), csv.as_bytes().to_vec())]);
        let lines: Vec<(usize, &str)> = set.problems.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert!(lines.contains(&(3, "Created")), "{lines:?}");
        assert!(lines.contains(&(4, "key")), "{lines:?}");
        assert!(lines.contains(&(5, "Summary")), "{lines:?}");
        assert!(lines.contains(&(6, "Issue key")), "{lines:?}");
        assert!(lines.contains(&(2, "parent")) && lines.contains(&(3, "parent")), "{lines:?}");
        assert_eq!(set.items.len(), 2);
        assert!(set.items.iter().all(|i| i.parent.is_none()));
        // Truncated and not UTF-8.
        let set = read_files(&[("t.csv".into(), b"Summary,Issue key\nA,\"X-1".to_vec())]);
        assert!(set.problems[0].message.contains("truncated"));
        let set = read_files(&[("l.csv".into(), b"Summary,Issue key\nCaf\xe9,X-1\n".to_vec())]);
        assert_eq!((set.problems[0].line, set.items.len()), (2, 0));
        assert!(set.problems[0].message.contains("UTF-8"));
    }
}
