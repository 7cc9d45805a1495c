-- 06-serve: action links that were used (`escalate serve`). A link works
-- once: its MAC is the key, with what it did and for whom, so a second
-- click (or a mail scanner's replay of the POST) is told who acted.
CREATE TABLE used_links (
    mac       TEXT    PRIMARY KEY,
    issue_id  INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    used_at   INTEGER NOT NULL
) WITHOUT ROWID;
