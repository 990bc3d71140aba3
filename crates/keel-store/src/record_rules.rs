//! What every store does the same way with records and batches, whatever its database: the
//! checks of a write, the field changes it records, and the references inside a batch.

use crate::{Record, Ref, StoreError, StoreResult, Written};
use serde_json::{json, Value};

/// A record's data must be a JSON object.
pub fn check_record_data(data: &Value) -> StoreResult<()> {
    if data.is_object() {
        Ok(())
    } else {
        Err(StoreError::invalid("data", "must be a JSON object"))
    }
}

/// Refuses a write naming a version other than the record's current one (`None` takes any).
pub fn check_record_version(rec: &Record, expected: Option<i64>) -> StoreResult<()> {
    match expected {
        Some(v) if v != rec.version => Err(StoreError::StaleVersion { current: rec.version }),
        _ => Ok(()),
    }
}

/// The events of replacing `rec`'s data with `data` and its state with `state`: one
/// `(field, old, new)` per top-level key that changed (in key order), then `state`.
pub fn record_changes(rec: &Record, state: &str, data: &Value) -> Vec<(String, Value, Value)> {
    let empty = serde_json::Map::new();
    let old = rec.data.as_object().unwrap_or(&empty);
    let new = data.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changes = Vec::new();
    for k in keys {
        let (o, n) = (old.get(k).unwrap_or(&Value::Null), new.get(k).unwrap_or(&Value::Null));
        if o != n {
            changes.push((k.clone(), o.clone(), n.clone()));
        }
    }
    if state != rec.state {
        changes.push(("state".to_string(), json!(rec.state), json!(state)));
    }
    changes
}

/// The id a reference of a batch names: a known id, or the object an earlier operation made.
pub fn resolve_ref(out: &[Written], r: Ref) -> StoreResult<i64> {
    match r {
        Ref::Id(id) => Ok(id),
        Ref::Created(k) => match out.get(k) {
            Some(Written::Record(rec)) => Ok(rec.id.0),
            Some(Written::Item(item)) => Ok(item.id.0),
            Some(Written::Link(l)) => Ok(l.id.0),
            _ => Err(StoreError::invalid("ops", format!("operation {k} created nothing to refer to"))),
        },
    }
}

/// Writes the ids `refs` name into `data`: `key` sets it, `key[]` appends it to the array there.
pub fn apply_refs(data: &mut Value, refs: Vec<(String, Ref)>, out: &[Written]) -> StoreResult<()> {
    for (key, r) in refs {
        let v = resolve_ref(out, r)?;
        let Some(o) = data.as_object_mut() else { continue };
        match key.strip_suffix("[]") {
            Some(k) => match o.get_mut(k).and_then(|a| a.as_array_mut()) {
                Some(a) => a.push(json!(v)),
                None => {
                    o.insert(k.to_string(), json!([v]));
                }
            },
            None => {
                o.insert(key, json!(v));
            }
        }
    }
    Ok(())
}
