-- Ostiary schema, SQLite flavour. Every index leads with tenant_id, so a
-- tenant's rows are one contiguous range and the number of tenants does not
-- slow any lookup down. Times are Unix microseconds (UTC).

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    data       TEXT    NOT NULL
);

CREATE TABLE objects (
    tenant_id         TEXT    NOT NULL, -- '' for server-wide objects
    kind              TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    key               TEXT    NOT NULL DEFAULT '',
    key_fold          TEXT    NOT NULL DEFAULT '',
    display_name      TEXT    NOT NULL DEFAULT '',
    display_name_fold TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    deleted_at        INTEGER,
    data              TEXT,
    secret            BLOB,
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
    tenant_id  TEXT    NOT NULL,
    rel        TEXT    NOT NULL,
    source_id  TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    qualifier  TEXT    NOT NULL DEFAULT '',
    id         TEXT    NOT NULL DEFAULT '',
    data       TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, rel, source_id, target_id, qualifier)
);

-- (tenant, target, rel) serves both "who links to X by rel" and, with the
-- source index, removing every link of a deleted object whatever its rel.
CREATE INDEX links_target ON links (tenant_id, target_id, rel);
CREATE INDEX links_source ON links (tenant_id, source_id);
CREATE UNIQUE INDEX links_id ON links (tenant_id, rel, id) WHERE id <> '';

CREATE TABLE locks (
    name       TEXT    NOT NULL PRIMARY KEY,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
