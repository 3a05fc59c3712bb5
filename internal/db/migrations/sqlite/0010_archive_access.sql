-- Archive access (R35): the one door to the intermediate archive. The DPO reads an archived
-- contract, document, ticket or message only by writing why; each reading leaves a row here, its
-- justification sealed under the person's data key (erasing the person makes it unreadable), kept
-- five years as proof that the archive was opened only for a stated reason.
CREATE TABLE archive_accesses (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    table_name VARCHAR(32) NOT NULL,
    row_id BIGINT NOT NULL,
    justification BLOB NOT NULL,
    accessed_by BIGINT REFERENCES users(id),
    accessed_at TIMESTAMP NOT NULL
);
CREATE INDEX archive_accesses_person ON archive_accesses (person_id, id);
CREATE INDEX archive_accesses_row ON archive_accesses (table_name, row_id);
