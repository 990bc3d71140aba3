//! Product requirements documents per initiative or epic: the data gathered for the pure
//! generator in `keel_domain::prd`, and the Product Manager's edited sections kept as one record
//! per document (kind `prd`, key `prd:initiative:{id}` or `prd:epic:{item id}`).
//!
//! Every read regenerates the sections the PM has not edited, so they follow the data; an edited
//! section stays as written (and says when the data under it has changed) until reset.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::discovery::{demand, Opportunity};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKind};
use keel_domain::kpi::Kpi;
use keel_domain::pm::Initiative;
use keel_domain::prd::{
    generate, markdown, DocSection, EpicIn, GoalIn, KeyResultIn, KpiIn, OpportunityIn, PrdEdits, PrdInput,
    Quote, ReleaseIn, StoryIn, Subject,
};
use keel_domain::rights::Action;
use keel_domain::sprint::Release;
use keel_domain::{ItemId, RecordId};
use keel_store::{RecordFilter, StoreError, WriteOp, Written};
use std::collections::{BTreeMap, HashMap};

impl RecordKind for PrdEdits {
    const KIND: ObjectKind = ObjectKind::Prd;
}

/// What a PRD is about.
#[derive(Debug, Clone)]
pub enum PrdSubject {
    /// An initiative.
    Initiative(Stored<Initiative>),
    /// An epic.
    Epic(Item),
}

impl PrdSubject {
    fn key(&self) -> String {
        match self {
            PrdSubject::Initiative(i) => format!("prd:initiative:{}", i.id.0),
            PrdSubject::Epic(e) => format!("prd:epic:{}", e.id.0),
        }
    }

    /// Its title.
    pub fn title(&self) -> String {
        match self {
            PrdSubject::Initiative(i) => i.data.title.clone(),
            PrdSubject::Epic(e) => format!("{} {}", e.key, e.title),
        }
    }
}

/// A PRD as read.
#[derive(Debug, Clone)]
pub struct Prd {
    /// Its title.
    pub title: String,
    /// Its sections.
    pub sections: Vec<DocSection>,
    /// The whole document.
    pub markdown: String,
    /// The edits record's version (0 before the first edit).
    pub version: i64,
}

fn timeframe(i: &Initiative) -> String {
    match (i.start, i.end) {
        (Some(s), Some(e)) => format!("{s} – {e}"),
        (Some(s), None) => format!("from {s}"),
        (None, Some(e)) => format!("until {e}"),
        (None, None) => String::new(),
    }
}

impl App {
    async fn prd_edits(&self, subject: &PrdSubject) -> AppResult<Option<Stored<PrdEdits>>> {
        match self.store.record_by_key(ObjectKind::Prd, &subject.key()).await {
            Ok(r) => Ok(Some(Stored::from_record(r)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Gathers everything the PRD of `subject` is made from.
    pub async fn prd_input(&self, access: &ProductAccess, subject: &PrdSubject) -> AppResult<PrdInput> {
        let members = self.members(access).await?;
        let name_of = |id: Option<keel_domain::UserId>| {
            id.and_then(|id| members.iter().find(|(u, _)| u.id == id).map(|(u, _)| u.name.clone()))
        };
        let workflow = self.workflow(access).await?;
        let state_name = |i: &Item| {
            workflow.state(i.status_id).map_or_else(|| i.category.as_str().to_string(), |s| s.name.clone())
        };
        let initiatives = self.initiatives(access).await?;
        // The initiatives behind the document and its epics.
        let (subject_in, owning, epic_ids): (Subject, Vec<&Stored<Initiative>>, Vec<ItemId>) = match subject {
            PrdSubject::Initiative(i) => (
                Subject {
                    kind: "initiative".into(),
                    title: i.data.title.clone(),
                    owner: name_of(i.data.owner),
                    status: crate::roadmap::status_of(i).as_str().replace('_', " "),
                    timeframe: timeframe(&i.data),
                    description: i.data.description.clone(),
                    parents: vec![],
                },
                initiatives.iter().filter(|x| x.id == i.id).collect(),
                i.data.epics.clone(),
            ),
            PrdSubject::Epic(e) => {
                let owning: Vec<&Stored<Initiative>> =
                    initiatives.iter().filter(|x| x.data.epics.contains(&e.id)).collect();
                let frames: Vec<String> =
                    owning.iter().map(|x| timeframe(&x.data)).filter(|t| !t.is_empty()).collect();
                (
                    Subject {
                        kind: "epic".into(),
                        title: format!("{} {}", e.key, e.title),
                        owner: name_of(e.assignee_id),
                        status: state_name(e),
                        timeframe: frames.join("; "),
                        description: e.description.clone(),
                        parents: owning.iter().map(|x| x.data.title.clone()).collect(),
                    },
                    owning,
                    vec![e.id],
                )
            }
        };

        // Scope: the epics and their children.
        let mut epics = Vec::new();
        let mut all_items: Vec<Item> = Vec::new();
        let mut release_ids: Vec<RecordId> = Vec::new();
        for id in &epic_ids {
            let epic = match self.item_by_id(access, *id).await {
                Ok(e) => e,
                Err(AppError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            let children = self.children(access, &epic).await?;
            let mut stories = Vec::new();
            for c in children.iter().filter(|c| c.kind != ItemKind::Epic) {
                if let Some(r) = c.release_id {
                    if !release_ids.contains(&r) {
                        release_ids.push(r);
                    }
                }
                stories.push((c.clone(), c.release_id));
            }
            all_items.push(epic.clone());
            all_items.extend(children.iter().cloned());
            epics.push((epic, stories));
        }
        let mut releases: HashMap<RecordId, Release> = HashMap::new();
        for id in &release_ids {
            match self.get_record::<Release>(*id).await {
                Ok(r) => {
                    releases.insert(*id, r.data);
                }
                Err(AppError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        let epics_in: Vec<EpicIn> = epics
            .iter()
            .map(|(e, stories)| EpicIn {
                key: e.key.clone(),
                title: e.title.clone(),
                stories: stories
                    .iter()
                    .map(|(s, r)| StoryIn {
                        key: s.key.clone(),
                        title: s.title.clone(),
                        points: s.estimate.map(|p| p.value()),
                        status: state_name(s),
                        criteria: s.criteria.iter().map(|c| (c.text.clone(), c.checked)).collect(),
                        release: r.and_then(|r| releases.get(&r)).map(|r| r.name.clone()),
                    })
                    .collect(),
            })
            .collect();
        let mut releases_in: Vec<ReleaseIn> = release_ids
            .iter()
            .filter_map(|id| releases.get(id))
            .map(|r| ReleaseIn {
                name: r.name.clone(),
                target: r.target_date,
                shipped: r.released_at.is_some(),
            })
            .collect();
        releases_in.sort_by(|a, b| a.target.cmp(&b.target).then(a.name.cmp(&b.name)));

        // Problem and evidence: opportunities promoted into these epics, with their feedback.
        let opportunities = self
            .list_records::<Opportunity>(RecordFilter::of(ObjectKind::Opportunity).product(access.product.id))
            .await?;
        let feedback = self.feedback_list(access, &Default::default()).await?;
        let opportunities_in: Vec<OpportunityIn> = opportunities
            .iter()
            .filter(|o| o.data.epic.is_some_and(|e| epic_ids.contains(&e)))
            .map(|o| {
                let d = demand(o.id, feedback.iter().map(|f| &f.data));
                OpportunityIn {
                    title: o.data.title.clone(),
                    description: o.data.description.clone(),
                    feedback_count: d.count,
                    revenue: d.revenue,
                    quotes: feedback
                        .iter()
                        .filter(|f| f.data.opportunities.contains(&o.id))
                        .map(|f| Quote {
                            text: f.data.text.clone(),
                            person: f.data.person.clone(),
                            company: f.data.company.clone(),
                            segment: f.data.segment.clone(),
                        })
                        .collect(),
                }
            })
            .collect();

        // Goals and KPIs: the goals of the initiatives behind it.
        let mut goal_ids: Vec<RecordId> = Vec::new();
        for i in &owning {
            for g in &i.data.goals {
                if !goal_ids.contains(g) {
                    goal_ids.push(*g);
                }
            }
        }
        let kpis: HashMap<RecordId, Kpi> =
            self.kpis(access).await?.into_iter().map(|k| (k.id, k.data)).collect();
        let goals_in: Vec<GoalIn> = self
            .goals(access)
            .await?
            .into_iter()
            .filter(|g| goal_ids.contains(&g.goal.id))
            .map(|g| GoalIn {
                title: g.goal.data.title.clone(),
                due: g.goal.data.due,
                progress: g.progress,
                key_results: g
                    .goal
                    .data
                    .key_results
                    .iter()
                    .map(|kr| KeyResultIn {
                        title: kr.title.clone(),
                        kpi: kr.kpi_id.and_then(|k| kpis.get(&k)).map(|k| KpiIn {
                            name: k.name.clone(),
                            unit: k.unit.as_str().to_string(),
                            baseline: k.baseline,
                            target: k.target,
                            latest: k.latest().map(|m| (m.date, m.value)),
                        }),
                    })
                    .collect(),
            })
            .collect();

        // Open questions: unanswered questions to the PO, blocked items.
        let mut questions = Vec::new();
        for it in &all_items {
            for q in self.questions(access, it).await? {
                if q.data.answer.is_none() {
                    questions.push((it.key.clone(), q.data.text.clone()));
                }
            }
        }
        let open: Vec<&Item> =
            all_items.iter().filter(|i| i.category != keel_domain::workflow::Category::Done).collect();
        let blockers = self.blockers(&open.iter().map(|i| i.id).collect::<Vec<_>>()).await?;
        let blocked = open
            .iter()
            .filter_map(|i| {
                blockers.get(&i.id).filter(|b| !b.is_empty()).map(|b| {
                    (
                        i.key.clone(),
                        i.title.clone(),
                        b.iter().map(|x| format!("{} {}", x.key, x.title)).collect(),
                    )
                })
            })
            .collect();

        Ok(PrdInput {
            subject: subject_in,
            opportunities: opportunities_in,
            goals: goals_in,
            epics: epics_in,
            releases: releases_in,
            questions,
            blocked,
        })
    }

    /// The PRD of `subject`: generated sections where the PM has not edited them.
    pub async fn prd(&self, access: &ProductAccess, subject: &PrdSubject) -> AppResult<Prd> {
        let input = self.prd_input(access, subject).await?;
        let stored = self.prd_edits(subject).await?;
        let edits = stored.as_ref().map(|s| s.data.clone()).unwrap_or_default();
        let sections = edits.compose(generate(&input));
        let title = subject.title();
        Ok(Prd {
            markdown: markdown(&title, &sections),
            title,
            sections,
            version: stored.map_or(0, |s| s.version),
        })
    }

    /// Stores the PM's edited sections and resets others to generated, in one write.
    pub async fn save_prd(
        &self,
        access: &ProductAccess,
        subject: &PrdSubject,
        set: &BTreeMap<String, String>,
        reset: &[String],
        expected_version: Option<i64>,
    ) -> AppResult<Prd> {
        self.require(access, Action::EditPrd)?;
        let stored = self.prd_edits(subject).await?;
        let current = stored.as_ref().map_or(0, |s| s.version);
        if expected_version.is_some_and(|v| v != current) {
            return Err(AppError::StaleVersion { current });
        }
        let input = self.prd_input(access, subject).await?;
        let mut edits = stored.as_ref().map(|s| s.data.clone()).unwrap_or_default();
        edits.apply(set, reset, &generate(&input))?;
        let parent = match subject {
            PrdSubject::Initiative(i) => Some(i.id.0),
            PrdSubject::Epic(_) => None,
        };
        let op = match stored {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(&edits)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(
                Some(access.product.id),
                parent,
                "",
                Some(subject.key()),
                &edits,
            )?),
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await {
            Ok(mut w) => match w.pop() {
                Some(Written::Record(_)) => self.prd(access, subject).await,
                _ => Err(AppError::Conflict("the PRD was not saved".into())),
            },
            Err(StoreError::Conflict(_)) => Err(AppError::StaleVersion { current: 1 }),
            Err(e) => Err(e.into()),
        }
    }

    /// The operation deleting the PM's edits of `subject`'s PRD, if any (for deleting the
    /// subject in the same batch).
    pub(crate) async fn prd_cleanup(&self, subject: &PrdSubject) -> AppResult<Option<WriteOp>> {
        Ok(self
            .prd_edits(subject)
            .await?
            .map(|s| WriteOp::DeleteRecord { id: s.id, expected_version: Some(s.version) }))
    }

    /// An epic for its PRD: 404 unless the key names an epic of the product.
    pub async fn prd_epic(&self, access: &ProductAccess, key: &str) -> AppResult<Item> {
        let item = self.item(access, key).await?;
        if item.kind != ItemKind::Epic {
            return Err(AppError::NotFound);
        }
        Ok(item)
    }
}
