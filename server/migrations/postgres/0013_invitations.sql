-- Invitations to a site: a single-use link valid 7 days, kept only as the SHA-256 of its token.
-- Accepting one creates the account (or uses the one the email has) and its membership.
CREATE TABLE invitations (
    token_hash     TEXT PRIMARY KEY,
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    accepted_at_ms BIGINT
);

CREATE INDEX invitations_of_site ON invitations (site_id);
