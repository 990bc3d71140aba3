//! Linear's CSV export (the 30-column shape and the newer 34-column one: `ID, Team, Title,
//! Description, Status, Estimate, Priority, Project ID, Project, Creator, Assignee, Labels, Cycle
//! Number, Cycle Name, Cycle Start, Cycle End, Created, Updated, Started, Triaged, Completed,
//! Canceled, Archived, Due Date, Parent issue, …`).
//!
//! - Linear has no issue types: an issue with a parent is a sub-task, any other a story.
//! - **Projects become epics** (kind `Epic`, key `project-` and the first 8 characters of the
//!   project's id, else of its name), holding the project's issues that have no parent. An
//!   epic's status is the status of one of its unfinished issues, or of a finished one when all
//!   are finished, so the status mapping covers it.
//! - **Cycles become sprints**, with the cycle's dates.
//! - `Started` and `Completed`/`Canceled` give the status history: the item enters the status most
//!   started-but-unfinished issues have (else "In Progress") when started, and its current status
//!   when finished.
//! - Values Linear prefixed with `'` to keep spreadsheets from reading them as formulas get
//!   the quote removed. Labels are joined by `", "`.

use super::csv::{decode, parse};
use super::generic::Header;
use super::jira::parse_time;
use super::{ChangeField, ImportSet, Problem, Severity, SourceChange, SourceItem, SourceSprint};
use std::collections::{BTreeMap, HashMap};

/// Whether a header is Linear's.
pub fn is_linear_header(cells: &[String]) -> bool {
    let h = Header::new(cells);
    h.has("ID") && h.has("Title") && h.has("Status") && (h.has("Cycle Number") || h.has("Team"))
}

/// A value without Linear's formula guard (`'=SUM…` → `=SUM…`).
fn unguard(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => v,
    }
}

/// Linear's priority as a label (`Urgent` → `priority:urgent`); "No priority" gives none.
fn priority_label(v: &str) -> Option<String> {
    let v = v.trim().to_lowercase();
    if v.is_empty() || v == "no priority" || v == "none" {
        return None;
    }
    Some(format!("priority:{}", v.split_whitespace().collect::<Vec<_>>().join("-")))
}

/// A key for a project's epic: `project-` and 8 characters of its id (or name).
fn project_key(id: Option<&str>, name: &str) -> String {
    let src = id.unwrap_or(name);
    let tail: String =
        src.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect::<String>().to_lowercase();
    if tail.is_empty() {
        // A name without a letter or digit: its length and first character's code keep it apart.
        format!("project-{}-{}", name.chars().count(), name.chars().next().map_or(0, |c| c as u32))
    } else {
        format!("project-{tail}")
    }
}

/// Reads a Linear CSV export into `set`. Call [`ImportSet::finish`] after it.
pub fn read_linear(file_name: &str, bytes: &[u8], set: &mut ImportSet) {
    let push = |set: &mut ImportSet, severity: Severity, line: usize, field: &str, message: String| {
        set.problems.push(Problem {
            severity,
            file: file_name.to_string(),
            line,
            field: field.to_string(),
            message,
        })
    };
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(e) => return push(set, Severity::Error, e.line, "", e.message),
    };
    let records = match parse(text) {
        Ok(r) => r,
        Err(e) => return push(set, Severity::Error, e.line, "", e.message),
    };
    let Some((head, rows)) = records.split_first() else {
        return push(set, Severity::Error, 0, "", "is empty".into());
    };
    if !is_linear_header(&head.cells) {
        return push(
            set,
            Severity::Error,
            head.line,
            "",
            "is not a Linear CSV export (expected the columns ID, Title, Status, Team, Cycle Number…)".into(),
        );
    }
    let h = Header::new(&head.cells);
    let width = head.cells.len();
    let mut items: Vec<SourceItem> = Vec::new();
    // Finished times and started times, by item, to build the status history afterwards.
    let mut started: Vec<Option<crate::Timestamp>> = Vec::new();
    let mut finished: Vec<bool> = Vec::new();
    // Projects: key → (name, first line, member item indexes).
    let mut projects: BTreeMap<String, (String, usize, Vec<usize>)> = BTreeMap::new();
    let mut cycles: HashMap<String, SourceSprint> = HashMap::new();
    for row in rows {
        let get = |name: &str| h.get(row, name).map(unguard).map(str::trim).filter(|s| !s.is_empty());
        if row.cells.len() > width && row.cells[width..].iter().any(|c| !c.trim().is_empty()) {
            push(
                set,
                Severity::Warning,
                row.line,
                "",
                format!(
                    "has {} cells but the header has {width}; the cells beyond the header are ignored",
                    row.cells.len()
                ),
            );
        }
        let Some(key) = get("ID") else {
            push(set, Severity::Error, row.line, "ID", "is empty; the row is left out".into());
            continue;
        };
        if key.chars().count() > 40 || key.chars().any(|c| c.is_whitespace() || c == ',') {
            push(
                set,
                Severity::Error,
                row.line,
                "ID",
                format!("\"{key}\" is not an issue id such as ENG-12; the row is left out"),
            );
            continue;
        }
        let Some(title) = get("Title") else {
            push(set, Severity::Error, row.line, "Title", format!("{key} has no title; the row is left out"));
            continue;
        };
        let time = |set: &mut ImportSet, col: &str| {
            let v = get(col)?;
            let t = parse_time(v);
            if t.is_none() {
                push(
                    set,
                    Severity::Warning,
                    row.line,
                    col,
                    format!("\"{v}\" is not a date (Linear writes ISO 8601); left empty"),
                );
            }
            t
        };
        let created = time(set, "Created");
        let updated = time(set, "Updated");
        let start = time(set, "Started");
        let completed = time(set, "Completed");
        let canceled = time(set, "Canceled");
        let points = match get("Estimate") {
            None => None,
            Some(v) => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
                _ => {
                    push(
                        set,
                        Severity::Warning,
                        row.line,
                        "Estimate",
                        format!("\"{v}\" is not a number; left empty"),
                    );
                    None
                }
            },
        };
        let parent = get("Parent issue").map(str::to_string);
        let mut it = SourceItem {
            file: file_name.to_string(),
            line: row.line,
            key: key.to_string(),
            id: get("UUID").map(str::to_string),
            kind: if parent.is_some() { "Sub-task" } else { "Story" }.to_string(),
            title: title.replace(['\r', '\n'], " "),
            description: h.get(row, "Description").map(unguard).unwrap_or("").to_string(),
            status: get("Status").unwrap_or("").to_string(),
            points,
            parent,
            labels: get("Labels")
                .map(|l| l.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            assignee: get("Assignee").map(str::to_string),
            reporter: get("Creator").map(str::to_string),
            created,
            updated,
            resolved: completed.or(canceled),
            ..Default::default()
        };
        if let Some(p) = get("Priority").and_then(priority_label) {
            if !it.labels.contains(&p) {
                it.labels.push(p);
            }
        }
        // The cycle.
        let cycle = get("Cycle Name")
            .map(str::to_string)
            .or_else(|| get("Cycle Number").map(|n| format!("Cycle {n}")));
        if let Some(name) = cycle {
            let cs = time(set, "Cycle Start");
            let ce = time(set, "Cycle End");
            let s = cycles.entry(name.clone()).or_insert_with(|| SourceSprint {
                id: get("Cycle Number").map(str::to_string),
                name: name.clone(),
                ..Default::default()
            });
            s.start = s.start.or(cs);
            s.end = s.end.or(ce);
            it.sprints.push(name);
        }
        let idx = items.len();
        if let Some(pname) = get("Project") {
            let pk = project_key(get("Project ID"), pname);
            let e = projects.entry(pk).or_insert_with(|| (pname.to_string(), row.line, Vec::new()));
            e.2.push(idx);
        }
        started.push(start);
        finished.push(it.resolved.is_some());
        items.push(it);
    }
    // The status of started, unfinished issues (most common), for the history.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (k, it) in items.iter().enumerate() {
        if started[k].is_some() && !finished[k] && !it.status.is_empty() {
            *counts.entry(it.status.as_str()).or_default() += 1;
        }
    }
    let in_progress = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map_or_else(|| "In Progress".to_string(), |(s, _)| s.to_string());
    for (k, it) in items.iter_mut().enumerate() {
        let author = it.assignee.clone().or(it.reporter.clone()).unwrap_or_default();
        let mut last: Option<String> = None;
        if let Some(at) = started[k] {
            if it.status != in_progress || !finished[k] {
                it.changes.push(SourceChange {
                    at,
                    author: author.clone(),
                    field: ChangeField::Status,
                    from: None,
                    to: Some(in_progress.clone()),
                });
                last = Some(in_progress.clone());
            }
        }
        if let Some(at) = it.resolved {
            if last.as_deref() != Some(it.status.as_str()) {
                it.changes.push(SourceChange {
                    at,
                    author,
                    field: ChangeField::Status,
                    from: last,
                    to: Some(it.status.clone()),
                });
            }
        }
        it.changes.sort_by_key(|c| c.at);
    }
    // Projects as epics.
    let mut epics = Vec::new();
    for (pk, (name, line, members)) in &projects {
        let open = members.iter().find(|&&i| !finished[i]);
        let status = open.or(members.first()).map(|&i| items[i].status.clone()).unwrap_or_default();
        let created = members.iter().filter_map(|&i| items[i].created).min();
        let resolved =
            if open.is_none() { members.iter().filter_map(|&i| items[i].resolved).max() } else { None };
        for &i in members {
            if items[i].parent.is_none() {
                items[i].epic = Some(pk.clone());
            }
        }
        epics.push(SourceItem {
            file: file_name.to_string(),
            line: *line,
            key: pk.clone(),
            kind: "Epic".into(),
            title: name.clone(),
            status,
            created,
            updated: resolved.or(created),
            resolved,
            ..Default::default()
        });
    }
    set.items.extend(epics);
    set.items.extend(items);
    let mut cycles: Vec<SourceSprint> = cycles.into_values().collect();
    cycles.sort_by(|a, b| a.start.cmp(&b.start).then(a.name.cmp(&b.name)));
    set.sprints.extend(cycles);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "ID,Team,Title,Description,Status,Estimate,Priority,Project ID,Project,Creator,Assignee,Labels,Cycle Number,Cycle Name,Cycle Start,Cycle End,Created,Updated,Started,Triaged,Completed,Canceled,Archived,Due Date,Parent issue,Initiatives,Project Milestone ID,Project Milestone,SLA Status,Roadmaps\n";

    #[test]
    fn issues_projects_cycles_and_the_status_history() {
        let csv = format!(
            "{HEAD}\
ENG-1,Eng,Checkout,\"Pay **fast**\",Done,3,High,9f1c2d3e-aaaa,Payments,bob@ex.test,ann@ex.test,\"pay, web\",4,,2024-03-01T00:00:00.000Z,2024-03-15T00:00:00.000Z,2024-03-01T09:00:00.000Z,2024-03-10T17:30:00.000Z,2024-03-04T10:00:00.000Z,,2024-03-10T17:30:00.000Z,,,,,,,,,\n\
ENG-2,Eng,'=cmd,,In Review,,Low,9f1c2d3e-aaaa,Payments,bob@ex.test,,,4,,,,2024-03-02T09:00:00.000Z,2024-03-05T09:00:00.000Z,2024-03-05T09:00:00.000Z,,,,,,,,,,,\n\
ENG-3,Eng,Card form,,Todo,1,No priority,,,bob@ex.test,,,,,,,2024-03-02T10:00:00.000Z,2024-03-02T10:00:00.000Z,,,,,,,ENG-1,,,,,\n\
,Eng,No id,,Todo,,,,,,,,,,,,,,,,,,,,,,,,,\n\
ENG-5,Eng,Bad,,Todo,many,,,,,,,,,,,then,,,,,,,,,,,,,\n"
        );
        let mut set = ImportSet::default();
        read_linear("linear.csv", csv.as_bytes(), &mut set);
        set.finish();
        let got: Vec<(usize, &str)> = set.problems.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert_eq!(got, [(5, "ID"), (6, "Created"), (6, "Estimate")]);
        let keys: Vec<&str> = set.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["project-9f1c2d3e", "ENG-1", "ENG-2", "ENG-3", "ENG-5"]);
        let epic = &set.items[0];
        assert_eq!(
            (epic.kind.as_str(), epic.title.as_str(), epic.status.as_str()),
            ("Epic", "Payments", "In Review")
        );
        let a = &set.items[1];
        assert_eq!(
            (a.points, a.labels.clone()),
            (Some(3.0), vec!["pay".into(), "web".into(), "priority:high".into()])
        );
        assert_eq!(a.epic.as_deref(), Some("project-9f1c2d3e"));
        assert_eq!(a.sprints, ["Cycle 4"]);
        assert_eq!(a.resolved, parse_time("2024-03-10T17:30:00Z"));
        // Started into the status of started issues, then done.
        let h: Vec<(Option<&str>, Option<&str>)> =
            a.changes.iter().map(|c| (c.from.as_deref(), c.to.as_deref())).collect();
        assert_eq!(h, [(None, Some("In Review")), (Some("In Review"), Some("Done"))]);
        assert_eq!(set.items[2].title, "=cmd");
        assert_eq!(set.items[2].labels, ["priority:low"]);
        // "No priority" gives no label.
        assert!(set.items[3].labels.is_empty());
        assert_eq!(set.items[2].changes.len(), 1);
        let sub = &set.items[3];
        assert_eq!(
            (sub.kind.as_str(), sub.parent.as_deref(), sub.epic.as_deref()),
            ("Sub-task", Some("ENG-1"), None)
        );
        assert_eq!(set.sprints.len(), 1);
        assert_eq!(set.sprints[0].start, parse_time("2024-03-01"));
    }

    #[test]
    fn priorities_become_labels() {
        for (v, want) in [
            ("Urgent", Some("priority:urgent")),
            ("High", Some("priority:high")),
            ("Medium", Some("priority:medium")),
            ("Low", Some("priority:low")),
            ("No priority", None),
            (" ", None),
        ] {
            assert_eq!(priority_label(v).as_deref(), want, "{v}");
        }
    }

    #[test]
    fn not_linear() {
        let mut set = ImportSet::default();
        read_linear("x.csv", b"Summary,Issue key\nA,X-1\n", &mut set);
        assert!(set.problems[0].message.contains("not a Linear"));
        let mut set = ImportSet::default();
        read_linear("x.csv", b"", &mut set);
        assert_eq!(set.problems[0].message, "is empty");
    }
}
