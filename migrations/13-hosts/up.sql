-- 13-hosts: which host ran each check. Several hosts may run `check`
-- against one database (PostgreSQL, issue 16); `status` names every
-- host's last run, and a host that stopped while the others carry on.
-- Older runs have no host (NULL): they count as one unnamed host.
ALTER TABLE runs ADD COLUMN host TEXT;
-- Each host's last run, without reading every run.
CREATE INDEX runs_host ON runs (host, started_at);
