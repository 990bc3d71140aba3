-- Derived from the history for delivery metrics: per item, when it was created, first left a
-- to-do state and last entered a done state (while it is done); and every sprint an item was
-- ever in. A trigger on `events` keeps both in the transaction that records the change,
-- whatever path wrote it (COPY included); `keel metrics rebuild` recomputes them from the history.
CREATE TABLE item_flow (
    item_id    BIGINT PRIMARY KEY,
    product_id BIGINT NOT NULL,
    key        TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    done_at    BIGINT,
    deleted_at BIGINT
);
CREATE INDEX item_flow_done ON item_flow (product_id, done_at);

CREATE TABLE sprint_items (
    sprint_id BIGINT NOT NULL,
    item_id   BIGINT NOT NULL,
    PRIMARY KEY (sprint_id, item_id)
);
CREATE INDEX sprint_items_item ON sprint_items (item_id);

CREATE FUNCTION item_flow_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    doc jsonb := NEW.new::jsonb;
    was jsonb := NEW.old::jsonb;
    cat int;
    old_cat int;
BEGIN
    IF NEW.field = 'created' THEN
        SELECT category INTO cat FROM workflow_states WHERE id = (doc ->> 'status_id')::bigint;
        INSERT INTO item_flow (item_id, product_id, key, kind, created_at, started_at, done_at, deleted_at)
        VALUES (NEW.object_id, NEW.product_id, doc ->> 'key', doc ->> 'kind', NEW.at,
                CASE WHEN cat > 0 THEN NEW.at END, CASE WHEN cat = 2 THEN NEW.at END, NULL)
        ON CONFLICT (item_id) DO UPDATE SET product_id = EXCLUDED.product_id, key = EXCLUDED.key,
            kind = EXCLUDED.kind, created_at = EXCLUDED.created_at, started_at = EXCLUDED.started_at,
            done_at = EXCLUDED.done_at, deleted_at = NULL;
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
                done_at = CASE WHEN old_cat = 2 THEN created_at END
            WHERE item_id = NEW.object_id;
        END IF;
        SELECT category INTO cat FROM workflow_states WHERE id = (doc #>> '{}')::bigint;
        UPDATE item_flow SET
            started_at = CASE WHEN started_at IS NULL AND cat > 0 THEN NEW.at ELSE started_at END,
            done_at = CASE WHEN cat = 2 THEN COALESCE(done_at, NEW.at) END
        WHERE item_id = NEW.object_id;
    ELSIF NEW.field = 'kind' THEN
        UPDATE item_flow SET kind = doc #>> '{}' WHERE item_id = NEW.object_id;
    ELSIF NEW.field = 'deleted' THEN
        UPDATE item_flow SET deleted_at = NEW.at WHERE item_id = NEW.object_id;
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

CREATE TRIGGER item_flow_track AFTER INSERT ON events FOR EACH ROW
WHEN (NEW.object = 'item' AND NEW.field IN ('created', 'status', 'kind', 'deleted', 'sprint'))
EXECUTE FUNCTION item_flow_track();
