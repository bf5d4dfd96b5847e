-- Indexes that answer more from the index alone. Without them a planner
-- without statistics (SQLite before ANALYZE) chose badly, and counting the
-- matches of a prefix search touched every matching row.

-- Sorted listings and prefix searches: deleted_at trails so the scope test
-- (live or deleted) is answered from the index.
DROP INDEX objects_name;
CREATE INDEX objects_name ON objects (tenant_id, kind, display_name_fold, id, deleted_at);
DROP INDEX objects_created;
CREATE INDEX objects_created ON objects (tenant_id, kind, created_at, id, deleted_at);

-- Finding an id whatever its kind also answers "is it live" (each step of
-- Transitive).
DROP INDEX objects_tenant_id;
CREATE INDEX objects_tenant_id ON objects (tenant_id, id, deleted_at);

-- "Who links to X by rel" becomes covering, so it is preferred to the
-- primary key, which only narrows by (tenant_id, rel).
DROP INDEX links_target;
CREATE INDEX links_target ON links (tenant_id, target_id, rel, source_id);
