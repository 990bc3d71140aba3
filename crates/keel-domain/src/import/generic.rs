//! Any CSV: a column map (a TOML file) names the column that holds each field, and the
//! delimiter. Every row problem is named by its line and column.
//!
//! ```toml
//! delimiter = ";"          # one character; "," when left out ("\t" for tabs)
//! key = "Ticket"           # required: a key per row, kept as the label `csv:KEY`
//! title = "Subject"        # required
//! description = "Body"
//! kind = "Type"            # epic, story, bug, task, spike, or names mapped under [kinds]
//! status = "State"
//! points = "Estimate"
//! labels = "Tags"
//! label_separator = ","    # how labels are joined in their cell; "," when left out
//! assignee = "Owner"
//! reporter = "Author"
//! parent = "Parent"        # the parent's key
//! sprint = "Iteration"
//! release = "Version"
//! created = "Opened"
//! updated = "Changed"
//! resolved = "Closed"
//! ```

use super::csv::{decode, CsvError, Record};
use super::jira::parse_time;
use super::{ImportSet, Problem, Severity, SourceItem};
use crate::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;

/// Which column holds each field (by its header name), and how the file is split.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The delimiter: one character (`,` when left out).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// The key column (required).
    pub key: String,
    /// The title column (required).
    pub title: String,
    /// Description (Markdown as it is).
    #[serde(default)]
    pub description: Option<String>,
    /// Kind (item type).
    #[serde(default)]
    pub kind: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Story points.
    #[serde(default)]
    pub points: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<String>,
    /// How labels are separated in their cell (`,` when left out).
    #[serde(default)]
    pub label_separator: Option<String>,
    /// Assignee (e-mail or name).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Reporter (e-mail or name).
    #[serde(default)]
    pub reporter: Option<String>,
    /// The parent's key.
    #[serde(default)]
    pub parent: Option<String>,
    /// Sprint name.
    #[serde(default)]
    pub sprint: Option<String>,
    /// Release (fix version) name.
    #[serde(default)]
    pub release: Option<String>,
    /// Created.
    #[serde(default)]
    pub created: Option<String>,
    /// Last updated.
    #[serde(default)]
    pub updated: Option<String>,
    /// Resolved.
    #[serde(default)]
    pub resolved: Option<String>,
}

impl ColumnMap {
    /// The delimiter as one byte, or a message naming the field.
    pub fn delimiter_byte(&self) -> Result<u8, String> {
        match self.delimiter.as_deref() {
            None => Ok(b','),
            Some("\\t") | Some("\t") | Some("tab") => Ok(b'\t'),
            Some(d) if d.len() == 1 && !matches!(d.as_bytes()[0], b'"' | b'\r' | b'\n') => {
                Ok(d.as_bytes()[0])
            }
            Some(d) => Err(format!("\"{d}\" is not one ASCII character (such as \",\", \";\" or \"\\t\")")),
        }
    }
}

/// Header names (trimmed, any case) → column positions; the first of repeated names wins.
pub(crate) struct Header {
    by_name: HashMap<String, usize>,
}

impl Header {
    pub(crate) fn new(cells: &[String]) -> Self {
        let mut by_name = HashMap::new();
        for (i, h) in cells.iter().enumerate() {
            by_name.entry(h.trim().to_lowercase()).or_insert(i);
        }
        Header { by_name }
    }
    pub(crate) fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(&name.trim().to_lowercase())
    }
    /// The trimmed, non-empty cell of column `name` in `row`.
    pub(crate) fn get<'a>(&self, row: &'a Record, name: &str) -> Option<&'a str> {
        let i = *self.by_name.get(&name.trim().to_lowercase())?;
        row.cells.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// Splits delimited text into records, like the Jira reader but with any one-byte delimiter.
pub fn parse_delimited(text: &str, delim: u8) -> Result<Vec<Record>, CsvError> {
    if !delim.is_ascii() || matches!(delim, b'"' | b'\r' | b'\n') {
        return Err(CsvError {
            line: 0,
            message: "the delimiter must be one ASCII character other than a quote or a line end".into(),
        });
    }
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut i, mut line) = (0usize, 1usize);
    let is_end = |c: u8| c == delim || c == b'\n' || c == b'\r';
    while i < b.len() {
        let start_line = line;
        let mut cells = Vec::new();
        loop {
            let mut cell = String::new();
            if i < b.len() && b[i] == b'"' {
                i += 1;
                let mut seg = i;
                loop {
                    if i >= b.len() {
                        return Err(CsvError {
                            line: start_line,
                            message: "ends inside a quoted cell (the file looks truncated)".into(),
                        });
                    }
                    match b[i] {
                        b'"' if b.get(i + 1) == Some(&b'"') => {
                            cell.push_str(&text[seg..=i]);
                            i += 2;
                            seg = i;
                        }
                        b'"' => {
                            cell.push_str(&text[seg..i]);
                            i += 1;
                            break;
                        }
                        b'\n' => {
                            line += 1;
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
            }
            // Unquoted text (or anything after a closing quote) up to the delimiter. The
            // delimiter is ASCII, so the slice bounds are character boundaries.
            let seg = i;
            while i < b.len() && !is_end(b[i]) {
                i += 1;
            }
            cell.push_str(&text[seg..i]);
            cells.push(cell);
            if i < b.len() && b[i] == delim {
                i += 1;
                continue;
            }
            if i < b.len() && b[i] == b'\r' {
                i += 1;
            }
            if i < b.len() && b[i] == b'\n' {
                i += 1;
                line += 1;
            }
            break;
        }
        if !(cells.len() == 1 && cells[0].is_empty()) {
            out.push(Record { line: start_line, cells });
        }
    }
    Ok(out)
}

/// Whether a key can be kept as a label (`csv:KEY`): no blanks or commas, at most 40 characters.
fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().count() <= 40 && !k.chars().any(|c| c.is_whitespace() || c == ',')
}

/// Reads one CSV file with the column map into `set`. Call [`ImportSet::finish`] after it.
pub fn read_generic(file_name: &str, bytes: &[u8], columns: &ColumnMap, set: &mut ImportSet) {
    let push = |set: &mut ImportSet, severity: Severity, line: usize, field: &str, message: String| {
        set.problems.push(Problem {
            severity,
            file: file_name.to_string(),
            line,
            field: field.to_string(),
            message,
        })
    };
    let delim = match columns.delimiter_byte() {
        Ok(d) => d,
        Err(m) => return push(set, Severity::Error, 0, "delimiter", m),
    };
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(e) => return push(set, Severity::Error, e.line, "", e.message),
    };
    let records = match parse_delimited(text, delim) {
        Ok(r) => r,
        Err(e) => return push(set, Severity::Error, e.line, "", e.message),
    };
    let Some((head, rows)) = records.split_first() else {
        return push(set, Severity::Error, 0, "", "is empty".into());
    };
    let header = Header::new(&head.cells);
    let named: Vec<(&str, &str)> = [
        ("key", Some(&columns.key)),
        ("title", Some(&columns.title)),
        ("description", columns.description.as_ref()),
        ("kind", columns.kind.as_ref()),
        ("status", columns.status.as_ref()),
        ("points", columns.points.as_ref()),
        ("labels", columns.labels.as_ref()),
        ("assignee", columns.assignee.as_ref()),
        ("reporter", columns.reporter.as_ref()),
        ("parent", columns.parent.as_ref()),
        ("sprint", columns.sprint.as_ref()),
        ("release", columns.release.as_ref()),
        ("created", columns.created.as_ref()),
        ("updated", columns.updated.as_ref()),
        ("resolved", columns.resolved.as_ref()),
    ]
    .into_iter()
    .filter_map(|(f, c)| Some((f, c?.as_str())))
    .collect();
    let mut missing = false;
    for (field, col) in &named {
        if !header.has(col) {
            missing = true;
            push(
                set,
                Severity::Error,
                head.line,
                col,
                format!("the column map's {field} names this column, but the header has no such column"),
            );
        }
    }
    if missing {
        return;
    }
    let sep = columns.label_separator.as_deref().filter(|s| !s.is_empty()).unwrap_or(",");
    let width = head.cells.len();
    for row in rows {
        let cell = |name: Option<&String>| name.and_then(|n| header.get(row, n));
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
        let Some(key) = cell(Some(&columns.key)) else {
            push(set, Severity::Error, row.line, &columns.key, "is empty; the row is left out".into());
            continue;
        };
        if !valid_key(key) {
            push(
                set,
                Severity::Error,
                row.line,
                &columns.key,
                format!("\"{key}\" is not a key Keel can keep (1 to 40 characters, no blanks or commas); the row is left out"),
            );
            continue;
        }
        let Some(title) = cell(Some(&columns.title)) else {
            push(
                set,
                Severity::Error,
                row.line,
                &columns.title,
                format!("{key} has no title; the row is left out"),
            );
            continue;
        };
        let time = |set: &mut ImportSet, col: Option<&String>| -> Option<Timestamp> {
            let v = cell(col)?;
            let t = parse_time(v);
            if t.is_none() {
                push(
                    set,
                    Severity::Warning,
                    row.line,
                    col.map_or("", String::as_str),
                    format!("\"{v}\" is not a date Keel reads (such as 2024-05-11, 2024-05-11 15:26 or 11/May/24 03:26 PM); left empty"),
                );
            }
            t
        };
        let created = time(set, columns.created.as_ref());
        let updated = time(set, columns.updated.as_ref());
        let resolved = time(set, columns.resolved.as_ref());
        let points = match cell(columns.points.as_ref()) {
            None => None,
            Some(v) => match v.replace(',', ".").parse::<f64>() {
                Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
                _ => {
                    push(
                        set,
                        Severity::Warning,
                        row.line,
                        columns.points.as_deref().unwrap_or(""),
                        format!("\"{v}\" is not a number of points; left empty"),
                    );
                    None
                }
            },
        };
        set.items.push(SourceItem {
            file: file_name.to_string(),
            line: row.line,
            key: key.to_string(),
            kind: cell(columns.kind.as_ref()).unwrap_or("story").to_string(),
            title: title.replace(['\r', '\n'], " "),
            description: cell(columns.description.as_ref()).unwrap_or("").to_string(),
            status: cell(columns.status.as_ref()).unwrap_or("").to_string(),
            points,
            parent: cell(columns.parent.as_ref()).map(str::to_string),
            sprints: cell(columns.sprint.as_ref()).map(str::to_string).into_iter().collect(),
            fix_versions: cell(columns.release.as_ref()).map(str::to_string).into_iter().collect(),
            labels: cell(columns.labels.as_ref())
                .map(|l| l.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            assignee: cell(columns.assignee.as_ref()).map(str::to_string),
            reporter: cell(columns.reporter.as_ref()).map(str::to_string),
            created,
            updated,
            resolved,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(toml_like: &[(&str, &str)]) -> ColumnMap {
        let mut m = ColumnMap { key: "Ticket".into(), title: "Subject".into(), ..Default::default() };
        for (k, v) in toml_like {
            let v = Some(v.to_string());
            match *k {
                "delimiter" => m.delimiter = v,
                "status" => m.status = v,
                "points" => m.points = v,
                "labels" => m.labels = v,
                "label_separator" => m.label_separator = v,
                "parent" => m.parent = v,
                "created" => m.created = v,
                "kind" => m.kind = v,
                _ => unreachable!(),
            }
        }
        m
    }

    #[test]
    fn a_semicolon_file_with_every_problem_named() {
        let m = map(&[
            ("delimiter", ";"),
            ("status", "State"),
            ("points", "SP"),
            ("labels", "Tags"),
            ("label_separator", "|"),
            ("parent", "Parent"),
            ("created", "Opened"),
            ("kind", "Type"),
        ]);
        let csv = "Ticket;Subject;State;SP;Tags;Parent;Opened;Type\n\
T-1;\"Big; thing\";Doing;3,5;a|b c;;2024-05-11;epic\n\
T-2;Small;Done;lots;;T-1;yesterday;\n\
;No key;Done;;;;;\n\
T 4;Spaced;Done;;;;;\n\
T-5;;Done;;;;;\n\
T-6;Fine;Done;1;;;;;extra\n";
        let mut set = ImportSet::default();
        read_generic("g.csv", csv.as_bytes(), &m, &mut set);
        let got: Vec<(usize, &str)> = set.problems.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert_eq!(got, [(3, "Opened"), (3, "SP"), (4, "Ticket"), (5, "Ticket"), (6, "Subject"), (7, "")]);
        assert_eq!(set.items.len(), 3);
        let a = &set.items[0];
        assert_eq!((a.title.as_str(), a.points, a.kind.as_str()), ("Big; thing", Some(3.5), "epic"));
        assert_eq!(a.labels, ["a", "b c"]);
        assert_eq!(a.created, parse_time("2024-05-11"));
        assert_eq!(set.items[1].parent.as_deref(), Some("T-1"));
        assert_eq!(set.items[1].kind, "story");
    }

    #[test]
    fn missing_columns_and_bad_delimiters_are_named() {
        let mut set = ImportSet::default();
        read_generic("g.csv", b"Ticket,Title\nA-1,x\n", &map(&[("status", "State")]), &mut set);
        let got: Vec<(usize, &str)> = set.problems.iter().map(|p| (p.line, p.field.as_str())).collect();
        assert_eq!(got, [(1, "Subject"), (1, "State")]);
        let mut set = ImportSet::default();
        read_generic("g.csv", b"Ticket\n", &map(&[("delimiter", ";;")]), &mut set);
        assert_eq!(set.problems[0].field, "delimiter");
        assert_eq!(map(&[("delimiter", "\\t")]).delimiter_byte(), Ok(b'\t'));
        let r = parse_delimited("a\tb\n\"x\ty\"\tz", b'\t').unwrap();
        assert_eq!(r[1].cells, ["x\ty", "z"]);
        assert!(parse_delimited("a;\"b", b';').is_err());
    }
}
