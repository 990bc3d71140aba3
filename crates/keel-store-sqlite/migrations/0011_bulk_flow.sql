-- Bulk writes: nothing to change in the schema on SQLite. The bulk path drops the per-row
-- triggers inside its own transaction and writes their effects set-wise (see
-- `BULK_TRIGGERS` in items.rs). The file exists so both stores number migrations alike.
SELECT 1;
