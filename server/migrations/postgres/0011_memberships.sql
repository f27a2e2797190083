-- Which accounts may act on which sites, and how: an admin runs the site's set-up, a member
-- reads its results and works its inbox. An account sees no site it has no membership of.
CREATE TABLE memberships (
    owner_id      TEXT NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    site_id       TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (owner_id, site_id)
);

CREATE INDEX memberships_of_site ON memberships (site_id);

-- Until now every account could act on every site: accounts that exist keep what they had.
INSERT INTO memberships (owner_id, site_id, role, created_at_ms)
SELECT owners.id, sites.id, 'admin', owners.created_at_ms FROM owners CROSS JOIN sites;
