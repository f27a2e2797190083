-- Closing the loop (LOYALTY.md §5): how fast each site means to answer, what its server does on
-- its own about open cases, and whether a visitor who was helped would now recommend the site.

-- Hours from a response to its first contact: detractors (0–6) and the others.
ALTER TABLE sites ADD COLUMN target_detractor_hours INTEGER NOT NULL DEFAULT 24;
ALTER TABLE sites ADD COLUMN target_other_hours INTEGER NOT NULL DEFAULT 72;
-- When automatic acknowledgements were switched on (null: off); only responses from then on get one.
ALTER TABLE sites ADD COLUMN acknowledge_since_ms BIGINT;
-- When the site's admins were last mailed a digest of overdue cases (at most one an hour).
ALTER TABLE sites ADD COLUMN overdue_digest_at_ms BIGINT;

-- What a message is for: the first reply sets a case contacted, an acknowledgement does not.
ALTER TABLE mails ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply'
    CHECK (kind IN ('reply', 'invitation', 'acknowledgement', 'digest', 'check_back', 'test'));

-- A case that passed its target time without a first contact: announced once (webhook event
-- case.overdue) and listed once in a digest to the site's admins.
CREATE TABLE overdue_cases (
    response_id    TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    due_at_ms      BIGINT NOT NULL,
    flagged_at_ms  BIGINT NOT NULL,
    digested_at_ms BIGINT
);

CREATE INDEX overdue_cases_to_digest ON overdue_cases (site_id) WHERE digested_at_ms IS NULL;

-- A site's own wording of the replies the composer starts from, per language and category;
-- without a row, the built-in text.
CREATE TABLE reply_templates (
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    lang          TEXT NOT NULL,
    category      TEXT NOT NULL CHECK (category IN ('detractor', 'passive', 'promoter')),
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (site_id, lang, category)
);

-- The check-back mailed after a case was resolved, and the visitor's answer to it (once).
CREATE TABLE check_backs (
    response_id    TEXT PRIMARY KEY REFERENCES responses (id) ON DELETE CASCADE,
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    sent_at_ms     BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    score          INTEGER CHECK (score BETWEEN 0 AND 10),
    answered_at_ms BIGINT
);

CREATE INDEX check_backs_by_site ON check_backs (site_id);

-- Keys this server (and every server on the same database) signs with; made once, at start.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    key  TEXT NOT NULL
);
