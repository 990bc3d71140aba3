-- Derived from the history for delivery metrics: per item, when it was created, first left a
-- to-do state and last entered a done state (while it is done); and every sprint an item was
-- ever in. Triggers on `events` keep both in the transaction that records the change, whatever
-- path wrote it; `keel metrics rebuild` recomputes them from the history.
CREATE TABLE item_flow (
    item_id    INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL,
    key        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    done_at    INTEGER,
    deleted_at INTEGER
);
CREATE INDEX item_flow_done ON item_flow(product_id, done_at);

CREATE TABLE sprint_items (
    sprint_id INTEGER NOT NULL,
    item_id   INTEGER NOT NULL,
    PRIMARY KEY (sprint_id, item_id)
) WITHOUT ROWID;
CREATE INDEX sprint_items_item ON sprint_items(item_id);

CREATE TRIGGER item_flow_created AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'created'
BEGIN
    INSERT OR REPLACE INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at)
    SELECT NEW.object_id, NEW.product_id, json_extract(NEW.new, '$.key'), json_extract(NEW.new, '$.kind'), NEW.at,
           CASE WHEN ws.category > 0 THEN NEW.at END, CASE WHEN ws.category = 2 THEN NEW.at END, NULL
    FROM (SELECT json_extract(NEW.new, '$.status_id') AS sid) s
    LEFT JOIN workflow_states ws ON ws.id = s.sid;
    INSERT OR IGNORE INTO sprint_items (sprint_id, item_id)
    SELECT json_extract(NEW.new, '$.sprint_id'), NEW.object_id
    WHERE json_extract(NEW.new, '$.sprint_id') IS NOT NULL;
END;

CREATE TRIGGER item_flow_status AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'status'
BEGIN
    -- The first status change names the state the item was created in: a bulk import records
    -- the item as it is now, then its past changes.
    UPDATE item_flow SET
        started_at = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.old, '$')) > 0 THEN created_at END,
        done_at = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.old, '$')) = 2 THEN created_at END
    WHERE item_id = NEW.object_id
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.object = 'item' AND e.object_id = NEW.object_id
                      AND e.field = 'status' AND e.id < NEW.id);
    UPDATE item_flow SET
        started_at = CASE
            WHEN started_at IS NULL
                 AND (SELECT category FROM workflow_states WHERE id = json_extract(NEW.new, '$')) > 0
            THEN NEW.at ELSE started_at END,
        done_at = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.new, '$')) = 2
            THEN COALESCE(done_at, NEW.at) END
    WHERE item_id = NEW.object_id;
END;

CREATE TRIGGER item_flow_kind AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'kind'
BEGIN
    UPDATE item_flow SET kind = json_extract(NEW.new, '$') WHERE item_id = NEW.object_id;
END;

CREATE TRIGGER item_flow_deleted AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'deleted'
BEGIN
    UPDATE item_flow SET deleted_at = NEW.at WHERE item_id = NEW.object_id;
END;

-- Both sides: after a bulk import the sprint an item came from is only in the `old` value.
CREATE TRIGGER item_flow_sprint AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'sprint'
BEGIN
    INSERT OR IGNORE INTO sprint_items (sprint_id, item_id)
    SELECT v, NEW.object_id FROM (SELECT json_extract(NEW.new, '$') AS v UNION SELECT json_extract(NEW.old, '$'))
    WHERE v IS NOT NULL;
END;
