-- Closing the loop: what the site's owners did about a response whose visitor agreed to be
-- contacted. Times are kept to measure how fast complaints are handled.
CREATE TABLE follow_ups (
    response_id     TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('new', 'contacted', 'resolved')),
    notes           TEXT NOT NULL DEFAULT '',
    contacted_at_ms BIGINT,
    resolved_at_ms  BIGINT,
    updated_at_ms   BIGINT NOT NULL
);

-- The inbox lists a site's responses with contact consent.
CREATE INDEX responses_with_consent ON responses (site_id, created_at_ms) WHERE contact_consent;
