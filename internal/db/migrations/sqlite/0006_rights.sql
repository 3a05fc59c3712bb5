-- Data-subject rights (issue 6): erasure leaves a tombstone so that the requests and the legally
-- kept archive still point somewhere; restriction keeps its history; post-mortem directives;
-- the one-month clock can be extended once, with a reason told to the person; the privacy
-- portal signs people in with a one-time code sent to their address.
ALTER TABLE persons ADD COLUMN erased_at TIMESTAMP;

ALTER TABLE rights_requests ADD COLUMN identity_check VARCHAR(24) NOT NULL DEFAULT 'pending';
ALTER TABLE rights_requests ADD COLUMN extension_reason BLOB;
ALTER TABLE rights_requests ADD COLUMN extended_at TIMESTAMP;
ALTER TABLE rights_requests ADD COLUMN evidence VARCHAR(80);

CREATE TABLE restrictions (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    request_id BIGINT REFERENCES rights_requests(id),
    reason BLOB NOT NULL,
    started_at TIMESTAMP NOT NULL,
    started_by BIGINT REFERENCES users(id),
    lifted_at TIMESTAMP,
    lifted_by BIGINT REFERENCES users(id),
    lift_reason BLOB
);
CREATE INDEX restrictions_person ON restrictions (person_id, id);

CREATE TABLE post_mortem_directives (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    instruction VARCHAR(16) NOT NULL,
    trusted_contact BLOB,
    wishes BLOB,
    recorded_at TIMESTAMP NOT NULL,
    applied_at TIMESTAMP
);
CREATE UNIQUE INDEX post_mortem_directives_person ON post_mortem_directives (person_id);

CREATE TABLE portal_codes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    code_hash BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TIMESTAMP
);
CREATE INDEX portal_codes_person ON portal_codes (person_id, id);

CREATE TABLE portal_sessions (
    token_hash BLOB NOT NULL PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX portal_sessions_person ON portal_sessions (person_id);
