-- Outgoing webhooks and their outbox. A trigger on `events` writes one delivery per subscribed
-- webhook in the transaction that records the change, so a change that commits is announced
-- and one that rolls back is not. The event type follows `keel_domain::webhook::event_type`.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    -- Subscribed event types between commas: ",item.created,item.moved,".
    events     TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_product ON webhooks(product_id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    -- pending | delivered | failed
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- Start of the retry window (creation, or a manual retry).
    retry_from      INTEGER NOT NULL,
    -- A worker holds the row until then while it sends it.
    lease_until     INTEGER,
    response_code   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);

CREATE TRIGGER webhook_outbox AFTER INSERT ON events
WHEN NEW.product_id IS NOT NULL
BEGIN
    INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, status, attempts, next_attempt_at,
                                    retry_from, created_at)
    SELECT w.id, NEW.id, t.type, 'pending', 0, NEW.at, NEW.at, NEW.at
    FROM (SELECT CASE
            WHEN NEW.object = 'item' AND NEW.field = 'status' THEN 'item.moved'
            WHEN NEW.object = 'sprint' AND NEW.field = 'state' AND NEW.new = '"active"' THEN 'sprint.started'
            WHEN NEW.object = 'sprint' AND NEW.field = 'state' AND NEW.new = '"closed"' THEN 'sprint.closed'
            WHEN NEW.object = 'release' AND NEW.field = 'state' AND NEW.new = '"released"' THEN 'release.shipped'
            WHEN NEW.field IN ('created', 'deleted') THEN NEW.object || '.' || NEW.field
            ELSE NEW.object || '.updated'
          END AS type) t
    JOIN webhooks w ON w.product_id = NEW.product_id AND w.active = 1
                   AND instr(w.events, ',' || t.type || ',') > 0;
END;
