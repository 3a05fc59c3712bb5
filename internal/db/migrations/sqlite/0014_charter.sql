-- Staff charter and training (issue 9, R43). The data-governance charter is versioned: each
-- version keeps its exact text and the SHA-256 of it, so that an acknowledgement proves what was
-- read. The first version is embedded in the binary and installed at first use; the DPO or IT
-- administration publishes the next ones. Each staff member acknowledges the current version at
-- their first page after signing in, and again after each new version (one row per user and
-- version). Training completions are recorded with the module of the catalogue, the day it was
-- completed and who recorded it.
CREATE TABLE charter_versions (
    id INTEGER PRIMARY KEY,
    version VARCHAR(32) NOT NULL UNIQUE,
    sha256 CHAR(64) NOT NULL UNIQUE,
    body VARCHAR(20000) NOT NULL,
    published_at TIMESTAMP NOT NULL,
    published_by BIGINT REFERENCES users(id)
);

CREATE TABLE charter_acknowledgements (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    version_id BIGINT NOT NULL REFERENCES charter_versions(id),
    acknowledged_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX charter_acknowledgements_user ON charter_acknowledgements (user_id, version_id);
CREATE INDEX charter_acknowledgements_version ON charter_acknowledgements (version_id);

CREATE TABLE training_completions (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    module VARCHAR(32) NOT NULL,
    completed_at DATE NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by BIGINT REFERENCES users(id)
);
CREATE UNIQUE INDEX training_completions_user ON training_completions (user_id, module, completed_at);
