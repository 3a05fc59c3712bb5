-- Retention lifecycle (issue 7): contracts and tickets are archived at their end (out of every
-- department's reach but the DPO's, who reads them on a written justification); prospects are
-- asked whether to keep in touch before their term; the DPO's changes to the retention rules are
-- versioned; legal holds suspend every end-of-life action; each run of the engine is recorded
-- with its counts, updated in the transaction of each batch, so that a run cut off resumes where it stopped; anonymised quotes
-- leave a statistics row that names no one.
ALTER TABLE contracts ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tickets ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ticket_messages ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE persons ADD COLUMN renewal_asked_at TIMESTAMP;

CREATE TABLE retention_rules (
    id INTEGER PRIMARY KEY,
    code VARCHAR(32) NOT NULL,
    version INTEGER NOT NULL,
    months INTEGER NOT NULL,
    action VARCHAR(16) NOT NULL,
    reason VARCHAR(500) NOT NULL,
    changed_by BIGINT REFERENCES users(id),
    changed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX retention_rules_version ON retention_rules (code, version);

CREATE TABLE legal_holds (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    contract_id BIGINT REFERENCES contracts(id),
    reason BLOB NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    started_by BIGINT REFERENCES users(id),
    lifted_at TIMESTAMP,
    lifted_by BIGINT REFERENCES users(id)
);
CREATE INDEX legal_holds_person ON legal_holds (person_id, id);
CREATE INDEX legal_holds_contract ON legal_holds (contract_id);

CREATE TABLE lifecycle_runs (
    id INTEGER PRIMARY KEY,
    as_of TIMESTAMP NOT NULL,
    dry_run BOOLEAN NOT NULL,
    status VARCHAR(16) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    started_by BIGINT REFERENCES users(id),
    overdue BIGINT,
    errors VARCHAR(4000)
);

CREATE TABLE lifecycle_counts (
    run_id BIGINT NOT NULL,
    rule VARCHAR(32) NOT NULL,
    action VARCHAR(16) NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (run_id, rule, action)
);

CREATE TABLE statistics (
    id INTEGER PRIMARY KEY,
    month CHAR(7) NOT NULL,
    age_band VARCHAR(8),
    departement VARCHAR(3),
    vehicle_energy VARCHAR(12),
    vehicle_usage VARCHAR(16),
    vehicle_age_band VARCHAR(8),
    coverage VARCHAR(16),
    bonus_malus_band VARCHAR(12),
    price_band INTEGER,
    channel VARCHAR(16),
    insurer VARCHAR(40),
    converted BOOLEAN NOT NULL,
    contract_duration_band VARCHAR(12)
);
