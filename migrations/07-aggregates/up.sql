-- 07-aggregates: the report's per-level stays, kept on the event log as it
-- grows (store/stays.rs, when the event is appended) instead of being
-- recomputed from every event of every issue open in the window: on a
-- million open issues that recomputation took most of a report's
-- 14-50 s. A *stay* is the span an issue spent at one level: it begins
-- with `created`, `reopened`, `moved`, `capped` or an `escalated` to
-- another level than the previous level event's (a page at the same level
-- is a repeat), and ends at the next of those or at `resolved`.
--
-- Each such *mark* says so in `mark` (NULL for any other event) and names
-- the stay it ends: when it began (`stay_at`) and at which level
-- (`stay_level`); NULL when none was going on. `mark` packs what the next
-- mark needs to know of this one, its time, level and whether it begins a
-- stay: at * 65536 + level * 2 + begins (level 0: none; a config allows
-- 100 levels), so reading it off the index below touches no event row. So a report finds the stays that ended in its window
-- through `events_kind_at`, with their starts, and no other table or
-- index is written: an earlier attempt kept stays in tables of their own
-- and made `check` slower (BENCHMARKS.md, "Tried and not merged"; a first
-- version of this one, with a stays table and the ongoing stay on the
-- issue row, cost 21 % more instructions per check).
ALTER TABLE events ADD COLUMN mark       INTEGER;
ALTER TABLE events ADD COLUMN stay_at    INTEGER;
ALTER TABLE events ADD COLUMN stay_level INTEGER;

-- Appending a level event reads the issue's last mark: walking back
-- through `events_issue` with `mark` in the entries touches no event row
-- (the entries in between are its pages and SLA events). Same leading
-- columns, so every other use of the index stays.
DROP INDEX events_issue;

-- backfill (store::stays::rebuild runs what follows, too)
UPDATE events SET mark = m.mark, stay_at = m.stay_at, stay_level = m.stay_level
FROM (
    WITH ev AS (
        SELECT issue_id, id, at, kind, level,
          lag(level) OVER (PARTITION BY issue_id ORDER BY at, id) AS prev_level
        FROM events
        WHERE kind IN ('created', 'escalated', 'resolved', 'reopened', 'capped', 'moved')),
    marks AS (
        SELECT * FROM ev WHERE NOT (kind = 'escalated' AND level IS prev_level))
    SELECT id,
      at * 65536 + coalesce(level, 0) * 2 + (kind <> 'resolved' AND level IS NOT NULL) AS mark,
      CASE WHEN lag(kind) OVER w <> 'resolved' AND lag(level) OVER w IS NOT NULL
           THEN lag(at) OVER w END AS stay_at,
      CASE WHEN lag(kind) OVER w <> 'resolved' AND lag(level) OVER w IS NOT NULL
           THEN lag(level) OVER w END AS stay_level
    FROM marks WINDOW w AS (PARTITION BY issue_id ORDER BY at, id)) AS m
WHERE events.id = m.id;

CREATE INDEX IF NOT EXISTS events_issue ON events (issue_id, id, mark);
