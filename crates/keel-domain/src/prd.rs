//! Product requirements documents: generated from the data of an initiative or an epic, section
//! by section, as Markdown; the Product Manager's edits replace single sections and survive
//! regeneration.
//!
//! Generation is a pure function of the gathered data ([`PrdInput`]), so the same data always
//! makes the same document and a section the PM never touched follows the data.

use crate::{Date, Invalid, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The sections, in document order: id and title.
pub const SECTIONS: [(&str, &str); 7] = [
    ("overview", "Overview"),
    ("problem", "Problem and evidence"),
    ("goals", "Goals and KPIs"),
    ("scope", "Scope"),
    ("non_goals", "Non-goals"),
    ("releases", "Releases"),
    ("open_questions", "Open questions"),
];

/// Longest edited section, in characters.
pub const SECTION_MAX: usize = 50_000;

/// What the document is about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subject {
    /// `initiative` or `epic`.
    pub kind: String,
    /// Its title (with the key for an epic).
    pub title: String,
    /// Its owner's name, if any.
    pub owner: Option<String>,
    /// Its status.
    pub status: String,
    /// Its timeframe ("2026-04-01 – 2026-06-30", "Q2 2026"), or empty.
    pub timeframe: String,
    /// Its description.
    pub description: String,
    /// For an epic: the initiative(s) it delivers.
    pub parents: Vec<String>,
}

/// A customer's words behind an opportunity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quote {
    /// The feedback text.
    pub text: String,
    /// The person.
    pub person: String,
    /// Their company.
    pub company: String,
    /// The company's segment.
    pub segment: String,
}

/// An opportunity the subject answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpportunityIn {
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Linked feedback.
    pub feedback_count: usize,
    /// Revenue behind it.
    pub revenue: f64,
    /// Feedback quotes, newest first.
    pub quotes: Vec<Quote>,
}

/// A KPI as a key result tracks it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiIn {
    /// Its name.
    pub name: String,
    /// Its unit (`count`, `currency`, `percent`, `score`).
    pub unit: String,
    /// Baseline.
    pub baseline: f64,
    /// Target.
    pub target: f64,
    /// Latest measurement: date and value.
    pub latest: Option<(Date, f64)>,
}

/// A key result of a goal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyResultIn {
    /// Its title.
    pub title: String,
    /// The KPI it tracks.
    pub kpi: Option<KpiIn>,
}

/// A goal the subject serves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoalIn {
    /// Its title.
    pub title: String,
    /// Its due date.
    pub due: Option<Date>,
    /// Its progress in percent (0 to 100), when measurable.
    pub progress: Option<f64>,
    /// Its key results.
    pub key_results: Vec<KeyResultIn>,
}

/// A story in scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryIn {
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its estimate.
    pub points: Option<f64>,
    /// Its workflow state's name.
    pub status: String,
    /// Its acceptance criteria: text and whether met.
    pub criteria: Vec<(String, bool)>,
    /// The release it is planned in, by name.
    pub release: Option<String>,
}

/// An epic in scope and its stories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpicIn {
    /// Its key.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its stories, in backlog order.
    pub stories: Vec<StoryIn>,
}

/// A release the stories are planned in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReleaseIn {
    /// Its name.
    pub name: String,
    /// Its target date.
    pub target: Option<Date>,
    /// Whether it has shipped.
    pub shipped: bool,
}

/// Everything a PRD is made from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrdInput {
    /// What it is about.
    pub subject: Subject,
    /// Opportunities it answers.
    pub opportunities: Vec<OpportunityIn>,
    /// Goals it serves.
    pub goals: Vec<GoalIn>,
    /// Epics in scope.
    pub epics: Vec<EpicIn>,
    /// Releases its stories are planned in.
    pub releases: Vec<ReleaseIn>,
    /// Open questions to the Product Owner on its items: item key and question.
    pub questions: Vec<(String, String)>,
    /// Blocked items: key, title and what blocks them.
    pub blocked: Vec<(String, String, Vec<String>)>,
}

/// A generated section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its id (one of [`SECTIONS`]).
    pub id: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Its Markdown (without the heading).
    pub markdown: String,
}

/// A number without needless decimals (3, 2.5, 0.25).
pub fn num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn value(v: f64, unit: &str) -> String {
    match unit {
        "percent" => format!("{} %", num(v)),
        "currency" => money(v),
        _ => num(v),
    }
}

fn money(v: f64) -> String {
    let whole = v.round() as i64;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (n, c) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// One line of user text for a list item or a table-free line: newlines folded.
fn line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Markdown block quote of user text.
fn quote(s: &str) -> String {
    s.trim().lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
}

fn overview(i: &PrdInput) -> String {
    let s = &i.subject;
    let mut out = vec![
        format!("- **{}:** {}", if s.kind == "epic" { "Epic" } else { "Initiative" }, line(&s.title)),
        format!("- **Owner:** {}", s.owner.as_deref().map_or("not set".to_string(), line)),
        format!("- **Status:** {}", line(&s.status)),
        format!("- **Timeframe:** {}", if s.timeframe.is_empty() { "not set" } else { &s.timeframe }),
    ];
    if !s.parents.is_empty() {
        out.push(format!(
            "- **Delivers:** {}",
            s.parents.iter().map(|p| line(p)).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut text = out.join("\n");
    if !s.description.trim().is_empty() {
        text.push_str("\n\n");
        text.push_str(s.description.trim());
    }
    text
}

fn problem(i: &PrdInput) -> String {
    if i.opportunities.is_empty() {
        return "_No opportunity is linked yet: promote one to an epic of this work to bring its evidence here._"
            .to_string();
    }
    let mut parts = Vec::new();
    for o in &i.opportunities {
        let mut p = format!(
            "### {}\n\nDemand: {} feedback, revenue {} behind it.",
            line(&o.title),
            o.feedback_count,
            money(o.revenue)
        );
        if !o.description.trim().is_empty() {
            p.push_str("\n\n");
            p.push_str(o.description.trim());
        }
        for q in o.quotes.iter().take(5) {
            let who: Vec<String> = [&q.person, &q.company, &q.segment]
                .iter()
                .filter(|x| !x.trim().is_empty())
                .map(|x| line(x))
                .collect();
            p.push_str("\n\n");
            p.push_str(&quote(&q.text));
            if !who.is_empty() {
                p.push_str(&format!("\n>\n> — {}", who.join(", ")));
            }
        }
        if o.quotes.len() > 5 {
            p.push_str(&format!("\n\n_…and {} more feedback._", o.quotes.len() - 5));
        }
        parts.push(p);
    }
    parts.join("\n\n")
}

fn goals(i: &PrdInput) -> String {
    if i.goals.is_empty() {
        return "_No goal is linked yet._".to_string();
    }
    let mut parts = Vec::new();
    for g in &i.goals {
        let mut head = format!("### {}", line(&g.title));
        let mut facts = Vec::new();
        if let Some(d) = g.due {
            facts.push(format!("due {d}"));
        }
        if let Some(p) = g.progress {
            facts.push(format!("{} % there", p.round() as i64));
        }
        if !facts.is_empty() {
            head.push_str(&format!("\n\n{}.", capitalise(&facts.join(", "))));
        }
        let krs: Vec<String> = g
            .key_results
            .iter()
            .map(|kr| match &kr.kpi {
                Some(k) => format!(
                    "- {} — KPI {}: baseline {}, target {}, latest {}",
                    line(&kr.title),
                    line(&k.name),
                    value(k.baseline, &k.unit),
                    value(k.target, &k.unit),
                    k.latest.map_or("not measured yet".to_string(), |(d, v)| format!(
                        "{} ({d})",
                        value(v, &k.unit)
                    ))
                ),
                None => format!("- {} — no KPI tracked", line(&kr.title)),
            })
            .collect();
        if krs.is_empty() {
            parts.push(format!("{head}\n\n_No key results yet._"));
        } else {
            parts.push(format!("{head}\n\n{}", krs.join("\n")));
        }
    }
    parts.join("\n\n")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str())
}

fn scope(i: &PrdInput) -> String {
    if i.epics.is_empty() {
        return "_No epic delivers this yet._".to_string();
    }
    let mut parts = Vec::new();
    for e in &i.epics {
        let total: f64 = e.stories.iter().filter_map(|s| s.points).sum();
        let mut p = format!(
            "### {} {}\n\n{} {}, {} points.",
            e.key,
            line(&e.title),
            e.stories.len(),
            if e.stories.len() == 1 { "story" } else { "stories" },
            num(total)
        );
        for s in &e.stories {
            p.push_str(&format!(
                "\n\n- **{} {}** — {}, {}",
                s.key,
                line(&s.title),
                s.points.map_or("not estimated".to_string(), |v| format!("{} points", num(v))),
                line(&s.status)
            ));
            for (c, met) in &s.criteria {
                p.push_str(&format!("\n  - [{}] {}", if *met { "x" } else { " " }, line(c)));
            }
            if s.criteria.is_empty() {
                p.push_str("\n  - _no acceptance criteria yet_");
            }
        }
        parts.push(p);
    }
    parts.join("\n\n")
}

/// The prompt the Non-goals section starts with.
pub const NON_GOALS_PROMPT: &str = "_What this deliberately does not do: edit this section to say so._";

fn releases(i: &PrdInput) -> String {
    if i.releases.is_empty() {
        return "_No story of this is planned in a release yet._".to_string();
    }
    i.releases
        .iter()
        .map(|r| {
            let stories: Vec<&str> = i
                .epics
                .iter()
                .flat_map(|e| &e.stories)
                .filter(|s| s.release.as_deref() == Some(r.name.as_str()))
                .map(|s| s.key.as_str())
                .collect();
            format!(
                "- **{}** — {}{}: {}",
                line(&r.name),
                r.target.map_or("no target date".to_string(), |d| format!("target {d}")),
                if r.shipped { ", shipped" } else { "" },
                if stories.is_empty() { "no stories".to_string() } else { stories.join(", ") }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn open_questions(i: &PrdInput) -> String {
    let mut out = Vec::new();
    for (k, q) in &i.questions {
        out.push(format!("- {k}: {}", line(q)));
    }
    for (k, t, by) in &i.blocked {
        out.push(format!("- {k} {} is blocked by {}", line(t), by.join(", ")));
    }
    for s in i.epics.iter().flat_map(|e| &e.stories) {
        if s.points.is_none() {
            out.push(format!("- {} {} is not estimated", s.key, line(&s.title)));
        }
        if s.criteria.is_empty() {
            out.push(format!("- {} {} has no acceptance criteria", s.key, line(&s.title)));
        }
    }
    if i.opportunities.is_empty() {
        out.push("- Which customer problem does this solve? No opportunity is linked.".to_string());
    }
    if i.goals.is_empty() {
        out.push("- Which goal does this serve? None is linked.".to_string());
    }
    if out.is_empty() {
        "_None right now._".to_string()
    } else {
        out.join("\n")
    }
}

/// Generates every section from the data.
pub fn generate(i: &PrdInput) -> Vec<Section> {
    SECTIONS
        .iter()
        .map(|(id, title)| Section {
            id,
            title,
            markdown: match *id {
                "overview" => overview(i),
                "problem" => problem(i),
                "goals" => goals(i),
                "scope" => scope(i),
                "non_goals" => NON_GOALS_PROMPT.to_string(),
                "releases" => releases(i),
                _ => open_questions(i),
            },
        })
        .collect()
}

/// A section as the PM edited it, with the generated text the edit was made over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditedSection {
    /// The PM's Markdown.
    pub markdown: String,
    /// What the section's generated text was when edited.
    #[serde(default)]
    pub based_on: String,
}

/// The PM's edits to one PRD (stored as a record per initiative or epic).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrdEdits {
    /// Edited sections by id.
    #[serde(default)]
    pub sections: BTreeMap<String, EditedSection>,
}

/// Checks a section id.
pub fn check_section(field: &str, id: &str) -> Invalid<&'static str> {
    SECTIONS.iter().map(|(i, _)| *i).find(|i| *i == id).ok_or_else(|| {
        let all: Vec<&str> = SECTIONS.iter().map(|(i, _)| *i).collect();
        ValidationError::new(field, format!("must be one of {}", all.join(", ")))
    })
}

/// A section of the document as shown: the PM's text when edited, else the generated one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSection {
    /// Its id.
    pub id: &'static str,
    /// Its title.
    pub title: &'static str,
    /// The text shown.
    pub markdown: String,
    /// Whether the PM's edit stands in for the generated text.
    pub edited: bool,
    /// The generated text now.
    pub generated: String,
    /// Edited, and the data has changed since: the generated text differs from the one edited.
    pub outdated: bool,
}

impl PrdEdits {
    /// Applies a PUT: sets the given sections (validated, fields `sections.{id}`), then resets
    /// `reset` to generated. `generated` is the current generated document, kept with each edit.
    pub fn apply(
        &mut self,
        set: &BTreeMap<String, String>,
        reset: &[String],
        generated: &[Section],
    ) -> Invalid<()> {
        for (id, md) in set {
            let id = check_section(&format!("sections.{id}"), id)?;
            let md = crate::error::text(&format!("sections.{id}"), md, 0, SECTION_MAX, true)?;
            let based_on =
                generated.iter().find(|s| s.id == id).map(|s| s.markdown.clone()).unwrap_or_default();
            self.sections.insert(id.to_string(), EditedSection { markdown: md, based_on });
        }
        for (n, id) in reset.iter().enumerate() {
            let id = check_section(&format!("reset[{n}]"), id)?;
            self.sections.remove(id);
        }
        Ok(())
    }

    /// The document: each section edited or generated.
    pub fn compose(&self, generated: Vec<Section>) -> Vec<DocSection> {
        generated
            .into_iter()
            .map(|g| match self.sections.get(g.id) {
                Some(e) => DocSection {
                    id: g.id,
                    title: g.title,
                    markdown: e.markdown.clone(),
                    edited: true,
                    outdated: e.based_on != g.markdown,
                    generated: g.markdown,
                },
                None => DocSection {
                    id: g.id,
                    title: g.title,
                    markdown: g.markdown.clone(),
                    edited: false,
                    outdated: false,
                    generated: g.markdown,
                },
            })
            .collect()
    }
}

/// The whole document as one Markdown file.
pub fn markdown(title: &str, sections: &[DocSection]) -> String {
    let mut out = format!("# PRD: {}\n", line(title));
    for s in sections {
        out.push_str(&format!("\n## {}\n\n{}\n", s.title, s.markdown.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PrdInput {
        PrdInput {
            subject: Subject {
                kind: "initiative".into(),
                title: "Self-serve checkout".into(),
                owner: Some("Pia".into()),
                status: "in progress".into(),
                timeframe: "Q2 2026".into(),
                description: "Let shoppers pay without calling us.".into(),
                parents: vec![],
            },
            opportunities: vec![OpportunityIn {
                title: "Checkout is slow".into(),
                description: "Buyers abandon carts at the payment step.".into(),
                feedback_count: 2,
                revenue: 120000.0,
                quotes: vec![Quote {
                    text: "I gave up paying twice\nlast week".into(),
                    person: "Ann".into(),
                    company: "Acme".into(),
                    segment: "".into(),
                }],
            }],
            goals: vec![GoalIn {
                title: "Grow revenue".into(),
                due: Some(Date::parse("d", "2026-12-31").unwrap()),
                progress: Some(25.0),
                key_results: vec![KeyResultIn {
                    title: "Conversion to 4 %".into(),
                    kpi: Some(KpiIn {
                        name: "Conversion".into(),
                        unit: "percent".into(),
                        baseline: 2.0,
                        target: 4.0,
                        latest: Some((Date::parse("d", "2026-03-01").unwrap(), 2.5)),
                    }),
                }],
            }],
            epics: vec![EpicIn {
                key: "SHOP-1".into(),
                title: "One-page checkout".into(),
                stories: vec![
                    StoryIn {
                        key: "SHOP-2".into(),
                        title: "Pay by card".into(),
                        points: Some(5.0),
                        status: "In progress".into(),
                        criteria: vec![("Card declined shows why".into(), true)],
                        release: Some("2.0".into()),
                    },
                    StoryIn {
                        key: "SHOP-3".into(),
                        title: "Pay by invoice".into(),
                        points: None,
                        status: "To do".into(),
                        criteria: vec![],
                        release: None,
                    },
                ],
            }],
            releases: vec![ReleaseIn {
                name: "2.0".into(),
                target: Some(Date::parse("d", "2026-06-30").unwrap()),
                shipped: false,
            }],
            questions: vec![("SHOP-3".into(), "Which invoice terms?".into())],
            blocked: vec![],
        }
    }

    #[test]
    fn sections_carry_the_data() {
        let s = generate(&input());
        let get = |id: &str| s.iter().find(|x| x.id == id).unwrap().markdown.clone();
        assert_eq!(s.len(), 7);
        assert!(get("overview").contains("- **Owner:** Pia"));
        assert!(get("overview").contains("Q2 2026"));
        let p = get("problem");
        assert!(p.contains("### Checkout is slow"));
        assert!(p.contains("Demand: 2 feedback, revenue 120,000 behind it."));
        assert!(p.contains("> I gave up paying twice\n> last week\n>\n> — Ann, Acme"));
        let g = get("goals");
        assert!(g.contains("Due 2026-12-31, 25 % there."));
        assert!(g.contains(
            "- Conversion to 4 % — KPI Conversion: baseline 2 %, target 4 %, latest 2.5 % (2026-03-01)"
        ));
        let sc = get("scope");
        assert!(sc.contains("2 stories, 5 points."));
        assert!(
            sc.contains("- **SHOP-2 Pay by card** — 5 points, In progress\n  - [x] Card declined shows why")
        );
        assert!(sc.contains(
            "- **SHOP-3 Pay by invoice** — not estimated, To do\n  - _no acceptance criteria yet_"
        ));
        assert_eq!(get("non_goals"), NON_GOALS_PROMPT);
        assert_eq!(get("releases"), "- **2.0** — target 2026-06-30: SHOP-2");
        let q = get("open_questions");
        assert!(q.contains("- SHOP-3: Which invoice terms?"));
        assert!(q.contains("- SHOP-3 Pay by invoice is not estimated"));
        assert!(q.contains("- SHOP-3 Pay by invoice has no acceptance criteria"));
    }

    #[test]
    fn empty_data_says_what_is_missing() {
        let s = generate(&PrdInput::default());
        assert!(s[1].markdown.contains("No opportunity is linked yet"));
        assert!(s[6].markdown.contains("Which goal does this serve?"));
    }

    #[test]
    fn edits_survive_regeneration_and_reset() {
        let mut data = input();
        let mut edits = PrdEdits::default();
        let set: BTreeMap<String, String> =
            [("non_goals".to_string(), "- No crypto".to_string()), ("goals".to_string(), "Mine".to_string())]
                .into();
        edits.apply(&set, &[], &generate(&data)).unwrap();
        data.epics[0].stories[1].points = Some(3.0);
        data.goals[0].progress = Some(50.0);
        let doc = edits.compose(generate(&data));
        let get = |id: &str| doc.iter().find(|x| x.id == id).unwrap().clone();
        assert_eq!(get("non_goals").markdown, "- No crypto");
        assert!(get("non_goals").edited && !get("non_goals").outdated);
        assert_eq!(get("goals").markdown, "Mine");
        assert!(get("goals").outdated, "the goal's progress changed under the edit");
        assert!(get("goals").generated.contains("50 % there"));
        assert!(get("scope").markdown.contains("3 points, To do"), "unedited sections follow the data");
        edits.apply(&BTreeMap::new(), &["goals".to_string()], &[]).unwrap();
        let doc = edits.compose(generate(&data));
        assert!(!doc[2].edited);
        assert!(doc[2].markdown.contains("50 % there"));
        let md = markdown("Self-serve checkout", &doc);
        assert!(md.starts_with("# PRD: Self-serve checkout\n\n## Overview\n\n"));
        assert!(md.contains("\n## Non-goals\n\n- No crypto\n"));
    }

    #[test]
    fn bad_section_ids_are_named() {
        let mut e = PrdEdits::default();
        let set: BTreeMap<String, String> = [("nope".to_string(), "x".to_string())].into();
        assert_eq!(e.apply(&set, &[], &[]).unwrap_err().field, "sections.nope");
        assert_eq!(e.apply(&BTreeMap::new(), &["x".to_string()], &[]).unwrap_err().field, "reset[0]");
    }

    #[test]
    fn numbers() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(money(1234567.4), "1,234,567");
        assert_eq!(money(999.0), "999");
        assert_eq!(value(12.0, "percent"), "12 %");
    }
}
