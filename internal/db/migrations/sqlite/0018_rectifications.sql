-- Rectification history (R25): each correction of a personal field, by the person on the portal
-- or by staff, keeps the previous value sealed under the person's data key (erasing the person
-- makes it unreadable and deletes the row), with when, through which channel and which department.
CREATE TABLE rectifications (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    table_name VARCHAR(32) NOT NULL,
    row_id BIGINT NOT NULL,
    field VARCHAR(64) NOT NULL,
    previous_value BLOB,
    channel VARCHAR(16) NOT NULL,
    department VARCHAR(16) NOT NULL,
    corrected_by BIGINT REFERENCES users(id),
    corrected_at TIMESTAMP NOT NULL
);
CREATE INDEX rectifications_person ON rectifications (person_id, id);
CREATE INDEX rectifications_row ON rectifications (table_name, row_id);
