-- Responses older than this many days are purged (see Store::purge_expired).
ALTER TABLE sites ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 730;
