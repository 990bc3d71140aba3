//! Decision rights: who may do what in a product, as data, and the one function that answers.
//!
//! The table follows the product brief: the Product Manager decides why and what, the Product
//! Owner how and when, the team estimates and moves its work, stakeholders read. Where a role
//! "proposes", its change is stored as a proposal for a decider to accept or decline.

use crate::product::{Role, Roles};
use serde::{Deserialize, Serialize};

/// Everything a user can ask to do in a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read the product and everything in it.
    ReadProduct,
    /// Change the product's name, description or workflow.
    EditProduct,
    /// Add, change or remove members (administrators only).
    ManageMembers,
    /// Create an epic.
    CreateEpic,
    /// Create a story, task, bug or spike.
    CreateItem,
    /// Change an item's title, kind, parent, story parts, labels or links.
    EditItem,
    /// Change an item's description.
    EditDescription,
    /// Add, change or remove acceptance criteria.
    EditCriteria,
    /// Check or uncheck an acceptance criterion.
    CheckCriterion,
    /// Change the backlog order.
    Reorder,
    /// Set an estimate.
    Estimate,
    /// Assign an item.
    Assign,
    /// Move an item between to-do and in-progress states.
    Transition,
    /// Move an item into a done state: accept it.
    Accept,
    /// Delete an item.
    DeleteItem,
    /// Edit the vision, goals and KPI targets.
    EditVision,
    /// Change the roadmap: initiatives, timing, status.
    EditRoadmap,
    /// Score opportunities.
    ScoreOpportunity,
    /// Promote an opportunity into an epic.
    PromoteOpportunity,
    /// Send customer feedback.
    SendFeedback,
    /// Set sprint scope, start and close sprints.
    ManageSprint,
    /// Decide a release's go / no-go and its launch checklist.
    ReleaseGoNoGo,
    /// Run planning poker: open a round, reveal the cards, call a re-vote, close a round.
    RunPoker,
    /// Take part in a retrospective: add, change and vote on cards.
    Retrospective,
    /// Change the workflow's states and the teams' board layouts.
    EditWorkflow,
    /// Write product requirements documents (edit, reset sections).
    EditPrd,
    /// Add, change or remove the product's outgoing webhooks and retry their deliveries.
    ManageWebhooks,
}

/// The answer to "may I?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Refused.
    Deny,
    /// Recorded as a proposal for a decider.
    Propose,
    /// Done at once.
    Allow,
}

impl Action {
    /// Every action, for the matrix tests and the rights page.
    pub const ALL: [Action; 27] = [
        Action::ReadProduct,
        Action::EditProduct,
        Action::ManageMembers,
        Action::CreateEpic,
        Action::CreateItem,
        Action::EditItem,
        Action::EditDescription,
        Action::EditCriteria,
        Action::CheckCriterion,
        Action::Reorder,
        Action::Estimate,
        Action::Assign,
        Action::Transition,
        Action::Accept,
        Action::DeleteItem,
        Action::EditVision,
        Action::EditRoadmap,
        Action::ScoreOpportunity,
        Action::PromoteOpportunity,
        Action::SendFeedback,
        Action::ManageSprint,
        Action::ReleaseGoNoGo,
        Action::RunPoker,
        Action::Retrospective,
        Action::EditWorkflow,
        Action::EditPrd,
        Action::ManageWebhooks,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReadProduct => "read_product",
            Action::EditProduct => "edit_product",
            Action::ManageMembers => "manage_members",
            Action::CreateEpic => "create_epic",
            Action::CreateItem => "create_item",
            Action::EditItem => "edit_item",
            Action::EditDescription => "edit_description",
            Action::EditCriteria => "edit_criteria",
            Action::CheckCriterion => "check_criterion",
            Action::Reorder => "reorder",
            Action::Estimate => "estimate",
            Action::Assign => "assign",
            Action::Transition => "transition",
            Action::Accept => "accept",
            Action::DeleteItem => "delete_item",
            Action::EditVision => "edit_vision",
            Action::EditRoadmap => "edit_roadmap",
            Action::ScoreOpportunity => "score_opportunity",
            Action::PromoteOpportunity => "promote_opportunity",
            Action::SendFeedback => "send_feedback",
            Action::ManageSprint => "manage_sprint",
            Action::ReleaseGoNoGo => "release_go_no_go",
            Action::RunPoker => "run_poker",
            Action::Retrospective => "retrospective",
            Action::EditWorkflow => "edit_workflow",
            Action::EditPrd => "edit_prd",
            Action::ManageWebhooks => "manage_webhooks",
        }
    }

    /// A phrase for messages ("reorder the backlog").
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadProduct => "read this product",
            Action::EditProduct => "change the product's settings",
            Action::ManageMembers => "manage members",
            Action::CreateEpic => "create epics",
            Action::CreateItem => "create backlog items",
            Action::EditItem => "change story content",
            Action::EditDescription => "change descriptions",
            Action::EditCriteria => "change acceptance criteria",
            Action::CheckCriterion => "check acceptance criteria",
            Action::Reorder => "reorder the backlog",
            Action::Estimate => "estimate",
            Action::Assign => "assign items",
            Action::Transition => "move items through the workflow",
            Action::Accept => "accept items as done",
            Action::DeleteItem => "delete items",
            Action::EditVision => "change the vision, goals and KPI targets",
            Action::EditRoadmap => "change the roadmap",
            Action::ScoreOpportunity => "score opportunities",
            Action::PromoteOpportunity => "promote opportunities to epics",
            Action::SendFeedback => "send feedback",
            Action::ManageSprint => "change sprint scope, start or close sprints",
            Action::ReleaseGoNoGo => "decide a release's go / no-go",
            Action::RunPoker => "run planning poker rounds",
            Action::Retrospective => "take part in retrospectives",
            Action::EditWorkflow => "change the workflow and board layouts",
            Action::EditPrd => "write product requirements documents",
            Action::ManageWebhooks => "manage webhooks",
        }
    }
}

use Decision::{Allow as A, Deny as D, Propose as P};

/// A product's rights table: for each action, the decision of each role (pm, po, team,
/// stakeholder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsTable {
    rows: Vec<(Action, [Decision; 4])>,
}

impl Default for RightsTable {
    /// The table of the product brief.
    fn default() -> Self {
        let rows = vec![
            //                          pm  po  team stakeholder
            (Action::ReadProduct, [A, A, A, A]),
            (Action::EditProduct, [A, P, D, D]),
            (Action::ManageMembers, [D, D, D, D]),
            (Action::CreateEpic, [A, A, P, D]),
            (Action::CreateItem, [P, A, P, D]),
            (Action::EditItem, [D, A, P, D]),
            (Action::EditDescription, [D, A, A, D]),
            (Action::EditCriteria, [D, A, P, D]),
            (Action::CheckCriterion, [D, A, A, D]),
            (Action::Reorder, [D, A, P, D]),
            (Action::Estimate, [D, D, A, D]),
            (Action::Assign, [D, A, A, D]),
            (Action::Transition, [D, A, A, D]),
            (Action::Accept, [D, A, P, D]),
            (Action::DeleteItem, [D, A, D, D]),
            (Action::EditVision, [A, P, D, D]),
            (Action::EditRoadmap, [A, P, D, D]),
            (Action::ScoreOpportunity, [A, P, D, D]),
            (Action::PromoteOpportunity, [A, P, D, D]),
            (Action::SendFeedback, [A, A, A, A]),
            (Action::ManageSprint, [D, A, P, D]),
            (Action::ReleaseGoNoGo, [A, P, D, D]),
            (Action::RunPoker, [D, A, A, D]),
            (Action::Retrospective, [A, A, A, D]),
            (Action::EditWorkflow, [D, A, D, D]),
            (Action::EditPrd, [A, D, D, D]),
            (Action::ManageWebhooks, [A, A, D, D]),
        ];
        RightsTable { rows }
    }
}

fn role_index(r: Role) -> usize {
    match r {
        Role::Pm => 0,
        Role::Po => 1,
        Role::Team => 2,
        Role::Stakeholder => 3,
    }
}

impl RightsTable {
    /// The decision for one role.
    pub fn for_role(&self, role: Role, action: Action) -> Decision {
        self.rows.iter().find(|(a, _)| *a == action).map_or(D, |(_, d)| d[role_index(role)])
    }

    /// May a user holding `roles` (an administrator when `is_admin`) do `action`? The best
    /// answer of any role held wins. Administrators manage members and may read every product;
    /// for everything else they act through the roles they hold, like anyone.
    pub fn decide(&self, roles: Roles, is_admin: bool, action: Action) -> Decision {
        if is_admin && matches!(action, Action::ManageMembers | Action::ReadProduct) {
            return A;
        }
        roles.iter().map(|r| self.for_role(r, action)).max().unwrap_or(D)
    }

    /// The roles that decide `action` (answer `allow`), for "who decides this?" messages.
    pub fn deciders(&self, action: Action) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| self.for_role(*r, action) == A).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_table() {
        let t = RightsTable::default();
        let po = Roles::of(&[Role::Po]);
        let team = Roles::of(&[Role::Team]);
        let pm = Roles::of(&[Role::Pm]);
        let sh = Roles::of(&[Role::Stakeholder]);
        assert_eq!(t.decide(po, false, Action::Reorder), A);
        assert_eq!(t.decide(team, false, Action::Reorder), P);
        assert_eq!(t.decide(pm, false, Action::Reorder), D);
        assert_eq!(t.decide(sh, false, Action::Reorder), D);
        assert_eq!(t.decide(team, false, Action::Estimate), A);
        assert_eq!(t.decide(po, false, Action::Estimate), D);
        assert_eq!(t.decide(team, false, Action::Accept), P);
        assert_eq!(t.decide(po, false, Action::EditVision), P);
        assert_eq!(t.decide(pm, false, Action::EditVision), A);
        assert_eq!(t.decide(sh, false, Action::ReadProduct), A);
        assert_eq!(t.decide(Roles::NONE, false, Action::ReadProduct), D);
    }

    #[test]
    fn several_roles_take_the_best() {
        let t = RightsTable::default();
        let both = Roles::of(&[Role::Pm, Role::Po]);
        assert_eq!(t.decide(both, false, Action::Reorder), A);
        assert_eq!(t.decide(both, false, Action::EditVision), A);
    }

    #[test]
    fn admins_manage_members_and_read_but_decide_nothing_else() {
        let t = RightsTable::default();
        assert_eq!(t.decide(Roles::NONE, true, Action::ManageMembers), A);
        assert_eq!(t.decide(Roles::NONE, true, Action::ReadProduct), A);
        assert_eq!(t.decide(Roles::NONE, true, Action::Reorder), D);
        assert_eq!(t.decide(Roles::of(&[Role::Po]), false, Action::ManageMembers), D);
    }

    #[test]
    fn every_action_has_a_row_and_a_decider() {
        let t = RightsTable::default();
        for a in Action::ALL {
            assert!(t.rows.iter().any(|(x, _)| *x == a), "{a:?} missing");
            if a != Action::ManageMembers {
                assert!(!t.deciders(a).is_empty(), "{a:?} has no decider");
            }
        }
    }
}
