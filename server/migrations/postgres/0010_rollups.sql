-- Rollups: the sums the results are made of, per site, UTC day and the columns filters use,
-- for settled days (those before `sites.rolled_until_day`). Results add them to a pass over the
-- newer responses, so a site's figures cost the same at a million responses as at a thousand.
ALTER TABLE sites ADD COLUMN rolled_until_day BIGINT NOT NULL DEFAULT 0;
-- Responses before this time are gone by retention; their rollups go with them.
ALTER TABLE sites ADD COLUMN purged_before_ms BIGINT NOT NULL DEFAULT 0;

CREATE TABLE rollup_scores (
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    day            BIGINT NOT NULL,
    lang           TEXT,
    device_class   TEXT,
    survey_version INTEGER,
    page_path      TEXT,
    score          INTEGER NOT NULL,
    n              BIGINT NOT NULL
);
CREATE INDEX rollup_scores_by_day ON rollup_scores (site_id, day);

CREATE TABLE rollup_dimensions (
    site_id        TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    day            BIGINT NOT NULL,
    lang           TEXT,
    device_class   TEXT,
    survey_version INTEGER,
    page_path      TEXT,
    dimension      TEXT NOT NULL,
    answers        BIGINT NOT NULL,
    agree          BIGINT NOT NULL,
    sum_x          BIGINT NOT NULL,
    sum_xx         BIGINT NOT NULL,
    sum_y          BIGINT NOT NULL,
    sum_yy         BIGINT NOT NULL,
    sum_xy         BIGINT NOT NULL
);
CREATE INDEX rollup_dimensions_by_day ON rollup_dimensions (site_id, day);

CREATE TABLE rollup_effort (
    site_id              TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    day                  BIGINT NOT NULL,
    lang                 TEXT,
    device_class         TEXT,
    survey_version       INTEGER,
    page_path            TEXT,
    effort               INTEGER NOT NULL,
    n                    BIGINT NOT NULL,
    contacted_again      BIGINT NOT NULL,
    repeated_information BIGINT NOT NULL,
    switched_channel     BIGINT NOT NULL,
    transferred          BIGINT NOT NULL
);
CREATE INDEX rollup_effort_by_day ON rollup_effort (site_id, day);

-- Settled days whose responses changed after they may have been rolled up (an answer arriving
-- late, an erasure). Results read such a day from the responses until it is rolled up again;
-- `marks` counts changes, so a roll-up clears a mark only if nothing changed meanwhile.
CREATE TABLE rollup_dirty (
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    day     BIGINT NOT NULL,
    marks   BIGINT NOT NULL,
    PRIMARY KEY (site_id, day)
);

-- A day counts as settled from the day after tomorrow on (UTC, by the database's clock); the
-- server rolls up only days a day older still, so clocks a little apart do not matter.
-- Erasures mark their day too; responses purged by retention (before `purged_before_ms`) and
-- those of a deleted site take their rollups with them instead.
CREATE FUNCTION responses_late_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        OR OLD.created_at_ms >= (SELECT purged_before_ms FROM sites WHERE id = OLD.site_id) THEN
        INSERT INTO rollup_dirty (site_id, day, marks)
        VALUES (OLD.site_id, OLD.created_at_ms / 86400000, 1)
        ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1;
    END IF;
    RETURN NULL;
END;
$$;

-- The condition is in WHEN, so answers to recent responses (nearly all of them) never call
-- the function.
CREATE TRIGGER responses_late_change AFTER UPDATE OR DELETE ON responses
FOR EACH ROW
WHEN (OLD.created_at_ms < (floor(extract(epoch FROM now()) / 86400)::BIGINT - 1) * 86400000)
EXECUTE FUNCTION responses_late_change();
