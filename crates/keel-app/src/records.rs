//! Typed access to records: each record kind's data is a domain type, read and written as JSON.

use crate::{App, AppError, AppResult, ProductAccess};
use keel_domain::event::ObjectKind;
use keel_domain::sprint::{Release, Sprint, Team};
use keel_domain::user::User;
use keel_domain::{ProductId, RecordId, Timestamp, UserId};
use keel_store::{NewRecord, Page, Record, RecordFilter};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A domain type stored as a record of one kind.
pub trait RecordKind: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// Its kind.
    const KIND: ObjectKind;
}

impl RecordKind for Team {
    const KIND: ObjectKind = ObjectKind::Team;
}

impl RecordKind for Sprint {
    const KIND: ObjectKind = ObjectKind::Sprint;
}

impl RecordKind for Release {
    const KIND: ObjectKind = ObjectKind::Release;
}

impl RecordKind for keel_domain::pm::Goal {
    const KIND: ObjectKind = ObjectKind::Goal;
}

impl RecordKind for keel_domain::pm::Initiative {
    const KIND: ObjectKind = ObjectKind::Initiative;
}

/// A record read back with its data typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// Its id.
    pub id: RecordId,
    /// Its product.
    pub product_id: Option<ProductId>,
    /// Its parent.
    pub parent_id: Option<i64>,
    /// Its state.
    pub state: String,
    /// Its unique key, if any.
    pub unique_key: Option<String>,
    /// Its fields.
    pub data: T,
    /// Its version.
    pub version: i64,
    /// Who made it.
    pub created_by: Option<UserId>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl<T: RecordKind> Stored<T> {
    /// Types a record; a record of another kind is not found.
    pub fn from_record(r: Record) -> AppResult<Self> {
        if r.kind != T::KIND {
            return Err(AppError::NotFound);
        }
        let data = serde_json::from_value(r.data)
            .map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))?;
        Ok(Stored {
            id: r.id,
            product_id: r.product_id,
            parent_id: r.parent_id,
            state: r.state,
            unique_key: r.unique_key,
            data,
            version: r.version,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The JSON of a record's data.
pub fn to_data<T: RecordKind>(data: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(data).map_err(|e| AppError::Internal(keel_store::StoreError::other(e)))
}

/// A new record of `T`'s kind.
pub fn new_record<T: RecordKind>(
    product: Option<ProductId>,
    parent: Option<i64>,
    state: &str,
    unique_key: Option<String>,
    data: &T,
) -> AppResult<NewRecord> {
    Ok(NewRecord {
        kind: T::KIND,
        product_id: product,
        parent_id: parent,
        state: state.to_string(),
        unique_key,
        data: to_data(data)?,
    })
}

impl App {
    /// A record of `T`'s kind by id.
    pub async fn get_record<T: RecordKind>(&self, id: RecordId) -> AppResult<Stored<T>> {
        Stored::from_record(self.store.record(id).await?)
    }

    /// Records of `T`'s kind matching `filter` (its kind is set here), up to 500 at a time,
    /// following cursors to the end.
    pub async fn list_records<T: RecordKind>(&self, mut filter: RecordFilter) -> AppResult<Vec<Stored<T>>> {
        filter.kind = T::KIND;
        let mut out = Vec::new();
        let mut page = Page::first(500);
        loop {
            let batch = self.store.records(&filter, &page).await?;
            let n = batch.len();
            let last = batch.last().map(|r| r.id.0.to_string());
            for r in batch {
                out.push(Stored::from_record(r)?);
            }
            if n < 500 {
                return Ok(out);
            }
            page.after = last;
        }
    }

    /// The teams serving `product` (created in it or serving it as well), by id.
    pub async fn teams_serving(&self, product: ProductId) -> AppResult<Vec<Stored<Team>>> {
        let all = self.list_records::<Team>(RecordFilter::of(ObjectKind::Team)).await?;
        Ok(all
            .into_iter()
            .filter(|t| t.product_id == Some(product) || t.data.products.contains(&product))
            .collect())
    }

    /// The caller's access to a product given by id (404 for non-members, as [`App::access`]).
    pub async fn access_by_id(&self, user: &User, product: ProductId) -> AppResult<ProductAccess> {
        let p = self.store.product(product).await?;
        self.access(user, p.key.as_str()).await
    }

    /// A team and the caller's access through its home product (404 when the caller is no
    /// member of it).
    pub async fn team_access(&self, user: &User, team: RecordId) -> AppResult<(Stored<Team>, ProductAccess)> {
        let t = self.get_record::<Team>(team).await?;
        let home = t.product_id.or_else(|| t.data.products.first().copied()).ok_or(AppError::NotFound)?;
        let access = self.access_by_id(user, home).await?;
        Ok((t, access))
    }

    /// The team's active sprint, if any.
    pub async fn active_sprint(&self, team: RecordId) -> AppResult<Option<Stored<Sprint>>> {
        let f = RecordFilter::of(ObjectKind::Sprint).parent(team.0).states(&["active"]);
        Ok(self.list_records::<Sprint>(f).await?.into_iter().next())
    }
}
