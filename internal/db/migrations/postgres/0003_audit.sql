-- The tamper-evident audit trail (R16, R17). Two hash chains: "record" (writes, logins, rights,
-- breaches: kept long) and "access" (reads of personal data: purged after 6–36 months). Each
-- event's hash is SHA-256(previous hash || canonical encoding of the event); audit_heads holds
-- each chain's last seq and hash; audit_checkpoints holds Ed25519-signed (seq, hash) pairs.
CREATE TABLE audit_events (
    chain VARCHAR(8) NOT NULL,
    seq BIGINT NOT NULL,
    at_us BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    department VARCHAR(16) NOT NULL,
    action VARCHAR(24) NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    row_id BIGINT NOT NULL,
    subject BYTEA NOT NULL,
    fields VARCHAR(2000) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    detail VARCHAR(500) NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_subject ON audit_events (subject);
CREATE INDEX audit_events_at ON audit_events (at_us);

CREATE TABLE audit_heads (
    chain VARCHAR(8) NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_heads (chain, seq, hash) VALUES
    ('record', 0, decode(repeat('00', 32), 'hex')),
    ('access', 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_checkpoints (
    chain VARCHAR(8) NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    at_us BIGINT NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (chain, seq)
);
