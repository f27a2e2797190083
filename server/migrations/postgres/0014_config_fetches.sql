-- When a page on one of the site's allowed origins last fetched its survey, so that the console
-- can tell an owner that the tag works. Written at most every few minutes per server.
ALTER TABLE sites ADD COLUMN config_fetched_at_ms BIGINT;
