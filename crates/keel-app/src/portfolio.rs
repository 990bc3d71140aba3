//! The portfolio: every product a person works in, side by side (vision line, goals' progress,
//! roadmap lanes, releases, active sprints).
//!
//! Each product costs a fixed number of record lists (vision, KPIs, goals, initiatives,
//! releases), and teams and active sprints are listed once for all products: the page stays
//! cheap however many goals, initiatives or releases there are.

use crate::records::Stored;
use crate::vision::{goal_progress, GoalProgress};
use crate::{App, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::kpi::Kpi;
use keel_domain::pm::{Goal, Initiative, InitiativeStatus, Lane};
use keel_domain::product::{Product, Role, Roles};
use keel_domain::sprint::{Release, Sprint, SprintState, Team};
use keel_domain::user::User;
use keel_domain::vision::VisionVersion;
use keel_domain::RecordId;
use keel_store::RecordFilter;
use std::collections::HashMap;

/// Whether the caller sees only the public roadmap: a stakeholder and nothing more (the rule of
/// the roadmap pages and API).
pub fn roadmap_public_only(a: &ProductAccess) -> bool {
    !a.user.is_admin
        && a.roles.has(Role::Stakeholder)
        && !a.roles.has(Role::Pm)
        && !a.roles.has(Role::Po)
        && !a.roles.has(Role::Team)
}

/// An initiative as the portfolio shows it (public wording for stakeholders).
#[derive(Debug, Clone)]
pub struct PortfolioInitiative {
    /// Its id.
    pub id: RecordId,
    /// Its title (the public title for a stakeholder).
    pub title: String,
    /// Its status.
    pub status: InitiativeStatus,
    /// First day of its timeframe.
    pub start: Option<keel_domain::time::Date>,
    /// Last day of its timeframe.
    pub end: Option<keel_domain::time::Date>,
}

/// A roadmap lane and its initiatives.
#[derive(Debug, Clone)]
pub struct PortfolioLane {
    /// The lane.
    pub lane: Lane,
    /// Its initiatives, by start then id (dropped ones left out).
    pub initiatives: Vec<PortfolioInitiative>,
}

/// A team's active sprint.
#[derive(Debug, Clone)]
pub struct PortfolioSprint {
    /// The team's name.
    pub team: String,
    /// The sprint.
    pub sprint: Stored<Sprint>,
}

/// One product in the portfolio.
#[derive(Debug, Clone)]
pub struct PortfolioProduct {
    /// The product.
    pub product: Product,
    /// The caller's roles there.
    pub roles: Roles,
    /// Whether the roadmap shown is the public one.
    pub public_only: bool,
    /// The current vision version, if ever saved.
    pub vision: Option<VisionVersion>,
    /// Goals with progress, due date first (undated last), then id.
    pub goals: Vec<GoalProgress>,
    /// Now, next, later.
    pub lanes: Vec<PortfolioLane>,
    /// Releases not shipped (by target date, undated last), then shipped ones (latest first).
    pub releases: Vec<Stored<Release>>,
    /// Active sprints of the teams serving the product (none for a stakeholder-only view).
    pub sprints: Vec<PortfolioSprint>,
}

impl App {
    /// The portfolio of `user`: every product they are a member of (an administrator: every
    /// product), by key.
    pub async fn portfolio(&self, user: &User) -> AppResult<Vec<PortfolioProduct>> {
        let mut products = self.products_for(user).await?;
        products.sort_by(|a, b| a.0.key.as_str().cmp(b.0.key.as_str()));
        let teams = self.list_records::<Team>(RecordFilter::of(ObjectKind::Team)).await?;
        let active = self
            .list_records::<Sprint>(
                RecordFilter::of(ObjectKind::Sprint).states(&[SprintState::Active.as_str()]),
            )
            .await?;
        let mut out = Vec::new();
        for (product, roles) in products {
            let access = ProductAccess { user: user.clone(), product, roles };
            if self.decide(&access, keel_domain::rights::Action::ReadProduct)
                != keel_domain::rights::Decision::Allow
            {
                continue;
            }
            out.push(self.portfolio_product(access, &teams, &active).await?);
        }
        Ok(out)
    }

    async fn portfolio_product(
        &self,
        access: ProductAccess,
        teams: &[Stored<Team>],
        active: &[Stored<Sprint>],
    ) -> AppResult<PortfolioProduct> {
        let pid = access.product.id;
        let public_only = roadmap_public_only(&access);
        let vision = self.vision(&access).await?.current().cloned();
        let kpis: HashMap<RecordId, Kpi> =
            self.kpis(&access).await?.into_iter().map(|k| (k.id, k.data)).collect();
        let mut goals: Vec<GoalProgress> = self
            .list_records::<Goal>(RecordFilter::of(ObjectKind::Goal).product(pid))
            .await?
            .into_iter()
            .map(|g| goal_progress(g, &kpis))
            .collect();
        goals.sort_by_key(|g| (g.goal.data.due.is_none(), g.goal.data.due, g.goal.id));
        let initiatives = self.initiatives(&access).await?;
        let lanes = lanes_of(&initiatives, public_only);
        let mut releases = self.releases(&access).await?;
        releases.sort_by_key(|r| {
            (
                r.data.released_at.is_some(),
                r.data.target_date.is_none(),
                r.data.target_date,
                std::cmp::Reverse(r.data.released_at),
                r.id,
            )
        });
        let sprints = if public_only {
            Vec::new()
        } else {
            let mut v: Vec<PortfolioSprint> = teams
                .iter()
                .filter(|t| t.product_id == Some(pid) || t.data.products.contains(&pid))
                .flat_map(|t| {
                    active
                        .iter()
                        .filter(move |s| s.parent_id == Some(t.id.0))
                        .map(move |s| PortfolioSprint { team: t.data.name.clone(), sprint: s.clone() })
                })
                .collect();
            v.sort_by_key(|s| s.team.to_lowercase());
            v
        };
        Ok(PortfolioProduct {
            product: access.product,
            roles: access.roles,
            public_only,
            vision,
            goals,
            lanes,
            releases,
            sprints,
        })
    }
}

/// The lanes of a roadmap: dropped initiatives left out; for a stakeholder only the public ones,
/// under their public titles.
pub fn lanes_of(initiatives: &[Stored<Initiative>], public_only: bool) -> Vec<PortfolioLane> {
    Lane::ALL
        .iter()
        .map(|lane| {
            let mut list: Vec<PortfolioInitiative> = initiatives
                .iter()
                .filter(|s| s.data.lane == *lane)
                .filter(|s| crate::roadmap::status_of(s) != InitiativeStatus::Dropped)
                .filter(|s| !public_only || s.data.plan.public)
                .map(|s| {
                    let title = if public_only && !s.data.plan.public_title.trim().is_empty() {
                        s.data.plan.public_title.clone()
                    } else {
                        s.data.title.clone()
                    };
                    PortfolioInitiative {
                        id: s.id,
                        title,
                        status: crate::roadmap::status_of(s),
                        start: s.data.start,
                        end: s.data.end,
                    }
                })
                .collect();
            list.sort_by_key(|i| (i.start.is_none(), i.start, i.id));
            PortfolioLane { lane: *lane, initiatives: list }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_domain::pm::InitiativePlan;

    fn ini(
        id: i64,
        title: &str,
        lane: Lane,
        state: &str,
        public: bool,
        public_title: &str,
    ) -> Stored<Initiative> {
        Stored {
            id: RecordId(id),
            product_id: None,
            parent_id: None,
            state: state.into(),
            unique_key: None,
            data: Initiative {
                title: title.into(),
                lane,
                plan: InitiativePlan { public, public_title: public_title.into(), ..Default::default() },
                ..Default::default()
            },
            version: 1,
            created_by: None,
            created_at: keel_domain::time::Timestamp(0),
            updated_at: keel_domain::time::Timestamp(0),
        }
    }

    #[test]
    fn lanes_leave_out_dropped_and_private_for_stakeholders() {
        let list = vec![
            ini(1, "Secret bet", Lane::Now, "planned", false, ""),
            ini(2, "One-tap pay", Lane::Now, "in_progress", true, "Faster checkout"),
            ini(3, "Old idea", Lane::Next, "dropped", true, ""),
            ini(4, "Loyalty", Lane::Later, "proposed", true, ""),
        ];
        let titles = |lanes: &[PortfolioLane]| -> Vec<Vec<String>> {
            lanes.iter().map(|l| l.initiatives.iter().map(|i| i.title.clone()).collect()).collect()
        };
        let all = lanes_of(&list, false);
        assert_eq!(
            titles(&all),
            vec![vec!["Secret bet".to_string(), "One-tap pay".into()], vec![], vec!["Loyalty".into()]]
        );
        let public = lanes_of(&list, true);
        assert_eq!(
            titles(&public),
            vec![vec!["Faster checkout".to_string()], vec![], vec!["Loyalty".into()]]
        );
        assert_eq!(public.iter().map(|l| l.lane).collect::<Vec<_>>(), Lane::ALL.to_vec());
    }
}
