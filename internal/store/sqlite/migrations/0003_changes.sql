-- The change feed (store.Change): one row per committed write of a fed
-- object kind or link relationship. AUTOINCREMENT, so a number is never
-- reused after the rows before it are pruned.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT    NOT NULL,
    kind      TEXT    NOT NULL DEFAULT '',
    id        TEXT    NOT NULL,
    rel       TEXT    NOT NULL DEFAULT '',
    target_id TEXT    NOT NULL DEFAULT '',
    at        INTEGER NOT NULL
);
CREATE INDEX changes_at ON changes (at);
