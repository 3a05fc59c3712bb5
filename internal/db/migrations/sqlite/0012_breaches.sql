-- Breach register (issue 9, R39–R40; GDPR art. 33 and 34). A breach keeps the content art. 33(3)
-- asks for; its free texts (title, circumstances, consequences, measures, reasons) may name
-- people, so they are sealed with AES-256-GCM under a key derived from the master key and bound
-- to the breach's row (they are not one person's data, so no person's key fits them). The 72-hour
-- clock runs from aware_at, which never changes once recorded. The people a breach concerns,
-- found through the data when it names a scope, are listed in breach_persons (a row goes with
-- the person when they are erased); each notification, to the CNIL or to the people, phase by
-- phase, is a row of breach_notifications with the reason of a late one.
CREATE TABLE breaches (
    id INTEGER PRIMARY KEY,
    title BLOB NOT NULL,
    occurred_at TIMESTAMP,
    detected_at TIMESTAMP NOT NULL,
    aware_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    nature VARCHAR(64) NOT NULL,
    origin VARCHAR(32) NOT NULL,
    cause VARCHAR(32) NOT NULL,
    description BLOB NOT NULL,
    data_categories VARCHAR(300) NOT NULL,
    people_categories VARCHAR(100) NOT NULL,
    people_count BIGINT,
    records_count BIGINT,
    consequences BLOB NOT NULL,
    measures_taken BLOB NOT NULL,
    measures_proposed BLOB,
    advice BLOB,
    contact VARCHAR(300) NOT NULL,
    risk VARCHAR(8) NOT NULL,
    risk_reason BLOB NOT NULL,
    people_exemption VARCHAR(24),
    scope_department VARCHAR(16),
    scope_table VARCHAR(32),
    scope_from TIMESTAMP,
    scope_to TIMESTAMP,
    people_found BIGINT NOT NULL DEFAULT 0,
    records_found BIGINT NOT NULL DEFAULT 0,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by BIGINT REFERENCES users(id),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX breaches_aware ON breaches (aware_at);

CREATE TABLE breach_persons (
    id INTEGER PRIMARY KEY,
    breach_id BIGINT NOT NULL REFERENCES breaches(id),
    person_id BIGINT NOT NULL REFERENCES persons(id),
    source VARCHAR(8) NOT NULL,
    records BIGINT NOT NULL DEFAULT 0,
    notified_at TIMESTAMP
);
CREATE UNIQUE INDEX breach_persons_breach ON breach_persons (breach_id, person_id);
CREATE INDEX breach_persons_person ON breach_persons (person_id);

CREATE TABLE breach_notifications (
    id INTEGER PRIMARY KEY,
    breach_id BIGINT NOT NULL REFERENCES breaches(id),
    recipient VARCHAR(8) NOT NULL,
    phase VARCHAR(16) NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    channel VARCHAR(16) NOT NULL,
    reference VARCHAR(64),
    people_notified BIGINT,
    late_reason BLOB,
    note BLOB,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by BIGINT REFERENCES users(id)
);
CREATE INDEX breach_notifications_breach ON breach_notifications (breach_id, id);
