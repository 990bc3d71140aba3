-- Keel's initial schema. Times are milliseconds since the Unix epoch; JSON is stored as TEXT.
-- Rank keys compare byte-wise (the default BINARY collation), as the rank module requires.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    is_active     INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_key ON sign_in_failures(key, at);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    key              TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    next_item_number INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE workflow_states (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    name       TEXT NOT NULL,
    category   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    UNIQUE (product_id, name)
);

CREATE TABLE memberships (
    product_id INTEGER NOT NULL REFERENCES products(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    roles      INTEGER NOT NULL,
    PRIMARY KEY (product_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER NOT NULL REFERENCES products(id),
    number      INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    parent_id   INTEGER REFERENCES items(id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    as_a        TEXT NOT NULL DEFAULT '',
    i_want      TEXT NOT NULL DEFAULT '',
    so_that     TEXT NOT NULL DEFAULT '',
    criteria    TEXT NOT NULL DEFAULT '[]',
    estimate    REAL,
    labels      TEXT NOT NULL DEFAULT '[]',
    assignee_id INTEGER REFERENCES users(id),
    status_id   INTEGER NOT NULL REFERENCES workflow_states(id),
    category    INTEGER NOT NULL,
    rank        TEXT NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (product_id, number),
    UNIQUE (product_id, rank)
);
-- The backlog: open items in rank order. Queries must say exactly `category < 2`.
CREATE INDEX items_backlog ON items(product_id, rank) WHERE category < 2;
CREATE INDEX items_status ON items(product_id, status_id, rank);
CREATE INDEX items_assignee ON items(product_id, assignee_id, rank);
CREATE INDEX items_parent ON items(parent_id);

CREATE TABLE item_labels (
    item_id    INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL,
    label      TEXT NOT NULL,
    PRIMARY KEY (item_id, label)
);
CREATE INDEX item_labels_label ON item_labels(product_id, label, item_id);

CREATE TABLE item_links (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    from_id    INTEGER NOT NULL REFERENCES items(id),
    to_id      INTEGER NOT NULL REFERENCES items(id),
    kind       TEXT NOT NULL,
    UNIQUE (from_id, to_id, kind)
);
CREATE INDEX item_links_to ON item_links(to_id);

-- No foreign key to items: a proposal may outlive the item it was about (it goes stale).
CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    product_id      INTEGER NOT NULL REFERENCES products(id),
    item_id         INTEGER,
    action          TEXT NOT NULL,
    change          TEXT NOT NULL,
    proposed_by     INTEGER NOT NULL REFERENCES users(id),
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL,
    decided_by      INTEGER REFERENCES users(id),
    decided_at      INTEGER,
    decision_reason TEXT,
    summary         TEXT NOT NULL
);
CREATE INDEX proposals_product ON proposals(product_id, state, id);
CREATE INDEX proposals_item ON proposals(item_id, state);

-- The history. No foreign keys to the objects: history outlives deleted items.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    product_id  INTEGER,
    object      TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    actor_id    INTEGER,
    at          INTEGER NOT NULL,
    field       TEXT NOT NULL,
    old         TEXT,
    new         TEXT,
    proposal_id INTEGER
);
CREATE INDEX events_object ON events(object, object_id, id);
CREATE INDEX events_product ON events(product_id, id);

-- Full text over titles and descriptions, kept in step with items by triggers.
CREATE VIRTUAL TABLE items_fts USING fts5(
    title, description,
    content = 'items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title, description ON items BEGIN
    INSERT INTO items_fts(items_fts, rowid, title, description) VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO items_fts(rowid, title, description) VALUES (new.id, new.title, new.description);
END;
