-- Kept in step with the SQLite migration of the same name.
-- Records: objects without a table of their own (teams, sprints, releases, retrospective cards,
-- poker rounds, questions, product settings). Their fields are a JSON object in `data`; the
-- columns are what queries filter on.
CREATE TABLE records (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    product_id BIGINT REFERENCES products(id),
    parent_id  BIGINT,
    state      TEXT NOT NULL DEFAULT '',
    unique_key TEXT,
    data       TEXT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX records_unique ON records(kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX records_product ON records(kind, product_id, id);
CREATE INDEX records_parent ON records(kind, parent_id, id);

-- Planning and acceptance on items. No foreign keys to records: a record's kind is checked by
-- the store when an item is put into a sprint or release.
ALTER TABLE items ADD COLUMN sprint_id BIGINT;
ALTER TABLE items ADD COLUMN release_id BIGINT;
ALTER TABLE items ADD COLUMN acceptance TEXT NOT NULL DEFAULT 'none';
ALTER TABLE items ADD COLUMN acceptance_note TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN dod TEXT NOT NULL DEFAULT '[]';
ALTER TABLE items ADD COLUMN dor TEXT NOT NULL DEFAULT '[]';
CREATE INDEX items_sprint ON items(sprint_id, rank) WHERE sprint_id IS NOT NULL;
CREATE INDEX items_release ON items(release_id, rank) WHERE release_id IS NOT NULL;

-- Changes of one field across a product over time (stand-ups, decision logs, metrics).
CREATE INDEX events_product_field ON events(product_id, field, at);
