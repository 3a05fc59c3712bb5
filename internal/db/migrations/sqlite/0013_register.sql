-- Register of processing activities (issue 9, R38; GDPR art. 30): each version of the register,
-- generated from the dictionary's purposes, the retention rules in force and the controller's
-- details, is kept whole (its JSON, with its SHA-256) with when it was generated, by whom, and
-- what changed since the version before. A version is added only when the content changed.
CREATE TABLE register_versions (
    id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL UNIQUE,
    generated_at TIMESTAMP NOT NULL,
    sha256 CHAR(64) NOT NULL,
    content VARCHAR(1000000) NOT NULL,
    changes VARCHAR(2000) NOT NULL,
    generated_by BIGINT REFERENCES users(id),
    department VARCHAR(16) NOT NULL
);
