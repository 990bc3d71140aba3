//! The embeddable feedback widget: each product's public key, on/off switch and allowed origins
//! (the Product Manager's), posts from customers' pages rate limited per address in the
//! database, and merging duplicate feedback.
//!
//! A product's settings are one record (unique key `widget:<product>`), and its current public
//! key a second record (unique key `widgetkey:<key>`) so that a post finds its product through an
//! index; rotating swaps that second record in the same transaction.

use crate::auth::random_secret;
use crate::records::{new_record, to_data, RecordKind, Stored};
use crate::{now, App, AppError, AppResult, ProductAccess};
use keel_domain::discovery::Feedback;
use keel_domain::event::ObjectKind;
use keel_domain::rights::Action;
use keel_domain::widget::{Widget, WidgetPost, KEY_MIN, RATE_LIMITS};
use keel_domain::{ProductId, RecordId};
use keel_store::{StoreError, WriteCtx, WriteOp, Written};
use serde::{Deserialize, Serialize};

impl RecordKind for Widget {
    const KIND: ObjectKind = ObjectKind::Setting;
}

/// The record pointing a public key at its product (the product is the record's).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WidgetKey {}

impl RecordKind for WidgetKey {
    const KIND: ObjectKind = ObjectKind::Setting;
}

/// The unique key of a product's widget settings.
pub fn widget_key(product: ProductId) -> String {
    format!("widget:{}", product.0)
}

/// The unique key of the record behind a public key.
pub fn public_key_key(key: &str) -> String {
    format!("widgetkey:{key}")
}

/// Changes to a widget's settings.
#[derive(Debug, Clone, Default)]
pub struct WidgetInput {
    /// Take posts or not.
    pub enabled: Option<bool>,
    /// The origins allowed to post (replace the list; empty: any).
    pub origins: Option<Vec<String>>,
}

impl App {
    /// The product's widget settings, if the Product Manager has set it up (members read them).
    pub async fn widget(&self, access: &ProductAccess) -> AppResult<Option<Stored<Widget>>> {
        self.require(access, Action::ReadProduct)?;
        match self.store.record_by_key(ObjectKind::Setting, &widget_key(access.product.id)).await {
            Ok(r) => Ok(Some(Stored::from_record(r)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Turns the widget on or off and sets its origins (the Product Manager); the first change
    /// gives the product its public key.
    pub async fn set_widget(&self, access: &ProductAccess, input: &WidgetInput) -> AppResult<Stored<Widget>> {
        self.require(access, Action::EditProduct)?;
        let pid = access.product.id;
        let current = self.widget(access).await?;
        let mut data = current.as_ref().map(|w| w.data.clone()).unwrap_or_default();
        if let Some(o) = &input.origins {
            data = data.with_origins(o)?;
        }
        if let Some(e) = input.enabled {
            data.enabled = e;
        }
        let ops = match &current {
            Some(w) => vec![WriteOp::UpdateRecord {
                id: w.id,
                expected_version: Some(w.version),
                state: None,
                data: to_data(&data)?,
                refs: vec![],
            }],
            None => {
                data.key = random_secret();
                vec![
                    WriteOp::CreateRecord(new_record(Some(pid), None, "", Some(widget_key(pid)), &data)?),
                    WriteOp::CreateRecord(new_record(
                        Some(pid),
                        None,
                        "",
                        Some(public_key_key(&data.key)),
                        &WidgetKey {},
                    )?),
                ]
            }
        };
        self.write_widget(ops, &self.ctx(&access.user)).await
    }

    /// Gives the widget a new public key (the Product Manager): the old one stops working at
    /// once. Sets the widget up (off) when it was not.
    pub async fn rotate_widget(&self, access: &ProductAccess) -> AppResult<Stored<Widget>> {
        self.require(access, Action::EditProduct)?;
        let Some(w) = self.widget(access).await? else {
            return self.set_widget(access, &WidgetInput::default()).await;
        };
        let pid = access.product.id;
        let mut data = w.data.clone();
        data.key = random_secret();
        let mut ops = vec![WriteOp::UpdateRecord {
            id: w.id,
            expected_version: Some(w.version),
            state: None,
            data: to_data(&data)?,
            refs: vec![],
        }];
        match self.store.record_by_key(ObjectKind::Setting, &public_key_key(&w.data.key)).await {
            Ok(old) => ops.push(WriteOp::DeleteRecord { id: old.id, expected_version: Some(old.version) }),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        ops.push(WriteOp::CreateRecord(new_record(
            Some(pid),
            None,
            "",
            Some(public_key_key(&data.key)),
            &WidgetKey {},
        )?));
        self.write_widget(ops, &self.ctx(&access.user)).await
    }

    async fn write_widget(&self, ops: Vec<WriteOp>, ctx: &WriteCtx) -> AppResult<Stored<Widget>> {
        match self.store.write_batch(ops, ctx).await?.into_iter().next() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the widget was not changed".into())),
        }
    }

    /// The product and widget settings behind a public key: not found when the key is unknown
    /// or was rotated away (whether it is turned on is the caller's to check).
    pub async fn widget_by_public_key(&self, key: &str) -> AppResult<(ProductId, Widget)> {
        let plausible = key.len() >= KEY_MIN
            && key.len() <= 100
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible {
            return Err(AppError::NotFound);
        }
        let pointer = self.store.record_by_key(ObjectKind::Setting, &public_key_key(key)).await?;
        let pid = pointer.product_id.ok_or(AppError::NotFound)?;
        let w = Stored::<Widget>::from_record(
            self.store.record_by_key(ObjectKind::Setting, &widget_key(pid)).await?,
        )?;
        if w.data.key != key {
            return Err(AppError::NotFound);
        }
        Ok((pid, w.data))
    }

    /// Counts a widget post from `address` to `product` against the rate limits: `None` when
    /// it may go ahead, otherwise the seconds to wait.
    pub async fn widget_rate(&self, product: ProductId, address: &str) -> AppResult<Option<i64>> {
        let limits: Vec<(i64, i64)> = RATE_LIMITS.iter().map(|(secs, max)| (secs * 1000, *max)).collect();
        let scope = format!("{}:{address}", product.0);
        let wait = self.store.widget_hit(&scope, now(), &limits).await?;
        Ok(wait.map(|ms| (ms + 999) / 1000))
    }

    /// Records feedback posted through the widget into `product`: no user, so the history's
    /// actor is none.
    pub async fn widget_feedback(&self, product: ProductId, post: WidgetPost) -> AppResult<Stored<Feedback>> {
        let fb = post.into_feedback()?;
        let op = WriteOp::CreateRecord(new_record(Some(product), None, "new", None, &fb)?);
        let ctx = WriteCtx { actor: None, at: now(), proposal: None };
        match self.store.write_batch(vec![op], &ctx).await?.pop() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the feedback was not recorded".into())),
        }
    }

    /// Merges a duplicate piece of feedback into another of the product (the Product Manager,
    /// like deleting feedback): the duplicate's opportunity links join the target's, its text is
    /// appended to the target's as a quoted note naming where it came from, and the duplicate is
    /// removed, in one transaction. Answers the feedback that stays.
    pub async fn merge_feedback(
        &self,
        access: &ProductAccess,
        dup: &Stored<Feedback>,
        into: RecordId,
    ) -> AppResult<Stored<Feedback>> {
        self.require(access, Action::ScoreOpportunity)?;
        if into == dup.id {
            return Err(AppError::invalid("into", "must be another piece of feedback"));
        }
        let target = match self.get_record::<Feedback>(into).await {
            Ok(f) if f.product_id == Some(access.product.id) => f,
            Ok(_) | Err(AppError::NotFound) => {
                return Err(AppError::invalid("into", "is no feedback of this product"))
            }
            Err(e) => return Err(e),
        };
        let merged = keel_domain::widget::merge_feedback(&target.data, &dup.data, dup.id)?;
        let ops = vec![
            WriteOp::UpdateRecord {
                id: target.id,
                expected_version: Some(target.version),
                state: None,
                data: to_data(&merged)?,
                refs: vec![],
            },
            WriteOp::DeleteRecord { id: dup.id, expected_version: Some(dup.version) },
        ];
        match self.store.write_batch(ops, &self.ctx(&access.user)).await?.into_iter().next() {
            Some(Written::Record(r)) => Stored::from_record(r),
            _ => Err(AppError::Conflict("the feedback was not merged".into())),
        }
    }
}
