-- 10-rollups: per-hour rollups of the report's SLA outcomes and of the
-- issues paged above level 1 or breached (store/rollups.rs), so a report
-- reads a few rows per hour of its window instead of every SLA event and
-- escalation in it (on a million issues each of those passes took ~1 s).
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
  AND +e.kind IN ('escalated', 'breached', 'sla_met');

DELETE FROM rollup_sla WHERE hour IN (SELECT hour FROM rollup_dirty);
DELETE FROM rollup_paged WHERE hour IN (SELECT hour FROM rollup_dirty);

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
  SET met = met + excluded.met, breached = breached + excluded.breached;

INSERT INTO rollup_paged (hour, chain, kind, ids)
SELECT e.at / 3600000 - (e.at % 3600000 < 0) AS h, i.chain, e.kind = 'breached' AS k,
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
ON CONFLICT (hour, chain, kind) DO UPDATE SET ids = ids || ',' || excluded.ids;

DELETE FROM rollup_dirty;
UPDATE rollup_cursor SET folded = (SELECT coalesce(max(id), 0) FROM events);
