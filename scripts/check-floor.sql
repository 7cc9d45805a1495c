-- The writes of one `check` done as set-based SQL by the sqlite3 shell,
-- with no decision, no formatting and no process of ours: the floor under
-- `check` on this machine for the same rows. Per due issue: an `escalated`
-- event, an outbox row, the issue's level/owner/due update, the lease and
-- the sent record on the outbox row, and a `notified` event, all in one
-- transaction (as `check` writes them; `check` commits twice). NOW_MS is
-- replaced by scripts/check-floor.sh. Not used by escalate itself.
PRAGMA synchronous = FULL;
PRAGMA cache_size = -16000;
PRAGMA ignore_check_constraints = 1;
BEGIN;
CREATE TEMP TABLE due AS SELECT id, level FROM issues WHERE next_due_at <= NOW_MS;
INSERT INTO events (issue_id, at, kind, level, actor, details, mark, stay_at, stay_level)
  SELECT id, NOW_MS, 'escalated', level + 1, 'escalate',
         '{"from":1,"role":"support","to":2}', 123456789, NOW_MS - 3600000, level FROM due;
INSERT INTO outbox (issue_id, notice, epoch, level, repeat, role, channel, target, due_at,
                    created_at, next_attempt_at)
  SELECT id, 'page', 0, level + 1, 0, 'support', 'console', '', NOW_MS, NOW_MS, NOW_MS FROM due;
UPDATE issues SET level = level + 1, next_due_at = next_due_at + 3600000, owner = 'x'
  WHERE id IN (SELECT id FROM due);
UPDATE outbox SET lease_until = NOW_MS + 30000, lease_owner = 'floor' WHERE status = 'pending';
UPDATE outbox SET status = 'sent', sent_at = NOW_MS + 1, attempts = attempts + 1
  WHERE status = 'pending';
INSERT INTO events (issue_id, at, kind, level, actor, details)
  SELECT id, NOW_MS + 1, 'notified', level + 1, 'escalate', '{"channel":"console"}' FROM due;
COMMIT;
