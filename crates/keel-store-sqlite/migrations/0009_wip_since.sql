-- Work in progress at a million items: per item, since when it has been in progress without a
-- break (NULL unless it is, undeleted, in an in-progress state), so the counts, the age buckets
-- and the oldest items come from one index instead of every in-progress item's history; and the
-- bugs per state (the bug trend's open bugs) from an index instead of every item's row.
ALTER TABLE item_flow ADD COLUMN wip_since INTEGER;
CREATE INDEX item_flow_wip ON item_flow(product_id, wip_since) WHERE wip_since IS NOT NULL;
CREATE INDEX items_kind_status ON items(product_id, kind, status_id);

DROP TRIGGER item_flow_created;
CREATE TRIGGER item_flow_created AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'created'
BEGIN
    INSERT OR REPLACE INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
    SELECT NEW.object_id, NEW.product_id, json_extract(NEW.new, '$.key'), json_extract(NEW.new, '$.kind'), NEW.at,
           CASE WHEN ws.category > 0 THEN NEW.at END, CASE WHEN ws.category = 2 THEN NEW.at END, NULL,
           CASE WHEN ws.category = 1 THEN NEW.at END
    FROM (SELECT json_extract(NEW.new, '$.status_id') AS sid) s
    LEFT JOIN workflow_states ws ON ws.id = s.sid;
    INSERT OR IGNORE INTO sprint_items (sprint_id, item_id)
    SELECT json_extract(NEW.new, '$.sprint_id'), NEW.object_id
    WHERE json_extract(NEW.new, '$.sprint_id') IS NOT NULL;
END;

DROP TRIGGER item_flow_status;
CREATE TRIGGER item_flow_status AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'status'
BEGIN
    -- The first status change names the state the item was created in: a bulk import records
    -- the item as it is now, then its past changes.
    UPDATE item_flow SET
        started_at = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.old, '$')) > 0 THEN created_at END,
        done_at = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.old, '$')) = 2 THEN created_at END,
        wip_since = CASE
            WHEN (SELECT category FROM workflow_states WHERE id = json_extract(NEW.old, '$')) = 1 THEN created_at END
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
            THEN COALESCE(done_at, NEW.at) END,
        wip_since = CASE
            WHEN deleted_at IS NULL
                 AND (SELECT category FROM workflow_states WHERE id = json_extract(NEW.new, '$')) = 1
            THEN COALESCE(wip_since, NEW.at) END
    WHERE item_id = NEW.object_id;
END;

DROP TRIGGER item_flow_deleted;
CREATE TRIGGER item_flow_deleted AFTER INSERT ON events
WHEN NEW.object = 'item' AND NEW.field = 'deleted'
BEGIN
    UPDATE item_flow SET deleted_at = NEW.at, wip_since = NULL WHERE item_id = NEW.object_id;
END;

-- Rows written before this migration have no `wip_since`: rebuild those products at start.
INSERT OR IGNORE INTO flow_rebuilds (product_id, reason)
SELECT DISTINCT product_id, 'upgrade' FROM item_flow;
