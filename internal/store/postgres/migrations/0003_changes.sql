-- The change feed (store.Change): one row per committed write of a fed
-- object kind or link relationship. Sequence values are handed out at
-- insert, not at commit, so readers track gaps (see access.Feed).
CREATE TABLE changes (
    seq       BIGSERIAL PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL DEFAULT '',
    id        TEXT COLLATE "C" NOT NULL,
    rel       TEXT COLLATE "C" NOT NULL DEFAULT '',
    target_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    at        BIGINT NOT NULL
);
CREATE INDEX changes_at ON changes (at);
