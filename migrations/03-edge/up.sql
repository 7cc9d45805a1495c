-- 03-edge: issues from helpdesks (source, external id, priority, tags, the
-- fields escalate does not know), the route that placed them, the
-- engineering task created for them, and the keys of ingested events (so
-- the same event twice changes nothing). The outbox gains a payload for
-- rows that carry their own content (event subscriptions).

ALTER TABLE issues ADD COLUMN source       TEXT;
ALTER TABLE issues ADD COLUMN external_id  TEXT;
ALTER TABLE issues ADD COLUMN priority     TEXT;
ALTER TABLE issues ADD COLUMN tags         TEXT NOT NULL DEFAULT '[]';
ALTER TABLE issues ADD COLUMN details      TEXT NOT NULL DEFAULT '{}';
-- How many times the same ticket was "created" again while open.
ALTER TABLE issues ADD COLUMN dedup_count  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN route        TEXT;
ALTER TABLE issues ADD COLUMN task_tracker TEXT;
ALTER TABLE issues ADD COLUMN task_key     TEXT;
ALTER TABLE issues ADD COLUMN task_url     TEXT;
ALTER TABLE issues ADD COLUMN task_id      TEXT;

-- One open issue per (source, external id); lookups find the newest.
CREATE UNIQUE INDEX issues_open_source ON issues (source, external_id)
    WHERE source IS NOT NULL AND status <> 'resolved';
CREATE INDEX issues_source ON issues (source, external_id, id) WHERE source IS NOT NULL;

CREATE TABLE ingested (
    key   TEXT PRIMARY KEY,
    at    INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE outbox ADD COLUMN payload TEXT;

-- Where each [[subscriptions]] entry (keyed by its redacted URL label) is in
-- the event log. A new subscription starts at the end: no history replay.
CREATE TABLE subscription_cursors (
    sub            TEXT PRIMARY KEY,
    last_event_id  INTEGER NOT NULL
) WITHOUT ROWID;

-- Facts about this database. `instance` (random, made once) keeps the
-- markers of its engineering tasks apart from another database's (staging,
-- a fresh `init`) working on the same tracker project.
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('instance', lower(hex(randomblob(4))));
