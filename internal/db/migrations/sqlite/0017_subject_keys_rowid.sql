-- A person's data key is found by the person's id as the table's own integer key (the rowid):
-- one B-tree, where a BIGINT primary key made SQLite keep the table and a unique index beside it.
-- A bulk load (issue 5, legacy import) writes one entry per person instead of two, and a read of
-- a key is one lookup instead of two. Same columns, same values.
CREATE TABLE subject_keys_new (
    person_id INTEGER PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO subject_keys_new (person_id, wrapped_key, created_at)
    SELECT person_id, wrapped_key, created_at FROM subject_keys ORDER BY person_id;
DROP TABLE subject_keys;
ALTER TABLE subject_keys_new RENAME TO subject_keys;
