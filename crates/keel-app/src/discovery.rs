//! Customer feedback, the feedback widget, opportunities and their scores: scoring and ranking
//! opportunities under the product's chosen framework, promoting them to epics.

use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{App, AppError, AppResult, Outcome, ProductAccess};
use keel_domain::discovery::{
    demand, parse_csv, Demand, Feedback, Framework, Opportunity, Ranking, Scores, Source,
};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKind, NewItem, StoryFields, DESCRIPTION_MAX, TITLE_MAX};
use keel_domain::proposal::{Change, Position, Proposal};
use keel_domain::rights::{Action, Decision};
use keel_domain::user::User;
use keel_domain::{ProductId, RecordId};
use keel_store::{RecordFilter, Ref, StoreError, WriteOp, Written};

impl RecordKind for Opportunity {
    const KIND: ObjectKind = ObjectKind::Opportunity;
}

impl RecordKind for Feedback {
    const KIND: ObjectKind = ObjectKind::Feedback;
}

impl RecordKind for Ranking {
    const KIND: ObjectKind = ObjectKind::Setting;
}

/// The unique key of a product's ranking setting.
pub fn ranking_key(product: ProductId) -> String {
    format!("ranking:{}", product.0)
}

/// An opportunity's fields as a caller gives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpportunityInput {
    /// Title (required to create).
    pub title: Option<String>,
    /// Description (Markdown).
    pub description: Option<String>,
    /// Scores (replace all scores when given).
    pub scores: Option<Scores>,
}

/// An opportunity with its score under the ranking framework.
#[derive(Debug, Clone)]
pub struct Ranked {
    /// The opportunity.
    pub opportunity: Stored<Opportunity>,
    /// Its place, from 1.
    pub rank: usize,
    /// Its score, if scored under the framework.
    pub score: Option<f64>,
    /// The score's parts.
    pub parts: Vec<(&'static str, String)>,
    /// The feedback and revenue behind it.
    pub demand: Demand,
}

/// Filters of the feedback inbox.
#[derive(Debug, Clone, Default)]
pub struct FeedbackFilter {
    /// Only from this source.
    pub source: Option<Source>,
    /// Only linked to this opportunity.
    pub opportunity: Option<RecordId>,
    /// Only feedback linked to no opportunity.
    pub unlinked: bool,
    /// Only with this text in the text, person, company or segment (case-insensitive).
    pub q: Option<String>,
}

/// Most rows one import takes.
pub const IMPORT_MAX_ROWS: usize = 5_000;

/// What promoting did.
#[derive(Debug, Clone)]
pub struct Promoted {
    /// The opportunity, now promoted.
    pub opportunity: Stored<Opportunity>,
    /// The new epic.
    pub epic: Item,
}

fn title(s: &str) -> AppResult<String> {
    Ok(keel_domain::error::text("title", s, 1, TITLE_MAX, false)?)
}

fn description(s: &str) -> AppResult<String> {
    Ok(keel_domain::error::text("description", s, 0, DESCRIPTION_MAX, true)?)
}

impl App {
    /// The product's ranking framework (RICE until chosen) and its stored setting.
    pub async fn ranking(&self, product: ProductId) -> AppResult<(Ranking, Option<Stored<Ranking>>)> {
        match self.store.record_by_key(ObjectKind::Setting, &ranking_key(product)).await {
            Ok(r) => {
                let s = Stored::<Ranking>::from_record(r)?;
                Ok((s.data, Some(s)))
            }
            Err(StoreError::NotFound) => Ok((Ranking::default(), None)),
            Err(e) => Err(e.into()),
        }
    }

    /// Chooses the product's ranking framework (the Product Manager).
    pub async fn set_ranking(&self, access: &ProductAccess, framework: Framework) -> AppResult<Ranking> {
        self.require(access, Action::ScoreOpportunity)?;
        let pid = access.product.id;
        let value = Ranking { framework };
        let op = match self.ranking(pid).await?.1 {
            Some(s) => WriteOp::UpdateRecord {
                id: s.id,
                expected_version: Some(s.version),
                state: None,
                data: to_data(&value)?,
                refs: vec![],
            },
            None => WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(ranking_key(pid)), &value)?),
        };
        self.store.write_batch(vec![op], &self.ctx(&access.user)).await?;
        Ok(value)
    }

    /// The product's open and promoted opportunities, ranked under `framework` (the product's
    /// choice when `None`).
    pub async fn opportunities(
        &self,
        access: &ProductAccess,
        framework: Option<Framework>,
    ) -> AppResult<(Framework, Vec<Ranked>)> {
        let f = match framework {
            Some(f) => f,
            None => self.ranking(access.product.id).await?.0.framework,
        };
        let list = self
            .list_records::<Opportunity>(RecordFilter::of(ObjectKind::Opportunity).product(access.product.id))
            .await?;
        let feedback = self.feedback_list(access, &FeedbackFilter::default()).await?;
        let ranked = keel_domain::discovery::rank(
            list.iter().enumerate().map(|(i, o)| (i, o.data.scores.score(f))).collect(),
        );
        let out = ranked
            .into_iter()
            .enumerate()
            .map(|(n, (i, score))| Ranked {
                opportunity: list[i].clone(),
                rank: n + 1,
                score,
                parts: list[i].data.scores.parts(f),
                demand: demand(list[i].id, feedback.iter().map(|x| &x.data)),
            })
            .collect();
        Ok((f, out))
    }

    /// An opportunity and the caller's access to its product (404 for non-members).
    pub async fn opportunity_access(
        &self,
        user: &User,
        id: i64,
    ) -> AppResult<(ProductAccess, Stored<Opportunity>)> {
        let o = self.get_record::<Opportunity>(RecordId(id)).await?;
        let pid = o.product_id.ok_or(AppError::NotFound)?;
        Ok((self.access_by_id(user, pid).await?, o))
    }

    /// Creates an opportunity. The Product Manager creates it scored; the Product Owner may
    /// create one, and scores given by them become a proposal (the opportunity is created
    /// unscored).
    pub async fn create_opportunity(
        &self,
        access: &ProductAccess,
        input: &OpportunityInput,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Stored<Opportunity>>> {
        let decision = self.decide(access, Action::ScoreOpportunity);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::ScoreOpportunity));
        }
        let t = title(input.title.as_deref().ok_or_else(|| AppError::invalid("title", "is required"))?)?;
        let d = description(input.description.as_deref().unwrap_or(""))?;
        let scores = input.scores.clone().unwrap_or_default();
        scores.validate()?;
        let propose = decision == Decision::Propose && scores != Scores::default();
        let data = Opportunity {
            title: t,
            description: d,
            scores: if propose { Scores::default() } else { scores.clone() },
            epic: None,
        };
        let op = WriteOp::CreateRecord(new_record(Some(access.product.id), None, "open", None, &data)?);
        let created = match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::<Opportunity>::from_record(r)?,
            _ => return Err(AppError::Conflict("the opportunity was not created".into())),
        };
        if propose {
            let summary = format!("Score the opportunity {}", created.data.title);
            let change = Change::ScoreOpportunity { opportunity_id: created.id, scores };
            return self.propose(access, Action::ScoreOpportunity, change, summary, reason).await;
        }
        Ok(Outcome::Done(created))
    }

    /// Changes an opportunity's title, description or scores. New scores are the Product
    /// Manager's; the Product Owner's become a proposal (then send the scores alone).
    pub async fn update_opportunity(
        &self,
        access: &ProductAccess,
        opp: &Stored<Opportunity>,
        input: &OpportunityInput,
        expected_version: Option<i64>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Stored<Opportunity>>> {
        let decision = self.decide(access, Action::ScoreOpportunity);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::ScoreOpportunity));
        }
        if let Some(v) = expected_version {
            if v != opp.version {
                return Err(AppError::StaleVersion { current: opp.version });
            }
        }
        let mut data = opp.data.clone();
        if let Some(t) = &input.title {
            data.title = title(t)?;
        }
        if let Some(d) = &input.description {
            data.description = description(d)?;
        }
        if let Some(s) = &input.scores {
            s.validate()?;
        }
        let rescored = input.scores.as_ref().is_some_and(|s| *s != opp.data.scores);
        if rescored && decision == Decision::Propose {
            if data.title != opp.data.title || data.description != opp.data.description {
                return Err(AppError::invalid("scores", "send proposed scores alone, without other changes"));
            }
            let summary = format!("Score the opportunity {}", opp.data.title);
            let change = Change::ScoreOpportunity {
                opportunity_id: opp.id,
                scores: input.scores.clone().unwrap_or_default(),
            };
            return self.propose(access, Action::ScoreOpportunity, change, summary, reason).await;
        }
        if let Some(s) = &input.scores {
            data.scores = s.clone();
        }
        let ctx = self.ctx(&access.user);
        self.write_opportunity(opp, data, &ctx).await.map(Outcome::Done)
    }

    async fn write_opportunity(
        &self,
        opp: &Stored<Opportunity>,
        data: Opportunity,
        ctx: &keel_store::WriteCtx,
    ) -> AppResult<Stored<Opportunity>> {
        let op = WriteOp::UpdateRecord {
            id: opp.id,
            expected_version: Some(opp.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        match self.store.write_batch(vec![op], ctx).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the opportunity was not changed".into())),
        }
    }

    /// Deletes an opportunity (the Product Manager).
    pub async fn delete_opportunity(
        &self,
        access: &ProductAccess,
        opp: &Stored<Opportunity>,
    ) -> AppResult<()> {
        self.require(access, Action::ScoreOpportunity)?;
        let op = WriteOp::DeleteRecord { id: opp.id, expected_version: None };
        self.store.write_batch(vec![op], &self.ctx(&access.user)).await?;
        Ok(())
    }

    /// Promotes an opportunity to an epic linked to it and, when given, to an initiative of the
    /// product, in one transaction (the Product Manager; the Product Owner proposes).
    pub async fn promote_opportunity(
        &self,
        access: &ProductAccess,
        opp: &Stored<Opportunity>,
        initiative: Option<RecordId>,
        reason: Option<&str>,
    ) -> AppResult<Outcome<Promoted>> {
        let decision = self.decide(access, Action::PromoteOpportunity);
        if decision == Decision::Deny {
            return Err(self.forbidden(Action::PromoteOpportunity));
        }
        let ops = self.promote_plan(access, opp, initiative).await?;
        if decision == Decision::Propose {
            let summary = format!("Promote the opportunity {} to an epic", opp.data.title);
            let change = Change::PromoteOpportunity { opportunity_id: opp.id, initiative_id: initiative };
            return self.propose(access, Action::PromoteOpportunity, change, summary, reason).await;
        }
        self.promote_write(ops, &self.ctx(&access.user)).await.map(Outcome::Done)
    }

    async fn promote_plan(
        &self,
        access: &ProductAccess,
        opp: &Stored<Opportunity>,
        initiative: Option<RecordId>,
    ) -> AppResult<Vec<WriteOp>> {
        if opp.data.epic.is_some() || opp.state == "promoted" {
            return Err(AppError::Conflict("the opportunity is already promoted".into()));
        }
        let initiative = match initiative {
            Some(id) => match self.get_record::<keel_domain::pm::Initiative>(id).await {
                Ok(i) if i.product_id == Some(access.product.id) => Some(i),
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(AppError::invalid("initiative", "is no initiative of this product"))
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let mut text = opp.data.description.clone();
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!("Promoted from opportunity #{}.", opp.id.0));
        let epic = NewItem {
            kind: ItemKind::Epic,
            parent_id: None,
            title: opp.data.title.clone(),
            description: keel_domain::error::text("description", &text, 0, DESCRIPTION_MAX, true)?,
            story: StoryFields::default(),
            criteria: vec![],
            estimate: None,
            labels: vec![],
            assignee_id: None,
            status_id: None,
            sprint_id: None,
            release_id: None,
        };
        let mut ops = vec![
            WriteOp::CreateItem { product: access.product.id, item: epic, position: Position::Bottom },
            WriteOp::UpdateRecord {
                id: opp.id,
                expected_version: Some(opp.version),
                state: Some("promoted".into()),
                data: to_data(&opp.data)?,
                refs: vec![("epic".into(), Ref::Created(0))],
            },
        ];
        if let Some(i) = initiative {
            ops.push(WriteOp::UpdateRecord {
                id: i.id,
                expected_version: Some(i.version),
                state: None,
                data: to_data(&i.data)?,
                refs: vec![("epics[]".into(), Ref::Created(0))],
            });
        }
        Ok(ops)
    }

    async fn promote_write(&self, ops: Vec<WriteOp>, ctx: &keel_store::WriteCtx) -> AppResult<Promoted> {
        let mut w = self.store.write_batch(ops, ctx).await?.into_iter();
        match (w.next(), w.next()) {
            (Some(Written::Item(epic)), Some(Written::Record(r))) => {
                Ok(Promoted { opportunity: Stored::from_record(r)?, epic: *epic })
            }
            _ => Err(AppError::Conflict("the opportunity was not promoted".into())),
        }
    }

    /// Accepts a proposal to score an opportunity, as the decider.
    pub(crate) async fn accept_score_proposal(
        &self,
        access: &ProductAccess,
        p: &Proposal,
        id: RecordId,
        scores: Scores,
    ) -> AppResult<crate::proposals::Accepted> {
        let opp = match self.get_record::<Opportunity>(id).await {
            Ok(o) if o.product_id == Some(access.product.id) => o,
            Ok(_) | Err(AppError::NotFound) => {
                return Err(self.stale(access, p, "the opportunity no longer exists").await)
            }
            Err(e) => return Err(e),
        };
        let mut data = opp.data.clone();
        data.scores = scores;
        self.write_opportunity(&opp, data, &self.ctx_for_proposal(&access.user, p.id)).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: None })
    }

    /// Accepts a proposal to promote an opportunity, as the decider.
    pub(crate) async fn accept_promote_proposal(
        &self,
        access: &ProductAccess,
        p: &Proposal,
        id: RecordId,
        initiative: Option<RecordId>,
    ) -> AppResult<crate::proposals::Accepted> {
        let opp = match self.get_record::<Opportunity>(id).await {
            Ok(o) if o.product_id == Some(access.product.id) => o,
            Ok(_) | Err(AppError::NotFound) => {
                return Err(self.stale(access, p, "the opportunity no longer exists").await)
            }
            Err(e) => return Err(e),
        };
        let ops = match self.promote_plan(access, &opp, initiative).await {
            Ok(ops) => ops,
            Err(
                AppError::Conflict(why)
                | AppError::Invalid(keel_domain::ValidationError { message: why, .. }),
            ) => return Err(self.stale(access, p, &why).await),
            Err(e) => return Err(e),
        };
        let done = self.promote_write(ops, &self.ctx_for_proposal(&access.user, p.id)).await?;
        Ok(crate::proposals::Accepted { proposal: self.store.proposal(p.id).await?, item: Some(done.epic) })
    }

    /// The product's feedback matching `f`, newest first.
    pub async fn feedback_list(
        &self,
        access: &ProductAccess,
        f: &FeedbackFilter,
    ) -> AppResult<Vec<Stored<Feedback>>> {
        let mut list = self
            .list_records::<Feedback>(RecordFilter::of(ObjectKind::Feedback).product(access.product.id))
            .await?;
        let q = f.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
        list.retain(|x| {
            let d = &x.data;
            f.source.is_none_or(|s| d.source == s)
                && f.opportunity.is_none_or(|o| d.opportunities.contains(&o))
                && (!f.unlinked || d.opportunities.is_empty())
                && q.as_deref().is_none_or(|q| {
                    [&d.text, &d.person, &d.company, &d.segment].iter().any(|t| t.to_lowercase().contains(q))
                })
        });
        list.reverse();
        Ok(list)
    }

    /// A piece of feedback and the caller's access to its product (404 for non-members).
    pub async fn feedback_access(
        &self,
        user: &User,
        id: i64,
    ) -> AppResult<(ProductAccess, Stored<Feedback>)> {
        let o = self.get_record::<Feedback>(RecordId(id)).await?;
        let pid = o.product_id.ok_or(AppError::NotFound)?;
        Ok((self.access_by_id(user, pid).await?, o))
    }

    /// Checks that each opportunity is one of the product's.
    async fn check_opportunities(
        &self,
        access: &ProductAccess,
        ids: &[RecordId],
        field: &str,
    ) -> AppResult<()> {
        for id in ids {
            match self.get_record::<Opportunity>(*id).await {
                Ok(o) if o.product_id == Some(access.product.id) => {}
                Ok(_) | Err(AppError::NotFound) => {
                    return Err(AppError::invalid(
                        field,
                        format!("{} is no opportunity of this product", id.0),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Records a piece of feedback (anyone in the product: Action::SendFeedback).
    pub async fn create_feedback(&self, access: &ProductAccess, fb: Feedback) -> AppResult<Stored<Feedback>> {
        self.require(access, Action::SendFeedback)?;
        let mut fb = fb.validate("")?;
        fb.opportunities.dedup();
        self.check_opportunities(access, &fb.opportunities, "opportunities").await?;
        let op = WriteOp::CreateRecord(new_record(Some(access.product.id), None, "new", None, &fb)?);
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the feedback was not recorded".into())),
        }
    }

    /// Imports feedback from CSV with a header row naming its columns (`text` required;
    /// `person`, `company`, `segment`, `revenue` optional). Every row is checked first; any bad
    /// row is one 422 on `csv` listing each problem by row number (the header is row 1), and
    /// nothing is written. All rows land in one transaction.
    pub async fn import_feedback(
        &self,
        access: &ProductAccess,
        csv: &str,
    ) -> AppResult<Vec<Stored<Feedback>>> {
        self.require(access, Action::SendFeedback)?;
        let rows = parse_csv(csv.trim_start_matches('\u{feff}'))?;
        let Some((header, data)) = rows.split_first() else {
            return Err(AppError::invalid("csv", "is empty: send a header row and at least one row"));
        };
        let cols: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        for c in &cols {
            if !["person", "company", "segment", "revenue", "text"].contains(&c.as_str()) {
                return Err(AppError::invalid(
                    "csv",
                    format!("row 1: unknown column {c:?} (use person, company, segment, revenue, text)"),
                ));
            }
        }
        let col = |name: &str| cols.iter().position(|c| c == name);
        let Some(text_col) = col("text") else {
            return Err(AppError::invalid("csv", "row 1: a text column is required"));
        };
        let data: Vec<(usize, &Vec<String>)> = data
            .iter()
            .enumerate()
            .map(|(i, r)| (i + 2, r))
            .filter(|(_, r)| !r.iter().all(|f| f.trim().is_empty()))
            .collect();
        if data.is_empty() {
            return Err(AppError::invalid("csv", "has no rows below the header"));
        }
        if data.len() > IMPORT_MAX_ROWS {
            return Err(AppError::invalid("csv", format!("has more than {IMPORT_MAX_ROWS} rows")));
        }
        let mut errors = Vec::new();
        let mut ops = Vec::new();
        for (n, r) in data {
            let get =
                |c: Option<usize>| c.and_then(|c| r.get(c)).map(|s| s.trim().to_string()).unwrap_or_default();
            if r.len() > cols.len() {
                errors.push(format!("row {n}: has {} fields, the header {}", r.len(), cols.len()));
                continue;
            }
            let revenue = get(col("revenue"));
            let revenue = if revenue.is_empty() {
                0.0
            } else {
                match revenue.parse::<f64>() {
                    Ok(v) => v,
                    Err(_) => {
                        errors.push(format!("row {n}: revenue must be a number"));
                        continue;
                    }
                }
            };
            let fb = Feedback {
                person: get(col("person")),
                company: get(col("company")),
                segment: get(col("segment")),
                revenue,
                source: Source::Import,
                text: get(Some(text_col)),
                opportunities: vec![],
                ..Default::default()
            };
            match fb.validate("") {
                Ok(fb) => ops.push(WriteOp::CreateRecord(new_record(
                    Some(access.product.id),
                    None,
                    "new",
                    None,
                    &fb,
                )?)),
                Err(e) => errors.push(format!("row {n}: {} {}", e.field, e.message)),
            }
        }
        if !errors.is_empty() {
            return Err(AppError::invalid("csv", errors.join("; ")));
        }
        let written = self.store.write_batch(ops, &self.ctx(&access.user)).await?;
        written
            .into_iter()
            .filter_map(|w| match w {
                Written::Record(r) => Some(Stored::from_record(r)),
                _ => None,
            })
            .collect()
    }

    /// Links a piece of feedback to an opportunity of its product, or unlinks it (the Product
    /// Manager and the Product Owner).
    pub async fn link_feedback(
        &self,
        access: &ProductAccess,
        fb: &Stored<Feedback>,
        opportunity: RecordId,
        link: bool,
    ) -> AppResult<Stored<Feedback>> {
        if self.decide(access, Action::ScoreOpportunity) == Decision::Deny {
            return Err(self.forbidden(Action::ScoreOpportunity));
        }
        let mut data = fb.data.clone();
        if link {
            self.check_opportunities(access, &[opportunity], "opportunity").await?;
            if !data.opportunities.contains(&opportunity) {
                data.opportunities.push(opportunity);
            }
        } else {
            data.opportunities.retain(|o| *o != opportunity);
        }
        if data == fb.data {
            return Ok(fb.clone());
        }
        let op = WriteOp::UpdateRecord {
            id: fb.id,
            expected_version: Some(fb.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        };
        match self.store.write_batch(vec![op], &self.ctx(&access.user)).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the feedback was not changed".into())),
        }
    }

    /// Deletes a piece of feedback (the Product Manager).
    pub async fn delete_feedback(&self, access: &ProductAccess, fb: &Stored<Feedback>) -> AppResult<()> {
        self.require(access, Action::ScoreOpportunity)?;
        let op = WriteOp::DeleteRecord { id: fb.id, expected_version: None };
        self.store.write_batch(vec![op], &self.ctx(&access.user)).await?;
        Ok(())
    }

    /// Merges a duplicate opportunity into another of the product (the Product Manager): every
    /// piece of feedback linked to the duplicate is linked to `into` instead, and the duplicate
    /// is deleted, in one transaction. A promoted duplicate cannot be merged (409).
    pub async fn merge_opportunity(
        &self,
        access: &ProductAccess,
        dup: &Stored<Opportunity>,
        into: RecordId,
    ) -> AppResult<Stored<Opportunity>> {
        self.require(access, Action::ScoreOpportunity)?;
        if into == dup.id {
            return Err(AppError::invalid("into", "must be another opportunity"));
        }
        let target = match self.get_record::<Opportunity>(into).await {
            Ok(o) if o.product_id == Some(access.product.id) => o,
            Ok(_) | Err(AppError::NotFound) => {
                return Err(AppError::invalid("into", "is no opportunity of this product"))
            }
            Err(e) => return Err(e),
        };
        if dup.data.epic.is_some() {
            return Err(AppError::Conflict("a promoted opportunity cannot be merged away".into()));
        }
        let filter = FeedbackFilter { opportunity: Some(dup.id), ..Default::default() };
        let mut ops = vec![WriteOp::Guard { id: target.id, expected_version: target.version }];
        for f in self.feedback_list(access, &filter).await? {
            let mut data = f.data.clone();
            data.opportunities.retain(|o| *o != dup.id);
            if !data.opportunities.contains(&into) {
                data.opportunities.push(into);
            }
            ops.push(WriteOp::UpdateRecord {
                id: f.id,
                expected_version: Some(f.version),
                state: None,
                data: to_data(&data)?,
                refs: vec![],
            });
        }
        ops.push(WriteOp::DeleteRecord { id: dup.id, expected_version: Some(dup.version) });
        match self.store.write_batch(ops, &self.ctx(&access.user)).await?.into_iter().next() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the opportunities were not merged".into())),
        }
    }
}
