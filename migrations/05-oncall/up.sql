-- 05-oncall: on-call overrides, and the person an outbox row pages.
-- An override puts `person` on call for `role` in [from_at, until_at). Rows
-- are never deleted: a cancelled override keeps who made and who cancelled
-- it, so the table is its own audit trail.
CREATE TABLE oncall_overrides (
    id            INTEGER PRIMARY KEY,
    role          TEXT    NOT NULL,
    person        TEXT    NOT NULL,
    from_at       INTEGER NOT NULL,
    until_at      INTEGER NOT NULL CHECK (until_at > from_at),
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    cancelled_by  TEXT,
    cancelled_at  INTEGER
);
CREATE INDEX oncall_overrides_live ON oncall_overrides (role, until_at)
    WHERE cancelled_at IS NULL;

-- The on-call person a page was resolved to (NULL: a role's own contacts,
-- or a page no rotation governs). Messages name and mention them.
ALTER TABLE outbox ADD COLUMN person TEXT;
