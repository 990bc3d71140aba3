//! The demo product's delivery side: a team, its past and current sprints planned from the
//! backlog's own history, and two releases. Written with past timestamps, so the history reads
//! as if the team had planned, started and closed each sprint on its day.

use crate::records::new_record;
use crate::{now, AppResult};
use keel_domain::event::ObjectKind;
use keel_domain::item::{Item, ItemKind, ItemPatch};
use keel_domain::product::Product;
use keel_domain::sprint::{
    Commitment, Release, ReleaseState, Sprint, SprintCapacity, SprintState, SprintSummary, Team, TeamMember,
};
use keel_domain::user::User;
use keel_domain::workflow::Category;
use keel_domain::{Date, ItemId, RecordId, Timestamp, UserId};
use keel_store::{ItemFilter, Page, Ref, Store, WriteCtx, WriteOp, Written};
use std::sync::Arc;

fn ctx(at: Timestamp, actor: UserId) -> WriteCtx {
    WriteCtx { actor: Some(actor), at, proposal: None }
}

fn first_record(w: Vec<Written>) -> RecordId {
    match w.into_iter().next() {
        Some(Written::Record(r)) => r.id,
        _ => RecordId(0),
    }
}

fn points(items: &[&Item]) -> f64 {
    items.iter().map(|i| i.estimate.map_or(0.0, |p| p.value())).sum()
}

/// When each done item reached done, from its history.
async fn done_at(store: &Arc<dyn Store>, item: &Item) -> AppResult<Option<Timestamp>> {
    let h = store.history(ObjectKind::Item, item.id.0, None, 50).await?;
    Ok(h.iter().find(|e| e.field == "status").map(|e| e.at))
}

/// Seeds the team, sprints and releases of the demo product. `po` plans; `team` are the
/// developers.
pub(crate) async fn seed(
    store: &Arc<dyn Store>,
    product: &Product,
    po: &User,
    team: &[User],
) -> AppResult<()> {
    let today = Date::of(now());
    let team_data = Team {
        name: "Checkout crew".into(),
        products: vec![product.id],
        members: team
            .iter()
            .map(|u| TeamMember { user_id: u.id, points: Some(20.0), days: Some(10.0) })
            .collect(),
        board: Default::default(),
    };
    let created = today.plus_days(-40).start();
    let team_rec = new_record(
        Some(product.id),
        None,
        "",
        Some(format!("team:{}:checkout crew", product.id)),
        &team_data,
    )?;
    let team_id =
        first_record(store.write_batch(vec![WriteOp::CreateRecord(team_rec)], &ctx(created, po.id)).await?);

    // Everything of the product, with when each done item was finished.
    let mut items: Vec<Item> = Vec::new();
    let mut page = Page::first(500);
    loop {
        let got = store.list_items(product.id, &ItemFilter::default(), &page).await?;
        let n = got.len();
        page.after = got.last().map(|i| i.rank.as_str().to_string());
        items.extend(got);
        if n < 500 {
            break;
        }
    }
    let workflow = store.workflow(product.id).await?;
    let category = |i: &Item| workflow.state(i.status_id).map_or(Category::Todo, |s| s.category);
    let mut done: Vec<(Timestamp, &Item)> = Vec::new();
    for i in items.iter().filter(|i| i.kind != ItemKind::Epic && category(i) == Category::Done) {
        if let Some(at) = done_at(store, i).await? {
            done.push((at, i));
        }
    }
    let doing: Vec<&Item> =
        items.iter().filter(|i| i.kind != ItemKind::Epic && category(i) == Category::InProgress).collect();
    let todo: Vec<&Item> =
        items.iter().filter(|i| i.kind != ItemKind::Epic && category(i) == Category::Todo).collect();

    // Two closed sprints, the active one, and the next one being planned.
    let windows = [(-35, -22), (-21, -8), (-7, 6), (7, 20)];
    let mut sprint_ids = Vec::new();
    for (n, (a, b)) in windows.iter().enumerate() {
        let (start, end) = (today.plus_days(*a), today.plus_days(*b));
        let in_window: Vec<&Item> = match n {
            0 | 1 => {
                done.iter().filter(|(t, _)| *t >= start.start() && *t < end.end()).map(|(_, i)| *i).collect()
            }
            2 => done
                .iter()
                .filter(|(t, _)| *t >= start.start())
                .map(|(_, i)| *i)
                .chain(doing.iter().copied())
                .chain(todo.iter().take(3).copied())
                .collect(),
            _ => todo.iter().skip(3).take(5).copied().collect(),
        };
        // Done items finished before the first window count in the first sprint.
        let in_window: Vec<&Item> = if n == 0 {
            done.iter().filter(|(t, _)| *t < today.plus_days(-21).start()).map(|(_, i)| *i).collect()
        } else {
            in_window
        };
        let sprint = Sprint {
            name: format!("Sprint {}", n + 14),
            goal: [
                "Guest checkout and saved cards live for 10 % of traffic",
                "Wallet payments and delivery cost in the cart",
                "Checkout on one page; search understands typos",
                "Retry failed payments; funnel analytics",
            ][n]
                .into(),
            start,
            end,
            capacity: team
                .iter()
                .map(|u| SprintCapacity {
                    user_id: u.id,
                    points: Some(20.0),
                    days: Some(10.0),
                    days_off: 0.0,
                })
                .collect(),
            commitment: None,
            summary: None,
        };
        let planned_at = start.plus_days(-1).start().plus_secs(10 * 3600);
        let rec =
            new_record(Some(product.id), Some(team_id.0), SprintState::Planned.as_str(), None, &sprint)?;
        let id =
            first_record(store.write_batch(vec![WriteOp::CreateRecord(rec)], &ctx(planned_at, po.id)).await?);
        let plan: Vec<WriteOp> = in_window
            .iter()
            .map(|i| WriteOp::UpdateItem {
                id: Ref::Id(i.id.0),
                expected_version: None,
                patch: ItemPatch { sprint_id: Some(Some(id)), ..Default::default() },
            })
            .collect();
        if !plan.is_empty() {
            store.write_batch(plan, &ctx(planned_at.plus_secs(600), po.id)).await?;
        }
        sprint_ids.push(id);
        if n == 3 {
            continue;
        }
        let started = start.start().plus_secs(9 * 3600);
        let committed: Vec<(ItemId, f64)> =
            in_window.iter().map(|i| (i.id, i.estimate.map_or(0.0, |p| p.value()))).collect();
        let mut s = sprint.clone();
        s.commitment = Some(Commitment { at: started, points: points(&in_window), items: committed });
        let data = serde_json::to_value(&s)
            .map_err(|e| crate::AppError::Internal(keel_store::StoreError::other(e)))?;
        let start_op = WriteOp::UpdateRecord {
            id,
            expected_version: None,
            state: Some(SprintState::Active.as_str().into()),
            data,
            refs: vec![],
        };
        store.write_batch(vec![start_op], &ctx(started, po.id)).await?;
        if n == 2 {
            continue;
        }
        let closed = end.start().plus_secs(17 * 3600);
        s.summary = Some(SprintSummary {
            at: closed,
            committed: points(&in_window),
            completed: points(&in_window),
            added: 0.0,
            removed: 0.0,
            completed_items: in_window.iter().map(|i| i.id).collect(),
            carried_over: vec![],
        });
        let data = serde_json::to_value(&s)
            .map_err(|e| crate::AppError::Internal(keel_store::StoreError::other(e)))?;
        let close_op = WriteOp::UpdateRecord {
            id,
            expected_version: None,
            state: Some(SprintState::Closed.as_str().into()),
            data,
            refs: vec![],
        };
        store.write_batch(vec![close_op], &ctx(closed, po.id)).await?;
    }

    // Releases: one shipped with the first sprint's work, one planned for the checkout epic.
    let shipped = Release {
        name: "2.3".into(),
        description: "Guest checkout and saved cards.".into(),
        target_date: Some(today.plus_days(-20)),
        released_at: Some(today.plus_days(-20).start().plus_secs(15 * 3600)),
    };
    let next = Release {
        name: "2.4".into(),
        description: "Wallet payments, one-page checkout and typo-tolerant search.".into(),
        target_date: Some(today.plus_days(21)),
        released_at: None,
    };
    let mut ops = vec![
        WriteOp::CreateRecord(new_record(
            Some(product.id),
            None,
            ReleaseState::Released.as_str(),
            Some(format!("release:{}:2.3", product.id)),
            &shipped,
        )?),
        WriteOp::CreateRecord(new_record(
            Some(product.id),
            None,
            ReleaseState::Planned.as_str(),
            Some(format!("release:{}:2.4", product.id)),
            &next,
        )?),
    ];
    let checkout_epic = format!("{}-1", product.key);
    let first_sprint: Vec<ItemId> =
        done.iter().filter(|(t, _)| *t < today.plus_days(-21).start()).map(|(_, i)| i.id).collect();
    for i in &items {
        if i.kind == ItemKind::Epic {
            continue;
        }
        let k = if first_sprint.contains(&i.id) {
            0
        } else if i.parent_key.as_deref() == Some(checkout_epic.as_str()) || category(i) != Category::Todo {
            1
        } else {
            continue;
        };
        ops.push(WriteOp::UpdateItem {
            id: Ref::Id(i.id.0),
            expected_version: None,
            patch: ItemPatch { release_id: Some(Some(RecordId(-1 - k))), ..Default::default() },
        });
    }
    // The release ids are known once created; write them first, then the items.
    let rest = ops.split_off(2);
    let w = store.write_batch(ops, &ctx(today.plus_days(-30).start(), po.id)).await?;
    let ids: Vec<RecordId> =
        w.into_iter().filter_map(|x| if let Written::Record(r) = x { Some(r.id) } else { None }).collect();
    let rest: Vec<WriteOp> = rest
        .into_iter()
        .map(|op| match op {
            WriteOp::UpdateItem { id, expected_version, mut patch } => {
                if let Some(Some(RecordId(k))) = patch.release_id {
                    patch.release_id = Some(ids.get((-1 - k) as usize).copied());
                }
                WriteOp::UpdateItem { id, expected_version, patch }
            }
            other => other,
        })
        .collect();
    store.write_batch(rest, &ctx(today.plus_days(-30).start().plus_secs(600), po.id)).await?;
    Ok(())
}
