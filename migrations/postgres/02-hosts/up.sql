-- 02-hosts: the SQLite migration 13-hosts (which host ran each check).
ALTER TABLE runs ADD COLUMN host TEXT COLLATE "C";
CREATE INDEX runs_host ON runs (host, started_at);
