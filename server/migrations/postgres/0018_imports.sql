-- Files uploaded in the console to import: checked at once (the preview kept in `report`),
-- written when an admin confirms, by a background task that records its progress here, so the
-- page shows it whichever server answers. The file is dropped once imported.
CREATE TABLE imports (
    id            TEXT PRIMARY KEY,
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    owner_id      TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    -- The format and reading options, as JSON.
    settings      TEXT NOT NULL,
    data          TEXT,
    status        TEXT NOT NULL CHECK (status IN ('previewed', 'importing', 'done', 'failed')),
    -- The preview's report, then the import's, as JSON.
    report        TEXT NOT NULL,
    written       BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX imports_by_site ON imports (site_id, created_at_ms);
