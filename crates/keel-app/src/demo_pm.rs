//! The demo product's strategy side: a vision, KPIs with a few weeks of measurements, goals with
//! key results, initiatives on the roadmap delivered by the demo's epics, and scored
//! opportunities. Written through the same use cases a Product Manager's clicks go through.

use crate::discovery::OpportunityInput;
use crate::roadmap::InitiativeInput;
use crate::{now, App, AppResult, ProductAccess};
use keel_domain::discovery::{Ice, Kano, Moscow, Rice, Scores, ValueEffort, Wsjf};
use keel_domain::kpi::{Direction, Kpi, KpiKind, Measurement, Unit};
use keel_domain::product::{Product, Role, Roles};
use keel_domain::user::User;
use keel_domain::vision::VisionFields;
use keel_domain::Date;

/// (name, kind, unit, direction, baseline, target, weekly values)
type KpiSeed = (&'static str, KpiKind, Unit, Direction, f64, f64, [f64; 6]);

const KPIS: [KpiSeed; 3] = [
    (
        "Checkout conversion",
        KpiKind::Adoption,
        Unit::Percent,
        Direction::Up,
        32.0,
        45.0,
        [32.0, 33.1, 34.0, 35.2, 36.0, 37.4],
    ),
    (
        "Search-to-cart rate",
        KpiKind::Adoption,
        Unit::Percent,
        Direction::Up,
        9.0,
        14.0,
        [9.0, 9.2, 9.6, 10.1, 10.4, 10.9],
    ),
    (
        "Customer satisfaction (CSAT)",
        KpiKind::Csat,
        Unit::Score,
        Direction::Up,
        3.9,
        4.5,
        [3.9, 3.9, 4.0, 4.0, 4.1, 4.2],
    ),
];

/// Seeds the strategy of the demo product as its Product Manager `pm`.
pub(crate) async fn seed(app: &App, product: &Product, pm: &User) -> AppResult<()> {
    let access = ProductAccess { user: pm.clone(), product: product.clone(), roles: Roles::of(&[Role::Pm]) };
    let today = Date::of(now());
    let vision = VisionFields {
        statement: "Outdoor gear bought in two minutes, from any phone, in 14 countries.".into(),
        target_group: "Hikers, climbers and families planning a trip; mostly on mobile, often abroad.".into(),
        needs: "Find the right size and fit fast; pay the way they pay at home; know when it arrives.".into(),
        product: "Northwind's web shop and its mobile experience: search that understands outdoor \
                  words, a one-page checkout, returns without a phone call."
            .into(),
        ..Default::default()
    };
    app.save_vision(&access, vision, None, None).await?;
    let mut kpis = Vec::new();
    for (name, kind, unit, direction, baseline, target, values) in KPIS {
        let kpi = Kpi {
            name: name.into(),
            kind,
            unit,
            direction,
            baseline,
            target,
            due: Some(today.plus_days(90)),
            measurements: Vec::new(),
        };
        let k = app.create_kpi(&access, kpi).await?;
        let ms = values
            .iter()
            .enumerate()
            .map(|(w, v)| Measurement {
                date: today.plus_days(-35 + 7 * w as i32),
                value: *v,
                note: String::new(),
            })
            .collect();
        app.add_measurements(&access, k.id, ms).await?;
        kpis.push(k.id);
    }
    let due = (today.plus_days(90)).to_string();
    let checkout = app
        .create_goal(
            &access,
            "Make checkout effortless",
            "Fewer abandoned carts on every device.",
            Some(&due),
            None,
        )
        .await?;
    app.add_key_result(&access, checkout.id, "Checkout conversion from 32 % to 45 %", Some(kpis[0].0))
        .await?;
    app.add_key_result(&access, checkout.id, "CSAT of 4.5 after purchase", Some(kpis[2].0)).await?;
    let search = app
        .create_goal(
            &access,
            "Help shoppers find what they came for",
            "Search that turns into carts.",
            Some(&due),
            None,
        )
        .await?;
    app.add_key_result(&access, search.id, "Search-to-cart rate from 9 % to 14 %", Some(kpis[1].0)).await?;

    let key = |n: i64| format!("{}-{n}", product.key);
    let initiatives = [
        ("One-page checkout", "now", "in_progress", vec![checkout.id.0], vec![key(1)], Some(80)),
        (
            "Search that understands outdoor words",
            "now",
            "in_progress",
            vec![search.id.0],
            vec![key(14)],
            Some(70),
        ),
        ("Orders customers can follow", "next", "planned", vec![checkout.id.0], vec![key(40)], Some(60)),
        ("Fast on every phone", "later", "proposed", vec![], vec![key(53)], Some(40)),
    ];
    for (title, lane, status, goals, epics, confidence) in initiatives {
        let input = InitiativeInput {
            title: Some(title.into()),
            lane: Some(lane.into()),
            status: Some(status.into()),
            goals: Some(goals),
            epics: Some(epics),
            confidence: Some(confidence),
            public: Some(true),
            public_title: Some(title.into()),
            ..Default::default()
        };
        app.create_initiative(&access, &input, None).await?;
    }

    let opportunities = [
        (
            "Shoppers abandon at the delivery step",
            "Delivery cost appears only at the last step.",
            4000.0,
            2.0,
            80.0,
            3.0,
        ),
        ("Sizes differ between brands", "Returns for size are 38 % of all returns.", 2500.0, 1.0, 60.0, 5.0),
        ("No gift cards", "Asked for by sales every December.", 800.0, 0.5, 50.0, 2.0),
    ];
    for (i, (title, description, reach, impact, confidence, effort)) in opportunities.into_iter().enumerate()
    {
        let scores = Scores {
            rice: Some(Rice { reach, impact, confidence, effort }),
            wsjf: Some(Wsjf {
                business_value: 8.0 - 2.0 * i as f64,
                time_criticality: 5.0,
                risk_reduction: 3.0,
                job_size: effort,
            }),
            ice: Some(Ice { impact: 8.0 - i as f64, confidence: 7.0, ease: 6.0 }),
            value_effort: Some(ValueEffort { value: 8.0 - 2.0 * i as f64, effort }),
            moscow: Some([Moscow::Must, Moscow::Should, Moscow::Could][i]),
            kano: Some([Kano::MustBe, Kano::Performance, Kano::Attractive][i]),
        };
        let input = OpportunityInput {
            title: Some(title.into()),
            description: Some(description.into()),
            scores: Some(scores),
        };
        app.create_opportunity(&access, &input, None).await?;
    }
    Ok(())
}
