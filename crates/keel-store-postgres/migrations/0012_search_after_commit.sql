-- Full text after the commit for bulk loads (as on SQLite, migration of the same name). The
-- search vectors move out of `items` into `item_search`, kept by a trigger as an item is written
-- or its text changes, except inside a bulk write (`SET LOCAL keel.bulk_search = 'on'`), which
-- lists its items in `search_pending` instead. An indexer (`Store::index_search`, run by every
-- `keel serve` and at the end of `keel import`) writes their vectors in small transactions of its
-- own; until then a search matches them by computing the vector from their text. A narrow table
-- of its own makes that indexing an insert, not a new version of a wide item row.
CREATE TABLE search_pending (item_id BIGINT PRIMARY KEY);

CREATE TABLE item_search (
    item_id BIGINT PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
    search  tsvector NOT NULL
);
INSERT INTO item_search (item_id, search) SELECT id, search FROM items;
CREATE INDEX item_search_gin ON item_search USING GIN (search);
ALTER TABLE items DROP COLUMN search;

CREATE FUNCTION items_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO item_search (item_id, search)
    VALUES (NEW.id, to_tsvector('simple', NEW.title || ' ' || NEW.description))
    ON CONFLICT (item_id) DO UPDATE SET search = EXCLUDED.search;
    RETURN NULL;
END
$$;

-- The WHEN clause keeps the bulk path's rows from calling the function at all.
CREATE TRIGGER items_search AFTER INSERT OR UPDATE OF title, description ON items
FOR EACH ROW WHEN (current_setting('keel.bulk_search', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION items_search();

-- Labels lose their foreign key to items: its check ran once per label row (about a tenth of a
-- bulk load's time on PostgreSQL), and its cascade is never needed: the one path that deletes an
-- item deletes its labels first, in the same transaction. The items table carries no foreign
-- keys to its states for the same reason.
ALTER TABLE item_labels DROP CONSTRAINT item_labels_item_id_fkey;
