-- Collection with minimisation (issue 5): the privacy notices as shown, the consent history, the
-- objections and the suppression list that outlives them, and rights requests (human review of an
-- automated price first; the other rights build on the same table).
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    hash CHAR(64) NOT NULL UNIQUE,
    version VARCHAR(32) NOT NULL,
    body VARCHAR(20000) NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    purpose VARCHAR(32) NOT NULL,
    granted BOOLEAN NOT NULL,
    given_at TIMESTAMP NOT NULL,
    channel VARCHAR(16) NOT NULL,
    method VARCHAR(24) NOT NULL,
    notice_id BIGINT REFERENCES notices(id),
    recorded_by BIGINT REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX consents_person ON consents (person_id, purpose, id);
CREATE INDEX consents_purpose ON consents (purpose, person_id);

CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    purpose VARCHAR(32) NOT NULL,
    objected_at TIMESTAMP NOT NULL,
    channel VARCHAR(16) NOT NULL,
    recorded_by BIGINT REFERENCES users(id)
);
CREATE INDEX objections_person ON objections (person_id);

ALTER TABLE persons ADD COLUMN objected_prospection BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE suppressions (
    hash CHAR(32) NOT NULL,
    purpose VARCHAR(32) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (hash, purpose)
);

CREATE TABLE rights_requests (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    quote_id BIGINT REFERENCES quotes(id),
    type VARCHAR(24) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    status VARCHAR(16) NOT NULL,
    received_at TIMESTAMP NOT NULL,
    due_at TIMESTAMP NOT NULL,
    details BLOB,
    outcome BLOB,
    handled_by BIGINT REFERENCES users(id),
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX rights_requests_person ON rights_requests (person_id);
CREATE INDEX rights_requests_due ON rights_requests (status, due_at);
