//! Planning poker rounds and questions to the Product Owner.
//!
//! A poker round on an item goes `open` (members vote secretly; re-voting replaces the earlier
//! card) → `revealed` (every card shows, with a summary) → either a re-vote, which opens round
//! n + 1 and keeps round n's cards in the history, or the estimate is set and the round is
//! `closed`. An item has at most one poker record: closing it and opening again starts the next
//! round number, so "one round not closed per item" holds by construction.
//!
//! A question is asked on an item by any member and answered by the Product Owner; the answer is
//! the decision, kept on the item and in the product's decision log.

use crate::error::text;
use crate::{Invalid, Timestamp, UserId, ValidationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A card of the deck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Card {
    /// A number of points (0, 1, 2, 3, 5, 8, 13, 20, 40 or 100).
    Points(u16),
    /// "?": cannot say.
    Unsure,
    /// "coffee": needs a break.
    Coffee,
}

/// The numbers of the deck, in order.
pub const NUMBERS: [u16; 10] = [0, 1, 2, 3, 5, 8, 13, 20, 40, 100];

/// The whole deck in order: the numbers, then `?` and `coffee`.
pub fn deck() -> Vec<Card> {
    NUMBERS.iter().map(|n| Card::Points(*n)).chain([Card::Unsure, Card::Coffee]).collect()
}

impl Card {
    /// Parses a card as shown on the deck: `0` … `100`, `?`, `coffee`.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        let s = s.trim();
        match s {
            "?" => return Ok(Card::Unsure),
            "coffee" | "☕" => return Ok(Card::Coffee),
            _ => {}
        }
        match s.parse::<u16>() {
            Ok(n) if NUMBERS.contains(&n) => Ok(Card::Points(n)),
            _ => Err(ValidationError::new(
                field,
                "must be a card of the deck: 0, 1, 2, 3, 5, 8, 13, 20, 40, 100, ? or coffee",
            )),
        }
    }

    /// The card as written on it.
    pub fn as_string(self) -> String {
        match self {
            Card::Points(n) => n.to_string(),
            Card::Unsure => "?".to_string(),
            Card::Coffee => "coffee".to_string(),
        }
    }

    /// Its points, for numeric cards.
    pub fn points(self) -> Option<u16> {
        match self {
            Card::Points(n) => Some(n),
            _ => None,
        }
    }
}

impl Serialize for Card {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for Card {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Card::parse("card", &s).map_err(serde::de::Error::custom)
    }
}

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    /// Taking votes; cards are hidden.
    #[default]
    Open,
    /// Cards shown; waiting for a re-vote or the estimate.
    Revealed,
    /// Finished (estimate set, or abandoned).
    Closed,
}

impl RoundState {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundState::Open => "open",
            RoundState::Revealed => "revealed",
            RoundState::Closed => "closed",
        }
    }

    /// From the storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => RoundState::Open,
            "revealed" => RoundState::Revealed,
            "closed" => RoundState::Closed,
            _ => return None,
        })
    }
}

/// Why a poker command cannot be carried out now (each is a conflict with the round's state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PokerError {
    /// Opening while a round is open or revealed.
    #[error("a poker round is already running on this item (round {0})")]
    AlreadyRunning(u32),
    /// Voting after the reveal or after the close.
    #[error("the round is {0}: votes are taken only while it is open")]
    NotOpen(&'static str),
    /// Revealing, re-voting or estimating at the wrong moment.
    #[error("the round is {state}: {what}")]
    WrongState {
        /// The round's state.
        state: &'static str,
        /// What must happen first.
        what: &'static str,
    },
    /// Revealing before anyone voted.
    #[error("nobody has voted yet")]
    NoVotes,
}

/// The figures shown when the cards are revealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How many voted.
    pub votes: usize,
    /// Lowest numeric card.
    pub min: Option<u16>,
    /// Highest numeric card.
    pub max: Option<u16>,
    /// Median of the numeric cards (the mean of the middle two for an even count).
    pub median: Option<f64>,
    /// The numeric card played most often (ties: the higher card, the cautious choice).
    pub most_common: Option<u16>,
    /// Everyone played the same numeric card.
    pub consensus: bool,
    /// `?` cards.
    pub unsure: usize,
    /// Coffee cards.
    pub coffee: usize,
}

/// Summarises a set of votes.
pub fn summarize(votes: &BTreeMap<UserId, Card>) -> Summary {
    let mut nums: Vec<u16> = votes.values().filter_map(|c| c.points()).collect();
    nums.sort_unstable();
    let median = match nums.len() {
        0 => None,
        n if n % 2 == 1 => Some(f64::from(nums[n / 2])),
        n => Some((f64::from(nums[n / 2 - 1]) + f64::from(nums[n / 2])) / 2.0),
    };
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for n in &nums {
        *counts.entry(*n).or_default() += 1;
    }
    // Iterating in ascending order with `>=` keeps the higher card on ties.
    let mut most_common = None;
    let mut best = 0;
    for (n, c) in counts {
        if c >= best {
            best = c;
            most_common = Some(n);
        }
    }
    let first = votes.values().next().copied();
    let consensus = !votes.is_empty()
        && first.is_some_and(|f| f.points().is_some())
        && votes.values().all(|c| Some(*c) == first);
    Summary {
        votes: votes.len(),
        min: nums.first().copied(),
        max: nums.last().copied(),
        median,
        most_common,
        consensus,
        unsure: votes.values().filter(|c| **c == Card::Unsure).count(),
        coffee: votes.values().filter(|c| **c == Card::Coffee).count(),
    }
}

/// A finished round of the same poker session, kept for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastRound {
    /// Its number.
    pub round: u32,
    /// The cards played.
    pub votes: BTreeMap<UserId, Card>,
    /// Their summary.
    pub summary: Summary,
}

/// An item's planning poker: the current round and the earlier rounds of this session. Stored
/// as a record whose state is [`Poker::state`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poker {
    /// Where the current round stands (kept in the record's state, not in its data).
    #[serde(skip)]
    pub state: RoundState,
    /// The current round's number, counting every round ever held on the item.
    pub round: u32,
    /// Votes of the current round: who played which card. Hidden while open.
    pub votes: BTreeMap<UserId, Card>,
    /// Who opened the current session.
    pub opened_by: UserId,
    /// When the current round opened.
    pub opened_at: Timestamp,
    /// Who revealed the current round.
    pub revealed_by: Option<UserId>,
    /// When.
    pub revealed_at: Option<Timestamp>,
    /// Who closed it.
    pub closed_by: Option<UserId>,
    /// When.
    pub closed_at: Option<Timestamp>,
    /// The estimate set when it closed (none when abandoned).
    pub estimate: Option<f64>,
    /// Earlier rounds of the session (re-votes), oldest first.
    pub history: Vec<PastRound>,
}

impl Poker {
    /// The first round on an item.
    pub fn first(by: UserId, at: Timestamp) -> Self {
        Poker {
            state: RoundState::Open,
            round: 1,
            votes: BTreeMap::new(),
            opened_by: by,
            opened_at: at,
            revealed_by: None,
            revealed_at: None,
            closed_by: None,
            closed_at: None,
            estimate: None,
            history: Vec::new(),
        }
    }

    /// Opens the next round after a closed one: a new session, the round number continuing.
    pub fn reopen(&mut self, by: UserId, at: Timestamp) -> Result<(), PokerError> {
        if self.state != RoundState::Closed {
            return Err(PokerError::AlreadyRunning(self.round));
        }
        *self = Poker { round: self.round + 1, ..Poker::first(by, at) };
        Ok(())
    }

    /// Records `user`'s card, replacing an earlier one of this round.
    pub fn vote(&mut self, user: UserId, card: Card) -> Result<(), PokerError> {
        if self.state != RoundState::Open {
            return Err(PokerError::NotOpen(self.state.as_str()));
        }
        self.votes.insert(user, card);
        Ok(())
    }

    /// Shows every card.
    pub fn reveal(&mut self, by: UserId, at: Timestamp) -> Result<Summary, PokerError> {
        if self.state != RoundState::Open {
            return Err(PokerError::WrongState {
                state: self.state.as_str(),
                what: "only an open round can be revealed",
            });
        }
        if self.votes.is_empty() {
            return Err(PokerError::NoVotes);
        }
        self.state = RoundState::Revealed;
        self.revealed_by = Some(by);
        self.revealed_at = Some(at);
        Ok(summarize(&self.votes))
    }

    /// Keeps the revealed round in the history and opens round n + 1 with no votes.
    pub fn revote(&mut self, at: Timestamp) -> Result<(), PokerError> {
        if self.state != RoundState::Revealed {
            return Err(PokerError::WrongState {
                state: self.state.as_str(),
                what: "reveal the cards before a re-vote",
            });
        }
        let votes = std::mem::take(&mut self.votes);
        let summary = summarize(&votes);
        self.history.push(PastRound { round: self.round, votes, summary });
        self.round += 1;
        self.state = RoundState::Open;
        self.opened_at = at;
        self.revealed_by = None;
        self.revealed_at = None;
        Ok(())
    }

    /// Closes a revealed round with the estimate agreed.
    pub fn close_with(&mut self, estimate: f64, by: UserId, at: Timestamp) -> Result<(), PokerError> {
        if self.state != RoundState::Revealed {
            return Err(PokerError::WrongState {
                state: self.state.as_str(),
                what: "reveal the cards before setting the estimate",
            });
        }
        self.state = RoundState::Closed;
        self.estimate = Some(estimate);
        self.closed_by = Some(by);
        self.closed_at = Some(at);
        Ok(())
    }

    /// Abandons an open or revealed round without an estimate.
    pub fn abandon(&mut self, by: UserId, at: Timestamp) -> Result<(), PokerError> {
        if self.state == RoundState::Closed {
            return Err(PokerError::WrongState { state: "closed", what: "there is no round to close" });
        }
        self.state = RoundState::Closed;
        self.estimate = None;
        self.closed_by = Some(by);
        self.closed_at = Some(at);
        Ok(())
    }

    /// The cards everyone may see: none while the round is open.
    pub fn visible_votes(&self) -> Option<&BTreeMap<UserId, Card>> {
        (self.state != RoundState::Open).then_some(&self.votes)
    }

    /// Who has voted in the current round (visible at any time).
    pub fn voters(&self) -> Vec<UserId> {
        self.votes.keys().copied().collect()
    }

    /// The summary of the current round, once revealed.
    pub fn summary(&self) -> Option<Summary> {
        self.visible_votes().map(summarize)
    }
}

/// Longest question or answer, in characters.
pub const QUESTION_MAX: usize = 2_000;

/// Checks a question's or an answer's text: 1 to 2,000 characters, several lines allowed.
pub fn parse_question_text(field: &str, s: &str) -> Invalid<String> {
    text(field, s.trim_start(), 1, QUESTION_MAX, true)
}

/// The state of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionState {
    /// Waiting for the Product Owner.
    Open,
    /// Answered: the answer is the decision.
    Answered,
}

impl QuestionState {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionState::Open => "open",
            QuestionState::Answered => "answered",
        }
    }
}

/// The Product Owner's answer: the decision on the question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer.
    pub text: String,
    /// Who answered.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// A question to the Product Owner on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The question.
    pub text: String,
    /// Who asked.
    pub asked_by: UserId,
    /// When.
    pub asked_at: Timestamp,
    /// The answer, once given.
    pub answer: Option<Answer>,
}

impl Question {
    /// A new, open question.
    pub fn new(text: String, by: UserId, at: Timestamp) -> Self {
        Question { text, asked_by: by, asked_at: at, answer: None }
    }

    /// Its state.
    pub fn state(&self) -> QuestionState {
        if self.answer.is_some() {
            QuestionState::Answered
        } else {
            QuestionState::Open
        }
    }

    /// Records the answer; a question is answered once (the decision stands; ask again to
    /// revisit it).
    pub fn answer(&mut self, text: String, by: UserId, at: Timestamp) -> Result<(), &'static str> {
        if self.answer.is_some() {
            return Err("the question is already answered");
        }
        self.answer = Some(Answer { text, by, at });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UserId = UserId(1);
    const B: UserId = UserId(2);
    const C: UserId = UserId(3);
    const T: Timestamp = Timestamp(1000);

    fn votes(v: &[(UserId, &str)]) -> BTreeMap<UserId, Card> {
        v.iter().map(|(u, c)| (*u, Card::parse("card", c).unwrap())).collect()
    }

    #[test]
    fn the_deck() {
        let names: Vec<String> = deck().into_iter().map(Card::as_string).collect();
        assert_eq!(names, ["0", "1", "2", "3", "5", "8", "13", "20", "40", "100", "?", "coffee"]);
        for n in &names {
            assert_eq!(Card::parse("card", n).unwrap().as_string(), *n);
        }
        for bad in ["4", "-1", "", "1.5", "101", "tea", "0x5"] {
            let e = Card::parse("card", bad).unwrap_err();
            assert_eq!(e.field, "card", "{bad}");
        }
        let c: Card = serde_json::from_str("\"13\"").unwrap();
        assert_eq!(c, Card::Points(13));
        assert_eq!(serde_json::to_string(&Card::Coffee).unwrap(), "\"coffee\"");
        assert!(serde_json::from_str::<Card>("\"7\"").is_err());
    }

    #[test]
    fn a_round_from_open_to_closed() {
        let mut p = Poker::first(A, T);
        assert_eq!((p.state, p.round), (RoundState::Open, 1));
        p.vote(B, Card::Points(3)).unwrap();
        p.vote(C, Card::Points(8)).unwrap();
        // Re-voting before the reveal replaces the card.
        p.vote(B, Card::Points(5)).unwrap();
        assert_eq!(p.votes.len(), 2);
        assert_eq!(p.votes[&B], Card::Points(5));
        // Hidden until the reveal: only who voted shows.
        assert!(p.visible_votes().is_none());
        assert!(p.summary().is_none());
        assert_eq!(p.voters(), vec![B, C]);
        let s = p.reveal(A, T).unwrap();
        assert_eq!((s.min, s.max, s.votes), (Some(5), Some(8), 2));
        assert_eq!(p.state, RoundState::Revealed);
        assert_eq!(p.visible_votes().unwrap().len(), 2);
        // No vote after the reveal.
        assert_eq!(p.vote(B, Card::Points(1)), Err(PokerError::NotOpen("revealed")));
        // Re-vote: round 2, round 1 kept.
        p.revote(T).unwrap();
        assert_eq!((p.state, p.round), (RoundState::Open, 2));
        assert!(p.votes.is_empty());
        assert_eq!(p.history.len(), 1);
        assert_eq!(p.history[0].round, 1);
        assert_eq!(p.history[0].votes[&C], Card::Points(8));
        p.vote(B, Card::Points(8)).unwrap();
        p.vote(C, Card::Points(8)).unwrap();
        assert!(p.reveal(A, T).unwrap().consensus);
        p.close_with(8.0, B, T).unwrap();
        assert_eq!(p.state, RoundState::Closed);
        assert_eq!(p.estimate, Some(8.0));
        assert!(matches!(p.vote(B, Card::Points(1)), Err(PokerError::NotOpen("closed"))));
        // A new session continues the numbering and starts afresh.
        p.reopen(A, T).unwrap();
        assert_eq!((p.state, p.round, p.history.len(), p.estimate), (RoundState::Open, 3, 0, None));
    }

    #[test]
    fn commands_in_the_wrong_state_are_refused() {
        let mut p = Poker::first(A, T);
        assert_eq!(p.reopen(A, T), Err(PokerError::AlreadyRunning(1)));
        assert_eq!(p.reveal(A, T), Err(PokerError::NoVotes));
        assert!(matches!(p.revote(T), Err(PokerError::WrongState { .. })));
        assert!(matches!(p.close_with(3.0, A, T), Err(PokerError::WrongState { .. })));
        p.vote(B, Card::Unsure).unwrap();
        p.reveal(A, T).unwrap();
        assert!(matches!(p.reveal(A, T), Err(PokerError::WrongState { .. })));
        assert_eq!(p.reopen(A, T), Err(PokerError::AlreadyRunning(1)));
        p.abandon(A, T).unwrap();
        assert_eq!(p.estimate, None);
        assert!(p.abandon(A, T).is_err());
        assert!(p.reopen(A, T).is_ok());
    }

    #[test]
    fn summaries() {
        let s = summarize(&votes(&[(A, "3"), (B, "5"), (C, "5")]));
        assert_eq!(
            (s.min, s.max, s.median, s.most_common, s.consensus),
            (Some(3), Some(5), Some(5.0), Some(5), false)
        );
        let s = summarize(&votes(&[(A, "3"), (B, "8")]));
        assert_eq!((s.median, s.most_common), (Some(5.5), Some(8)), "ties go to the higher card");
        let s = summarize(&votes(&[(A, "5"), (B, "5")]));
        assert!(s.consensus);
        let s = summarize(&votes(&[(A, "5"), (B, "?"), (C, "coffee")]));
        assert_eq!((s.unsure, s.coffee, s.min, s.max, s.consensus), (1, 1, Some(5), Some(5), false));
        let s = summarize(&votes(&[(A, "?"), (B, "?")]));
        assert_eq!((s.min, s.median, s.most_common, s.consensus), (None, None, None, false));
        assert!(!summarize(&BTreeMap::new()).consensus);
    }

    #[test]
    fn stored_as_json_with_users_as_keys() {
        let mut p = Poker::first(A, T);
        p.vote(B, Card::Coffee).unwrap();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["votes"]["2"], "coffee");
        assert!(v.get("state").is_none(), "the state lives in the record");
        let back: Poker = serde_json::from_value(v).unwrap();
        assert_eq!(back.votes, p.votes);
    }

    #[test]
    fn questions() {
        assert_eq!(parse_question_text("text", "  ").unwrap_err().field, "text");
        assert!(parse_question_text("text", &"x".repeat(2001)).is_err());
        assert_eq!(parse_question_text("text", " Why?\nReally? ").unwrap(), "Why?\nReally?");
        let mut q = Question::new("Why?".into(), B, T);
        assert_eq!(q.state(), QuestionState::Open);
        q.answer("Because.".into(), A, T).unwrap();
        assert_eq!(q.state(), QuestionState::Answered);
        assert!(q.answer("Again".into(), A, T).is_err());
    }
}
