CREATE TABLE sites (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    -- JSON array of serialised origins, e.g. ["https://shop.example"].
    allowed_origins  TEXT NOT NULL,
    sample_percent   SMALLINT NOT NULL CHECK (sample_percent BETWEEN 0 AND 100),
    cooldown_days    INTEGER NOT NULL CHECK (cooldown_days >= 0),
    admin_token_hash TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL
);

CREATE TABLE responses (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    score         SMALLINT NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment       TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX responses_by_site_and_time ON responses (site_id, created_at_ms);
