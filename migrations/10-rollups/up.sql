-- 10-rollups: per-hour rollups of the report's SLA outcomes, of the
-- issues paged above level 1 or breached, of the level stays and of the
-- open issues (store/rollups.rs), so a report reads a few rows per hour
-- of its window instead of every SLA event, escalation, level mark and
-- open issue in it (on a million issues each of those passes took ~1 s).
--
-- Folded lazily, never on the write path: `check` and the other writers
-- write nothing here (an earlier attempt kept aggregates with triggers and
-- made `check` 1.7x slower, BENCHMARKS.md "Tried and not merged"). The
-- report folds the events appended since `rollup_cursor.folded` in one
-- batch, in a short write transaction of its own, before it reads; a
-- report that cannot write (a read-only file) or finds new events after
-- its fold reads the event log as before.
--
-- Keys are the issue's chain and priority now, as the report counts them:
-- when an issue moves or changes priority, every hour in which it has a
-- folded event is recomputed from the log (`rollup_dirty`), which makes
-- the fold exact whatever changed, at the cost of re-reading those hours.

-- SLA outcomes per hour of the event (`breached` is stamped at the
-- deadline, `sla_met` at the ack or resolution), chain, priority as
-- `report --by priority` groups it, and target ('' for a target escalate
-- does not know: such events only make their group appear).
CREATE TABLE rollup_sla (
    hour      INTEGER NOT NULL,
    chain     TEXT    NOT NULL,
    priority  TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    met       INTEGER NOT NULL,
    breached  INTEGER NOT NULL,
    PRIMARY KEY (hour, chain, priority, target)
) WITHOUT ROWID;

-- The issues with an escalation to level 2 or higher (kind 0) or a breach
-- (kind 1) in the hour: a distinct count does not add across hours, so
-- the ids are kept (comma-separated; a later fold may append an id
-- already there) and the report unions them.
CREATE TABLE rollup_paged (
    hour   INTEGER NOT NULL,
    chain  TEXT    NOT NULL,
    kind   INTEGER NOT NULL,
    ids    TEXT    NOT NULL,
    PRIMARY KEY (hour, chain, kind)
) WITHOUT ROWID;

-- Level stays (see 07-aggregates) per hour of the mark that ended or
-- began them, chain, priority ('' for none, else '=' and the priority:
-- the clock that measures a stay depends on it) and level: stays ended
-- there by an escalation higher, by resolution, and in all (a move, a cap
-- or a page lower ends one too); the completed ones' spans ("start:end",
-- ms: measured on the issue's clock at report time); the issues whose
-- stay at the level began (reached once per issue and level: unioned).
CREATE TABLE rollup_stays (
    hour       INTEGER NOT NULL,
    chain      TEXT    NOT NULL,
    priority   TEXT    NOT NULL,
    level      INTEGER NOT NULL,
    escalated  INTEGER NOT NULL,
    resolved   INTEGER NOT NULL,
    ended      INTEGER NOT NULL,
    spans      TEXT    NOT NULL,
    began      TEXT    NOT NULL,
    PRIMARY KEY (hour, chain, priority, level)
) WITHOUT ROWID;

-- The unresolved issues as of the fold (chain, highest and current
-- level, creation), and their counts per (chain, max_level, level, hour
-- of creation): the report's per-chain counts read the counts for the
-- whole hours of its window and these rows for the partial ones, instead
-- of every open issue's row. The fold re-reads the issues with events
-- since the cursor (every change of these columns writes one).
CREATE TABLE rollup_open (
    issue_id    INTEGER PRIMARY KEY,
    chain       TEXT    NOT NULL,
    max_level   INTEGER NOT NULL,
    level       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX rollup_open_created ON rollup_open (created_at);
CREATE TABLE rollup_open_counts (
    chain      TEXT    NOT NULL,
    max_level  INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    hour       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (hour, chain, max_level, level)
) WITHOUT ROWID;
-- The issues the fold under way re-reads (empty between folds).
CREATE TABLE rollup_changed (issue_id INTEGER PRIMARY KEY);

-- The last event id folded in.
CREATE TABLE rollup_cursor (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    folded  INTEGER NOT NULL
);
INSERT INTO rollup_cursor (one, folded) VALUES (1, 0);

-- Hours to recompute in the fold under way (empty between folds).
CREATE TABLE rollup_dirty (hour INTEGER PRIMARY KEY);

-- fold: store::rollups::catch_up runs what follows, too. An event's hour
-- is floor(at / 3600000).
INSERT OR IGNORE INTO rollup_dirty (hour)
SELECT e.at / 3600000 - (e.at % 3600000 < 0) FROM events e
WHERE e.issue_id IN (
        SELECT c.issue_id FROM events c
        WHERE c.id > (SELECT folded FROM rollup_cursor)
          AND +c.kind IN ('moved', 'priority_changed'))
  AND e.id <= (SELECT folded FROM rollup_cursor)
  AND +e.kind IN ('escalated', 'breached', 'sla_met', 'created', 'resolved', 'reopened',
                  'capped', 'moved');

DELETE FROM rollup_sla WHERE hour IN (SELECT hour FROM rollup_dirty);
DELETE FROM rollup_paged WHERE hour IN (SELECT hour FROM rollup_dirty);
DELETE FROM rollup_stays WHERE hour IN (SELECT hour FROM rollup_dirty);

INSERT INTO rollup_sla (hour, chain, priority, target, met, breached)
SELECT e.at / 3600000 - (e.at % 3600000 < 0) AS h, i.chain,
  coalesce(lower(nullif(trim(i.priority), '')), '(none)') AS p,
  CASE json_extract(e.details, '$.target')
    WHEN 'response' THEN 'response' WHEN 'resolution' THEN 'resolution' ELSE '' END AS t,
  sum(e.kind = 'sla_met'), sum(e.kind = 'breached')
FROM (
    SELECT issue_id, at, kind, details FROM events
    WHERE id > (SELECT folded FROM rollup_cursor) AND +kind IN ('sla_met', 'breached')
    UNION ALL
    SELECT ev.issue_id, ev.at, ev.kind, ev.details FROM rollup_dirty d JOIN events ev
      ON ev.kind IN ('sla_met', 'breached')
     AND ev.at >= d.hour * 3600000 AND ev.at < (d.hour + 1) * 3600000
    WHERE ev.id <= (SELECT folded FROM rollup_cursor)) e
JOIN issues i ON i.id = e.issue_id
WHERE json_valid(e.details)
GROUP BY h, i.chain, p, t
ON CONFLICT (hour, chain, priority, target) DO UPDATE
  SET met = rollup_sla.met + excluded.met, breached = rollup_sla.breached + excluded.breached;

INSERT INTO rollup_paged (hour, chain, kind, ids)
SELECT e.at / 3600000 - (e.at % 3600000 < 0) AS h, i.chain, CASE WHEN e.kind = 'breached' THEN 1 ELSE 0 END AS k,
  group_concat(DISTINCT e.issue_id)
FROM (
    SELECT issue_id, at, kind, level FROM events
    WHERE id > (SELECT folded FROM rollup_cursor) AND +kind IN ('escalated', 'breached')
    UNION ALL
    SELECT ev.issue_id, ev.at, ev.kind, ev.level FROM rollup_dirty d JOIN events ev
      ON ev.kind IN ('escalated', 'breached')
     AND ev.at >= d.hour * 3600000 AND ev.at < (d.hour + 1) * 3600000
    WHERE ev.id <= (SELECT folded FROM rollup_cursor)) e
JOIN issues i ON i.id = e.issue_id
WHERE (e.kind = 'escalated' AND e.level >= 2) OR e.kind = 'breached'
GROUP BY h, i.chain, k
ON CONFLICT (hour, chain, kind) DO UPDATE SET ids = rollup_paged.ids || ',' || excluded.ids;

WITH m AS (
    SELECT e.at / 3600000 - (e.at % 3600000 < 0) AS h, i.chain AS chain,
      coalesce('=' || i.priority, '') AS p, e.issue_id, e.at, e.kind, e.level, e.stay_at,
      e.stay_level
    FROM (
        SELECT issue_id, at, kind, level, stay_at, stay_level FROM events
        WHERE id > (SELECT folded FROM rollup_cursor) AND mark IS NOT NULL
          AND +kind IN ('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved')
        UNION ALL
        SELECT ev.issue_id, ev.at, ev.kind, ev.level, ev.stay_at, ev.stay_level
        FROM rollup_dirty d JOIN events ev
          ON ev.kind IN ('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved')
         AND ev.at >= d.hour * 3600000 AND ev.at < (d.hour + 1) * 3600000
        WHERE ev.id <= (SELECT folded FROM rollup_cursor) AND ev.mark IS NOT NULL) e
    JOIN issues i ON i.id = e.issue_id),
ends AS (
    SELECT h, chain, p, stay_level AS lvl,
      CASE WHEN kind = 'resolved' THEN 2
           WHEN kind = 'escalated' AND level > stay_level THEN 1 ELSE 0 END AS how,
      stay_at, at, NULL AS issue
    FROM m WHERE stay_at IS NOT NULL AND stay_level IS NOT NULL
    UNION ALL
    SELECT h, chain, p, level, -1, NULL, NULL, issue_id
    FROM m WHERE level IS NOT NULL AND kind <> 'resolved')
INSERT INTO rollup_stays (hour, chain, priority, level, escalated, resolved, ended, spans, began)
SELECT h, chain, p, lvl, sum(how = 1), sum(how = 2), sum(how >= 0),
  coalesce(group_concat(CASE WHEN how > 0 THEN stay_at || ':' || at END), ''),
  coalesce(group_concat(issue), '')
FROM ends WHERE true
GROUP BY h, chain, p, lvl
ON CONFLICT (hour, chain, priority, level) DO UPDATE SET
  escalated = rollup_stays.escalated + excluded.escalated,
  resolved = rollup_stays.resolved + excluded.resolved,
  ended = rollup_stays.ended + excluded.ended,
  spans = CASE WHEN excluded.spans = '' THEN rollup_stays.spans
          WHEN rollup_stays.spans = '' THEN excluded.spans
          ELSE rollup_stays.spans || ',' || excluded.spans END,
  began = CASE WHEN excluded.began = '' THEN rollup_stays.began
          WHEN rollup_stays.began = '' THEN excluded.began
          ELSE rollup_stays.began || ',' || excluded.began END;

INSERT OR IGNORE INTO rollup_changed (issue_id)
SELECT issue_id FROM events WHERE id > (SELECT folded FROM rollup_cursor);

INSERT INTO rollup_open_counts (chain, max_level, level, hour, n)
SELECT chain, max_level, level, created_at / 3600000 - (created_at % 3600000 < 0) AS h,
  -count(*)
FROM rollup_open WHERE issue_id IN (SELECT issue_id FROM rollup_changed)
GROUP BY chain, max_level, level, h
ON CONFLICT (hour, chain, max_level, level) DO UPDATE SET n = rollup_open_counts.n + excluded.n;

DELETE FROM rollup_open WHERE issue_id IN (SELECT issue_id FROM rollup_changed);

INSERT INTO rollup_open (issue_id, chain, max_level, level, created_at)
SELECT id, chain, max_level, level, created_at FROM issues
WHERE id IN (SELECT issue_id FROM rollup_changed) AND resolved_at IS NULL;

INSERT INTO rollup_open_counts (chain, max_level, level, hour, n)
SELECT chain, max_level, level, created_at / 3600000 - (created_at % 3600000 < 0) AS h,
  count(*)
FROM rollup_open WHERE issue_id IN (SELECT issue_id FROM rollup_changed)
GROUP BY chain, max_level, level, h
ON CONFLICT (hour, chain, max_level, level) DO UPDATE SET n = rollup_open_counts.n + excluded.n;

DELETE FROM rollup_open_counts WHERE n = 0;
DELETE FROM rollup_changed;
DELETE FROM rollup_dirty;
UPDATE rollup_cursor SET folded = (SELECT coalesce(max(id), 0) FROM events);
