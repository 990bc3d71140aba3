//! Whole products out and in, row by row with their ids (`keel export`, `keel import keel`).

use crate::{Error, Res, SqliteStore};
use async_trait::async_trait;
use keel_domain::ProductId;
use keel_store::transfer::{Col, ProductDump, Row, TransferStore, TABLES};
use keel_store::{StoreError, StoreResult};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::Value;

fn to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(other.to_string()),
    }
}

fn dump(c: &Connection, p: ProductId) -> Res<ProductDump> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {}",
            cols.join(", "),
            t.name,
            t.filter.replace("{p}", "?1"),
            t.order
        );
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map([p.0], |r| {
            let mut row: Row = Vec::with_capacity(t.columns.len());
            for (i, (_, ty)) in t.columns.iter().enumerate() {
                row.push(match ty {
                    Col::Int | Col::OptInt => r.get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::from),
                    Col::OptReal => r.get::<_, Option<f64>>(i)?.map_or(Value::Null, Value::from),
                    Col::Text | Col::OptText => {
                        r.get::<_, Option<String>>(i)?.map_or(Value::Null, Value::from)
                    }
                    Col::Bool => Value::Bool(r.get::<_, i64>(i)? != 0),
                });
            }
            Ok(row)
        })?;
        tables.push(rows.collect::<Result<Vec<_>, _>>()?);
    }
    Ok(ProductDump { tables })
}

fn load(c: &Connection, d: &ProductDump) -> Res<()> {
    for (t, rows) in TABLES.iter().zip(&d.tables) {
        let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", t.name, cols.join(", "), marks.join(", "));
        let mut st = c.prepare(&sql)?;
        let parent = cols.iter().position(|c| *c == "parent_id").filter(|_| t.name == "items");
        for row in rows {
            if t.name == "users" {
                // A user already here with the same id and e-mail (moved with another product) stays.
                let email: Option<String> = c
                    .query_row("SELECT email FROM users WHERE id = ?1", [to_sql(&row[0])], |r| r.get(0))
                    .optional()?;
                match email {
                    Some(e) if Some(e.as_str()) == row[1].as_str() => continue,
                    Some(e) => {
                        return Err(Error(StoreError::Conflict(format!(
                            "user id {} belongs to {e} here",
                            row[0]
                        ))))
                    }
                    None => {}
                }
            }
            let mut vals: Vec<Sql> = row.iter().map(to_sql).collect();
            if let Some(i) = parent {
                // Parents may come after their children; they are set once every item is in.
                vals[i] = Sql::Null;
            }
            st.execute(params_from_iter(vals))?;
        }
        if let Some(i) = parent {
            let mut up = c.prepare("UPDATE items SET parent_id = ?2 WHERE id = ?1")?;
            for row in rows.iter().filter(|r| !r[i].is_null()) {
                up.execute([to_sql(&row[0]), to_sql(&row[i])])?;
            }
        }
    }
    c.execute(
        "INSERT OR IGNORE INTO flow_rebuilds (product_id, reason) VALUES (?1, 'import')",
        [d.product_id().0],
    )?;
    Ok(())
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn dump_product(&self, product: ProductId) -> StoreResult<ProductDump> {
        self.read_blocking(move |c| {
            // One read transaction: every table as of the same moment.
            let tx = c.unchecked_transaction()?;
            let d = dump(&tx, product)?;
            if d.tables[1].is_empty() {
                return Err(Error(StoreError::NotFound));
            }
            Ok(d)
        })
        .await
    }

    async fn load_product(&self, dump: &ProductDump) -> StoreResult<()> {
        let d = dump.clone();
        self.write(move |tx| load(tx, &d)).await
    }
}
