-- Surveys: one row per saved version of a site's survey definition, never changed once written.
CREATE TABLE surveys (
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL CHECK (version >= 1),
    -- A soovita_wire::SurveyDefinition as JSON.
    definition    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (site_id, version)
);

-- Sites that existed before surveys get the default survey of the time as version 1.
INSERT INTO surveys (site_id, version, definition, created_at_ms)
SELECT id, 1, '{"open_question":true,"statements_per_visitor":2,"dimensions":["fairness","service_quality","commercial_friendship","satisfaction","trust","cognitive","affective","calculative","conative","behavioural"],"effort":["detractor"],"effort_checklist":true,"contact":["detractor","passive"],"appearance":{"brand_color":"#1a5fb4","mode":"auto","position":"bottom_right"}}', created_at_ms FROM sites;

-- The loyalty flow's answers. Every column may stay empty: visitors skip and abandon steps.
ALTER TABLE responses ADD COLUMN survey_version INTEGER;
ALTER TABLE responses ADD COLUMN lang TEXT;
ALTER TABLE responses ADD COLUMN effort INTEGER CHECK (effort BETWEEN 1 AND 7);
-- Comma-separated soovita_wire::EffortDriver names, e.g. "contacted_again,transferred".
ALTER TABLE responses ADD COLUMN effort_drivers TEXT;
ALTER TABLE responses ADD COLUMN contact_consent BOOLEAN;
ALTER TABLE responses ADD COLUMN email TEXT;

-- Every loyalty statement shown with a response; answer is NULL when it was skipped, which
-- analysis needs as much as the answers.
CREATE TABLE response_statements (
    response_id  TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
    statement_id TEXT NOT NULL,
    dimension    TEXT NOT NULL,
    answer       INTEGER CHECK (answer BETWEEN 1 AND 5),
    PRIMARY KEY (response_id, statement_id)
);

CREATE INDEX response_statements_by_dimension ON response_statements (dimension);
