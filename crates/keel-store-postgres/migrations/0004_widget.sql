-- Posts through the public feedback widget, counted per client address and product to rate
-- limit them; kept in the database so every server process sharing it sees the same counts.
CREATE TABLE widget_hits (
    scope TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX widget_hits_scope ON widget_hits (scope, at);
CREATE INDEX widget_hits_at ON widget_hits (at);
