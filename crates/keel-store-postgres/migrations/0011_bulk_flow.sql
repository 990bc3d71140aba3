-- Bulk writes (imports, generated datasets) append hundreds of thousands of events per
-- transaction, and the flow trigger walks their status changes one by one. The bulk path now
-- computes those items' flow rows from the histories it writes (the same function a rebuild
-- uses) and tells the trigger to stand aside for that statement.
CREATE OR REPLACE FUNCTION item_flow_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    doc jsonb;
    was jsonb;
    cat int;
    old_cat int;
BEGIN
    -- A bulk write derives its items' flow rows itself, from the histories it writes, and sets
    -- keel.bulk_flow for its events' COPY only (SET LOCAL: never beyond its transaction).
    IF current_setting('keel.bulk_flow', true) = 'on'
       OR NOT EXISTS (SELECT 1 FROM new_events WHERE object = 'item') THEN
        RETURN NULL;
    END IF;
    INSERT INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at, wip_since)
    SELECT n.object_id, n.product_id, n.doc ->> 'key', n.doc ->> 'kind', n.at,
           CASE WHEN ws.category > 0 THEN n.at END, CASE WHEN ws.category = 2 THEN n.at END, NULL,
           CASE WHEN ws.category = 1 THEN n.at END
    FROM (SELECT e.object_id, e.product_id, e.at, e.id, e.new::jsonb AS doc
          FROM new_events e WHERE e.object = 'item' AND e.field = 'created') n
    LEFT JOIN workflow_states ws ON ws.id = (n.doc ->> 'status_id')::bigint
    ORDER BY n.id
    ON CONFLICT (item_id) DO UPDATE SET product_id = EXCLUDED.product_id, key = EXCLUDED.key,
        kind = EXCLUDED.kind, created_at = EXCLUDED.created_at, started_at = EXCLUDED.started_at,
        done_at = EXCLUDED.done_at, deleted_at = NULL, wip_since = EXCLUDED.wip_since;
    INSERT INTO sprint_items (sprint_id, item_id)
    SELECT (e.new::jsonb ->> 'sprint_id')::bigint, e.object_id
    FROM new_events e
    WHERE e.object = 'item' AND e.field = 'created' AND e.new::jsonb ->> 'sprint_id' IS NOT NULL
    ON CONFLICT DO NOTHING;
    FOR r IN SELECT e.id, e.object_id, e.field, e.at, e.old, e.new FROM new_events e
             WHERE e.object = 'item' AND e.field IN ('status', 'kind', 'deleted', 'sprint') ORDER BY e.id
    LOOP
        doc := r.new::jsonb;
        was := r.old::jsonb;
        IF r.field = 'status' THEN
            -- The first status change names the state the item was created in: a bulk import
            -- records the item as it is now, then its past changes.
            IF NOT EXISTS (SELECT 1 FROM events e WHERE e.object = 'item' AND e.object_id = r.object_id
                           AND e.field = 'status' AND e.id < r.id) THEN
                SELECT category INTO old_cat FROM workflow_states WHERE id = (was #>> '{}')::bigint;
                UPDATE item_flow SET started_at = CASE WHEN old_cat > 0 THEN created_at END,
                    done_at = CASE WHEN old_cat = 2 THEN created_at END,
                    wip_since = CASE WHEN old_cat = 1 THEN created_at END
                WHERE item_id = r.object_id;
            END IF;
            SELECT category INTO cat FROM workflow_states WHERE id = (doc #>> '{}')::bigint;
            UPDATE item_flow SET
                started_at = CASE WHEN started_at IS NULL AND cat > 0 THEN r.at ELSE started_at END,
                done_at = CASE WHEN cat = 2 THEN COALESCE(done_at, r.at) END,
                wip_since = CASE WHEN deleted_at IS NULL AND cat = 1 THEN COALESCE(wip_since, r.at) END
            WHERE item_id = r.object_id;
        ELSIF r.field = 'kind' THEN
            UPDATE item_flow SET kind = doc #>> '{}' WHERE item_id = r.object_id;
        ELSIF r.field = 'deleted' THEN
            UPDATE item_flow SET deleted_at = r.at, wip_since = NULL WHERE item_id = r.object_id;
        ELSIF r.field = 'sprint' THEN
            -- Both sides: after a bulk import the sprint an item came from is only in `old`.
            IF jsonb_typeof(doc) = 'number' THEN
                INSERT INTO sprint_items (sprint_id, item_id) VALUES ((doc #>> '{}')::bigint, r.object_id)
                ON CONFLICT DO NOTHING;
            END IF;
            IF jsonb_typeof(was) = 'number' THEN
                INSERT INTO sprint_items (sprint_id, item_id) VALUES ((was #>> '{}')::bigint, r.object_id)
                ON CONFLICT DO NOTHING;
            END IF;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
