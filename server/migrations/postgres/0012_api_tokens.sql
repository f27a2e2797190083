-- Named API tokens beside the one each site is made with: a help-desk script gets its own, and
-- revoking it leaves the others working. Only a SHA-256 of each is kept.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    -- Days since 1970-01-01 (UTC) of the last request with it: a day is as precise as needed,
    -- and it is written at most once a day per token.
    last_used_day BIGINT
);

CREATE INDEX api_tokens_of_site ON api_tokens (site_id);
