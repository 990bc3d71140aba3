-- Live updates: every statement that appends events tells the listening server processes which
-- products changed and the newest event id, through NOTIFY (delivered at commit, dropped on
-- rollback). One notification per product and statement, not per row, so a bulk COPY of a
-- million events sends a handful.
CREATE FUNCTION keel_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('keel_events', coalesce(product_id::text, '') || ':' || max(id)::text)
    FROM new_events GROUP BY product_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION keel_events_notify();
