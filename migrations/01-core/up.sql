-- 01-core: the first schema. Issues carry their escalation state and the
-- time they next need a check (`next_due_at`, indexed) so `check` reads only
-- due issues; events are the append-only audit trail; the outbox holds one row
-- per (issue, epoch, level, repeat, contact), unique, so a notification can be
-- decided only once and is delivered after commit.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE issues (
    id            INTEGER PRIMARY KEY,
    chain         TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    description   TEXT,
    external_ref  TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    level         INTEGER NOT NULL CHECK (level >= 1),
    max_level     INTEGER NOT NULL CHECK (max_level >= 1),
    repeat        INTEGER NOT NULL DEFAULT 0,
    epoch         INTEGER NOT NULL DEFAULT 0,
    epoch_level   INTEGER NOT NULL DEFAULT 1,
    epoch_at      INTEGER NOT NULL,
    owner         TEXT    NOT NULL,
    owner_kind    TEXT    NOT NULL CHECK (owner_kind IN ('role', 'person')),
    created_at    INTEGER NOT NULL,
    acked_at      INTEGER,
    acked_by      TEXT,
    resolved_at   INTEGER,
    resolved_by   TEXT,
    next_due_at   INTEGER
);

CREATE INDEX issues_due ON issues (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX issues_open_chain ON issues (chain) WHERE status <> 'resolved';
CREATE INDEX issues_status ON issues (status, id);
CREATE INDEX issues_resolved_at ON issues (resolved_at);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    issue_id  INTEGER NOT NULL REFERENCES issues (id),
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    level     INTEGER,
    actor     TEXT    NOT NULL,
    details   TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX events_issue ON events (issue_id, id);
CREATE INDEX events_kind_at ON events (kind, at);

-- The schedule fingerprint each chain's open issues were last computed with.
-- When chains.toml changes a chain, `check` recomputes their due times once.
CREATE TABLE chains (
    name         TEXT PRIMARY KEY,
    fingerprint  TEXT
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    issue_id         INTEGER NOT NULL REFERENCES issues (id),
    epoch            INTEGER NOT NULL,
    level            INTEGER NOT NULL,
    repeat           INTEGER NOT NULL,
    role             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    target           TEXT    NOT NULL,
    due_at           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'dead', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    lease_owner      TEXT,
    last_error       TEXT,
    sent_at          INTEGER,
    UNIQUE (issue_id, epoch, level, repeat, channel, target)
);

CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_issue ON outbox (issue_id);
