-- The governed CRM core. Encrypted columns hold AES-GCM envelopes (BLOB); see the dictionary for
-- each column's logical type, size and rules.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(254) NOT NULL UNIQUE,
    display_name VARCHAR(100) NOT NULL,
    department VARCHAR(16) NOT NULL,
    password_hash VARCHAR(200) NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash CHAR(64) NOT NULL UNIQUE,
    kind VARCHAR(16) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);

CREATE TABLE settings (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    value VARCHAR(1000) NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE persons (
    id INTEGER PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    source VARCHAR(32) NOT NULL,
    first_name BLOB NOT NULL,
    last_name BLOB NOT NULL,
    birth_date BLOB,
    email BLOB,
    phone BLOB,
    address_line BLOB,
    postal_code BLOB,
    city BLOB,
    departement BLOB,
    last_contact_at TIMESTAMP,
    restricted BOOLEAN NOT NULL DEFAULT 0,
    legal_hold BOOLEAN NOT NULL DEFAULT 0,
    deceased BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Kept apart from the data so that backups of the data can leave them out (crypto-shredding).
CREATE TABLE subject_keys (
    person_id BIGINT NOT NULL PRIMARY KEY,
    wrapped_key BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE search_index (
    hash BLOB NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    column_name VARCHAR(32) NOT NULL,
    row_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    PRIMARY KEY (table_name, column_name, hash, row_id)
) WITHOUT ROWID;
CREATE INDEX search_index_row ON search_index (table_name, row_id);
CREATE INDEX search_index_person ON search_index (person_id);

CREATE TABLE quotes (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    status VARCHAR(16) NOT NULL,
    channel VARCHAR(16) NOT NULL,
    vehicle_make BLOB NOT NULL,
    vehicle_model BLOB NOT NULL,
    vehicle_year BLOB NOT NULL,
    vehicle_energy BLOB NOT NULL,
    vehicle_usage BLOB NOT NULL,
    registration_date BLOB,
    plate BLOB,
    licence_date BLOB NOT NULL,
    bonus_malus BLOB NOT NULL,
    claims_3y BLOB NOT NULL,
    licence_suspension_5y BLOB NOT NULL,
    cancelled_by_insurer_3y BLOB NOT NULL,
    coverage BLOB NOT NULL,
    insurer BLOB,
    premium_quoted BLOB,
    automated_decision BOOLEAN NOT NULL DEFAULT 0,
    comment BLOB,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX quotes_person ON quotes (person_id);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    quote_id BIGINT REFERENCES quotes(id),
    insurer BLOB NOT NULL,
    policy_number BLOB NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    annual_premium BLOB NOT NULL,
    broker_commission BLOB,
    status VARCHAR(16) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contracts_person ON contracts (person_id);
CREATE INDEX contracts_end ON contracts (end_date);

CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    contract_id BIGINT REFERENCES contracts(id),
    kind VARCHAR(16) NOT NULL,
    filename BLOB NOT NULL,
    content_type VARCHAR(100) NOT NULL,
    size_bytes INTEGER,
    content BLOB NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX documents_person ON documents (person_id);

CREATE TABLE interactions (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    channel VARCHAR(16) NOT NULL,
    purpose VARCHAR(16) NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    note BLOB,
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX interactions_person ON interactions (person_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    contract_id BIGINT REFERENCES contracts(id),
    subject BLOB NOT NULL,
    status VARCHAR(16) NOT NULL,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tickets_person ON tickets (person_id);

CREATE TABLE ticket_messages (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    author VARCHAR(16) NOT NULL,
    body BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id);
