CREATE TABLE sites (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    -- JSON array of serialised origins, e.g. ["https://shop.example"].
    allowed_origins  TEXT NOT NULL,
    sample_percent   INTEGER NOT NULL CHECK (sample_percent BETWEEN 0 AND 100),
    cooldown_days    INTEGER NOT NULL CHECK (cooldown_days >= 0),
    admin_token_hash TEXT NOT NULL,
    created_at_ms    INTEGER NOT NULL
);

CREATE TABLE responses (
    id            TEXT PRIMARY KEY NOT NULL,
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    score         INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment       TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);

CREATE INDEX responses_by_site_and_time ON responses (site_id, created_at_ms);
