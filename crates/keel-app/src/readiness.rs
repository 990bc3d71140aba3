//! Definition of Ready and Done, acceptance, bulk edit, releases.

use crate::records::{RecordKind, Stored};
use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::item::Item;
use keel_domain::readiness::{DefinitionOfDone, DefinitionOfReady, NotReady};
use keel_domain::{ItemId, ProductId};
use keel_store::{Blocker, StoreError};
use std::collections::HashMap;

/// A product setting stored as a record with a unique key per product.
pub trait ProductSetting: RecordKind + Default {
    /// The key prefix (`dor`, `dod`).
    const PREFIX: &'static str;

    /// The unique key of the product's record.
    fn key_for(product: ProductId) -> String {
        format!("{}:{}", Self::PREFIX, product.0)
    }
}

impl RecordKind for DefinitionOfReady {
    const KIND: ObjectKind = ObjectKind::Setting;
}

impl ProductSetting for DefinitionOfReady {
    const PREFIX: &'static str = "dor";
}

impl RecordKind for DefinitionOfDone {
    const KIND: ObjectKind = ObjectKind::Setting;
}

impl ProductSetting for DefinitionOfDone {
    const PREFIX: &'static str = "dod";
}

impl App {
    /// A product's setting `T` and its record, or the default (and `None`) when never saved.
    pub async fn setting<T: ProductSetting>(&self, product: ProductId) -> AppResult<(T, Option<Stored<T>>)> {
        match self.store.record_by_key(T::KIND, &T::key_for(product)).await {
            Ok(r) => {
                let s = Stored::<T>::from_record(r)?;
                Ok((s.data.clone(), Some(s)))
            }
            Err(StoreError::NotFound) => Ok((T::default(), None)),
            Err(e) => Err(AppError::from(e)),
        }
    }

    /// The open items blocking each of `items`.
    pub async fn blockers(&self, items: &[ItemId]) -> AppResult<HashMap<ItemId, Vec<Blocker>>> {
        let mut out: HashMap<ItemId, Vec<Blocker>> = HashMap::new();
        for (item, b) in self.store.open_blockers(items).await? {
            out.entry(item).or_default().push(b);
        }
        Ok(out)
    }

    /// For each of `items` (all of `access`'s product), the Definition-of-Ready checks it fails,
    /// in order; empty when ready (or when the definition does not apply to its kind).
    pub async fn readiness(&self, access: &ProductAccess, items: &[Item]) -> AppResult<Vec<NotReady>> {
        let (dor, _) = self.setting::<DefinitionOfReady>(access.product.id).await?;
        let ids: Vec<ItemId> = items.iter().map(|i| i.id).collect();
        let blocked = self.blockers(&ids).await?;
        Ok(items.iter().map(|i| dor.evaluate(i, blocked.contains_key(&i.id))).collect())
    }
}
