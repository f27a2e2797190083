-- Rollups of the comment themes: per site, UTC day and language (stems are per language), how
-- many comments of each group used each term, and each form of it, for settled days, kept in
-- the same step as the other rollups (migration 0010). Ordered by term, so that summing a
-- year of a term's days reads them in one run.
CREATE TABLE rollup_comments (
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    day        BIGINT NOT NULL,
    lang       TEXT NOT NULL,
    detractors BIGINT NOT NULL,
    passives   BIGINT NOT NULL,
    promoters  BIGINT NOT NULL,
    -- Each group's term counts summed over every term, so that the total is known without
    -- reading the many terms too rare to be listed.
    detractor_uses BIGINT NOT NULL,
    passive_uses   BIGINT NOT NULL,
    promoter_uses  BIGINT NOT NULL,
    PRIMARY KEY (site_id, day, lang)
) WITHOUT ROWID;

CREATE TABLE rollup_terms (
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    lang       TEXT NOT NULL,
    term       TEXT NOT NULL,
    day        BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    passives   BIGINT NOT NULL,
    promoters  BIGINT NOT NULL,
    PRIMARY KEY (site_id, lang, term, day)
) WITHOUT ROWID;
CREATE INDEX rollup_terms_by_day ON rollup_terms (site_id, day);

CREATE TABLE rollup_term_forms (
    site_id TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    lang    TEXT NOT NULL,
    term    TEXT NOT NULL,
    day     BIGINT NOT NULL,
    form    TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (site_id, lang, term, day, form)
) WITHOUT ROWID;
CREATE INDEX rollup_term_forms_by_day ON rollup_term_forms (site_id, day);

-- Days rolled up before these tables existed are rolled up again, comments and all.
INSERT INTO rollup_dirty (site_id, day, marks)
SELECT DISTINCT site_id, created_at_ms / 86400000, 1 FROM responses
WHERE comment IS NOT NULL
  AND created_at_ms < (SELECT rolled_until_day FROM sites WHERE sites.id = responses.site_id) * 86400000
ON CONFLICT (site_id, day) DO UPDATE SET marks = rollup_dirty.marks + 1;
