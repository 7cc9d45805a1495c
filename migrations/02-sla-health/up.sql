-- 02-sla-health: SLA clocks on issues, the notice kind of an outbox row, the
-- checker's run log (for `status`, the dead-man switch) and the digest log
-- (so "since the last digest" is exact).

-- Each SLA target is a clock: when it turns at risk, when it is due, and its
-- state: NULL (the chain sets no such target), 'pending', 'at_risk',
-- 'breached' or 'met'. Breached and met are final. `*_settled_at` is when
-- the clock became final (met: the ack/resolve; breached: the deadline).
ALTER TABLE issues ADD COLUMN response_risk_at     INTEGER;
ALTER TABLE issues ADD COLUMN response_due_at      INTEGER;
ALTER TABLE issues ADD COLUMN response_state       TEXT
    CHECK (response_state IN ('pending', 'at_risk', 'breached', 'met'));
ALTER TABLE issues ADD COLUMN response_settled_at  INTEGER;
ALTER TABLE issues ADD COLUMN resolution_risk_at   INTEGER;
ALTER TABLE issues ADD COLUMN resolution_due_at    INTEGER;
ALTER TABLE issues ADD COLUMN resolution_state     TEXT
    CHECK (resolution_state IN ('pending', 'at_risk', 'breached', 'met'));
ALTER TABLE issues ADD COLUMN resolution_settled_at INTEGER;
-- The first acknowledgement ever (acked_at is cleared when an ack lapses).
ALTER TABLE issues ADD COLUMN first_acked_at       INTEGER;

UPDATE issues SET first_acked_at =
    (SELECT MIN(at) FROM events e WHERE e.issue_id = issues.id AND e.kind = 'acknowledged');

CREATE INDEX issues_created_at ON issues (created_at);
-- Running clocks by at-risk instant, for the digest's "at risk now".
CREATE INDEX issues_response_running ON issues (response_risk_at)
    WHERE response_state IN ('pending', 'at_risk');
CREATE INDEX issues_resolution_running ON issues (resolution_risk_at)
    WHERE resolution_state IN ('pending', 'at_risk');
-- Open issues at risk / breached, for the counts of `status` and `digest`
-- (small indexes: they hold only the issues in trouble).
CREATE INDEX issues_open_at_risk ON issues (id)
    WHERE status <> 'resolved' AND (response_state = 'at_risk' OR resolution_state = 'at_risk');
CREATE INDEX issues_open_breached ON issues (id)
    WHERE status <> 'resolved' AND (response_state = 'breached' OR resolution_state = 'breached');
CREATE INDEX issues_first_acked_at ON issues (first_acked_at);

-- The outbox gains `notice` (what the row tells: a page, or an SLA warning),
-- which joins the unique key with the role (two roles may share a contact,
-- each is told). SQLite cannot change a table's constraints in
-- place, so the table is rebuilt.
CREATE TABLE outbox_new (
    id               INTEGER PRIMARY KEY,
    issue_id         INTEGER NOT NULL REFERENCES issues (id),
    -- 'page', 'response_at_risk', 'response_breached', 'resolution_at_risk',
    -- 'resolution_breached', and kinds later migrations add; checked in code
    -- (store::outbox::Notice) so a new kind needs no table rebuild.
    notice           TEXT    NOT NULL DEFAULT 'page',
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
    UNIQUE (issue_id, notice, epoch, level, repeat, role, channel, target)
);
INSERT INTO outbox_new (id, issue_id, notice, epoch, level, repeat, role, channel, target,
                        due_at, created_at, status, attempts, next_attempt_at, lease_until,
                        lease_owner, last_error, sent_at)
    SELECT id, issue_id, 'page', epoch, level, repeat, role, channel, target, due_at,
           created_at, status, attempts, next_attempt_at, lease_until, lease_owner,
           last_error, sent_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_issue ON outbox (issue_id);
CREATE INDEX outbox_dead ON outbox (status) WHERE status = 'dead';

-- One row per `escalate check` (not per dry run): the dead-man switch.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    started_at    INTEGER NOT NULL,
    duration_ms   INTEGER NOT NULL,
    examined      INTEGER NOT NULL,
    escalations   INTEGER NOT NULL,
    sla_events    INTEGER NOT NULL,
    delivered     INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    dead          INTEGER NOT NULL,
    orphans       INTEGER NOT NULL
);
CREATE INDEX runs_started_at ON runs (started_at);

-- One row per digest that went out.
-- `last_event_id`: breaches are reported by event id, not by their
-- (schedule-anchored, possibly earlier) time, so one recorded late is in the
-- next digest rather than in none.
CREATE TABLE digests (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    since          INTEGER NOT NULL,
    sent_to        TEXT    NOT NULL,
    last_event_id  INTEGER NOT NULL DEFAULT 0
);
