-- 09-digest: the digest's figures cost what they show, not the open
-- issues. Before this, a digest on a million open issues read every one
-- of them several times (owners, exhausted issues, at-risk clocks, the
-- open count) and every page of the last day (on-call gaps): 3-4 s.
--
-- `open_issues` counts the unresolved issues per (chain, status, owner,
-- level, repeat): the digest's open count, owners and exhausted counts
-- are sums over a few hundred rows. `open_hours` counts them per (chain,
-- hour of creation): backlog ages, with the hours that straddle an age
-- boundary counted exactly from `issues_open_chain`. Neither is kept by
-- triggers: an escalation moves an issue from one `open_issues` row to
-- another, and triggers doing that (two counter statements per
-- escalation) cost `check` 16 % more instructions (measured on 10,000 and
-- 1,000 escalations). `store::open_counts` gathers the moves of a
-- transaction in memory and writes their sums once, before it commits
-- (a check of 10,000 escalations writes a handful of rows). Writes
-- behind escalate's back (another program, a bulk load) must call
-- `open_counts::rebuild`, which runs the backfill below.
CREATE TABLE open_issues (
    chain       TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    owner_kind  TEXT    NOT NULL,
    owner       TEXT    NOT NULL,
    level       INTEGER NOT NULL,
    repeat      INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (chain, status, owner_kind, owner, level, repeat)
) WITHOUT ROWID;

CREATE TABLE open_hours (
    chain  TEXT    NOT NULL,
    -- created_at / 3,600,000 (SQLite's and Rust's integer division agree).
    hour   INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (chain, hour)
) WITHOUT ROWID;

-- Pages that found nobody on call (`"gap": true` in an `escalated`
-- event's details) are listed by event id in `gap_pages` when the event is
-- appended, so the digest reads the few there are instead of parsing
-- every page of the period (a second each on a million open issues). A
-- table of their own rather than a column and a partial index on
-- `events`: every event a check appends would then evaluate the index's
-- condition and bind one more value (+0.6 % instructions measured).
CREATE TABLE gap_pages (
    event_id  INTEGER PRIMARY KEY
);

-- backfill (store::open_counts::rebuild runs what follows, too)
DELETE FROM open_issues;
DELETE FROM open_hours;
INSERT INTO open_issues (chain, status, owner_kind, owner, level, repeat, n)
    SELECT chain, status, owner_kind, owner, level, repeat, count(*) FROM issues
    WHERE status <> 'resolved' GROUP BY chain, status, owner_kind, owner, level, repeat;
INSERT INTO open_hours (chain, hour, n)
    SELECT chain, created_at / 3600000, count(*) FROM issues
    WHERE status <> 'resolved' GROUP BY chain, created_at / 3600000;
DELETE FROM gap_pages;
INSERT INTO gap_pages (event_id)
    SELECT id FROM events WHERE kind = 'escalated' AND json_extract(details, '$.gap') = 1;
