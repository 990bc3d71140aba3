//! The daily stand-up: which stretch of time "since yesterday" covers, and how the status changes
//! of that stretch are told per person.

use crate::time::Date;
use crate::{ItemId, StateId, Timestamp, UserId};

/// The working day before `date`: Monday (and the weekend) look back to Friday.
pub fn previous_working_day(date: Date) -> Date {
    let mut d = date.plus_days(-1);
    while d.is_weekend() {
        d = d.plus_days(-1);
    }
    d
}

/// The stretch a stand-up on `date` looks at: from the start of the previous working day to the
/// end of `date` (so a stand-up of a past day leaves out what happened after it).
pub fn window(date: Date) -> (Timestamp, Timestamp) {
    (previous_working_day(date).start(), date.end())
}

/// One status change from the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// The item.
    pub item: ItemId,
    /// Who changed it.
    pub actor: Option<UserId>,
    /// When.
    pub at: Timestamp,
    /// The state before.
    pub from: StateId,
    /// The state after.
    pub to: StateId,
}

/// What happened to one item in the stretch: its first state, its last state, when it last
/// moved, by whom, and how many moves there were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The item.
    pub item: ItemId,
    /// The state at the start of the stretch.
    pub from: StateId,
    /// The state after its last move.
    pub to: StateId,
    /// When it last moved.
    pub at: Timestamp,
    /// Who moved it last.
    pub by: Option<UserId>,
    /// How many moves.
    pub moves: usize,
}

/// The moves that belong to `person`: those they made, and those of items assigned to them
/// (`assignee` answers for an item). Changes are given in commit order; one entry per item,
/// most recent first.
pub fn moved_for(
    person: UserId,
    changes: &[StatusChange],
    assignee: impl Fn(ItemId) -> Option<UserId>,
) -> Vec<Moved> {
    let mut out: Vec<Moved> = Vec::new();
    for c in changes {
        if c.actor != Some(person) && assignee(c.item) != Some(person) {
            continue;
        }
        match out.iter_mut().find(|m| m.item == c.item) {
            Some(m) => {
                m.to = c.to;
                m.at = c.at;
                m.by = c.actor;
                m.moves += 1;
            }
            None => out.push(Moved { item: c.item, from: c.from, to: c.to, at: c.at, by: c.actor, moves: 1 }),
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.at));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse("date", s).unwrap()
    }

    #[test]
    fn monday_looks_back_to_friday() {
        // 2026-11-23 is a Monday.
        assert_eq!(previous_working_day(d("2026-11-23")), d("2026-11-20"));
        assert_eq!(previous_working_day(d("2026-11-24")), d("2026-11-23"));
        assert_eq!(previous_working_day(d("2026-11-27")), d("2026-11-26"));
        // A weekend stand-up looks back to Friday too.
        assert_eq!(previous_working_day(d("2026-11-22")), d("2026-11-20"));
        assert_eq!(previous_working_day(d("2026-11-21")), d("2026-11-20"));
        let (since, until) = window(d("2026-11-23"));
        assert_eq!(since, d("2026-11-20").start());
        assert_eq!(until, d("2026-11-24").start());
    }

    #[test]
    fn moves_belong_to_the_mover_and_the_assignee() {
        let ch = |item, actor, at, from, to| StatusChange {
            item: ItemId(item),
            actor: Some(UserId(actor)),
            at: Timestamp(at),
            from: StateId(from),
            to: StateId(to),
        };
        let changes = vec![ch(1, 7, 10, 1, 2), ch(2, 8, 20, 1, 2), ch(1, 7, 30, 2, 3), ch(3, 9, 40, 1, 2)];
        // Item 2 is assigned to 7 but moved by 8; item 3 belongs to nobody here.
        let assignee = |i: ItemId| match i.0 {
            1 | 2 => Some(UserId(7)),
            _ => None,
        };
        let m = moved_for(UserId(7), &changes, assignee);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].item, ItemId(1));
        assert_eq!((m[0].from, m[0].to, m[0].moves), (StateId(1), StateId(3), 2));
        assert_eq!(m[1].item, ItemId(2));
        assert_eq!(m[1].by, Some(UserId(8)));
        let m8 = moved_for(UserId(8), &changes, assignee);
        assert_eq!(m8.iter().map(|m| m.item).collect::<Vec<_>>(), vec![ItemId(2)]);
        assert!(moved_for(UserId(5), &changes, assignee).is_empty());
    }
}
