//! Wire types: planning poker, questions to the Product Owner, and the decision log.

use crate::rfc3339;
use keel_domain::poker::{deck, Card, Poker, RoundState, Summary};
use keel_domain::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A person as shown next to a vote or a decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PersonOut {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// One revealed card.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoteOut {
    /// Who played it.
    pub user: PersonOut,
    /// The card: `0` … `100`, `?` or `coffee`.
    pub card: String,
}

/// The figures of a revealed round.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = PokerSummaryOut)]
pub struct SummaryOut {
    /// How many voted.
    pub votes: usize,
    /// Lowest numeric card.
    pub min: Option<u16>,
    /// Highest numeric card.
    pub max: Option<u16>,
    /// Median of the numeric cards.
    pub median: Option<f64>,
    /// The numeric card played most often (ties: the higher).
    pub most_common: Option<u16>,
    /// Everyone played the same numeric card.
    pub consensus: bool,
    /// `?` cards.
    pub unsure: usize,
    /// Coffee cards.
    pub coffee: usize,
}

impl From<&Summary> for SummaryOut {
    fn from(s: &Summary) -> Self {
        SummaryOut {
            votes: s.votes,
            min: s.min,
            max: s.max,
            median: s.median,
            most_common: s.most_common,
            consensus: s.consensus,
            unsure: s.unsure,
            coffee: s.coffee,
        }
    }
}

/// An earlier round of the same session (before a re-vote).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PastRoundOut {
    /// Its number.
    pub round: u32,
    /// The cards.
    pub votes: Vec<VoteOut>,
    /// Their figures.
    pub summary: SummaryOut,
}

/// What the caller may do in the room.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct PokerRightsOut {
    /// Vote (the team).
    pub vote: bool,
    /// Open, reveal, re-vote, close (the Product Owner and the team).
    pub run: bool,
    /// Set the estimate (the team; others may be able to propose it).
    pub estimate: bool,
}

/// An item's planning poker as the caller sees it: cards stay hidden until the reveal, only who
/// has voted shows (and the caller's own card).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PokerOut {
    /// The item key.
    pub item: String,
    /// `none` (no round ever), `open`, `revealed` or `closed`.
    pub state: String,
    /// The current round's number (0 when none).
    pub round: u32,
    /// The deck, in order.
    pub deck: Vec<String>,
    /// Who has voted in the current round.
    pub voters: Vec<PersonOut>,
    /// The caller's own card in the current round.
    pub my_vote: Option<String>,
    /// Every card, once revealed (absent while open).
    pub votes: Option<Vec<VoteOut>>,
    /// The figures, once revealed.
    pub summary: Option<SummaryOut>,
    /// The estimate set when the round closed.
    pub estimate: Option<f64>,
    /// Who opened the session.
    pub opened_by: Option<PersonOut>,
    /// When the current round opened (RFC 3339).
    pub opened_at: Option<String>,
    /// When it was revealed.
    pub revealed_at: Option<String>,
    /// When it closed.
    pub closed_at: Option<String>,
    /// Earlier rounds of the session.
    pub history: Vec<PastRoundOut>,
    /// The record's version: changes whenever anything in the room changes.
    pub version: i64,
    /// What the caller may do.
    pub can: PokerRightsOut,
}

fn person(id: UserId, names: &dyn Fn(UserId) -> String) -> PersonOut {
    PersonOut { id: id.0, name: names(id) }
}

fn votes_out(v: &BTreeMap<UserId, Card>, names: &dyn Fn(UserId) -> String) -> Vec<VoteOut> {
    let mut out: Vec<VoteOut> =
        v.iter().map(|(u, c)| VoteOut { user: person(*u, names), card: c.as_string() }).collect();
    out.sort_by(|a, b| a.user.name.cmp(&b.user.name));
    out
}

impl PokerOut {
    /// The room for `viewer`; `poker` is `(data, version)` or none when no round was opened.
    pub fn new(
        item: &str,
        poker: Option<(&Poker, i64)>,
        viewer: UserId,
        names: &dyn Fn(UserId) -> String,
        can: PokerRightsOut,
    ) -> Self {
        let deck = deck().into_iter().map(Card::as_string).collect();
        let Some((p, version)) = poker else {
            return PokerOut {
                item: item.to_string(),
                state: "none".to_string(),
                round: 0,
                deck,
                voters: Vec::new(),
                my_vote: None,
                votes: None,
                summary: None,
                estimate: None,
                opened_by: None,
                opened_at: None,
                revealed_at: None,
                closed_at: None,
                history: Vec::new(),
                version: 0,
                can,
            };
        };
        let mut voters: Vec<PersonOut> = p.voters().into_iter().map(|u| person(u, names)).collect();
        voters.sort_by(|a, b| a.name.cmp(&b.name));
        let t = |x: Option<Timestamp>| x.map(rfc3339);
        PokerOut {
            item: item.to_string(),
            state: p.state.as_str().to_string(),
            round: p.round,
            deck,
            voters,
            my_vote: p.votes.get(&viewer).map(|c| c.as_string()),
            votes: p.visible_votes().map(|v| votes_out(v, names)),
            summary: p.summary().as_ref().map(SummaryOut::from),
            estimate: if p.state == RoundState::Closed { p.estimate } else { None },
            opened_by: Some(person(p.opened_by, names)),
            opened_at: Some(rfc3339(p.opened_at)),
            revealed_at: t(p.revealed_at),
            closed_at: t(p.closed_at),
            history: p
                .history
                .iter()
                .map(|h| PastRoundOut {
                    round: h.round,
                    votes: votes_out(&h.votes, names),
                    summary: SummaryOut::from(&h.summary),
                })
                .collect(),
            version,
            can,
        }
    }
}

/// A vote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteIn {
    /// The card: `0`, `1`, `2`, `3`, `5`, `8`, `13`, `20`, `40`, `100`, `?` or `coffee` (a number
    /// is accepted for the numeric cards).
    #[schema(value_type = String)]
    pub card: serde_json::Value,
}

impl VoteIn {
    /// The card as text, for parsing (`5` and `"5"` alike).
    pub fn card_text(&self) -> String {
        match &self.card {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => other.to_string(),
        }
    }
}

/// The agreed estimate of a revealed round.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EstimateIn {
    /// Story points (0 to 1000, in halves).
    pub estimate: f64,
    /// Why, when the change becomes a proposal.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A question or an answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionIn {
    /// The text, 1 to 2,000 characters.
    pub text: String,
}

/// The Product Owner's answer: the decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnswerOut {
    /// The answer.
    pub text: String,
    /// Who answered.
    pub by: PersonOut,
    /// When (RFC 3339).
    pub at: String,
}

/// A question to the Product Owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuestionOut {
    /// Id.
    pub id: i64,
    /// The item key.
    pub item: String,
    /// `open` or `answered`.
    pub state: String,
    /// The question.
    pub text: String,
    /// Who asked.
    pub asked_by: PersonOut,
    /// When (RFC 3339).
    pub asked_at: String,
    /// The answer, the decision.
    pub answer: Option<AnswerOut>,
}

impl QuestionOut {
    /// A question of `item`.
    pub fn new(
        id: i64,
        item: &str,
        q: &keel_domain::poker::Question,
        names: &dyn Fn(UserId) -> String,
    ) -> Self {
        QuestionOut {
            id,
            item: item.to_string(),
            state: q.state().as_str().to_string(),
            text: q.text.clone(),
            asked_by: person(q.asked_by, names),
            asked_at: rfc3339(q.asked_at),
            answer: q.answer.as_ref().map(|a| AnswerOut {
                text: a.text.clone(),
                by: person(a.by, names),
                at: rfc3339(a.at),
            }),
        }
    }
}

/// The questions on an item, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuestionListOut {
    /// The questions.
    pub questions: Vec<QuestionOut>,
}

/// One entry of the decision log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionOut {
    /// `proposal`, `answer`, `acceptance`, `estimate`, `sprint`, `wip`.
    pub kind: String,
    /// Stable id within the log (`proposal:12`, `question:4`, `event:90`).
    pub id: String,
    /// When it was decided (or proposed, while pending), RFC 3339.
    pub at: String,
    /// Who decided (or proposed, while pending).
    pub who: Option<PersonOut>,
    /// Who proposed or asked, when someone else decided.
    pub raised_by: Option<PersonOut>,
    /// When it was proposed or asked.
    pub raised_at: Option<String>,
    /// The entry's state (`pending`, `accepted`, `declined`, `stale`, `answered`, `rejected`…).
    pub state: String,
    /// What.
    pub what: String,
    /// Why, in the proposer's words.
    pub why: String,
    /// The decision's words: the answer, the decider's reason, the acceptance note.
    pub decision: String,
    /// The item it concerns.
    pub item: Option<String>,
}

/// A page of the decision log, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionPageOut {
    /// The entries.
    pub decisions: Vec<DecisionOut>,
    /// Pass as `cursor` to get the next page.
    pub next_cursor: Option<String>,
}
