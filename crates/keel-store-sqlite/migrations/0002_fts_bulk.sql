-- Bulk loads index full text once per batch instead of once per row: FTS5 flushes its pending
-- terms at every statement savepoint, so a trigger firing per inserted row writes one tiny
-- segment per item and spends most of a bulk load merging them. While a row sits in
-- items_fts_paused (only ever inside the bulk transaction), the insert trigger stands aside
-- and the bulk path indexes the new rows with one INSERT ... SELECT before it commits.
CREATE TABLE items_fts_paused (paused INTEGER NOT NULL);
DROP TRIGGER items_fts_insert;
CREATE TRIGGER items_fts_insert AFTER INSERT ON items WHEN NOT EXISTS (SELECT 1 FROM items_fts_paused) BEGIN
    INSERT INTO items_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
