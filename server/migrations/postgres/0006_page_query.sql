-- The page's query string, for surveys that opt in to recording it.
ALTER TABLE responses ADD COLUMN page_query TEXT;
