//! Working together: comments with @mentions, watchers, and the notifications in each person's
//! inbox. Pure rules: who is mentioned, who watches, who hears of a change.

use crate::event::ObjectKind;
use crate::proposal::{Proposal, ProposalState};
use crate::user::User;
use crate::{ProposalId, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The longest comment accepted, in characters.
pub const MAX_BODY: usize = 20_000;

/// The kinds of object people comment on and watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A backlog item.
    Item,
    /// An initiative.
    Initiative,
    /// An opportunity.
    Opportunity,
    /// A piece of feedback.
    Feedback,
    /// A release.
    Release,
    /// A proposal (notified about, never commented on: not in [`Subject::ALL`]).
    Proposal,
}

impl Subject {
    /// Every kind people comment on and watch.
    pub const ALL: [Subject; 5] =
        [Subject::Item, Subject::Initiative, Subject::Opportunity, Subject::Feedback, Subject::Release];

    /// Its name (also the record state of its comments and watches).
    pub fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The object kind it stands for.
    pub fn kind(self) -> ObjectKind {
        match self {
            Subject::Item => ObjectKind::Item,
            Subject::Initiative => ObjectKind::Initiative,
            Subject::Opportunity => ObjectKind::Opportunity,
            Subject::Feedback => ObjectKind::Feedback,
            Subject::Release => ObjectKind::Release,
            Subject::Proposal => ObjectKind::Proposal,
        }
    }

    /// From its name (only the kinds people comment on).
    pub fn parse(s: &str) -> Option<Self> {
        Subject::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A comment. Stored as a record whose parent is the object commented on and whose state is the
/// object's kind; edits replace `body` (the events keep every version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The kind of object commented on.
    pub subject: Subject,
    /// The object's id.
    pub object_id: i64,
    /// Markdown text.
    pub body: String,
    /// The members the text mentions, resolved when it was written.
    #[serde(default)]
    pub mentions: Vec<UserId>,
    /// Whether it was changed after it was posted.
    #[serde(default)]
    pub edited: bool,
    /// Whether it was deleted (the text is then emptied; the events keep it).
    #[serde(default)]
    pub deleted: bool,
}

/// Someone's choice about an object: watching it or not. Without one, the creator, assignee and
/// mentioned people watch; an explicit `watching: false` stops that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// Who.
    pub user: UserId,
    /// The kind of object.
    pub subject: Subject,
    /// The object's id.
    pub object_id: i64,
    /// Watching or not.
    pub watching: bool,
}

impl Watch {
    /// The unique key of one person's watch of one object.
    pub fn key(subject: Subject, object_id: i64, user: UserId) -> String {
        format!("{}:{}:{}", subject.as_str(), object_id, user.0)
    }
}

/// Why someone is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Mentioned in a comment.
    Mention,
    /// A new comment on something they watch.
    Comment,
    /// Assigned an item.
    Assigned,
    /// The status of something they watch changed.
    Status,
    /// A proposal waits for their decision.
    Proposal,
    /// A proposal of theirs was decided.
    Decision,
}

impl Reason {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Mention => "mention",
            Reason::Comment => "comment",
            Reason::Assigned => "assigned",
            Reason::Status => "status",
            Reason::Proposal => "proposal",
            Reason::Decision => "decision",
        }
    }
}

/// A notification. Stored as a record of the product it concerns, whose parent is the recipient
/// and whose state is `unread` or `read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The recipient.
    pub user: UserId,
    /// Why.
    pub reason: Reason,
    /// Who caused it.
    pub actor: Option<UserId>,
    /// The actor's name when it was written.
    pub actor_name: String,
    /// The kind of object it is about.
    pub subject: Subject,
    /// The object's id.
    pub object_id: i64,
    /// The object's label (an item key and title, an initiative's title…).
    pub label: String,
    /// The page to open.
    pub link: String,
    /// One line of detail (the first words of a comment, the new status…).
    pub text: String,
}

/// The handle by which `user` is mentioned: the part of their e-mail address before the `@`,
/// lower-cased (unique enough within a product, stable, and typed without spaces).
pub fn handle_of(user: &User) -> String {
    let email = user.email.as_str();
    email.split('@').next().unwrap_or(email).to_lowercase()
}

fn handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')
}

/// The handles `@mentioned` in `body`, lower-cased, without repeats, in order of appearance.
/// An `@` inside a word (an e-mail address) or inside inline or fenced code is no mention.
pub fn parse_mentions(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut in_code = false;
        let mut prev: Option<char> = None;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '`' {
                in_code = !in_code;
            } else if c == '@' && !in_code && !prev.is_some_and(|p| p.is_alphanumeric() || p == '@') {
                let mut j = i + 1;
                while j < chars.len() && handle_char(chars[j]) {
                    j += 1;
                }
                let mut h: String = chars[i + 1..j].iter().collect();
                // A handle ending a sentence: "thanks @ann." mentions ann.
                while h.ends_with(['.', '-']) {
                    h.pop();
                }
                if !h.is_empty() {
                    let h = h.to_lowercase();
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
                prev = chars.get(j.saturating_sub(1)).copied();
                i = j;
                continue;
            }
            prev = Some(c);
            i += 1;
        }
    }
    out
}

/// The members among `members` whose handles are `handles`; unknown handles stay plain text.
pub fn resolve_mentions(handles: &[String], members: &[User]) -> Vec<UserId> {
    let mut out = Vec::new();
    for h in handles {
        if let Some(u) = members.iter().find(|u| u.is_active && &handle_of(u) == h) {
            if !out.contains(&u.id) {
                out.push(u.id);
            }
        }
    }
    out
}

/// Who watches an object: those implied (creator, assignee, commenters, mentioned people) plus
/// explicit watchers, minus those who stopped watching.
pub fn watchers(implied: &[UserId], choices: &[Watch]) -> BTreeSet<UserId> {
    let mut set: BTreeSet<UserId> = implied.iter().copied().collect();
    for w in choices {
        if w.watching {
            set.insert(w.user);
        } else {
            set.remove(&w.user);
        }
    }
    set
}

/// Who hears of a change: `candidates` that are current members (`members`), never the actor.
pub fn recipients(
    candidates: impl IntoIterator<Item = UserId>,
    actor: UserId,
    members: &BTreeSet<UserId>,
) -> Vec<UserId> {
    let mut out: Vec<UserId> = Vec::new();
    for u in candidates {
        if u != actor && members.contains(&u) && !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// A one-line excerpt of a comment for a notification: whitespace folded, at most `max` characters.
pub fn excerpt(body: &str, max: usize) -> String {
    let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= max {
        return folded;
    }
    let mut s: String = folded.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The page where a proposal is decided: its row on the product's proposals page.
pub fn proposal_link(product_key: &str, id: ProposalId) -> String {
    format!("/products/{product_key}/proposals#proposal-{}", id.0)
}

/// The notification telling `to` that the pending proposal `p` waits for their decision.
pub fn proposal_notification(
    p: &Proposal,
    to: UserId,
    proposer_name: &str,
    product_key: &str,
) -> Notification {
    Notification {
        user: to,
        reason: Reason::Proposal,
        actor: Some(p.proposed_by),
        actor_name: proposer_name.to_string(),
        subject: Subject::Proposal,
        object_id: p.id.0,
        label: p.summary.clone(),
        link: proposal_link(product_key, p.id),
        text: excerpt(&format!("{proposer_name} proposes: {}", p.summary), 280),
    }
}

/// The notification telling the proposer of the decided proposal `p` what became of it; `None`
/// while it is pending, and when the proposer decided it themself.
pub fn decision_notification(p: &Proposal, decider_name: &str, product_key: &str) -> Option<Notification> {
    if p.state == ProposalState::Pending || p.decided_by == Some(p.proposed_by) {
        return None;
    }
    let reason = p.decision_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let text = match (p.state, reason) {
        (ProposalState::Accepted, None) => format!("{decider_name} accepted your proposal: {}", p.summary),
        (ProposalState::Accepted, Some(r)) => {
            format!("{decider_name} accepted your proposal: {} ({r})", p.summary)
        }
        (ProposalState::Declined, None) => format!("{decider_name} rejected your proposal: {}", p.summary),
        (ProposalState::Declined, Some(r)) => {
            format!("{decider_name} rejected your proposal: {} (reason: {r})", p.summary)
        }
        (_, r) => format!(
            "Your proposal went stale: {} ({})",
            p.summary,
            r.unwrap_or("it can no longer be applied")
        ),
    };
    Some(Notification {
        user: p.proposed_by,
        reason: Reason::Decision,
        actor: p.decided_by,
        actor_name: decider_name.to_string(),
        subject: Subject::Proposal,
        object_id: p.id.0,
        label: p.summary.clone(),
        link: proposal_link(product_key, p.id),
        text: excerpt(&text, 280),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::user::Email;

    fn user(id: i64, email: &str) -> User {
        User {
            id: UserId(id),
            email: Email::parse("email", email).unwrap(),
            name: format!("User {id}"),
            password_hash: String::new(),
            is_admin: false,
            is_active: true,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn mentions_are_parsed_in_order_without_repeats() {
        let m = parse_mentions("Hi @Ann and @bob.smith, see @ann again. Thanks @carol.");
        assert_eq!(m, vec!["ann", "bob.smith", "carol"]);
    }

    #[test]
    fn email_addresses_and_code_are_no_mentions() {
        assert!(parse_mentions("write to ann@example.com").is_empty());
        assert!(parse_mentions("run `git blame @HEAD` now").is_empty());
        assert!(parse_mentions("```\n@ann\n```").is_empty());
        assert!(parse_mentions("a lone @ sign").is_empty());
        assert_eq!(parse_mentions("(@ann)"), vec!["ann"]);
    }

    #[test]
    fn handles_resolve_to_members_only() {
        let members = vec![user(1, "ann@example.com"), user(2, "Bob.Smith@example.com")];
        let ids = resolve_mentions(&["bob.smith".into(), "nobody".into(), "ann".into()], &members);
        assert_eq!(ids, vec![UserId(2), UserId(1)]);
        assert_eq!(handle_of(&members[1]), "bob.smith");
    }

    #[test]
    fn unwatching_overrides_implied_watching() {
        let choices = vec![
            Watch { user: UserId(1), subject: Subject::Item, object_id: 9, watching: false },
            Watch { user: UserId(3), subject: Subject::Item, object_id: 9, watching: true },
        ];
        let w = watchers(&[UserId(1), UserId(2)], &choices);
        assert_eq!(w.into_iter().collect::<Vec<_>>(), vec![UserId(2), UserId(3)]);
    }

    #[test]
    fn only_members_other_than_the_actor_are_notified() {
        let members: BTreeSet<UserId> = [UserId(1), UserId(2), UserId(3)].into_iter().collect();
        let r = recipients([UserId(2), UserId(1), UserId(7), UserId(2), UserId(3)], UserId(1), &members);
        assert_eq!(r, vec![UserId(2), UserId(3)]);
    }

    #[test]
    fn excerpts_fold_and_cut() {
        assert_eq!(excerpt("a\n\n b", 10), "a b");
        assert_eq!(excerpt("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn subjects_round_trip() {
        for s in Subject::ALL {
            assert_eq!(Subject::parse(s.as_str()), Some(s));
        }
        assert_eq!(Subject::parse("sprint"), None);
        assert_eq!(Subject::parse("proposal"), None, "nobody comments on a proposal");
    }

    fn proposal(state: ProposalState, decided_by: Option<i64>, reason: Option<&str>) -> Proposal {
        Proposal {
            id: ProposalId(7),
            product_id: crate::ProductId(1),
            action: crate::rights::Action::Reorder,
            change: crate::proposal::Change::DeleteItem { item_id: crate::ItemId(3) },
            proposed_by: UserId(2),
            reason: String::new(),
            created_at: Timestamp(0),
            state,
            decided_by: decided_by.map(UserId),
            decided_at: None,
            decision_reason: reason.map(str::to_string),
            summary: "Delete SHOP-3".into(),
        }
    }

    #[test]
    fn a_proposal_notifies_its_decider_with_a_link_to_the_decision() {
        let p = proposal(ProposalState::Pending, None, None);
        let n = proposal_notification(&p, UserId(5), "Tess", "SHOP");
        assert_eq!(
            (n.user, n.reason, n.subject, n.object_id),
            (UserId(5), Reason::Proposal, Subject::Proposal, 7)
        );
        assert_eq!(n.actor, Some(UserId(2)));
        assert_eq!(n.text, "Tess proposes: Delete SHOP-3");
        assert_eq!(n.link, "/products/SHOP/proposals#proposal-7");
    }

    #[test]
    fn a_decision_tells_the_proposer_but_not_a_self_decider() {
        assert!(decision_notification(&proposal(ProposalState::Pending, None, None), "Pam", "SHOP").is_none());
        assert!(
            decision_notification(&proposal(ProposalState::Accepted, Some(2), None), "T", "SHOP").is_none()
        );
        let n =
            decision_notification(&proposal(ProposalState::Accepted, Some(9), None), "Pam", "SHOP").unwrap();
        assert_eq!((n.user, n.reason, n.actor), (UserId(2), Reason::Decision, Some(UserId(9))));
        assert_eq!(n.text, "Pam accepted your proposal: Delete SHOP-3");
        let n = decision_notification(
            &proposal(ProposalState::Declined, Some(9), Some("not now")),
            "Pam",
            "SHOP",
        )
        .unwrap();
        assert_eq!(n.text, "Pam rejected your proposal: Delete SHOP-3 (reason: not now)");
        let n = decision_notification(
            &proposal(ProposalState::Stale, Some(9), Some("could not be applied: gone")),
            "Pam",
            "SHOP",
        )
        .unwrap();
        assert_eq!(n.text, "Your proposal went stale: Delete SHOP-3 (could not be applied: gone)");
    }
}
