-- 12-breaches: the window's SLA breaches, for the report's worst
-- breaches (store/report.rs, `worst_breaches`), without reading the
-- events' rows. Through `events_kind_at` the report read every breached
-- event's row of the window to check and parse its JSON details
-- (json_valid, json_extract) and fetched every breached issue's title;
-- this index holds each breach's time, issue and target (already
-- extracted), in time order, so the report's pass over a window's
-- breaches reads this index alone.
--
-- Partial: only `breached` events (one per SLA target an issue misses),
-- so `check` pays for it only when it records a breach. `kind` leads
-- although it is constant: SQLite counts an index as covering only when
-- it holds every column the query names, and the query must name `kind`
-- for the partial index to apply (a `json_valid(details)` in the
-- index's WHERE would make it read `details` from every row). Details
-- that are not JSON give a NULL target (json_extract would fail on
-- them, and the insert with it). The report's query names the index
-- (INDEXED BY): a plan that no longer uses it is an error, not a silent
-- slowdown.
CREATE INDEX events_breached
    ON events (kind, at, issue_id,
               CASE WHEN json_valid(details) THEN json_extract(details, '$.target') END)
    WHERE kind = 'breached';
