//! Moving in: source files turned into a neutral import set that the application maps onto a
//! product. Pure: bytes in, values and problems out; no database, no clock.
//!
//! Every problem names the file, the line and the field. An `Error` means the row (or the file)
//! is left out; a `Warning` means the row is kept but something in it is dropped (a parent that
//! is not in the source, cells beyond the header). With `--strict` either means nothing is written.

pub mod csv;
pub mod generic;
pub mod jira;
pub mod json;
pub mod linear;
pub mod markup;

use crate::Timestamp;
use std::collections::{HashMap, HashSet};

/// A map keyed by what an import file holds (issue keys, ids, names), with a fast hash seeded
/// for each process: a million-row import looks keys up several million times, and the
/// standard hash was a quarter of reading it.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// A set like [`FastMap`].
pub type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The row is kept; something in it is dropped or guessed.
    Warning,
    /// The row (or file) is left out.
    Error,
}

/// One thing in the source that could not be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Warning or error.
    pub severity: Severity,
    /// The file's name as given.
    pub file: String,
    /// File line (1-based; 0 when it concerns the whole file or the set).
    pub line: usize,
    /// The field (column) concerned, or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{sev}: {}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, " field \"{}\"", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A comment on an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceComment {
    /// When.
    pub at: Option<Timestamp>,
    /// Who (an e-mail, user name or id as the source gives it).
    pub author: String,
    /// Markdown.
    pub body: String,
}

/// Which field a past change touched (the ones delivery metrics read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeField {
    /// Workflow status (by name).
    Status,
    /// Sprint (names, comma separated in Jira).
    Sprint,
    /// Story points.
    Points,
    /// Issue type (by name).
    Kind,
}

/// One past change of an item, from the source's changelog.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChange {
    /// When.
    pub at: Timestamp,
    /// Who, as the source names them.
    pub author: String,
    /// What.
    pub field: ChangeField,
    /// Value before (display text), if any.
    pub from: Option<String>,
    /// Value after (display text), if any.
    pub to: Option<String>,
}

/// One issue of the source, in neutral terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceItem {
    /// Source file.
    pub file: String,
    /// Line of the row.
    pub line: usize,
    /// The source's key (`SHOP-12`).
    pub key: String,
    /// The source's numeric id, when given (parents and changelogs may refer to it).
    pub id: Option<String>,
    /// Issue type name (`Story`, `Sub-task`…).
    pub kind: String,
    /// Summary.
    pub title: String,
    /// Description, already Markdown.
    pub description: String,
    /// Status name.
    pub status: String,
    /// Story points.
    pub points: Option<f64>,
    /// Original estimate, in seconds.
    pub estimate_seconds: Option<i64>,
    /// Parent's key (sub-tasks; team-managed epics).
    pub parent: Option<String>,
    /// Epic's key (company-managed projects).
    pub epic: Option<String>,
    /// Sprint names, oldest first; the last is the current one.
    pub sprints: Vec<String>,
    /// Fix version names.
    pub fix_versions: Vec<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Assignee as the source names them (e-mail, user name or id).
    pub assignee: Option<String>,
    /// Reporter likewise.
    pub reporter: Option<String>,
    /// Created.
    pub created: Option<Timestamp>,
    /// Last updated.
    pub updated: Option<Timestamp>,
    /// Resolved.
    pub resolved: Option<Timestamp>,
    /// Comments, oldest first.
    pub comments: Vec<SourceComment>,
    /// Past changes, oldest first.
    pub changes: Vec<SourceChange>,
    /// Links to other items of the source (outward only, so each link is given once).
    pub links: Vec<SourceLink>,
}

/// How two items of the source are linked, in the terms Keel has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceLinkKind {
    /// This item blocks the other.
    Blocks,
    /// This item duplicates the other.
    Duplicates,
    /// Any other relation.
    RelatesTo,
}

/// A link from an item to another item of the source, by the other's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLink {
    /// The kind.
    pub kind: SourceLinkKind,
    /// The other item's key.
    pub to: String,
}

impl SourceItem {
    /// The parent the hierarchy uses: the parent link, else the epic link.
    pub fn parent_key(&self) -> Option<&str> {
        self.parent.as_deref().or(self.epic.as_deref())
    }
}

/// A sprint as a source describes it (a sprint file or the agile API).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceSprint {
    /// Source id.
    pub id: Option<String>,
    /// Name (items refer to it by name).
    pub name: String,
    /// `future`, `active` or `closed`.
    pub state: String,
    /// Start.
    pub start: Option<Timestamp>,
    /// Planned end.
    pub end: Option<Timestamp>,
    /// When it was closed.
    pub completed: Option<Timestamp>,
    /// Goal.
    pub goal: String,
}

/// A user as a source's user file gives them (to turn ids into e-mails).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceUser {
    /// Source id or user name.
    pub id: String,
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// Everything read from the files: items, sprints, users and the problems met.
#[derive(Debug, Clone, Default)]
pub struct ImportSet {
    /// Items in source order.
    pub items: Vec<SourceItem>,
    /// Sprints described by a sprint file.
    pub sprints: Vec<SourceSprint>,
    /// Users described by a user file.
    pub users: Vec<SourceUser>,
    /// Problems met.
    pub problems: Vec<Problem>,
}

impl ImportSet {
    /// Whether any problem was met (strict mode writes nothing then).
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Rewrites user ids into e-mails where a user file gave them; checks the set as a whole:
    /// duplicate keys (the later row is left out), parents that are not in the set (warning;
    /// the writer looks for them in the product), and circular parent chains (their links are
    /// dropped). Call once after every file has been read.
    pub fn finish(&mut self) {
        // Users.
        if !self.users.is_empty() {
            let by_id: FastMap<&str, &str> = self
                .users
                .iter()
                .filter(|u| !u.email.is_empty())
                .map(|u| (u.id.as_str(), u.email.as_str()))
                .collect();
            let map = |v: &mut Option<String>| {
                if let Some(e) = v.as_deref().and_then(|x| by_id.get(x)) {
                    *v = Some((*e).to_string());
                }
            };
            for it in &mut self.items {
                map(&mut it.assignee);
                map(&mut it.reporter);
                for c in &mut it.comments {
                    if let Some(e) = by_id.get(c.author.as_str()) {
                        c.author = (*e).to_string();
                    }
                }
                for c in &mut it.changes {
                    if let Some(e) = by_id.get(c.author.as_str()) {
                        c.author = (*e).to_string();
                    }
                }
            }
        }
        // Duplicate keys.
        let keep: Vec<bool> = {
            let mut seen: FastMap<&str, usize> = FastMap::default();
            let problems = &mut self.problems;
            self.items
                .iter()
                .map(|it| match seen.get(it.key.as_str()) {
                    Some(first) => {
                        problems.push(Problem {
                            severity: Severity::Error,
                            file: it.file.clone(),
                            line: it.line,
                            field: "key".into(),
                            message: format!(
                                "{} appears twice (first on line {first}); this row is left out",
                                it.key
                            ),
                        });
                        false
                    }
                    None => {
                        seen.insert(it.key.as_str(), it.line);
                        true
                    }
                })
                .collect()
        };
        let mut k = 0;
        self.items.retain(|_| {
            k += 1;
            keep[k - 1]
        });
        // Parents by id → by key.
        let by_key: Vec<(usize, String)> = {
            let by_id: FastMap<&str, &str> =
                self.items.iter().filter_map(|i| Some((i.id.as_deref()?, i.key.as_str()))).collect();
            self.items
                .iter()
                .enumerate()
                .filter_map(|(n, it)| Some((n, by_id.get(it.parent.as_deref()?)?.to_string())))
                .collect()
        };
        for (n, key) in by_key {
            self.items[n].parent = Some(key);
        }
        // Circular chains.
        let index: FastMap<&str, usize> =
            self.items.iter().enumerate().map(|(i, it)| (it.key.as_str(), i)).collect();
        let mut in_cycle: FastSet<usize> = FastSet::default();
        for start in 0..self.items.len() {
            let mut path = vec![start];
            let mut cur = start;
            while let Some(next) = self.items[cur].parent_key().and_then(|p| index.get(p)).copied() {
                if let Some(pos) = path.iter().position(|x| *x == next) {
                    in_cycle.extend(path[pos..].iter().copied());
                    break;
                }
                if path.len() > 64 || in_cycle.contains(&next) {
                    break;
                }
                path.push(next);
                cur = next;
            }
        }
        drop(index);
        let mut cyc: Vec<usize> = in_cycle.into_iter().collect();
        cyc.sort_unstable();
        for i in cyc {
            let it = &mut self.items[i];
            self.problems.push(Problem {
                severity: Severity::Warning,
                file: it.file.clone(),
                line: it.line,
                field: if it.parent.is_some() { "parent".into() } else { "epic link".into() },
                message: format!(
                    "{} is part of a circular parent chain (through {}); its parent is dropped",
                    it.key,
                    it.parent_key().unwrap_or("")
                ),
            });
            it.parent = None;
            it.epic = None;
        }
    }
}

#[cfg(test)]
mod no_panic {
    //! The readers take any bytes: every cut of realistic files, and arbitrary bytes, give
    //! problems, never a panic.
    use super::*;
    use proptest::prelude::*;

    const JSON: &str = r#"{"names": {"customfield_1": "Sprint"}, "issues": [{"id": "1", "key": "A-1", "fields": {"summary": "s", "status": {"name": "To Do"}, "created": "2024-05-11T15:26:00.000+0000", "customfield_1": ["com.atlassian.greenhopper.service.sprint.Sprint@1[id=1,name=S é,startDate=2024-01-01T00:00:00.000Z]"], "description": {"type": "doc", "content": [{"type": "table", "content": [{"type": "tableRow", "content": []}]}, {"type": "date", "attrs": {"timestamp": "99999999999999999"}}]}, "issuelinks": [{"type": {"name": "Blocks"}, "outwardIssue": {"key": "A-2"}}], "comment": {"comments": [{"body": "hi", "created": "11/May/99999999999 03:26 PM"}]}}, "changelog": {"histories": [{"created": "2024-05-12", "items": [{"field": "status", "toString": "Done"}]}]}}]}"#;
    const LINEAR: &str = "ID,Team,Title,Status,Estimate,Project ID,Project,Cycle Number,Created,Started,Completed,Parent issue\nE-1,T,\"a, é\",Done,2,p1,Proj,3,2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,2024-05-03T00:00:00Z,\nE-2,T,'=b,Todo,x,,,,,,,E-1\n";
    const CSV: &str = "K;T;P;C\nA-1;\"x; é\";1,5;2024-05-01\nA-2;y;z;11/May/24 03:26 PM\n";

    fn columns() -> generic::ColumnMap {
        generic::ColumnMap {
            delimiter: Some(";".into()),
            key: "K".into(),
            title: "T".into(),
            points: Some("P".into()),
            created: Some("C".into()),
            ..Default::default()
        }
    }

    fn all(bytes: &[u8]) {
        let mut set = ImportSet::default();
        json::read_json("f", bytes, &mut set);
        linear::read_linear("f", bytes, &mut set);
        generic::read_generic("f", bytes, &columns(), &mut set);
        jira::read_file(&mut set, "f", bytes);
        jira::attach_history(&mut set);
        set.finish();
    }

    #[test]
    fn every_cut_of_realistic_files() {
        for text in [JSON, LINEAR, CSV] {
            let b = text.as_bytes();
            for n in 0..=b.len() {
                all(&b[..n]);
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            all(&bytes);
        }

        #[test]
        fn arbitrary_text(text in "[\\[\\]{}\",;:a-zA-Z0-9 \n'=-]{0,300}") {
            all(text.as_bytes());
            let mut set = ImportSet::default();
            generic::read_generic("f", text.as_bytes(), &generic::ColumnMap { delimiter: Some("\t".into()), ..columns() }, &mut set);
        }
    }
}
