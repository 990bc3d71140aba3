-- Full text after the commit for bulk loads. A bulk write (imports, generated datasets) no longer
-- indexes its items' text inside its transaction: it lists them in `search_pending`, and an
-- indexer (`Store::index_search`, run by every `keel serve` and at the end of `keel import`)
-- moves them into `items_fts` in small transactions of their own. Until then a search matches the
-- listed items by reading their text (`keel_match`), so nothing is ever unsearchable.
--
-- While an item is listed it has no entries in `items_fts`: its updates and deletion leave the
-- index alone (the indexer reads the text as it is when it gets there), and a deletion takes it
-- off the list.
CREATE TABLE search_pending (item_id INTEGER PRIMARY KEY);

DROP TRIGGER items_fts_delete;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, description)
        SELECT 'delete', old.id, old.title, old.description
        WHERE NOT EXISTS (SELECT 1 FROM search_pending WHERE item_id = old.id);
    DELETE FROM search_pending WHERE item_id = old.id;
END;

DROP TRIGGER items_fts_update;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, description ON items
WHEN NOT EXISTS (SELECT 1 FROM search_pending WHERE item_id = old.id) BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO items_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
