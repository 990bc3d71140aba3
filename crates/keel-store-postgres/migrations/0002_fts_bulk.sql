-- Kept in step with the SQLite store's migration of the same name, which batches its full-text
-- indexing during bulk loads. PostgreSQL needs no such change: the `search` column is computed
-- per row as it is written and its GIN index buffers new entries (fastupdate), so bulk loads
-- already pay for full text once per row with no merging of tiny segments.
SELECT 1;
