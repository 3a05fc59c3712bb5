-- Staff authentication (R12–R15): password expiry and forced change, TOTP second factor with its
-- one-time recovery codes, the last passwords (no reuse), and the failed-login counters that
-- throttle then lock an account. Secrets are never stored in clear: password hashes are argon2id,
-- recovery codes SHA-256, the TOTP secret AES-GCM under a key derived from the master key.
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP;
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_enrolled_at TIMESTAMP;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN next_attempt_at TIMESTAMP;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
UPDATE users SET password_changed_at = created_at;

CREATE TABLE password_history (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    password_hash VARCHAR(200) NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id);
INSERT INTO password_history (user_id, password_hash, created_at) SELECT id, password_hash, created_at FROM users;

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash CHAR(64) NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
