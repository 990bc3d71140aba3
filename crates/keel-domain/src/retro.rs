//! Retrospective boards and sprint reviews: the cards a team writes after a sprint (what went
//! well, what to improve, which actions to take), their votes, and the review summary the Product
//! Owner publishes to stakeholders. Stored as records; the rules over them live here.

use crate::error::{text, Invalid, ValidationError};
use crate::{ItemId, ProposalId, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Longest card text, in characters.
pub const CARD_TEXT_MAX: usize = 1_000;
/// Longest review summary, in characters.
pub const SUMMARY_MAX: usize = 20_000;

/// A column of the retrospective board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetroColumn {
    /// What went well.
    WentWell,
    /// What to improve.
    ToImprove,
    /// Actions the team commits to; these may become backlog items.
    Actions,
}

impl RetroColumn {
    /// Every column, left to right.
    pub const ALL: [RetroColumn; 3] = [RetroColumn::WentWell, RetroColumn::ToImprove, RetroColumn::Actions];

    /// Wire and storage name (the record's state).
    pub fn as_str(self) -> &'static str {
        match self {
            RetroColumn::WentWell => "went_well",
            RetroColumn::ToImprove => "to_improve",
            RetroColumn::Actions => "actions",
        }
    }

    /// The heading people read.
    pub fn label(self) -> &'static str {
        match self {
            RetroColumn::WentWell => "Went well",
            RetroColumn::ToImprove => "To improve",
            RetroColumn::Actions => "Actions",
        }
    }

    /// Parses a wire name.
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        RetroColumn::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| ValidationError::new(field, "must be one of went_well, to_improve, actions"))
    }
}

/// A card's text: 1 to 1000 characters, line breaks allowed.
pub fn parse_card_text(field: &str, s: &str) -> Invalid<String> {
    let v = text(field, s, 1, CARD_TEXT_MAX, true)?;
    if v.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    Ok(v.trim_start().to_string())
}

/// A card on a sprint's retrospective board. Its column is kept in the record's state, its
/// sprint in the record's parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetroCard {
    /// What it says.
    pub text: String,
    /// Who wrote it.
    pub author: UserId,
    /// Who voted for it, each once, in voting order.
    #[serde(default)]
    pub votes: Vec<UserId>,
    /// The backlog item made from it, once made.
    #[serde(default)]
    pub item: Option<ItemId>,
    /// The pending proposal to make an item from it, when its author could only propose.
    #[serde(default)]
    pub proposal: Option<ProposalId>,
}

impl RetroCard {
    /// A new card by `author`, without votes.
    pub fn new(text: String, author: UserId) -> Self {
        RetroCard { text, author, votes: Vec::new(), item: None, proposal: None }
    }

    /// Toggles `user`'s vote: adds it when absent, removes it when present. Returns whether the
    /// user now votes for the card.
    pub fn toggle_vote(&mut self, user: UserId) -> bool {
        if let Some(i) = self.votes.iter().position(|v| *v == user) {
            self.votes.remove(i);
            false
        } else {
            self.votes.push(user);
            true
        }
    }

    /// Whether `user` votes for the card.
    pub fn voted_by(&self, user: UserId) -> bool {
        self.votes.contains(&user)
    }

    /// A title for the backlog item made from the card: its first line, shortened to fit.
    pub fn item_title(&self) -> String {
        let first =
            self.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("Retrospective action");
        let max = crate::item::TITLE_MAX;
        if first.chars().count() <= max {
            first.to_string()
        } else {
            let mut t: String = first.chars().take(max - 1).collect();
            t.push('…');
            t
        }
    }

    /// The description of the backlog item made from the card: where it came from and the
    /// card's whole text.
    pub fn item_description(&self, sprint_name: &str, retro_url: &str) -> String {
        let quoted: Vec<String> = self.text.lines().map(|l| format!("> {l}")).collect();
        format!(
            "From the retrospective of {sprint_name}: [{retro_url}]({retro_url})\n\n{}",
            quoted.join("\n")
        )
    }
}

/// Sorts cards for display: most votes first, then oldest first (by the order given).
pub fn by_votes<T>(cards: &mut [T], votes: impl Fn(&T) -> usize) {
    // A stable sort keeps the creation order among equal votes.
    cards.sort_by_key(|c| std::cmp::Reverse(votes(c)));
}

/// The review of a sprint: a summary the Product Owner drafts and publishes to stakeholders.
/// Publishing copies the draft; a later draft does not change what stakeholders see until it is
/// published too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SprintReview {
    /// The current draft (Markdown).
    #[serde(default)]
    pub draft: String,
    /// What stakeholders see (Markdown), once published.
    #[serde(default)]
    pub published: Option<String>,
    /// When it was last published.
    #[serde(default)]
    pub published_at: Option<Timestamp>,
    /// Who last published it.
    #[serde(default)]
    pub published_by: Option<UserId>,
}

/// A review summary: Markdown up to 20,000 characters.
pub fn parse_summary(field: &str, s: &str) -> Invalid<String> {
    text(field, s, 0, SUMMARY_MAX, true)
}

impl SprintReview {
    /// Saves `summary` as the draft and, when `publish`, publishes it (an empty summary cannot
    /// be published).
    pub fn save(&mut self, summary: String, publish: bool, by: UserId, at: Timestamp) -> Invalid<()> {
        if publish {
            if summary.trim().is_empty() {
                return Err(ValidationError::new("summary", "must not be empty to publish"));
            }
            self.published = Some(summary.clone());
            self.published_at = Some(at);
            self.published_by = Some(by);
        }
        self.draft = summary;
        Ok(())
    }

    /// Whether the draft differs from what is published.
    pub fn has_unpublished_changes(&self) -> bool {
        self.published.as_deref() != Some(self.draft.as_str()) && !self.draft.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        for c in RetroColumn::ALL {
            assert_eq!(RetroColumn::parse("column", c.as_str()).unwrap(), c);
        }
        assert_eq!(RetroColumn::parse("column", " actions ").unwrap(), RetroColumn::Actions);
        let e = RetroColumn::parse("column", "done").unwrap_err();
        assert_eq!(e.field, "column");
        assert!(RetroColumn::parse("column", "Went well").is_err());
        assert_eq!(RetroColumn::WentWell.label(), "Went well");
    }

    #[test]
    fn card_text_is_one_to_a_thousand_characters() {
        assert_eq!(parse_card_text("text", "  Pairing helped \n").unwrap(), "Pairing helped");
        assert_eq!(parse_card_text("text", "a\nb").unwrap(), "a\nb");
        assert_eq!(parse_card_text("text", "").unwrap_err().field, "text");
        assert!(parse_card_text("text", " \n\t ").is_err());
        assert!(parse_card_text("text", &"é".repeat(1000)).is_ok());
        assert!(parse_card_text("text", &"é".repeat(1001)).is_err());
        assert!(parse_card_text("text", "bell\u{7}").is_err());
    }

    #[test]
    fn votes_toggle_once_per_person() {
        let mut c = RetroCard::new("x".into(), UserId(1));
        assert!(c.toggle_vote(UserId(2)));
        assert!(c.toggle_vote(UserId(3)));
        assert_eq!(c.votes, vec![UserId(2), UserId(3)]);
        assert!(c.voted_by(UserId(2)));
        assert!(!c.toggle_vote(UserId(2)));
        assert_eq!(c.votes, vec![UserId(3)]);
        assert!(!c.voted_by(UserId(2)));
        assert!(c.toggle_vote(UserId(2)));
        assert_eq!(c.votes.len(), 2);
    }

    #[test]
    fn cards_sort_by_votes_then_age() {
        let mut v = vec![("a", 1), ("b", 3), ("c", 1), ("d", 0), ("e", 3)];
        by_votes(&mut v, |c| c.1);
        let order: Vec<&str> = v.iter().map(|c| c.0).collect();
        assert_eq!(order, vec!["b", "e", "a", "c", "d"]);
    }

    #[test]
    fn items_from_cards_link_back() {
        let c = RetroCard::new("Automate the release notes\nthey take an hour".into(), UserId(1));
        assert_eq!(c.item_title(), "Automate the release notes");
        let d = c.item_description("Sprint 4", "/sprints/9/retro");
        assert!(d.starts_with("From the retrospective of Sprint 4"), "{d}");
        assert!(d.contains("(/sprints/9/retro)"));
        assert!(d.contains("> they take an hour"));
        let long = RetroCard::new("x".repeat(400), UserId(1));
        assert_eq!(long.item_title().chars().count(), crate::item::TITLE_MAX);
    }

    #[test]
    fn reviews_publish_what_was_drafted() {
        let mut r = SprintReview::default();
        r.save("Draft".into(), false, UserId(1), Timestamp(5)).unwrap();
        assert_eq!(r.published, None);
        assert!(r.has_unpublished_changes());
        r.save("Final".into(), true, UserId(1), Timestamp(6)).unwrap();
        assert_eq!(r.published.as_deref(), Some("Final"));
        assert!(!r.has_unpublished_changes());
        r.save("Next".into(), false, UserId(1), Timestamp(7)).unwrap();
        assert_eq!(r.published.as_deref(), Some("Final"), "a draft does not unpublish");
        assert_eq!(r.save("  ".into(), true, UserId(1), Timestamp(8)).unwrap_err().field, "summary");
        assert_eq!(r.published.as_deref(), Some("Final"));
    }
}
