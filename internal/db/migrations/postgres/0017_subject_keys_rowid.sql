-- SQLite's subject_keys becomes a table keyed by its rowid (see the SQLite migration 0017). A
-- PostgreSQL table is a heap beside its primary-key index whatever the key's type, so there is
-- nothing to change here; the migration exists so that both databases count the same versions.
SELECT 1;
