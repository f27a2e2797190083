-- Where a response was collected: NULL for this server's widget, `import:delighted` or
-- `import:csv` for a file brought in with `soovita import`; a Soovita export brought in from
-- another server keeps the source it had there.
ALTER TABLE responses ADD COLUMN source TEXT;
