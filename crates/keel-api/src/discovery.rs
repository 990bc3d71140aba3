//! Wire types: customer feedback, the feedback widget, opportunities and their scores.

use crate::rfc3339;
use crate::wire::ItemOut;
use keel_domain::discovery::{
    Demand, Feedback, Framework, Ice, Kano, Moscow, Opportunity, Rice, Scores, ValueEffort, Wsjf,
};
use keel_domain::{Timestamp, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// RICE parts.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiceIo {
    /// People or events per period (≥ 0).
    pub reach: f64,
    /// One of 0.25, 0.5, 1, 2, 3.
    pub impact: f64,
    /// Per cent, 0–100.
    pub confidence: f64,
    /// Person-months (> 0).
    pub effort: f64,
}

/// WSJF parts, each 1–100.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WsjfIo {
    /// Business value.
    pub business_value: f64,
    /// Time criticality.
    pub time_criticality: f64,
    /// Risk reduction or opportunity enablement.
    pub risk_reduction: f64,
    /// Job size (> 0).
    pub job_size: f64,
}

/// ICE parts, each 1–10.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IceIo {
    /// Impact.
    pub impact: f64,
    /// Confidence.
    pub confidence: f64,
    /// Ease.
    pub ease: f64,
}

/// Value and effort, each 1–100.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueEffortIo {
    /// Value.
    pub value: f64,
    /// Effort (> 0).
    pub effort: f64,
}

/// Scores under every framework; each is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoresIo {
    /// RICE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rice: Option<RiceIo>,
    /// WSJF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wsjf: Option<WsjfIo>,
    /// ICE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ice: Option<IceIo>,
    /// Value ÷ effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_effort: Option<ValueEffortIo>,
    /// `must`, `should`, `could` or `wont`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moscow: Option<String>,
    /// `must_be`, `performance`, `attractive`, `indifferent` or `reverse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kano: Option<String>,
}

impl ScoresIo {
    /// The domain scores (categories parsed; scales are checked by the application).
    pub fn to_scores(&self) -> Result<Scores, ValidationError> {
        Ok(Scores {
            rice: self.rice.map(|r| Rice {
                reach: r.reach,
                impact: r.impact,
                confidence: r.confidence,
                effort: r.effort,
            }),
            wsjf: self.wsjf.map(|w| Wsjf {
                business_value: w.business_value,
                time_criticality: w.time_criticality,
                risk_reduction: w.risk_reduction,
                job_size: w.job_size,
            }),
            ice: self.ice.map(|i| Ice { impact: i.impact, confidence: i.confidence, ease: i.ease }),
            value_effort: self.value_effort.map(|v| ValueEffort { value: v.value, effort: v.effort }),
            moscow: self.moscow.as_deref().map(|m| Moscow::parse("scores.moscow", m)).transpose()?,
            kano: self.kano.as_deref().map(|k| Kano::parse("scores.kano", k)).transpose()?,
        })
    }

    /// From domain scores.
    pub fn of(s: &Scores) -> Self {
        ScoresIo {
            rice: s.rice.map(|r| RiceIo {
                reach: r.reach,
                impact: r.impact,
                confidence: r.confidence,
                effort: r.effort,
            }),
            wsjf: s.wsjf.map(|w| WsjfIo {
                business_value: w.business_value,
                time_criticality: w.time_criticality,
                risk_reduction: w.risk_reduction,
                job_size: w.job_size,
            }),
            ice: s.ice.map(|i| IceIo { impact: i.impact, confidence: i.confidence, ease: i.ease }),
            value_effort: s.value_effort.map(|v| ValueEffortIo { value: v.value, effort: v.effort }),
            moscow: s.moscow.map(|m| m.as_str().to_string()),
            kano: s.kano.map(|k| k.as_str().to_string()),
        }
    }
}

/// Create or change an opportunity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityIn {
    /// Title (required to create).
    #[serde(default)]
    pub title: Option<String>,
    /// The problem, in Markdown.
    #[serde(default)]
    pub description: Option<String>,
    /// Scores: replace all of them when given.
    #[serde(default)]
    pub scores: Option<ScoresIo>,
    /// Version the change is based on (changes only).
    #[serde(default)]
    pub version: Option<i64>,
    /// Why, when it becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// One part of a score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartOut {
    /// Its name (`reach`, `cost of delay`, ...).
    pub name: String,
    /// Its value as shown.
    pub value: String,
}

/// An opportunity, with its score under the ranking framework.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpportunityOut {
    /// Id.
    pub id: i64,
    /// Product key.
    pub product: String,
    /// Title.
    pub title: String,
    /// The problem, in Markdown.
    pub description: String,
    /// `open` or `promoted`.
    pub state: String,
    /// Every score given.
    pub scores: ScoresIo,
    /// The framework `score` is under.
    pub framework: String,
    /// Place in the ranking, from 1.
    pub rank: usize,
    /// Score under `framework` (`null` when not scored under it).
    pub score: Option<f64>,
    /// The score's parts.
    pub parts: Vec<PartOut>,
    /// Key of the epic it was promoted to.
    pub epic: Option<String>,
    /// The feedback and revenue behind it.
    pub demand: DemandOut,
    /// Version.
    pub version: i64,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

impl OpportunityOut {
    /// From a stored opportunity and its ranking.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: i64,
        product: &str,
        o: &Opportunity,
        state: &str,
        framework: Framework,
        rank: usize,
        epic: Option<String>,
        demand: Demand,
        version: i64,
        created_at: Timestamp,
    ) -> Self {
        OpportunityOut {
            id,
            product: product.to_string(),
            title: o.title.clone(),
            description: o.description.clone(),
            state: state.to_string(),
            scores: ScoresIo::of(&o.scores),
            framework: framework.as_str().to_string(),
            rank,
            score: o.scores.score(framework),
            parts: o
                .scores
                .parts(framework)
                .into_iter()
                .map(|(n, v)| PartOut { name: n.to_string(), value: v })
                .collect(),
            epic,
            demand: DemandOut { feedback: demand.count, revenue: demand.revenue },
            version,
            created_at: rfc3339(created_at),
        }
    }
}

/// The ranked opportunities of a product.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OpportunitiesOut {
    /// The framework they are ranked by.
    pub framework: String,
    /// Best first; unscored last.
    pub opportunities: Vec<OpportunityOut>,
}

/// The product's ranking framework.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RankingIo {
    /// `rice`, `wsjf`, `ice`, `value_effort`, `moscow` or `kano`.
    pub framework: String,
}

/// Promote an opportunity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteIn {
    /// Id of an initiative of the product the epic joins.
    #[serde(default)]
    pub initiative: Option<i64>,
    /// Why, when it becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What promoting made.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PromotedOut {
    /// The opportunity, now promoted.
    pub opportunity: OpportunityOut,
    /// The new epic.
    pub epic: ItemOut,
}

/// The demand behind an opportunity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DemandOut {
    /// How much feedback is linked to it.
    pub feedback: usize,
    /// The revenue of the companies behind that feedback (each company once).
    pub revenue: f64,
}

/// A piece of feedback to record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    /// What the customer said (plain text; required).
    pub text: String,
    /// Who said it.
    #[serde(default)]
    pub person: Option<String>,
    /// Their company.
    #[serde(default)]
    pub company: Option<String>,
    /// The customer segment.
    #[serde(default)]
    pub segment: Option<String>,
    /// The company's revenue weight (≥ 0).
    #[serde(default)]
    pub revenue: Option<f64>,
    /// `api` (default), `manual`, `sales_call`, `import` or `widget`.
    #[serde(default)]
    pub source: Option<String>,
    /// Ids of opportunities it is evidence for.
    #[serde(default)]
    pub opportunities: Vec<i64>,
}

/// A piece of feedback.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackOut {
    /// Id.
    pub id: i64,
    /// Product key.
    pub product: String,
    /// What the customer said (plain text: escape it when shown).
    pub text: String,
    /// Who said it.
    pub person: String,
    /// Their company.
    pub company: String,
    /// The customer segment.
    pub segment: String,
    /// The company's revenue weight.
    pub revenue: f64,
    /// Where it came from.
    pub source: String,
    /// Ids of the opportunities it is linked to.
    pub opportunities: Vec<i64>,
    /// The person's e-mail address, if given (through the widget).
    pub email: String,
    /// The page it was sent from, if known (through the widget).
    pub page_url: String,
    /// Version.
    pub version: i64,
    /// When it arrived (RFC 3339).
    pub created_at: String,
}

impl FeedbackOut {
    /// From a stored piece of feedback.
    pub fn new(id: i64, product: &str, f: &Feedback, version: i64, created_at: Timestamp) -> Self {
        FeedbackOut {
            id,
            product: product.to_string(),
            text: f.text.clone(),
            person: f.person.clone(),
            company: f.company.clone(),
            segment: f.segment.clone(),
            revenue: f.revenue,
            source: f.source.as_str().to_string(),
            opportunities: f.opportunities.iter().map(|o| o.0).collect(),
            email: f.email.clone(),
            page_url: f.page_url.clone(),
            version,
            created_at: rfc3339(created_at),
        }
    }
}

/// What an import recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportOut {
    /// How many rows were recorded.
    pub imported: usize,
    /// The new feedback, in file order.
    pub feedback: Vec<FeedbackOut>,
}

/// Merge a duplicate opportunity into another.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    /// Id of the opportunity that stays.
    pub into: i64,
}

/// Merge a duplicate piece of feedback into another.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackMergeIn {
    /// Id of the feedback that stays.
    pub into: i64,
}

/// Changes to a product's feedback widget.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetIn {
    /// Take posts or not.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Origins whose pages may post (`https://www.example.com`); empty: any page.
    #[serde(default)]
    pub origins: Option<Vec<String>>,
}

/// A product's feedback widget.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WidgetOut {
    /// Product key.
    pub product: String,
    /// Whether it was set up (it has a key).
    pub configured: bool,
    /// The public key pages embed (`null` until set up).
    pub key: Option<String>,
    /// Whether posts are taken.
    pub enabled: bool,
    /// Origins whose pages may post; empty: any page.
    pub origins: Vec<String>,
    /// Where customers' pages post (`null` until set up).
    pub post_path: Option<String>,
    /// The HTML to paste into a page (`null` until set up).
    pub snippet: Option<String>,
    /// Version (absent until set up).
    pub version: Option<i64>,
}

/// What a customer's page posts through the widget.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetPostIn {
    /// What they say (plain text, 1–4000 characters).
    pub text: String,
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Their company.
    #[serde(default)]
    pub company: Option<String>,
    /// The page they are on (http or https).
    #[serde(default)]
    pub page_url: Option<String>,
}

/// The answer to a widget post.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WidgetPostOut {
    /// Id of the feedback recorded.
    pub id: i64,
    /// A thank-you line to show.
    pub message: String,
}
