-- Webhooks: where a site's new responses are announced, and every attempt to announce them.
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    -- Kept in the clear: every delivery is signed with it (HMAC-SHA256).
    secret           TEXT NOT NULL,
    -- Comma-separated event names: new_detractor, contact_requested, response.
    events           TEXT NOT NULL,
    format           TEXT NOT NULL CHECK (format IN ('json', 'slack')),
    -- Responses last changed up to this time have been looked at for events.
    scanned_until_ms BIGINT NOT NULL,
    created_at_ms    BIGINT NOT NULL
);

CREATE INDEX webhooks_by_site ON webhooks (site_id);

-- One event of one response for one webhook. The payload is built from the response when it is
-- sent, so erasing the response erases what would be sent.
CREATE TABLE webhook_deliveries (
    id                 TEXT PRIMARY KEY,
    webhook_id         TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    response_id        TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    event              TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts made in all, and how many more may be made before it counts as failed; a
    -- re-send from the console gives it a fresh allowance.
    attempts           INTEGER NOT NULL,
    attempts_left      INTEGER NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    UNIQUE (webhook_id, response_id, event)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at_ms);

-- The delivery log: what the receiver answered each time.
CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at_ms        BIGINT NOT NULL,
    -- The HTTP status, or NULL when no answer came (then error says why).
    status_code  INTEGER,
    error        TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
