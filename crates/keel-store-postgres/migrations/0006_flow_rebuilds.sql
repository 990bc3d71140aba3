-- Products whose derived flow rows (0005) must be recomputed from the history before they are
-- trusted: those whose items were created before 0005 existed (an upgrade), and those whose
-- workflow changed a state's category or dropped a state (flow rows follow today's categories).
-- The application rebuilds each one at start, and right after a workflow edit, then clears it.
CREATE TABLE flow_rebuilds (
    product_id BIGINT PRIMARY KEY,
    reason     TEXT NOT NULL
);

INSERT INTO flow_rebuilds (product_id, reason)
SELECT DISTINCT e.product_id, 'upgrade' FROM events e
WHERE e.object = 'item' AND e.field = 'created' AND e.product_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM item_flow f WHERE f.item_id = e.object_id)
ON CONFLICT DO NOTHING;

CREATE FUNCTION flow_rebuild_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO flow_rebuilds (product_id, reason) VALUES (OLD.product_id, 'workflow') ON CONFLICT DO NOTHING;
    ELSIF OLD.category IS DISTINCT FROM NEW.category THEN
        INSERT INTO flow_rebuilds (product_id, reason) VALUES (NEW.product_id, 'workflow') ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER flow_rebuild_mark AFTER UPDATE OF category OR DELETE ON workflow_states FOR EACH ROW
EXECUTE FUNCTION flow_rebuild_mark();
