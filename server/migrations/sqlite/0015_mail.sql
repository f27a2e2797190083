-- Mail owners send: replies to visitors from a case of the inbox (with its response) and
-- invitations to a site (without). Queued here and sent by a background task (like webhook
-- deliveries): nothing is lost if the process stops between the two, and a lease keeps two
-- servers from sending one message twice.
CREATE TABLE mails (
    id                 TEXT PRIMARY KEY,
    site_id            TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    response_id        TEXT REFERENCES responses (id) ON DELETE CASCADE,
    sender_email       TEXT NOT NULL,
    to_email           TEXT NOT NULL,
    subject            TEXT NOT NULL,
    body               TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'retrying', 'failed')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    error              TEXT,
    message_id         TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    sent_at_ms         BIGINT
);

CREATE INDEX mails_of_case ON mails (response_id, created_at_ms);
CREATE INDEX mails_due ON mails (next_attempt_at_ms) WHERE status IN ('queued', 'retrying');
