//! Every main page of a product, as the sidebar and the routes list them: the fixed paths, and
//! the pages of one object each (a sprint, an item, a goal…) found by following the first link
//! of their kind from a list page. Shared by the accessibility check and the screenshot job.
#![allow(dead_code)]

use super::browser::Browser;
use serde_json::json;

/// Pages with a fixed path; `{p}` is the product's key.
pub const FIXED: &[(&str, &str)] = &[
    ("products", "/"),
    ("portfolio", "/portfolio"),
    ("inbox", "/inbox"),
    ("tokens", "/settings/tokens"),
    ("users", "/admin/users"),
    ("home", "/products/{p}"),
    ("vision", "/products/{p}/vision"),
    ("vision-card", "/products/{p}/vision/card"),
    ("goals", "/products/{p}/goals"),
    ("kpis", "/products/{p}/kpis"),
    ("roadmap", "/products/{p}/roadmap"),
    ("timeline", "/products/{p}/roadmap/timeline"),
    ("alignment", "/products/{p}/alignment"),
    ("opportunities", "/products/{p}/opportunities"),
    ("feedback", "/products/{p}/feedback"),
    ("competitors", "/products/{p}/competitors"),
    ("stakeholders", "/products/{p}/stakeholders"),
    ("stakeholder-updates", "/products/{p}/stakeholder-updates"),
    ("backlog", "/products/{p}/backlog"),
    ("refinement", "/products/{p}/refinement"),
    ("sprints", "/products/{p}/sprints"),
    ("board", "/products/{p}/board"),
    ("standup", "/products/{p}/standup"),
    ("releases", "/products/{p}/releases"),
    ("reports", "/products/{p}/reports"),
    ("forecast", "/products/{p}/forecast"),
    ("decisions", "/products/{p}/decisions"),
    ("proposals", "/products/{p}/proposals"),
    ("members", "/products/{p}/members"),
    ("settings", "/products/{p}/settings"),
    ("definitions", "/products/{p}/settings/definitions"),
    ("webhooks", "/products/{p}/settings/webhooks"),
    ("workflow", "/products/{p}/workflow"),
    ("launch-template", "/products/{p}/launch-template"),
];

/// Pages of one object: (name, list page, pattern of the link's path).
pub const LINKED: &[(&str, &str, &str)] = &[
    ("item", "/products/{p}/backlog", r"^/items/[A-Z]+-\d+$"),
    ("item-edit", "/products/{p}/backlog", r"^/items/[A-Z]+-\d+$"),
    ("sprint", "/products/{p}/sprints", r"^/sprints/\d+$"),
    ("sprint-plan", "/products/{p}/sprints", r"^/sprints/\d+/plan$"),
    ("team", "/products/{p}/sprints", r"^/teams/\d+$"),
    ("goal", "/products/{p}/goals", r"^/goals/\d+$"),
    ("kpi", "/products/{p}/kpis", r"^/kpis/\d+$"),
    ("initiative", "/products/{p}/roadmap", r"^/products/[A-Z]+/roadmap/initiatives/\d+$"),
    ("release", "/products/{p}/releases", r"^/releases/\d+$"),
    ("stakeholder", "/products/{p}/stakeholders", r"^/stakeholders/\d+$"),
    ("opportunity", "/products/{p}/opportunities", r"^/opportunities/\d+$"),
    ("feedback-entry", "/products/{p}/feedback", r"^/feedback/\d+$"),
];

/// The (name, path) of every main page of product `p`, following links in the browser; a
/// linked page whose list holds no such link (an empty product) is left out.
pub async fn main_pages(b: &Browser, base: &str, p: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        FIXED.iter().map(|(n, path)| (n.to_string(), path.replace("{p}", p))).collect();
    for (name, list, pattern) in LINKED {
        b.goto(&format!("{base}{}", list.replace("{p}", p))).await;
        b.wait_css("body").await;
        let href = b
            .js(
                "const re = new RegExp(arguments[0]);
                 const a = Array.from(document.querySelectorAll('main a[href], #main a[href]'))
                   .map(a => a.getAttribute('href').split(/[?#]/)[0]).find(h => re.test(h));
                 return a || null;",
                json!([pattern]),
            )
            .await;
        if let Some(h) = href.as_str() {
            let path = if *name == "item-edit" { format!("{h}/edit") } else { h.to_string() };
            out.push((name.to_string(), path));
        }
    }
    // Pages reached from a sprint or an initiative rather than from a list.
    if let Some((_, sprint)) = out.iter().find(|(n, _)| n == "sprint").cloned() {
        out.push(("sprint-review".into(), format!("{sprint}/review")));
        out.push(("sprint-retro".into(), format!("{sprint}/retro")));
    }
    if let Some((_, init)) = out.iter().find(|(n, _)| n == "initiative").cloned() {
        let id = init.rsplit('/').next().unwrap_or("").to_string();
        out.push(("initiative-outcomes".into(), format!("/initiatives/{id}/outcomes")));
        out.push(("initiative-prd".into(), format!("/initiatives/{id}/prd")));
    }
    out
}
