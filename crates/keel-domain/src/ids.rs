//! Typed ids, so that a user id can never be passed where an item id is wanted.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A user account.
    UserId,
    /// A product.
    ProductId,
    /// A backlog item (epic, story, task, bug, spike).
    ItemId,
    /// A workflow state of a product.
    StateId,
    /// An API token.
    TokenId,
    /// A pending or decided proposal.
    ProposalId,
    /// A link between two items.
    LinkId,
    /// A stored record: a team, sprint, release, retrospective card, poker round, question or setting.
    RecordId,
);
