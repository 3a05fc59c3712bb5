-- Outgoing mail (issue 6 and later prospection): the queue a configured SMTP server delivers. The
-- recipient, subject and body are sealed under the person's data key, so erasing the person makes
-- a queued message unreadable too, and they are set to NULL as soon as the message is sent, failed
-- or cancelled: what remains is the trace of the sending, deleted after 30 days.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES persons(id),
    kind VARCHAR(24) NOT NULL,
    status VARCHAR(16) NOT NULL,
    recipient BLOB,
    subject BLOB,
    body BLOB,
    created_at TIMESTAMP NOT NULL,
    send_after TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    sent_at TIMESTAMP,
    last_error VARCHAR(200)
);
-- The delivery query: pending messages due now, longest due first.
CREATE INDEX outbox_due ON outbox (status, send_after);
CREATE INDEX outbox_person ON outbox (person_id);
CREATE INDEX outbox_created ON outbox (created_at);
