-- `outbox_issue` indexed `outbox (issue_id)`, which the unique key
-- (issue_id, notice, epoch, level, repeat, role, channel, target) already
-- leads with: every lookup by issue (cancelling an issue's pending
-- notifications, its task request, its rows for `show`) uses that key's
-- index as well. Dropping it saves one B-tree insert per outbox row: 1.5 %
-- of a check's instructions (10,000 escalations), and a little of every
-- command's schema parse.
DROP INDEX IF EXISTS outbox_issue;
