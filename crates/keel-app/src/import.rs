//! Moving in from Jira: an import set (see `keel_domain::import`) mapped onto a product and
//! written through the store's bulk path, with the source's changelog as history events at
//! their original times, so velocity, cycle time and forecasts have data from the first day.
//!
//! - **Issue types → kinds** by a built-in table (Epic, Story, Bug, Task, Sub-task → task, …),
//!   overridable per name in the mapping.
//! - **Statuses → workflow states** by the mapping, else by the same name (any case). An item
//!   whose status maps to nothing is left out and its status listed; a past change through such a
//!   status is dropped.
//! - **Users by e-mail** (or display name) among the product's members; anyone else is listed,
//!   the item stays unassigned and its past changes are attributed to the person importing.
//! - **Sprints** become sprints of a team named "Jira" (made when missing), with the dates of a
//!   sprint file, or else the span of their items; **fix versions** become releases.
//! - **The Jira key** is kept on each item as the label `jira:KEY`. A run skips every key that
//!   already carries its label in the product, so a second run (or one after an interruption)
//!   writes only what is missing.
//! - `strict`: any problem (in the files or in the mapping) and nothing is written. `dry_run`:
//!   everything is worked out and reported, nothing is written.

use crate::records::new_record;
use crate::ProductAccess;
use crate::{App, AppError, AppResult};
use keel_domain::comment::{Comment, Subject, MAX_BODY};
use keel_domain::event::ObjectKind;
use keel_domain::import::{
    ChangeField, FastMap, FastSet, ImportSet, Problem, Severity, SourceComment, SourceItem, SourceLinkKind,
};
use keel_domain::item::LinkKind;
use keel_domain::item::{
    ItemKind, NewItem, Points, StoryFields, DESCRIPTION_MAX, LABELS_MAX, POINTS_MAX, TITLE_MAX,
};
use keel_domain::readiness::release_key;
use keel_domain::rights::Action;
use keel_domain::sprint::{Commitment, Release, ReleaseState, Sprint, SprintState, SprintSummary, Team};
use keel_domain::user::User;
use keel_domain::workflow::{Category, Workflow};
use keel_domain::{Date, ItemId, RecordId, StateId, Timestamp, UserId};
use keel_store::{BulkEvent, BulkItem, ItemFilter, Page, WriteCtx, WriteOp, Written};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A chunk being written: the write, its first item's key label, and the positions and source
/// keys of its items that later levels name as parents.
type InFlight<'a> = (tokio::task::JoinHandle<keel_store::StoreResult<u64>>, String, Vec<(usize, &'a str)>);

/// Items per bulk write (one transaction each).
pub const IMPORT_CHUNK: usize = 10_000;
/// The label prefix that keeps an item's Jira key.
pub const KEY_LABEL: &str = "jira:";
/// The team imported sprints belong to.
pub const TEAM_NAME: &str = "Jira";

/// Where an import set comes from: it names the label that keeps each item's source key
/// (`jira:SHOP-12`, `linear:ENG-4`, `csv:T-9`) and the team its sprints belong to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportSource {
    /// Jira (CSV or JSON).
    #[default]
    Jira,
    /// Linear's CSV export.
    Linear,
    /// Any CSV read through a column map.
    Csv,
}

impl ImportSource {
    /// The label prefix that keeps an item's source key.
    pub fn label_prefix(self) -> &'static str {
        match self {
            ImportSource::Jira => KEY_LABEL,
            ImportSource::Linear => "linear:",
            ImportSource::Csv => "csv:",
        }
    }
    /// The team imported sprints belong to.
    pub fn team_name(self) -> &'static str {
        match self {
            ImportSource::Jira => TEAM_NAME,
            ImportSource::Linear => "Linear",
            ImportSource::Csv => "Imported",
        }
    }
    /// Its name on the command line and in the API (`jira`, `linear`, `csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportSource::Jira => "jira",
            ImportSource::Linear => "linear",
            ImportSource::Csv => "csv",
        }
    }
}

/// What the person importing says about names the importer cannot guess (a TOML file on the
/// command line): `[statuses]` "Jira status" = "Keel state", `[kinds]` "Issue type" = "story",
/// `[users]` "Jira name or e-mail" = "keel e-mail".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Status name → workflow state name.
    #[serde(default)]
    pub statuses: HashMap<String, String>,
    /// Issue type name → kind (`epic`, `story`, `task`, `bug`, `spike`).
    #[serde(default)]
    pub kinds: HashMap<String, String>,
    /// Source user (name, id or e-mail) → member's e-mail.
    #[serde(default)]
    pub users: HashMap<String, String>,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Work everything out, write nothing.
    pub dry_run: bool,
    /// Write nothing when anything is wrong.
    pub strict: bool,
    /// Names given by the person importing.
    pub mapping: Mapping,
    /// Where the set comes from (the key label's prefix, the sprints' team).
    pub source: ImportSource,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Whether anything was written.
    pub written: bool,
    /// Items in the files.
    pub items_read: usize,
    /// Items created (or to create).
    pub items_created: u64,
    /// Items already in the product (by Jira key), skipped.
    pub items_skipped: usize,
    /// Items left out for a problem.
    pub items_left_out: usize,
    /// History events written with the items (besides each item's `created`).
    pub events: u64,
    /// Sprints created (or to create).
    pub sprints_created: usize,
    /// Releases created (or to create).
    pub releases_created: usize,
    /// Comments created (or to create).
    pub comments_created: usize,
    /// Comments already imported by an earlier run, skipped.
    pub comments_skipped: usize,
    /// Links between items created (or to create).
    pub links_created: usize,
    /// Links already there, skipped.
    pub links_skipped: usize,
    /// Statuses with no workflow state, with how many items and changes use them.
    pub unmapped_statuses: BTreeMap<String, usize>,
    /// Issue types with no kind of their own (imported as stories), with counts.
    pub unmapped_kinds: BTreeMap<String, usize>,
    /// Users who are not members of the product, with counts.
    pub unknown_users: BTreeMap<String, usize>,
    /// Every problem, from the files and from the mapping.
    pub problems: Vec<Problem>,
}

impl ImportReport {
    /// Whether anything would stop a strict import.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
            || !self.unmapped_statuses.is_empty()
            || !self.unknown_users.is_empty()
            || !self.unmapped_kinds.is_empty()
    }
}

/// The built-in issue type table.
fn default_kind(name: &str) -> Option<ItemKind> {
    Some(match name.trim().to_lowercase().as_str() {
        "epic" => ItemKind::Epic,
        "story" | "user story" | "new feature" | "feature" | "improvement" | "enhancement" => ItemKind::Story,
        "bug" | "defect" => ItemKind::Bug,
        "task" | "sub-task" | "subtask" | "technical task" | "sub-task (technical)" => ItemKind::Task,
        "spike" | "research" => ItemKind::Spike,
        _ => return None,
    })
}

/// A label Keel accepts made from a Jira label (no spaces or commas, 50 characters).
fn clean_label(s: &str) -> Option<String> {
    let v: String =
        s.trim().chars().map(|c| if c.is_whitespace() || c == ',' { '-' } else { c }).take(50).collect();
    (!v.is_empty()).then_some(v)
}

fn truncate(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        (s.to_string(), false)
    } else {
        (s.chars().take(max).collect(), true)
    }
}

/// The last sprint of a Jira sprint field value ("S1, S2" → "S2").
fn last_sprint(v: &Option<String>) -> Option<String> {
    v.as_deref().and_then(|s| s.rsplit(',').next()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

struct Plan {
    /// Jira sprint name → sprint record id (negative: to create).
    sprints: HashMap<String, i64>,
    /// Fix version name (lower case) → release id (negative: to create).
    releases: HashMap<String, i64>,
    new_sprints: Vec<(String, Sprint, SprintState)>,
    new_releases: Vec<String>,
    team: Option<RecordId>,
    /// The team's name (by the source).
    team_name: &'static str,
    /// The label prefix keeping source keys.
    prefix: &'static str,
}

impl App {
    /// Imports `set` into the product `product_key` as `user`. `progress` is told (written,
    /// total) after each chunk. See the module's documentation for the rules.
    pub async fn import_jira(
        &self,
        user: &User,
        product_key: &str,
        set: &ImportSet,
        opts: &ImportOptions,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> AppResult<ImportReport> {
        let access = self.access(user, product_key).await?;
        for a in [Action::CreateEpic, Action::CreateItem, Action::EditItem, Action::ManageSprint] {
            self.require(&access, a)?;
        }
        let pid = access.product.id;
        let wf = self.store.workflow(pid).await?;
        let mut rep = ImportReport {
            items_read: set.items.len(),
            problems: set.problems.clone(),
            ..Default::default()
        };
        let prefix = opts.source.label_prefix();
        let existing = self.imported_keys(&access, prefix).await?;
        // Members by e-mail and by name; the mapping's users on top.
        let members = self.store.members(pid).await?;
        let mut people: HashMap<String, UserId> = HashMap::new();
        for (u, _) in &members {
            people.insert(u.email.as_str().to_lowercase(), u.id);
            people.entry(u.name.to_lowercase()).or_insert(u.id);
        }
        for (from, to) in &opts.mapping.users {
            match people.get(&to.to_lowercase()) {
                Some(id) => {
                    people.insert(from.to_lowercase(), *id);
                }
                None => rep.problems.push(Problem {
                    severity: Severity::Error,
                    file: "mapping".into(),
                    line: 0,
                    field: format!("users.{from}"),
                    message: format!("{to} is not a member of {}", access.product.key.as_str()),
                }),
            }
        }
        let states = self.status_map(&wf, &opts.mapping, &mut rep);
        let kinds = self.kind_map(&opts.mapping, &mut rep)?;
        let fresh: Vec<&SourceItem> = set
            .items
            .iter()
            .filter(|i| {
                let skip = existing.contains_key(&i.key);
                rep.items_skipped += usize::from(skip);
                !skip
            })
            .collect();
        let plan = self.plan_records(&access, set, &fresh, opts.source).await?;
        // Items by level, parents before children: which source item, and its parent's key.
        // Only this index is kept; each chunk is mapped again when it is written, so a large
        // import never holds every mapped item at once.
        let mut by_level: [Vec<(usize, Option<String>)>; 3] = Default::default();
        let keys_in_set: FastSet<&str> = fresh.iter().map(|i| i.key.as_str()).collect();
        let kind_of: FastMap<&str, &str> =
            set.items.iter().map(|i| (i.key.as_str(), i.kind.as_str())).collect();
        let initial = wf.initial().map(|s| s.id);
        for (n, src) in fresh.iter().enumerate() {
            let Some(b) =
                self.map_item(src, &wf, &states, &kinds, &people, &plan, user.id, initial, &mut rep)
            else {
                rep.items_left_out += 1;
                continue;
            };
            // The parent must sit higher in the hierarchy; otherwise the link is dropped.
            let mut parent = src.parent_key().map(str::to_string);
            if let Some(p) = &parent {
                let pk = kind_of.get(p.as_str()).map(|k| kinds(k));
                let known = keys_in_set.contains(p.as_str()) || existing.contains_key(p);
                let bad_level = pk.is_some_and(|k| k.level() >= b.item.kind.level());
                if !known || bad_level || b.item.kind == ItemKind::Epic {
                    rep.problems.push(Problem {
                        severity: Severity::Warning,
                        file: src.file.clone(),
                        line: src.line,
                        field: "parent".into(),
                        message: if known {
                            format!(
                                "{p} cannot be the parent of {} (a {}); the link is dropped",
                                src.key,
                                b.item.kind.as_str()
                            )
                        } else {
                            format!(
                                "{p} is neither in the files nor in the product; {} is imported without it",
                                src.key
                            )
                        },
                    });
                    parent = None;
                }
            }
            rep.events += b.history.len() as u64;
            by_level[b.item.kind.level() as usize].push((n, parent));
        }
        rep.items_created = by_level.iter().map(|l| l.len() as u64).sum();
        rep.sprints_created = plan.new_sprints.len();
        rep.releases_created = plan.new_releases.len();
        // Comments and links: counted now (on the items that exist or would), written after the items.
        let mut would_exist: FastMap<String, Option<ItemId>> =
            existing.iter().map(|(k, v)| (k.clone(), Some(*v))).collect();
        for (n, _) in by_level.iter().flatten() {
            would_exist.entry(fresh[*n].key.clone()).or_insert(None);
        }
        self.import_extras(&access, set, &people, user, prefix, &would_exist, false, &mut rep).await?;
        if opts.dry_run || (opts.strict && rep.has_problems()) {
            return Ok(rep);
        }
        // Write: sprints and releases first, then items level by level.
        let ctx = self.ctx(user);
        let ids = self.write_records(&access, &plan, &ctx).await?;
        let mut known: FastMap<String, ItemId> = existing;
        let total = rep.items_created;
        let mut written = 0u64;
        // Keys that later levels need as parents.
        let mut next_number: Option<i64> = None;
        let needed: FastSet<&str> = by_level.iter().flatten().filter_map(|(_, p)| p.as_deref()).collect();
        for level in &by_level {
            // Parents imported by an earlier run and not seen yet: by their label.
            for p in level.iter().filter_map(|(_, p)| p.as_ref()) {
                if !known.contains_key(p) {
                    if let Some(id) = self.item_by_source_key(&access, prefix, p).await? {
                        known.insert(p.clone(), id);
                    }
                }
            }
            // One chunk is written while the next is mapped: the write runs on the store's
            // blocking pool, the mapping here.
            let mut in_flight: Option<InFlight<'_>> = None;
            for part in level.chunks(IMPORT_CHUNK).map(Some).chain(std::iter::once(None)) {
                let next = match part {
                    None => None,
                    Some(part) => {
                        // Mapped again as in the first pass (its problems are already reported).
                        let mut again = ImportReport::default();
                        let mut chunk: Vec<BulkItem> = Vec::with_capacity(part.len());
                        let mut wanted: Vec<(usize, &str)> = Vec::new();
                        for (n, p) in part {
                            let src = fresh[*n];
                            let Some(mut b) = self.map_item(
                                src, &wf, &states, &kinds, &people, &plan, user.id, initial, &mut again,
                            ) else {
                                continue;
                            };
                            b.item.parent_id = p.as_ref().and_then(|p| known.get(p)).copied();
                            remap(&mut b.item.sprint_id, &ids.0);
                            remap(&mut b.item.release_id, &ids.1);
                            for e in &mut b.history {
                                if e.field == "sprint" {
                                    for v in [&mut e.old, &mut e.new] {
                                        if let Some(n) = v.as_i64() {
                                            *v = json!(ids.0.get(&n).copied().unwrap_or(n));
                                        }
                                    }
                                }
                            }
                            if needed.contains(src.key.as_str()) {
                                wanted.push((chunk.len(), src.key.as_str()));
                            }
                            chunk.push(b);
                        }
                        let first_key = chunk.first().map(|b| b.item.labels[0].clone());
                        first_key.map(|k| (k, wanted, chunk))
                    }
                };
                if let Some((handle, first_key, wanted)) = in_flight.take() {
                    let written_now = handle.await.map_err(keel_store::StoreError::other)??;
                    written += written_now;
                    // A chunk's items get consecutive numbers in one transaction: the first one's
                    // number gives every parent's id by number. It follows the previous chunk's
                    // (checked by the item's key label; found by the label when another write came
                    // between), and when the chunk's ids are consecutive too, no lookup per parent.
                    let len = written_now as i64;
                    let mut first = None;
                    if let Some(g) = next_number {
                        if let Ok(it) = self.store.item_by_number(access.product.id, g).await {
                            first = (it.labels.first() == Some(&first_key)).then_some(it);
                        }
                    }
                    let first = match first {
                        Some(it) => it,
                        None => {
                            let jira = first_key.strip_prefix(prefix).unwrap_or(&first_key).to_string();
                            let id = self
                                .item_by_source_key(&access, prefix, &jira)
                                .await?
                                .ok_or(AppError::NotFound)?;
                            self.store.item(id).await?
                        }
                    };
                    next_number = Some(first.number + len);
                    if !wanted.is_empty() {
                        let last =
                            self.store.item_by_number(access.product.id, first.number + len - 1).await?;
                        let dense = last.id.0 - first.id.0 == len - 1;
                        for (k, key) in wanted {
                            let id = if dense {
                                ItemId(first.id.0 + k as i64)
                            } else {
                                self.store
                                    .item_by_number(access.product.id, first.number + k as i64)
                                    .await?
                                    .id
                            };
                            known.insert(key.to_string(), id);
                        }
                    }
                    progress(written, total);
                }
                if let Some((first_key, wanted, chunk)) = next {
                    let store = self.store.clone();
                    let pid = access.product.id;
                    in_flight = Some((
                        tokio::spawn(async move { store.bulk_create_items(pid, chunk, &ctx).await }),
                        first_key,
                        wanted,
                    ));
                    tokio::task::yield_now().await;
                }
            }
        }
        let now_there: FastMap<String, Option<ItemId>> =
            self.imported_keys(&access, prefix).await?.into_iter().map(|(k, v)| (k, Some(v))).collect();
        self.import_extras(&access, set, &people, user, prefix, &now_there, true, &mut rep).await?;
        self.store.refresh_statistics().await?;
        rep.written = true;
        Ok(rep)
    }

    /// The comments and links of the set's items that are (or, in a dry run, would be) in the
    /// product: counted, and written when `write`. Each comment is written with its original
    /// time and, when the author is a member (by e-mail or name), as that member; otherwise as
    /// the person importing, the original author named on the body's first line. A comment's
    /// unique key (product, source key, position) makes a re-run skip the ones already there;
    /// a link already there is skipped likewise.
    #[allow(clippy::too_many_arguments)]
    async fn import_extras(
        &self,
        access: &ProductAccess,
        set: &ImportSet,
        people: &HashMap<String, UserId>,
        importer: &User,
        prefix: &str,
        items: &FastMap<String, Option<ItemId>>,
        write: bool,
        rep: &mut ImportReport,
    ) -> AppResult<()> {
        let pid = access.product.id;
        rep.comments_created = 0;
        rep.comments_skipped = 0;
        rep.links_created = 0;
        rep.links_skipped = 0;
        // Comments imported by earlier runs, by unique key.
        let mut done: HashSet<String> = HashSet::new();
        if set.items.iter().any(|i| !i.comments.is_empty()) {
            let filter = keel_store::RecordFilter::of(ObjectKind::Comment).product(pid);
            let mut page = Page::first(500);
            loop {
                let batch = self.store.records(&filter, &page).await?;
                let n = batch.len();
                page.after = batch.last().map(|r| r.id.0.to_string());
                done.extend(batch.into_iter().filter_map(|r| r.unique_key));
                if n < 500 {
                    break;
                }
            }
        }
        // Comments go in chunks, one transaction each, every comment with its own author and time.
        let mut pending: Vec<(Vec<WriteOp>, WriteCtx)> = Vec::new();
        for src in &set.items {
            let Some(target) = items.get(&src.key) else { continue };
            for (n, c) in src.comments.iter().enumerate() {
                let key = comment_key(pid, prefix, &src.key, n);
                if done.contains(&key) {
                    rep.comments_skipped += 1;
                    continue;
                }
                let Some(body) = comment_body(c, people) else { continue };
                rep.comments_created += 1;
                let (Some(item), true) = (target, write) else { continue };
                let author = people.get(&c.author.trim().to_lowercase()).copied();
                let at = c.at.or(src.created).unwrap_or_else(crate::now);
                let comment = Comment {
                    subject: Subject::Item,
                    object_id: item.0,
                    body,
                    mentions: Vec::new(),
                    edited: false,
                    deleted: false,
                };
                let op = WriteOp::CreateRecord(new_record(
                    Some(pid),
                    Some(item.0),
                    Subject::Item.as_str(),
                    Some(key),
                    &comment,
                )?);
                let ctx = WriteCtx { actor: Some(author.unwrap_or(importer.id)), at, proposal: None };
                pending.push((vec![op], ctx));
                if pending.len() >= COMMENT_CHUNK {
                    self.write_comments(std::mem::take(&mut pending), rep).await?;
                }
            }
            for l in &src.links {
                let Some(to) = items.get(&l.to).copied() else {
                    rep.problems.push(Problem {
                        severity: Severity::Warning,
                        file: src.file.clone(),
                        line: src.line,
                        field: "links".into(),
                        message: format!(
                            "{} links to {}, which is neither in the files nor in the product; the link is dropped",
                            src.key, l.to
                        ),
                    });
                    continue;
                };
                // In a dry run a new item has no id yet: the link would be made.
                let (Some(from), Some(to)) = (target, to) else {
                    rep.links_created += 1;
                    continue;
                };
                if to == *from {
                    continue;
                }
                if !write {
                    // Links already there are found when writing.
                    rep.links_created += 1;
                    continue;
                }
                let kind = match l.kind {
                    SourceLinkKind::Blocks => LinkKind::Blocks,
                    SourceLinkKind::Duplicates => LinkKind::Duplicates,
                    SourceLinkKind::RelatesTo => LinkKind::RelatesTo,
                };
                let exists = self
                    .store
                    .links(*from)
                    .await?
                    .iter()
                    .any(|x| x.kind == kind && x.from_id == *from && x.to_id == to);
                if exists {
                    rep.links_skipped += 1;
                    continue;
                }
                match self.store.add_link(*from, to, kind, &self.ctx(importer)).await {
                    Ok(_) => rep.links_created += 1,
                    Err(keel_store::StoreError::Conflict(_)) => rep.links_skipped += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        self.write_comments(pending, rep).await
    }

    /// Writes a chunk of imported comments in one transaction; when another run wrote one of
    /// them meanwhile (its unique key is taken), writes them one by one, skipping those.
    async fn write_comments(
        &self,
        chunk: Vec<(Vec<WriteOp>, WriteCtx)>,
        rep: &mut ImportReport,
    ) -> AppResult<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        match self.store.write_batches(chunk.clone()).await {
            Ok(_) => return Ok(()),
            Err(keel_store::StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        for (ops, ctx) in chunk {
            match self.store.write_batch(ops, &ctx).await {
                Ok(_) => {}
                Err(keel_store::StoreError::Conflict(_)) => {
                    rep.comments_created -= 1;
                    rep.comments_skipped += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Items of the product already imported: Jira key → item id (from the `jira:` labels).
    async fn imported_keys(
        &self,
        access: &ProductAccess,
        prefix: &str,
    ) -> AppResult<FastMap<String, ItemId>> {
        let labels = self.store.labels_with_prefix(access.product.id, prefix).await?;
        Ok(labels
            .into_iter()
            .filter_map(|(l, id)| l.strip_prefix(prefix).map(|k| (k.to_string(), id)))
            .collect())
    }

    async fn item_by_source_key(
        &self,
        access: &ProductAccess,
        prefix: &str,
        key: &str,
    ) -> AppResult<Option<ItemId>> {
        let filter = ItemFilter { label: Some(format!("{prefix}{key}")), ..Default::default() };
        Ok(self.store.list_items(access.product.id, &filter, &Page::first(1)).await?.first().map(|i| i.id))
    }

    fn status_map(&self, wf: &Workflow, m: &Mapping, rep: &mut ImportReport) -> HashMap<String, StateId> {
        let mut out = HashMap::new();
        for s in &wf.states {
            out.insert(s.name.to_lowercase(), s.id);
        }
        for (from, to) in &m.statuses {
            match wf.states.iter().find(|s| s.name.eq_ignore_ascii_case(to)) {
                Some(s) => {
                    out.insert(from.to_lowercase(), s.id);
                }
                None => rep.problems.push(Problem {
                    severity: Severity::Error,
                    file: "mapping".into(),
                    line: 0,
                    field: format!("statuses.{from}"),
                    message: format!("\"{to}\" is not a state of the product's workflow"),
                }),
            }
        }
        out
    }

    fn kind_map(
        &self,
        m: &Mapping,
        rep: &mut ImportReport,
    ) -> AppResult<impl Fn(&str) -> ItemKind + Send + Sync> {
        let mut over: HashMap<String, ItemKind> = HashMap::new();
        for (from, to) in &m.kinds {
            match ItemKind::parse(&format!("kinds.{from}"), &to.to_lowercase()) {
                Ok(k) => {
                    over.insert(from.to_lowercase(), k);
                }
                Err(e) => rep.problems.push(Problem {
                    severity: Severity::Error,
                    file: "mapping".into(),
                    line: 0,
                    field: e.field,
                    message: e.message,
                }),
            }
        }
        Ok(move |name: &str| {
            over.get(&name.to_lowercase()).copied().or_else(|| default_kind(name)).unwrap_or(ItemKind::Story)
        })
    }

    /// Sprints and releases the items need: existing ones by name, the rest to create.
    async fn plan_records(
        &self,
        access: &ProductAccess,
        set: &ImportSet,
        items: &[&SourceItem],
        source: ImportSource,
    ) -> AppResult<Plan> {
        let team_name = source.team_name();
        let team =
            self.teams(access).await?.into_iter().find(|t| t.data.name.eq_ignore_ascii_case(team_name));
        let mut sprints: HashMap<String, i64> = HashMap::new();
        if let Some(t) = &team {
            for s in self.team_sprints(t).await? {
                sprints.insert(s.data.name.clone(), s.id.0);
            }
        }
        // Every sprint name the items mention, with the span of its items.
        let mut spans: BTreeMap<String, (i64, i64, bool)> = BTreeMap::new();
        for it in items {
            let mut names: Vec<String> = it.sprints.clone();
            for c in it.changes.iter().filter(|c| c.field == ChangeField::Sprint) {
                names.extend(last_sprint(&c.to));
            }
            let created = it.created.map_or(0, |t| t.0);
            let end = it.resolved.or(it.updated).or(it.created).map_or(0, |t| t.0);
            let current = it.sprints.last().cloned();
            for n in names {
                let e = spans.entry(n.clone()).or_insert((i64::MAX, i64::MIN, false));
                e.0 = e.0.min(created);
                e.1 = e.1.max(end);
                // An unresolved item still in the sprint keeps it open.
                e.2 |= it.resolved.is_none() && current.as_deref() == Some(n.as_str());
            }
        }
        let described: HashMap<&str, &keel_domain::import::SourceSprint> =
            set.sprints.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut new_sprints = Vec::new();
        for (name, (lo, hi, open)) in spans {
            if sprints.contains_key(&name) {
                continue;
            }
            let src = described.get(name.as_str());
            let start = src.and_then(|s| s.start).unwrap_or(Timestamp(lo));
            let end = src.and_then(|s| s.end).unwrap_or(Timestamp(hi.max(lo)));
            let closed_at = src.and_then(|s| s.completed).or(src.and_then(|s| s.end)).unwrap_or(end);
            let state = match src.map(|s| s.state.as_str()) {
                Some("closed") => SprintState::Closed,
                Some("active") => SprintState::Active,
                Some("future") => SprintState::Planned,
                _ if open => SprintState::Active,
                _ => SprintState::Closed,
            };
            let (mut s_date, e_date) = (Date::of(start), Date::of(end));
            if e_date < s_date {
                s_date = e_date;
            }
            let sprint = Sprint {
                name: truncate(&name, keel_domain::sprint::NAME_MAX).0,
                goal: src.map(|s| s.goal.clone()).unwrap_or_default(),
                start: s_date,
                end: e_date,
                capacity: vec![],
                commitment: (state != SprintState::Planned).then(|| Commitment {
                    at: start,
                    items: vec![],
                    points: 0.0,
                }),
                summary: (state == SprintState::Closed).then(|| SprintSummary {
                    at: closed_at,
                    committed: 0.0,
                    completed: 0.0,
                    added: 0.0,
                    removed: 0.0,
                    completed_items: vec![],
                    carried_over: vec![],
                }),
            };
            let placeholder = -(new_sprints.len() as i64) - 1;
            sprints.insert(name.clone(), placeholder);
            new_sprints.push((name, sprint, state));
        }
        let mut releases: HashMap<String, i64> =
            self.releases(access).await?.into_iter().map(|r| (r.data.name.to_lowercase(), r.id.0)).collect();
        let mut new_releases = Vec::new();
        for it in items {
            for v in &it.fix_versions {
                let k = v.to_lowercase();
                if let std::collections::hash_map::Entry::Vacant(e) = releases.entry(k) {
                    e.insert(-(new_releases.len() as i64) - 1);
                    new_releases.push(v.clone());
                }
            }
        }
        Ok(Plan {
            sprints,
            releases,
            new_sprints,
            new_releases,
            team: team.map(|t| t.id),
            team_name,
            prefix: source.label_prefix(),
        })
    }

    /// Creates the team (when missing), sprints and releases in one batch; returns the real
    /// ids of the placeholders (sprints, releases).
    async fn write_records(
        &self,
        access: &ProductAccess,
        plan: &Plan,
        ctx: &WriteCtx,
    ) -> AppResult<(HashMap<i64, i64>, HashMap<i64, i64>)> {
        let pid = access.product.id;
        let mut sprint_ids = HashMap::new();
        let mut release_ids = HashMap::new();
        if plan.new_sprints.is_empty() && plan.new_releases.is_empty() {
            return Ok((sprint_ids, release_ids));
        }
        let team = match plan.team {
            Some(t) => t,
            None if plan.new_sprints.is_empty() => RecordId(0),
            None => {
                let t = Team {
                    name: plan.team_name.into(),
                    products: vec![pid],
                    members: vec![],
                    board: Default::default(),
                };
                let rec = new_record(
                    Some(pid),
                    None,
                    "",
                    Some(format!("team:{}:{}", pid.0, plan.team_name.to_lowercase())),
                    &t,
                )?;
                match self.store.write_batch(vec![WriteOp::CreateRecord(rec)], ctx).await?.pop() {
                    Some(Written::Record(r)) => r.id,
                    _ => {
                        return Err(AppError::Conflict(format!(
                            "the {} team was not created",
                            plan.team_name
                        )))
                    }
                }
            }
        };
        let mut ops = Vec::new();
        for (_, s, state) in &plan.new_sprints {
            ops.push(WriteOp::CreateRecord(new_record(Some(pid), Some(team.0), state.as_str(), None, s)?));
        }
        for name in &plan.new_releases {
            let (name, _) = truncate(name, 80);
            let r = Release {
                name: name.clone(),
                description: String::new(),
                target_date: None,
                released_at: None,
            };
            ops.push(WriteOp::CreateRecord(new_record(
                Some(pid),
                None,
                ReleaseState::Planned.as_str(),
                Some(release_key(pid, &name)),
                &r,
            )?));
        }
        let written = self.store.write_batch(ops, ctx).await?;
        let ns = plan.new_sprints.len();
        for (k, w) in written.iter().enumerate() {
            if let Written::Record(r) = w {
                if k < ns {
                    sprint_ids.insert(-(k as i64) - 1, r.id.0);
                } else {
                    release_ids.insert(-((k - ns) as i64) - 1, r.id.0);
                }
            }
        }
        Ok((sprint_ids, release_ids))
    }

    /// One source item as a bulk item, or `None` (with a problem) when it cannot be imported.
    #[allow(clippy::too_many_arguments)]
    fn map_item(
        &self,
        src: &SourceItem,
        wf: &Workflow,
        states: &HashMap<String, StateId>,
        kinds: &(impl Fn(&str) -> ItemKind + Send + Sync),
        people: &HashMap<String, UserId>,
        plan: &Plan,
        importer: UserId,
        initial: Option<StateId>,
        rep: &mut ImportReport,
    ) -> Option<BulkItem> {
        let warn = |rep: &mut ImportReport, field: &str, message: String| {
            rep.problems.push(Problem {
                severity: Severity::Warning,
                file: src.file.clone(),
                line: src.line,
                field: field.into(),
                message,
            })
        };
        let Some(status) = states.get(&src.status.to_lowercase()).copied() else {
            *rep.unmapped_statuses.entry(src.status.clone()).or_default() += 1;
            rep.problems.push(Problem {
                severity: Severity::Error,
                file: src.file.clone(),
                line: src.line,
                field: "status".into(),
                message: format!(
                    "{}: status \"{}\" is not a state of the workflow; map it in the mapping file ([statuses])",
                    src.key, src.status
                ),
            });
            return None;
        };
        if default_kind(&src.kind).is_none() {
            *rep.unmapped_kinds.entry(src.kind.clone()).or_default() += 1;
        }
        let kind = kinds(&src.kind);
        let person = |who: &Option<String>, rep: &mut ImportReport| -> Option<UserId> {
            let w = who.as_deref()?.trim();
            if w.is_empty() {
                return None;
            }
            let found = people.get(&w.to_lowercase()).copied();
            if found.is_none() {
                *rep.unknown_users.entry(w.to_string()).or_default() += 1;
            }
            found
        };
        let assignee = person(&src.assignee, rep);
        let reporter = person(&src.reporter, rep).unwrap_or(importer);
        let (title, cut) = truncate(&src.title, TITLE_MAX);
        if cut {
            warn(rep, "title", format!("{}: the summary is cut to {TITLE_MAX} characters", src.key));
        }
        let (description, cut) = truncate(&src.description, DESCRIPTION_MAX);
        if cut {
            warn(
                rep,
                "description",
                format!("{}: the description is cut to {DESCRIPTION_MAX} characters", src.key),
            );
        }
        let points = |v: Option<f64>| v.filter(|p| *p >= 0.0 && *p <= POINTS_MAX).map(Points::from_trusted);
        let estimate = points(src.points);
        if src.points.is_some() && estimate.is_none() {
            warn(rep, "story points", format!("{}: more than {POINTS_MAX} points; left empty", src.key));
        }
        let mut labels = vec![format!("{}{}", plan.prefix, src.key)];
        for l in src.labels.iter().filter_map(|l| clean_label(l)) {
            if labels.len() >= LABELS_MAX {
                warn(
                    rep,
                    "labels",
                    format!("{}: more than {LABELS_MAX} labels; the rest are dropped", src.key),
                );
                break;
            }
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        let sprint_id = src.sprints.last().and_then(|n| plan.sprints.get(n)).map(|i| RecordId(*i));
        let release_id =
            src.fix_versions.last().and_then(|n| plan.releases.get(&n.to_lowercase())).map(|i| RecordId(*i));
        let created_at = src.created.or(src.updated).unwrap_or_else(crate::now);
        // The history: the changelog, mapped; times no earlier than the creation.
        let mut history: Vec<BulkEvent> = Vec::new();
        let state_of = |name: &Option<String>, rep: &mut ImportReport| -> Result<Value, ()> {
            match name.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(Value::Null),
                Some(n) => match states.get(&n.to_lowercase()) {
                    Some(id) => Ok(json!(id.0)),
                    None => {
                        *rep.unmapped_statuses.entry(n.to_string()).or_default() += 1;
                        Err(())
                    }
                },
            }
        };
        // A status change that does not name the state before it (Linear's `Started`) left the
        // state the previous change entered, or the initial one: the history then reads the same
        // to the flow triggers and to a rebuild.
        let mut status_before = initial.map_or(Value::Null, |i| json!(i.0));
        for c in &src.changes {
            let at = Timestamp(c.at.0.max(created_at.0));
            let actor = people.get(&c.author.to_lowercase()).copied().or(Some(importer));
            let (field, old, new) = match c.field {
                ChangeField::Status => {
                    let (Ok(old), Ok(new)) = (state_of(&c.from, rep), state_of(&c.to, rep)) else { continue };
                    let old = if old.is_null() { status_before.clone() } else { old };
                    if !new.is_null() {
                        status_before = new.clone();
                    }
                    ("status", old, new)
                }
                ChangeField::Sprint => {
                    let id = |v: &Option<String>| {
                        last_sprint(v).and_then(|n| plan.sprints.get(&n)).map_or(Value::Null, |i| json!(i))
                    };
                    ("sprint", id(&c.from), id(&c.to))
                }
                ChangeField::Points => {
                    let p = |v: &Option<String>| {
                        v.as_deref()
                            .and_then(|s| s.trim().parse::<f64>().ok())
                            .map_or(Value::Null, |x| json!(x))
                    };
                    ("estimate", p(&c.from), p(&c.to))
                }
                ChangeField::Kind => {
                    let k =
                        |v: &Option<String>| v.as_deref().map_or(Value::Null, |s| json!(kinds(s).as_str()));
                    ("kind", k(&c.from), k(&c.to))
                }
            };
            if old != new {
                history.push(BulkEvent { at, actor, field: field.into(), old, new });
            }
        }
        // Without a changelog entry that brings the item to its current state, one is made at
        // its resolution (or last update), so lead time and throughput still count it.
        let last_status = history.iter().rev().find(|e| e.field == "status").map(|e| e.new.clone());
        let current = json!(status.0);
        let needs = match &last_status {
            Some(v) => *v != current,
            None => Some(status) != initial,
        };
        if needs {
            let done = wf.state(status).is_some_and(|s| s.category == Category::Done);
            let at = if done { src.resolved.or(src.updated) } else { src.updated }.unwrap_or(created_at);
            let old = last_status.unwrap_or_else(|| initial.map_or(Value::Null, |i| json!(i.0)));
            history.push(BulkEvent {
                at: Timestamp(at.0.max(created_at.0)),
                actor: Some(assignee.unwrap_or(reporter)),
                field: "status".into(),
                old,
                new: current,
            });
        }
        history.sort_by_key(|e| e.at);
        Some(BulkItem {
            item: NewItem {
                kind,
                parent_id: None,
                title,
                description,
                story: StoryFields::default(),
                criteria: Vec::new(),
                estimate,
                labels,
                assignee_id: assignee,
                status_id: Some(status),
                sprint_id,
                release_id,
            },
            created_at,
            created_by: Some(reporter),
            history,
        })
    }
}

/// The unique key of an imported comment: product, source key, position among the item's comments.
fn comment_key(product: keel_domain::ProductId, prefix: &str, key: &str, n: usize) -> String {
    format!("import:{}:{prefix}{key}:{n}", product.0)
}

/// An imported comment's text: as it is when its author is a member, else with the author
/// named on the first line; cut to the longest comment Keel keeps. `None` when empty.
fn comment_body(c: &SourceComment, people: &HashMap<String, UserId>) -> Option<String> {
    let body = c.body.trim_end();
    if body.trim().is_empty() {
        return None;
    }
    let author = c.author.trim();
    let text = if people.contains_key(&author.to_lowercase()) {
        body.to_string()
    } else if author.is_empty() {
        format!("*Imported comment (author unknown)*\n\n{body}")
    } else {
        format!("*{author} wrote:*\n\n{body}")
    };
    Some(truncate(&text, MAX_BODY).0)
}

fn remap(v: &mut Option<RecordId>, ids: &HashMap<i64, i64>) {
    if let Some(r) = v {
        if let Some(real) = ids.get(&r.0) {
            *r = RecordId(*real);
        }
    }
}

impl App {
    /// Whether `user` may import into the product: the rights an import uses (create epics and
    /// items, edit items, manage sprints), all allowed outright. 404 for non-members, 403 else.
    pub async fn may_import(&self, user: &User, product_key: &str) -> AppResult<ProductAccess> {
        let access = self.access(user, product_key).await?;
        for a in [Action::CreateEpic, Action::CreateItem, Action::EditItem, Action::ManageSprint] {
            self.require(&access, a)?;
        }
        Ok(access)
    }
}

/// Largest upload read through the web, all files together, in bytes.
pub const UPLOAD_MAX: usize = 20 * 1024 * 1024;

impl ImportSource {
    /// From its name (`jira`, `linear`, `csv`).
    pub fn parse(field: &str, s: &str) -> AppResult<Self> {
        match s.trim().to_lowercase().as_str() {
            "jira" => Ok(ImportSource::Jira),
            "linear" => Ok(ImportSource::Linear),
            "csv" => Ok(ImportSource::Csv),
            other => {
                Err(AppError::invalid(field, format!("\"{other}\" is not a format: jira, linear or csv")))
            }
        }
    }
}

/// An import as one uploads it through the web: the files, the format, and the mapping and
/// column map as TOML text (as the command line reads them from files).
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// The format.
    pub format: ImportSource,
    /// The files: name and bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// The mapping (`[statuses]`, `[kinds]`, `[users]`), TOML; may be empty.
    pub mapping: String,
    /// The column map of a generic CSV, TOML (required for `csv`).
    pub columns: String,
    /// Work everything out, write nothing.
    pub dry_run: bool,
    /// Write nothing when anything is wrong.
    pub strict: bool,
}

/// Reads uploaded files in `format` into an import set (checked as a whole). `columns` is the
/// column map's TOML text, required for `csv`.
pub fn read_upload(format: ImportSource, files: &[(String, Vec<u8>)], columns: &str) -> AppResult<ImportSet> {
    use keel_domain::import::{generic, json, linear};
    if files.is_empty() {
        return Err(AppError::invalid("files", "upload at least one file"));
    }
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    if total > UPLOAD_MAX {
        return Err(AppError::invalid(
            "files",
            format!(
                "{} MB in all; at most {} MB are read through the web (use `keel import` for larger exports)",
                total >> 20,
                UPLOAD_MAX >> 20
            ),
        ));
    }
    Ok(match format {
        ImportSource::Jira => json::read_jira_files(files),
        ImportSource::Linear => {
            let mut set = ImportSet::default();
            for (name, bytes) in files {
                linear::read_linear(name, bytes, &mut set);
            }
            set.finish();
            set
        }
        ImportSource::Csv => {
            if columns.trim().is_empty() {
                return Err(AppError::invalid(
                    "columns",
                    "a CSV import needs a column map (key = \"…\", title = \"…\", …)",
                ));
            }
            let map: generic::ColumnMap =
                toml::from_str(columns).map_err(|e| AppError::invalid("columns", e.message().to_string()))?;
            map.delimiter_byte().map_err(|m| AppError::invalid("columns.delimiter", m))?;
            let mut set = ImportSet::default();
            for (name, bytes) in files {
                generic::read_generic(name, bytes, &map, &mut set);
            }
            set.finish();
            set
        }
    })
}

impl App {
    /// Imports uploaded files into the product (web and API): the same rights, rules and
    /// report as `keel import`. The rights are checked before the files are read.
    pub async fn import_upload(
        &self,
        user: &User,
        product_key: &str,
        up: &Upload,
    ) -> AppResult<ImportReport> {
        self.may_import(user, product_key).await?;
        let mapping: Mapping = if up.mapping.trim().is_empty() {
            Mapping::default()
        } else {
            toml::from_str(&up.mapping).map_err(|e| AppError::invalid("mapping", e.message().to_string()))?
        };
        let set = read_upload(up.format, &up.files, &up.columns)?;
        let opts = ImportOptions { dry_run: up.dry_run, strict: up.strict, mapping, source: up.format };
        self.import_jira(user, product_key, &set, &opts, &mut |_, _| {}).await
    }
}

/// Imported comments written per transaction.
const COMMENT_CHUNK: usize = 500;
