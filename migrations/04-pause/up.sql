-- 04-pause: pausing an issue (waiting on the customer, snoozed). While
-- paused, escalation takes no step due after `esc_hold_at` and each SLA
-- clock with a `*_hold_at` stops there; on resume the open calendar time
-- the pause lasted is added to `esc_held_ms` (later steps move by it) and
-- to `sla_held_ms` (re-evaluations from creation add it back). `paused_*`
-- describe the running pause for people: since when, until when, why, who.

ALTER TABLE issues ADD COLUMN esc_hold_at         INTEGER;
ALTER TABLE issues ADD COLUMN esc_held_ms         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN sla_held_ms         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN response_hold_at    INTEGER;
ALTER TABLE issues ADD COLUMN resolution_hold_at  INTEGER;
ALTER TABLE issues ADD COLUMN paused_at           INTEGER;
ALTER TABLE issues ADD COLUMN paused_until        INTEGER;
ALTER TABLE issues ADD COLUMN pause_reason        TEXT;
ALTER TABLE issues ADD COLUMN paused_by           TEXT;

-- The digest's "paused for long" list reads the oldest pauses first.
CREATE INDEX issues_paused ON issues (paused_at) WHERE paused_at IS NOT NULL;
