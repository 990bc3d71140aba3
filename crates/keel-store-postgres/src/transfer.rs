//! Whole products out and in, row by row with their ids (`keel export`, `keel import keel`).

use crate::db::DbResult;
use crate::PgStore;
use async_trait::async_trait;
use keel_domain::ProductId;
use keel_store::transfer::{Col, ProductDump, Row, TransferStore, TABLES};
use keel_store::{StoreError, StoreResult};
use serde_json::Value;
use tokio_postgres::types::ToSql;

/// The cast that gives every column one Rust type whatever its width (`INT` or `BIGINT`).
fn cast(ty: Col) -> &'static str {
    match ty {
        Col::Int | Col::OptInt => "bigint",
        Col::OptReal => "float8",
        Col::Text | Col::OptText => "text",
        Col::Bool => "bool",
    }
}

fn param(ty: Col, v: &Value) -> Box<dyn ToSql + Sync + Send> {
    match ty {
        Col::Int | Col::OptInt => Box::new(v.as_i64()),
        Col::OptReal => Box::new(v.as_f64()),
        Col::Text | Col::OptText => Box::new(v.as_str().map(str::to_string)),
        Col::Bool => Box::new(v.as_bool()),
    }
}

#[async_trait]
impl TransferStore for PgStore {
    async fn dump_product(&self, product: ProductId) -> StoreResult<ProductDump> {
        let mut c = self.conn().await?;
        // One snapshot for every table.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .db()?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            let cols: Vec<String> = t.columns.iter().map(|(c, ty)| format!("{c}::{}", cast(*ty))).collect();
            let sql = format!(
                "SELECT {} FROM {} WHERE {} ORDER BY {}",
                cols.join(", "),
                t.name,
                t.filter.replace("{p}", "$1"),
                t.order
            );
            let mut rows = Vec::new();
            for r in tx.query(&sql, &[&product.0]).await.db()? {
                let mut row: Row = Vec::with_capacity(t.columns.len());
                for (i, (_, ty)) in t.columns.iter().enumerate() {
                    row.push(match ty {
                        Col::Int | Col::OptInt => {
                            r.try_get::<_, Option<i64>>(i).db()?.map_or(Value::Null, Value::from)
                        }
                        Col::OptReal => r.try_get::<_, Option<f64>>(i).db()?.map_or(Value::Null, Value::from),
                        Col::Text | Col::OptText => {
                            r.try_get::<_, Option<String>>(i).db()?.map_or(Value::Null, Value::from)
                        }
                        Col::Bool => Value::Bool(r.try_get::<_, bool>(i).db()?),
                    });
                }
                rows.push(row);
            }
            tables.push(rows);
        }
        tx.commit().await.db()?;
        if tables[1].is_empty() {
            return Err(StoreError::NotFound);
        }
        Ok(ProductDump { tables })
    }

    async fn load_product(&self, d: &ProductDump) -> StoreResult<()> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await.db()?;
        for (t, rows) in TABLES.iter().zip(&d.tables) {
            let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
            let marks: Vec<String> = t
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| format!("${}::{}", i + 1, cast(*ty)))
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) {} VALUES ({})",
                t.name,
                cols.join(", "),
                if t.identity { "OVERRIDING SYSTEM VALUE" } else { "" },
                marks.join(", ")
            );
            let st = tx.prepare(&sql).await.db()?;
            let parent = cols.iter().position(|c| *c == "parent_id").filter(|_| t.name == "items");
            for row in rows {
                if t.name == "users" {
                    // A user already here with the same id and e-mail (moved with another product) stays.
                    let here = tx
                        .query_opt("SELECT email FROM users WHERE id = $1", &[&row[0].as_i64()])
                        .await
                        .db()?;
                    if let Some(r) = here {
                        let email: String = r.get(0);
                        if Some(email.as_str()) == row[1].as_str() {
                            continue;
                        }
                        return Err(StoreError::Conflict(format!(
                            "user id {} belongs to {email} here",
                            row[0]
                        )));
                    }
                }
                let mut params: Vec<Box<dyn ToSql + Sync + Send>> =
                    t.columns.iter().zip(row).map(|((_, ty), v)| param(*ty, v)).collect();
                if let Some(i) = parent {
                    // Parents may come after their children; they are set once every item is in.
                    params[i] = Box::new(None::<i64>);
                }
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
                tx.execute(&st, &refs).await.db()?;
            }
            if let Some(i) = parent {
                let up = tx.prepare("UPDATE items SET parent_id = $2 WHERE id = $1").await.db()?;
                for row in rows.iter().filter(|r| !r[i].is_null()) {
                    tx.execute(&up, &[&row[0].as_i64(), &row[i].as_i64()]).await.db()?;
                }
            }
            if t.identity {
                // The next id generated here must come after the ones just taken.
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', 'id'), m) FROM (SELECT max(id) AS m FROM {0}) x
                         WHERE m IS NOT NULL",
                        t.name
                    ),
                    &[],
                )
                .await
                .db()?;
            }
        }
        tx.execute(
            "INSERT INTO flow_rebuilds (product_id, reason) VALUES ($1, 'import') ON CONFLICT DO NOTHING",
            &[&d.product_id().0],
        )
        .await
        .db()?;
        tx.commit().await.db()
    }
}
