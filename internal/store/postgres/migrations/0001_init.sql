-- Ostiary schema, PostgreSQL flavour. Every index leads with tenant_id, so a
-- tenant's rows are one contiguous range and the number of tenants does not
-- slow any lookup down. Times are Unix microseconds (UTC). Text columns use
-- COLLATE "C": comparisons, prefix ranges and sort order are byte order, as
-- in SQLite, whatever the database's locale.

CREATE TABLE tenants (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    data       JSONB  NOT NULL
);

CREATE TABLE objects (
    tenant_id         TEXT COLLATE "C" NOT NULL, -- '' for server-wide objects
    kind              TEXT COLLATE "C" NOT NULL,
    id                TEXT COLLATE "C" NOT NULL,
    key               TEXT COLLATE "C" NOT NULL DEFAULT '',
    key_fold          TEXT COLLATE "C" NOT NULL DEFAULT '',
    display_name      TEXT COLLATE "C" NOT NULL DEFAULT '',
    display_name_fold TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    deleted_at        BIGINT,
    data              JSONB,
    secret            BYTEA,
    PRIMARY KEY (tenant_id, kind, id)
);

-- Links name objects by id alone; this finds an id whatever its kind.
CREATE INDEX objects_tenant_id ON objects (tenant_id, id);
CREATE INDEX objects_name ON objects (tenant_id, kind, display_name_fold, id);
CREATE INDEX objects_created ON objects (tenant_id, kind, created_at, id);
CREATE UNIQUE INDEX objects_key ON objects (tenant_id, kind, key_fold)
    WHERE key_fold <> '' AND deleted_at IS NULL;
-- Kinds in store.GlobalKeyKinds: a verified domain belongs to one tenant.
CREATE UNIQUE INDEX objects_global_key ON objects (kind, key_fold)
    WHERE kind = 'domain' AND key_fold <> '' AND deleted_at IS NULL;

CREATE TABLE links (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    rel        TEXT COLLATE "C" NOT NULL,
    source_id  TEXT COLLATE "C" NOT NULL,
    target_id  TEXT COLLATE "C" NOT NULL,
    qualifier  TEXT COLLATE "C" NOT NULL DEFAULT '',
    id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    data       JSONB,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, rel, source_id, target_id, qualifier)
);

-- (tenant, target, rel) serves both "who links to X by rel" and, with the
-- source index, removing every link of a deleted object whatever its rel.
CREATE INDEX links_target ON links (tenant_id, target_id, rel);
CREATE INDEX links_source ON links (tenant_id, source_id);
CREATE UNIQUE INDEX links_id ON links (tenant_id, rel, id) WHERE id <> '';

CREATE TABLE locks (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner      TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
