//! Jira REST JSON: the pages of `/rest/api/2/search` and `/rest/api/3/search` (`{"issues": […]}`,
//! best fetched with `expand=changelog,names`), a single issue (`/rest/api/{2|3}/issue/{key}`), and
//! the agile API's sprint pages (`/rest/agile/1.0/board/{id}/sprint`: `{"values": […]}`).
//!
//! - Story points, the sprint field and the epic link are custom fields: found through the page's
//!   `names` map (field id → display name) when it has one, else by the ids Jira uses by default
//!   and, for sprints, by the shape of the value (objects with `boardId`, or the old
//!   `com.atlassian.greenhopper.service.sprint.Sprint@…[name=…]` strings).
//! - People: the e-mail when Jira gives it, else the display name, else the account id.
//! - Descriptions and comments: API v2 gives Jira wiki markup (converted like the CSV's), v3 the
//!   Atlassian Document Format (a JSON tree, converted here to Markdown).
//! - `changelog.histories` becomes the item's past changes (status, sprint, story points, type).
//! - `issuelinks`: outward links only, so each link is read once (blocks, duplicates, the rest
//!   as "relates to").
//!
//! JSON has no useful lines: problems name the issue's place in the file (`issues[3]`) as the field.

use super::jira::{attach_history, parse_time, read_file};
use super::markup::jira_to_markdown;
use super::{
    ChangeField, ImportSet, Problem, Severity, SourceChange, SourceComment, SourceItem, SourceLink,
    SourceLinkKind, SourceSprint,
};
use crate::Timestamp;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Default ids of the story points fields (Cloud's "Story point estimate", "Story Points" of
/// older Cloud sites and Server/Data Center).
const POINTS_IDS: [&str; 5] =
    ["customfield_10016", "customfield_10026", "customfield_10002", "customfield_10004", "customfield_10106"];
/// Default ids of the epic link field (Cloud, Server).
const EPIC_IDS: [&str; 2] = ["customfield_10014", "customfield_10008"];
/// The class name in old sprint strings.
const SPRINT_CLASS: &str = "com.atlassian.greenhopper.service.sprint.Sprint@";

/// Whether the bytes look like JSON (their first character, after a BOM and blanks, opens an
/// object or an array): how `keel import jira` tells JSON files from CSV ones.
pub fn looks_like_json(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    matches!(b.iter().find(|c| !c.is_ascii_whitespace()), Some(b'{' | b'['))
}

/// Reads a mix of Jira files, CSV or JSON (told apart by their content), attaches the CSV
/// history rows to their items and checks the set.
pub fn read_jira_files(files: &[(String, Vec<u8>)]) -> ImportSet {
    let mut set = ImportSet::default();
    for (name, bytes) in files {
        if looks_like_json(bytes) {
            read_json(name, bytes, &mut set);
        } else {
            read_file(&mut set, name, bytes);
        }
    }
    attach_history(&mut set);
    set.finish();
    set
}

/// Reads one Jira REST JSON file (search page, array of pages, single issue or agile sprint
/// page) into `set`. Call [`ImportSet::finish`] after the last file.
pub fn read_json(file_name: &str, bytes: &[u8], set: &mut ImportSet) {
    let err = |set: &mut ImportSet, field: &str, message: String| {
        set.problems.push(Problem {
            severity: Severity::Error,
            file: file_name.to_string(),
            line: 0,
            field: field.to_string(),
            message,
        })
    };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return set.problems.push(Problem {
                severity: Severity::Error,
                file: file_name.to_string(),
                line: e.line(),
                field: String::new(),
                message: format!("is not valid JSON: {e}"),
            })
        }
    };
    let pages: Vec<&Value> = match &doc {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    let mut read_any = false;
    for (p, page) in pages.iter().enumerate() {
        let prefix = if pages.len() > 1 { format!("[{p}].") } else { String::new() };
        let Some(obj) = page.as_object() else {
            err(set, prefix.trim_end_matches('.'), "is not a JSON object".into());
            continue;
        };
        let names = Names::new(obj.get("names"));
        if let Some(issues) = obj.get("issues") {
            read_any = true;
            let Some(issues) = issues.as_array() else {
                err(set, &format!("{prefix}issues"), "is not an array".into());
                continue;
            };
            for (i, issue) in issues.iter().enumerate() {
                let place = format!("{prefix}issues[{i}]");
                read_issue(file_name, &place, issue, &names, set);
            }
        } else if obj.contains_key("fields") && obj.contains_key("key") {
            read_any = true;
            read_issue(file_name, prefix.trim_end_matches('.'), page, &names, set);
        } else if let Some(values) = obj.get("values") {
            read_any = true;
            let Some(values) = values.as_array() else {
                err(set, &format!("{prefix}values"), "is not an array".into());
                continue;
            };
            for (i, v) in values.iter().enumerate() {
                let place = format!("{prefix}values[{i}]");
                match sprint_object(v) {
                    Some(s) => push_sprint(set, s),
                    None => err(set, &place, "is not a sprint (it needs a name); left out".into()),
                }
            }
        }
    }
    if !read_any {
        err(
            set,
            "",
            "is not a Jira JSON file this importer knows (expected a search page with \"issues\", \
             an issue with \"key\" and \"fields\", or an agile sprint page with \"values\")"
                .into(),
        );
    }
}

/// The custom fields found through the `names` map, or the default ids.
struct Names {
    points: Vec<String>,
    sprint: Vec<String>,
    epic: Vec<String>,
    /// Field id → display name, lower case (to read changelog items by id).
    by_id: HashMap<String, String>,
}

impl Names {
    fn new(names: Option<&Value>) -> Self {
        let mut n = Names { points: vec![], sprint: vec![], epic: vec![], by_id: HashMap::new() };
        if let Some(map) = names.and_then(Value::as_object) {
            for (id, name) in map {
                let Some(name) = name.as_str() else { continue };
                let lower = name.trim().to_lowercase();
                match lower.as_str() {
                    "story points" | "story point estimate" => n.points.push(id.clone()),
                    "sprint" => n.sprint.push(id.clone()),
                    "epic link" => n.epic.push(id.clone()),
                    _ => {}
                }
                n.by_id.insert(id.clone(), lower);
            }
        }
        if n.by_id.is_empty() {
            n.points = POINTS_IDS.iter().map(|s| s.to_string()).collect();
            n.epic = EPIC_IDS.iter().map(|s| s.to_string()).collect();
        }
        n
    }
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A string or a number as text (ids come either way).
fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A person: e-mail, else display name, else account id (or the Server user name).
fn person(v: Option<&Value>) -> Option<String> {
    let o = v?.as_object()?;
    ["emailAddress", "displayName", "accountId", "name", "key"]
        .iter()
        .find_map(|k| str_of(o.get(*k)))
        .map(str::to_string)
}

/// A description or comment body: wiki markup (v2) or ADF (v3), as Markdown.
fn rich_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => jira_to_markdown(s),
        Some(v @ Value::Object(_)) => adf_to_markdown(v),
        _ => String::new(),
    }
}

fn read_issue(file: &str, place: &str, issue: &Value, names: &Names, set: &mut ImportSet) {
    let problem = |set: &mut ImportSet, severity: Severity, field: &str, message: String| {
        set.problems.push(Problem {
            severity,
            file: file.to_string(),
            line: 0,
            field: if field.is_empty() { place.to_string() } else { format!("{place}.{field}") },
            message,
        })
    };
    let Some(obj) = issue.as_object() else {
        return problem(set, Severity::Error, "", "is not an issue object; left out".into());
    };
    let Some(key) = str_of(obj.get("key")) else {
        return problem(set, Severity::Error, "key", "is missing; the issue is left out".into());
    };
    if !valid_key(key) {
        return problem(
            set,
            Severity::Error,
            "key",
            format!("\"{key}\" is not an issue key such as SHOP-12; the issue is left out"),
        );
    }
    let empty = Map::new();
    let f = obj.get("fields").and_then(Value::as_object).unwrap_or(&empty);
    let Some(title) = str_of(f.get("summary")) else {
        return problem(set, Severity::Error, "fields.summary", format!("{key} has no summary; left out"));
    };
    let mut it = SourceItem {
        file: file.to_string(),
        line: 0,
        key: key.to_string(),
        id: text_of(obj.get("id")),
        title: title.replace(['\r', '\n'], " "),
        ..Default::default()
    };
    it.kind = str_of(f.get("issuetype").and_then(|t| t.get("name"))).unwrap_or_default().to_string();
    it.status = str_of(f.get("status").and_then(|t| t.get("name"))).unwrap_or_default().to_string();
    it.description = rich_text(f.get("description"));
    // Story points: the first number among the points fields.
    for id in &names.points {
        match f.get(id) {
            Some(Value::Number(n)) => match n.as_f64().filter(|x| x.is_finite() && *x >= 0.0) {
                Some(x) => {
                    it.points = Some(x);
                    break;
                }
                None => problem(
                    set,
                    Severity::Warning,
                    &format!("fields.{id}"),
                    format!("{key}: {n} is not a number of points; left empty"),
                ),
            },
            Some(Value::Null) | None => {}
            Some(other) if !names.by_id.is_empty() => problem(
                set,
                Severity::Warning,
                &format!("fields.{id}"),
                format!("{key}: {other} is not a number of points; left empty"),
            ),
            Some(_) => {}
        }
    }
    it.estimate_seconds = f
        .get("timeoriginalestimate")
        .and_then(Value::as_i64)
        .or_else(|| {
            f.get("timetracking").and_then(|t| t.get("originalEstimateSeconds")).and_then(Value::as_i64)
        })
        .filter(|s| *s >= 0);
    it.parent = str_of(f.get("parent").and_then(|p| p.get("key"))).map(str::to_string);
    it.epic = names.epic.iter().find_map(|id| str_of(f.get(id)).filter(|k| valid_key(k))).map(str::to_string);
    // Sprints: the named field, else any custom field holding sprints.
    let mut sprint_values: Vec<&Value> = names.sprint.iter().filter_map(|id| f.get(id)).collect();
    if names.sprint.is_empty() {
        sprint_values = f
            .iter()
            .filter(|(k, v)| k.starts_with("customfield_") && is_sprint_value(v))
            .map(|(_, v)| v)
            .collect();
    }
    for v in sprint_values {
        for s in v.as_array().into_iter().flatten() {
            let parsed = match s {
                Value::String(text) => sprint_string(text),
                other => sprint_object(other),
            };
            if let Some(s) = parsed {
                if !it.sprints.contains(&s.name) {
                    it.sprints.push(s.name.clone());
                }
                push_sprint(set, s);
            }
        }
    }
    it.fix_versions = f
        .get("fixVersions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| str_of(v.get("name")).map(str::to_string))
        .collect();
    it.labels = f
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| str_of(Some(v)).map(str::to_string))
        .collect();
    it.labels.extend(super::jira::component_labels(
        f.get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| str_of(v.get("name"))),
    ));
    it.assignee = person(f.get("assignee"));
    it.reporter = person(f.get("reporter")).or_else(|| person(f.get("creator")));
    let time = |set: &mut ImportSet, name: &str| -> Option<Timestamp> {
        let v = str_of(f.get(name))?;
        let t = parse_time(v);
        if t.is_none() {
            problem(
                set,
                Severity::Warning,
                &format!("fields.{name}"),
                format!("{key}: \"{v}\" is not a date; left empty"),
            );
        }
        t
    };
    it.created = time(set, "created");
    it.updated = time(set, "updated");
    it.resolved = time(set, "resolutiondate");
    // Comments (`fields.comment.comments`).
    let comments = f.get("comment").and_then(|c| c.get("comments")).and_then(Value::as_array);
    for c in comments.into_iter().flatten() {
        let body = rich_text(c.get("body"));
        if body.trim().is_empty() {
            continue;
        }
        it.comments.push(SourceComment {
            at: str_of(c.get("created")).and_then(parse_time),
            author: person(c.get("author")).unwrap_or_default(),
            body,
        });
    }
    // Links: outward ones only.
    for l in f.get("issuelinks").and_then(Value::as_array).into_iter().flatten() {
        let Some(to) = str_of(l.get("outwardIssue").and_then(|o| o.get("key"))) else { continue };
        let ty = l.get("type");
        let name = str_of(ty.and_then(|t| t.get("name"))).unwrap_or("").to_lowercase();
        let outward = str_of(ty.and_then(|t| t.get("outward"))).unwrap_or("").to_lowercase();
        let kind = if name == "blocks" || outward == "blocks" {
            SourceLinkKind::Blocks
        } else if name == "duplicate" || outward == "duplicates" {
            SourceLinkKind::Duplicates
        } else {
            SourceLinkKind::RelatesTo
        };
        it.links.push(SourceLink { kind, to: to.to_string() });
    }
    // The changelog.
    let histories = obj.get("changelog").and_then(|c| c.get("histories")).and_then(Value::as_array);
    for (h, hist) in histories.into_iter().flatten().enumerate() {
        let Some(at) = str_of(hist.get("created")).and_then(parse_time) else {
            problem(
                set,
                Severity::Warning,
                &format!("changelog.histories[{h}].created"),
                format!("{key}: a change without a readable time is left out"),
            );
            continue;
        };
        let author = person(hist.get("author")).unwrap_or_default();
        for item in hist.get("items").and_then(Value::as_array).into_iter().flatten() {
            let field_name = str_of(item.get("field")).unwrap_or("").to_lowercase();
            let by_id = str_of(item.get("fieldId")).and_then(|id| names.by_id.get(id)).map(String::as_str);
            let field = match by_id.unwrap_or(field_name.as_str()) {
                "status" => ChangeField::Status,
                "sprint" => ChangeField::Sprint,
                "story points" | "story point estimate" => ChangeField::Points,
                "issuetype" | "issue type" => ChangeField::Kind,
                _ => continue,
            };
            it.changes.push(SourceChange {
                at,
                author: author.clone(),
                field,
                from: str_of(item.get("fromString")).map(str::to_string),
                to: str_of(item.get("toString")).map(str::to_string),
            });
        }
    }
    it.changes.sort_by_key(|c| c.at);
    set.items.push(it);
}

fn valid_key(k: &str) -> bool {
    let Some((p, n)) = k.rsplit_once('-') else { return false };
    !p.is_empty()
        && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
}

/// Whether a custom field's value holds sprints.
fn is_sprint_value(v: &Value) -> bool {
    v.as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter().all(|s| match s {
                Value::String(t) => t.contains(SPRINT_CLASS),
                Value::Object(o) => o.contains_key("boardId") && o.contains_key("name"),
                _ => false,
            })
    })
}

fn time_of(v: Option<&Value>) -> Option<Timestamp> {
    str_of(v).and_then(parse_time)
}

/// A sprint object (agile API, or the sprint field of API v2/v3).
fn sprint_object(v: &Value) -> Option<SourceSprint> {
    let o = v.as_object()?;
    Some(SourceSprint {
        id: text_of(o.get("id")),
        name: str_of(o.get("name"))?.to_string(),
        state: str_of(o.get("state")).unwrap_or("").to_lowercase(),
        start: time_of(o.get("startDate")),
        end: time_of(o.get("endDate")),
        completed: time_of(o.get("completeDate")),
        goal: str_of(o.get("goal")).unwrap_or("").to_string(),
    })
}

/// An old sprint string: `com.atlassian…Sprint@1a2b[id=7,rapidViewId=1,state=CLOSED,name=S 1,
/// startDate=2024-03-01T08:00:00.000Z,endDate=…,completeDate=<null>,sequence=7,goal=]`.
fn sprint_string(s: &str) -> Option<SourceSprint> {
    let open = s.find('[')?;
    let inner = s[open + 1..].strip_suffix(']').unwrap_or(&s[open + 1..]);
    // Values may hold commas (names, goals): a part belongs to the previous value unless it
    // starts with a known `key=`.
    const KEYS: [&str; 10] = [
        "id",
        "rapidViewId",
        "state",
        "name",
        "startDate",
        "endDate",
        "completeDate",
        "activatedDate",
        "sequence",
        "goal",
    ];
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in inner.split(',') {
        match part.split_once('=') {
            Some((k, v))
                if KEYS.contains(&k)
                    || (k.chars().all(|c| c.is_ascii_alphanumeric())
                        && !k.is_empty()
                        && fields.is_empty()) =>
            {
                fields.push((k.to_string(), v.to_string()))
            }
            _ => {
                if let Some(last) = fields.last_mut() {
                    last.1.push(',');
                    last.1.push_str(part);
                }
            }
        }
    }
    let get = |k: &str| {
        fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim()).filter(|v| !v.is_empty() && *v != "<null>")
    };
    Some(SourceSprint {
        id: get("id").map(str::to_string),
        name: get("name")?.to_string(),
        state: get("state").unwrap_or("").to_lowercase(),
        start: get("startDate").and_then(parse_time),
        end: get("endDate").and_then(parse_time),
        completed: get("completeDate").and_then(parse_time),
        goal: get("goal").unwrap_or("").to_string(),
    })
}

/// Adds a sprint to the set, or completes the one of that name already there.
fn push_sprint(set: &mut ImportSet, s: SourceSprint) {
    match set.sprints.iter_mut().find(|x| x.name == s.name) {
        Some(x) => {
            if x.state.is_empty() {
                x.state = s.state;
            }
            x.id = x.id.take().or(s.id);
            x.start = x.start.or(s.start);
            x.end = x.end.or(s.end);
            x.completed = x.completed.or(s.completed);
            if x.goal.is_empty() {
                x.goal = s.goal;
            }
        }
        None => set.sprints.push(s),
    }
}

/// Converts an Atlassian Document Format tree (API v3 descriptions and comments) to Markdown:
/// paragraphs, headings, emphasis, code, links, lists, quotes, code blocks, rules, tables,
/// panels, mentions, emoji, dates and status lozenges. Media and unknown nodes keep their text.
pub fn adf_to_markdown(doc: &Value) -> String {
    let mut out = String::new();
    block(doc, &mut out, "");
    let trimmed = out.trim_end();
    trimmed.trim_start_matches('\n').to_string()
}

fn children(v: &Value) -> &[Value] {
    v.get("content").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn node_type(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Writes a block node; `indent` prefixes every line (lists, quotes).
fn block(v: &Value, out: &mut String, indent: &str) {
    let line_start = |out: &mut String| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    let para_gap = |out: &mut String| {
        if !out.is_empty() && !out.ends_with("\n\n") {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
    };
    match node_type(v) {
        "doc" | "panel" | "expand" | "nestedExpand" | "layoutSection" | "layoutColumn"
        | "bodiedExtension" => {
            for c in children(v) {
                block(c, out, indent);
            }
        }
        "paragraph" => {
            para_gap(out);
            out.push_str(indent);
            let text = inline_all(children(v));
            out.push_str(&text.replace('\n', &format!("\n{indent}")));
            out.push('\n');
        }
        "heading" => {
            para_gap(out);
            let level =
                v.get("attrs").and_then(|a| a.get("level")).and_then(Value::as_u64).unwrap_or(1).clamp(1, 6);
            out.push_str(indent);
            out.push_str(&"#".repeat(level as usize));
            out.push(' ');
            out.push_str(&inline_all(children(v)).replace('\n', " "));
            out.push('\n');
        }
        "bulletList" | "orderedList" => {
            para_gap(out);
            let ordered = node_type(v) == "orderedList";
            for (n, li) in children(v).iter().enumerate() {
                line_start(out);
                let marker = if ordered { format!("{}. ", n + 1) } else { "- ".to_string() };
                out.push_str(indent);
                out.push_str(&marker);
                let inner_indent = format!("{indent}{}", " ".repeat(marker.len()));
                let mut first = true;
                for c in children(li) {
                    if first && node_type(c) == "paragraph" {
                        out.push_str(&inline_all(children(c)).replace('\n', &format!("\n{inner_indent}")));
                        out.push('\n');
                    } else {
                        let mut sub = String::new();
                        block(c, &mut sub, &inner_indent);
                        line_start(out);
                        out.push_str(sub.trim_start_matches('\n'));
                    }
                    first = false;
                }
                line_start(out);
            }
        }
        "blockquote" => {
            para_gap(out);
            let mut sub = String::new();
            for c in children(v) {
                block(c, &mut sub, "");
            }
            for l in sub.trim_matches('\n').lines() {
                out.push_str(indent);
                out.push_str("> ");
                out.push_str(l);
                out.push('\n');
            }
        }
        "codeBlock" => {
            para_gap(out);
            let lang = v.get("attrs").and_then(|a| a.get("language")).and_then(Value::as_str).unwrap_or("");
            out.push_str(indent);
            out.push_str("```");
            out.push_str(lang);
            out.push('\n');
            let code: String =
                children(v).iter().filter_map(|t| t.get("text").and_then(Value::as_str)).collect();
            for l in code.lines() {
                out.push_str(indent);
                out.push_str(l);
                out.push('\n');
            }
            out.push_str(indent);
            out.push_str("```\n");
        }
        "rule" => {
            para_gap(out);
            out.push_str(indent);
            out.push_str("---\n");
        }
        "table" => {
            para_gap(out);
            for (r, row) in children(v).iter().enumerate() {
                let cells: Vec<String> = children(row)
                    .iter()
                    .map(|cell| {
                        let mut sub = String::new();
                        for c in children(cell) {
                            block(c, &mut sub, "");
                        }
                        sub.trim().replace('\n', " ").replace('|', "\\|")
                    })
                    .collect();
                out.push_str(indent);
                out.push_str("| ");
                out.push_str(&cells.join(" | "));
                out.push_str(" |\n");
                if r == 0 {
                    out.push_str(indent);
                    out.push('|');
                    out.push_str(&" --- |".repeat(cells.len().max(1)));
                    out.push('\n');
                }
            }
        }
        "mediaSingle" | "mediaGroup" | "media" => {}
        _ => {
            // Inline content met at block level, or an unknown block: its text.
            let text = if children(v).is_empty() { inline(v) } else { inline_all(children(v)) };
            if !text.is_empty() {
                para_gap(out);
                out.push_str(indent);
                out.push_str(&text);
                out.push('\n');
            }
        }
    }
}

fn inline_all(nodes: &[Value]) -> String {
    nodes.iter().map(inline).collect()
}

fn inline(v: &Value) -> String {
    let attr = |k: &str| v.get("attrs").and_then(|a| a.get(k));
    match node_type(v) {
        "text" => {
            let mut t = v.get("text").and_then(Value::as_str).unwrap_or("").to_string();
            let marks = v.get("marks").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            let mut link = None;
            for m in marks {
                t = match node_type(m) {
                    "strong" => format!("**{t}**"),
                    "em" => format!("*{t}*"),
                    "strike" => format!("~~{t}~~"),
                    "code" => format!("`{t}`"),
                    "link" => {
                        link = m.get("attrs").and_then(|a| a.get("href")).and_then(Value::as_str);
                        t
                    }
                    _ => t,
                };
            }
            match link {
                Some(href) => format!("[{t}]({href})"),
                None => t,
            }
        }
        "hardBreak" => "\n".into(),
        "mention" => {
            let t = attr("text").and_then(Value::as_str).unwrap_or("someone");
            if t.starts_with('@') {
                t.to_string()
            } else {
                format!("@{t}")
            }
        }
        "emoji" => attr("text").or(attr("shortName")).and_then(Value::as_str).unwrap_or("").to_string(),
        "inlineCard" | "blockCard" => {
            attr("url").and_then(Value::as_str).map(|u| format!("<{u}>")).unwrap_or_default()
        }
        "status" => attr("text").and_then(Value::as_str).map(|t| format!("[{t}]")).unwrap_or_default(),
        "date" => {
            let ms = attr("timestamp")
                .and_then(|t| t.as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| t.as_i64()));
            ms.map(|ms| crate::Date::of(Timestamp(ms)).to_string()).unwrap_or_default()
        }
        _ => inline_all(children(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(doc: &Value) -> ImportSet {
        let bytes = serde_json::to_vec(doc).unwrap();
        read_jira_files(&[("page.json".into(), bytes)])
    }

    fn user(email: &str, name: &str) -> Value {
        json!({"accountId": format!("id-{name}"), "emailAddress": email, "displayName": name})
    }

    #[test]
    fn a_v2_search_page_with_names_changelog_comments_and_links() {
        let page = json!({
            "startAt": 0, "maxResults": 50, "total": 2,
            "names": {"customfield_10020": "Sprint", "customfield_10016": "Story point estimate",
                      "customfield_10014": "Epic Link", "summary": "Summary"},
            "issues": [
                {"id": "10001", "key": "SHOP-1", "fields": {
                    "summary": "Checkout", "issuetype": {"name": "Epic"}, "status": {"name": "In Progress"},
                    "description": "h2. Goal\nPay *fast*", "labels": [], "created": "2024-03-01T09:00:00.000+0000"}},
                {"id": "10002", "key": "SHOP-2", "fields": {
                    "summary": "Pay by card", "issuetype": {"name": "Story"}, "status": {"name": "Done"},
                    "customfield_10016": 5.0, "customfield_10014": "SHOP-1",
                    "customfield_10020": [
                        {"id": 1, "name": "S 1", "state": "closed", "boardId": 3, "startDate": "2024-03-01T08:00:00.000Z", "endDate": "2024-03-14T17:00:00.000Z", "completeDate": "2024-03-14T18:00:00.000Z", "goal": "Pay"},
                        {"id": 2, "name": "S 2", "state": "active", "boardId": 3}],
                    "fixVersions": [{"name": "2.0"}], "labels": ["pay", "web"],
                    "components": [{"id": "100", "name": "Web UI"}, {"id": "101", "name": "Payments"}],
                    "assignee": user("ann@ex.test", "Ann"), "reporter": {"accountId": "x", "displayName": "Bob"},
                    "created": "2024-03-02T09:00:00.000+0000", "updated": "2024-03-10T17:30:00.000+0000",
                    "resolutiondate": "2024-03-10T17:30:00.000+0000", "timeoriginalestimate": 7200,
                    "comment": {"comments": [{"author": user("bob@ex.test", "Bob"), "body": "Looks {{ok}}", "created": "2024-03-03T10:00:00.000+0000"}]},
                    "issuelinks": [
                        {"type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}, "outwardIssue": {"key": "SHOP-1"}},
                        {"type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"}, "inwardIssue": {"key": "SHOP-9"}},
                        {"type": {"name": "Relates"}, "outwardIssue": {"key": "SHOP-7"}}]},
                 "changelog": {"histories": [
                    {"author": user("ann@ex.test", "Ann"), "created": "2024-03-05T10:00:00.000+0000",
                     "items": [{"field": "status", "fromString": "To Do", "toString": "In Progress"},
                               {"field": "resolution", "toString": "Done"}]},
                    {"author": user("ann@ex.test", "Ann"), "created": "2024-03-04T10:00:00.000+0000",
                     "items": [{"field": "Sprint", "fieldId": "customfield_10020", "fromString": "", "toString": "S 1"},
                               {"field": "Story point estimate", "fromString": "3", "toString": "5"}]}]}}
            ]
        });
        let set = read(&page);
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        let e = &set.items[0];
        assert_eq!(e.description, "## Goal\nPay **fast**");
        let s = &set.items[1];
        assert_eq!((s.kind.as_str(), s.status.as_str(), s.points), ("Story", "Done", Some(5.0)));
        assert_eq!(s.epic.as_deref(), Some("SHOP-1"));
        assert_eq!(s.sprints, ["S 1", "S 2"]);
        assert_eq!(s.fix_versions, ["2.0"]);
        assert_eq!(s.labels, ["pay", "web", "component:Web UI", "component:Payments"]);
        assert_eq!(s.assignee.as_deref(), Some("ann@ex.test"));
        assert_eq!(s.reporter.as_deref(), Some("Bob"));
        assert_eq!(s.estimate_seconds, Some(7200));
        assert_eq!(s.resolved, parse_time("2024-03-10 17:30"));
        assert_eq!(s.comments.len(), 1);
        assert_eq!(
            (s.comments[0].author.as_str(), s.comments[0].body.as_str()),
            ("bob@ex.test", "Looks `ok`")
        );
        assert_eq!(s.comments[0].at, parse_time("2024-03-03 10:00"));
        assert_eq!(
            s.links,
            [
                SourceLink { kind: SourceLinkKind::Blocks, to: "SHOP-1".into() },
                SourceLink { kind: SourceLinkKind::RelatesTo, to: "SHOP-7".into() }
            ]
        );
        // Oldest first; the resolution change is not one Keel follows.
        let fields: Vec<ChangeField> = s.changes.iter().map(|c| c.field).collect();
        assert_eq!(fields, [ChangeField::Sprint, ChangeField::Points, ChangeField::Status]);
        assert_eq!(s.changes[2].to.as_deref(), Some("In Progress"));
        // Sprints from the sprint field, with their dates.
        assert_eq!(set.sprints.len(), 2);
        assert_eq!(set.sprints[0].state, "closed");
        assert_eq!(set.sprints[0].completed, parse_time("2024-03-14T18:00:00.000Z"));
        assert_eq!(set.sprints[0].goal, "Pay");
    }

    #[test]
    fn v3_without_names_old_sprint_strings_and_adf() {
        let adf = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Why"}]},
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Pay "}, {"type": "text", "text": "fast", "marks": [{"type": "strong"}]},
                {"type": "text", "text": " see "}, {"type": "text", "text": "docs", "marks": [{"type": "link", "attrs": {"href": "https://ex.test"}}]},
                {"type": "hardBreak"}, {"type": "mention", "attrs": {"text": "@Ann"}}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two", "marks": [{"type": "code"}]}]},
                    {"type": "orderedList", "content": [{"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "deep"}]}]}]}]}]},
            {"type": "codeBlock", "attrs": {"language": "rust"}, "content": [{"type": "text", "text": "let x = 1;\nlet y = 2;"}]},
            {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "quoted"}]}]},
            {"type": "table", "content": [
                {"type": "tableRow", "content": [{"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}]},
                                                 {"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "b"}]}]}]},
                {"type": "tableRow", "content": [{"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "1"}]}]},
                                                 {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "2|3"}]}]}]}]}
        ]});
        assert_eq!(
            adf_to_markdown(&adf),
            "## Why\n\nPay **fast** see [docs](https://ex.test)\n@Ann\n\n- one\n- `two`\n  1. deep\n\n```rust\nlet x = 1;\nlet y = 2;\n```\n\n> quoted\n\n| a | b |\n| --- | --- |\n| 1 | 2\\|3 |"
        );
        let issue = json!({"id": "3", "key": "OPS-3", "fields": {
            "summary": "Old server", "issuetype": {"name": "Bug"}, "status": {"name": "To Do"},
            "description": adf, "customfield_10002": 2,
            "customfield_10010": ["com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=7,rapidViewId=1,state=CLOSED,name=Sprint 7, the big one,startDate=2024-03-01T08:00:00.000Z,endDate=2024-03-14T17:00:00.000Z,completeDate=<null>,sequence=7,goal=]"],
            "customfield_10008": "OPS-1"}});
        let set = read(&issue);
        assert!(set.problems.is_empty(), "{:?}", set.problems);
        let it = &set.items[0];
        assert_eq!(it.points, Some(2.0));
        assert_eq!(it.epic.as_deref(), Some("OPS-1"));
        assert_eq!(it.sprints, ["Sprint 7, the big one"]);
        assert!(it.description.starts_with("## Why"));
        assert_eq!(set.sprints[0].state, "closed");
        assert_eq!(set.sprints[0].start, parse_time("2024-03-01 08:00"));
        assert_eq!(set.sprints[0].completed, None);
    }

    #[test]
    fn agile_sprint_pages_and_a_mix_with_csv() {
        let sprints = json!({"maxResults": 50, "isLast": true, "values": [
            {"id": 7, "name": "S1", "state": "closed", "startDate": "2024-03-01T08:00:00.000Z",
             "endDate": "2024-03-14T17:00:00.000Z", "completeDate": "2024-03-14T18:00:00.000Z", "goal": "Ship"},
            {"id": 8, "state": "future"}]});
        let csv = "Summary,Issue key,Issue Type,Status,Sprint\nA,X-1,Story,To Do,S1\n";
        let set = read_jira_files(&[
            ("sprints.json".into(), serde_json::to_vec(&sprints).unwrap()),
            ("issues.txt".into(), csv.as_bytes().to_vec()),
        ]);
        assert_eq!(set.items.len(), 1);
        assert_eq!(set.sprints.len(), 1);
        assert_eq!(set.sprints[0].goal, "Ship");
        assert_eq!(set.problems.len(), 1);
        assert_eq!(set.problems[0].field, "values[1]");
    }

    #[test]
    fn bad_json_is_reported_not_panicked_on() {
        for (bytes, want) in [
            (
                &b"{\"issues\": [1, {\"key\": \"A-1\"}, {\"key\": \"bad\", \"fields\": {}}"[..],
                "not valid JSON",
            ),
            (b"{\"issues\": 3}", "not an array"),
            (b"{\"hello\": 1}", "is not a Jira JSON file"),
            (b"[1, 2]", "is not a JSON object"),
        ] {
            let mut set = ImportSet::default();
            read_json("x.json", bytes, &mut set);
            assert!(set.problems.iter().any(|p| p.message.contains(want)), "{want}: {:?}", set.problems);
        }
        let mut set = ImportSet::default();
        read_json("x.json", br#"{"issues": [1, {"key": "A-1"}, {"key": "bad", "fields": {"summary": "s"}}, {"key": "A-2", "fields": {"summary": "ok", "created": "soon", "customfield_10016": "x"}}]}"#, &mut set);
        let fields: Vec<&str> = set.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["issues[0]", "issues[1].fields.summary", "issues[2].key", "issues[3].fields.created"]
        );
        assert_eq!(set.items.len(), 1);
        // Deep nesting is refused by the JSON reader, not by the stack.
        let deep = "[".repeat(100_000);
        let mut set = ImportSet::default();
        read_json("deep.json", deep.as_bytes(), &mut set);
        assert_eq!(set.problems.len(), 1);
        assert!(looks_like_json(b"\xEF\xBB\xBF \n{") && !looks_like_json(b"Summary,{"));
    }
}
