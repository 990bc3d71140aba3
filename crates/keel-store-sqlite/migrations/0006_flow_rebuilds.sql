-- Products whose derived flow rows (0005) must be recomputed from the history before they are
-- trusted: those whose items were created before 0005 existed (an upgrade), and those whose
-- workflow changed a state's category or dropped a state (flow rows follow today's categories).
-- The application rebuilds each one at start, and right after a workflow edit, then clears it.
CREATE TABLE flow_rebuilds (
    product_id INTEGER PRIMARY KEY,
    reason     TEXT NOT NULL
);

INSERT OR IGNORE INTO flow_rebuilds (product_id, reason)
SELECT DISTINCT e.product_id, 'upgrade' FROM events e
WHERE e.object = 'item' AND e.field = 'created' AND e.product_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM item_flow f WHERE f.item_id = e.object_id);

CREATE TRIGGER flow_rebuild_recategorised AFTER UPDATE OF category ON workflow_states
WHEN OLD.category IS NOT NEW.category
BEGIN
    INSERT OR IGNORE INTO flow_rebuilds (product_id, reason) VALUES (NEW.product_id, 'workflow');
END;

CREATE TRIGGER flow_rebuild_state_removed AFTER DELETE ON workflow_states
BEGIN
    INSERT OR IGNORE INTO flow_rebuilds (product_id, reason) VALUES (OLD.product_id, 'workflow');
END;
