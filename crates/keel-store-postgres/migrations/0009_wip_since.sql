-- Work in progress at a million items: per item, since when it has been in progress without a
-- break (NULL unless it is, undeleted, in an in-progress state), so the counts, the age buckets
-- and the oldest items come from one index instead of every in-progress item's history; and the
-- bugs per state (the bug trend's open bugs) from an index instead of every item's row.
ALTER TABLE item_flow ADD COLUMN wip_since BIGINT;
CREATE INDEX item_flow_wip ON item_flow (product_id, wip_since) WHERE wip_since IS NOT NULL;
CREATE INDEX items_kind_status ON items (product_id, kind, status_id);

CREATE OR REPLACE FUNCTION item_flow_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc jsonb := NEW.new::jsonb;
    was jsonb := NEW.old::jsonb;
    cat int;
    old_cat int;
BEGIN
    IF NEW.field = 'created' THEN
        SELECT category INTO cat FROM workflow_states WHERE id = (doc ->> 'status_id')::bigint;
        INSERT INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
        VALUES (NEW.object_id, NEW.product_id, doc ->> 'key', doc ->> 'kind', NEW.at,
                CASE WHEN cat > 0 THEN NEW.at END, CASE WHEN cat = 2 THEN NEW.at END, NULL,
                CASE WHEN cat = 1 THEN NEW.at END)
        ON CONFLICT (item_id) DO UPDATE SET product_id = EXCLUDED.product_id, key = EXCLUDED.key,
            kind = EXCLUDED.kind, created_at = EXCLUDED.created_at, started_at = EXCLUDED.started_at,
            done_at = EXCLUDED.done_at, deleted_at = NULL, wip_since = EXCLUDED.wip_since;
        IF doc ->> 'sprint_id' IS NOT NULL THEN
            INSERT INTO sprint_items (sprint_id, item_id) VALUES ((doc ->> 'sprint_id')::bigint, NEW.object_id)
            ON CONFLICT DO NOTHING;
        END IF;
    ELSIF NEW.field = 'status' THEN
        -- The first status change names the state the item was created in: a bulk import
        -- records the item as it is now, then its past changes.
        IF NOT EXISTS (SELECT 1 FROM events e WHERE e.object = 'item' AND e.object_id = NEW.object_id
                       AND e.field = 'status' AND e.id < NEW.id) THEN
            SELECT category INTO old_cat FROM workflow_states WHERE id = (was #>> '{}')::bigint;
            UPDATE item_flow SET started_at = CASE WHEN old_cat > 0 THEN created_at END,
                done_at = CASE WHEN old_cat = 2 THEN created_at END,
                wip_since = CASE WHEN old_cat = 1 THEN created_at END
            WHERE item_id = NEW.object_id;
        END IF;
        SELECT category INTO cat FROM workflow_states WHERE id = (doc #>> '{}')::bigint;
        UPDATE item_flow SET
            started_at = CASE WHEN started_at IS NULL AND cat > 0 THEN NEW.at ELSE started_at END,
            done_at = CASE WHEN cat = 2 THEN COALESCE(done_at, NEW.at) END,
            wip_since = CASE WHEN deleted_at IS NULL AND cat = 1 THEN COALESCE(wip_since, NEW.at) END
        WHERE item_id = NEW.object_id;
    ELSIF NEW.field = 'kind' THEN
        UPDATE item_flow SET kind = doc #>> '{}' WHERE item_id = NEW.object_id;
    ELSIF NEW.field = 'deleted' THEN
        UPDATE item_flow SET deleted_at = NEW.at, wip_since = NULL WHERE item_id = NEW.object_id;
    ELSIF NEW.field = 'sprint' THEN
        -- Both sides: after a bulk import the sprint an item came from is only in `old`.
        IF jsonb_typeof(doc) = 'number' THEN
            INSERT INTO sprint_items (sprint_id, item_id) VALUES ((doc #>> '{}')::bigint, NEW.object_id)
            ON CONFLICT DO NOTHING;
        END IF;
        IF jsonb_typeof(was) = 'number' THEN
            INSERT INTO sprint_items (sprint_id, item_id) VALUES ((was #>> '{}')::bigint, NEW.object_id)
            ON CONFLICT DO NOTHING;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Rows written before this migration have no `wip_since`: rebuild those products at start.
INSERT INTO flow_rebuilds (product_id, reason)
SELECT DISTINCT product_id, 'upgrade' FROM item_flow
ON CONFLICT DO NOTHING;
