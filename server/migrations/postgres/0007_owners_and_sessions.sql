-- Site owners who sign in to the console, and their browser sessions. Passwords are stored only
-- as argon2id hashes and session tokens only as SHA-256 hashes.
CREATE TABLE owners (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- The console lists comments newest first.
CREATE INDEX responses_with_comments ON responses (site_id, created_at_ms) WHERE comment IS NOT NULL;
