package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// tx is the Reader and Writer of one transaction.
type tx struct {
	db  *DB
	d   Dialect
	ctx context.Context
	tx  *sql.Tx
	// stmts is set on a store that caches the statements of this kind of
	// transaction.
	stmts *stmtCache
}

var _ store.Writer = (*tx)(nil)

func (t *tx) wrap(err error, msg string) error { return t.db.wrap(err, msg) }

func (t *tx) exec(b *builder, msg string) (int64, error) {
	res, err := t.execText(b.String(), b.args...)
	if err != nil {
		return 0, t.wrap(err, msg)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.wrap(err, msg)
	}
	return n, nil
}

func (t *tx) query(b *builder, msg string) (*sql.Rows, error) {
	rows, err := t.queryRows(b.String(), b.args...)
	if err != nil {
		return nil, t.wrap(err, msg)
	}
	return rows, nil
}

// exists runs a "SELECT 1 ..." statement and reports whether it had a row.
func (t *tx) exists(b *builder, msg string) (bool, error) {
	var one int
	err := t.queryRow(b.String(), b.args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, t.wrap(err, msg)
	}
	return true, nil
}

func micros(tm time.Time) int64 { return tm.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(tm time.Time) any {
	if tm.IsZero() {
		return nil
	}
	return tm.UnixMicro()
}

// bytesArg keeps nil as SQL NULL and an empty slice as an empty value.
func bytesArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// docArg stores an empty document as NULL (neither engine has an empty
// JSON value), so it reads back as nil.
func (t *tx) docArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return t.d.DocArg(b)
}

// ---- tenants ----

const tenantCols = "id, created_at, data"

func scanTenant(s interface{ Scan(...any) error }) (iam.Tenant, error) {
	var (
		tn   iam.Tenant
		id   string
		at   int64
		data []byte
	)
	if err := s.Scan(&id, &at, &data); err != nil {
		return tn, err
	}
	if err := json.Unmarshal(data, &tn); err != nil {
		return tn, err
	}
	tn.ID = id
	tn.CreatedDateTime = fromMicros(at)
	return tn, nil
}

func (t *tx) Tenant(id string) (iam.Tenant, error) {
	b := newBuilder(t.d)
	b.sql("SELECT ", tenantCols, " FROM tenants WHERE id = ").arg(id)
	tn, err := scanTenant(t.queryRow(b.String(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return tn, errs.E(errs.NotFound, "Tenant %q does not exist.", id)
	}
	if err != nil {
		return tn, t.wrap(err, "Reading the tenant failed.")
	}
	return tn, nil
}

// TenantByDomain looks the name up in the global key index of domain
// objects; only a live, verified domain resolves.
func (t *tx) TenantByDomain(name string) (iam.Tenant, error) {
	b := newBuilder(t.d)
	b.sql("SELECT t.id, t.created_at, t.data FROM objects o JOIN tenants t ON t.id = o.tenant_id",
		" WHERE o.kind = ", kindLiteral(iam.KindDomain), " AND o.key_fold = ").arg(fold(name)).
		sql(" AND o.key_fold <> '' AND o.deleted_at IS NULL AND ",
			t.d.JSON(JSONDoc{Expr: "o.data"}, []string{"isVerified"}, query.Bool), " = ").arg(true)
	tn, err := scanTenant(t.queryRow(b.String(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return tn, errs.E(errs.NotFound, "No tenant has the verified domain %q.", name)
	}
	if err != nil {
		return tn, t.wrap(err, "Reading the tenant failed.")
	}
	return tn, nil
}

func (t *tx) Tenants(afterID string, limit int) ([]iam.Tenant, error) {
	if limit <= 0 {
		limit = query.DefaultTop
	}
	b := newBuilder(t.d)
	b.sql("SELECT ", tenantCols, " FROM tenants WHERE id > ").arg(afterID).sql(" ORDER BY id LIMIT ").arg(limit)
	rows, err := t.query(b, "Listing tenants failed.")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []iam.Tenant
	for rows.Next() {
		tn, err := scanTenant(rows)
		if err != nil {
			return nil, t.wrap(err, "Listing tenants failed.")
		}
		out = append(out, tn)
	}
	if err := rows.Err(); err != nil {
		return nil, t.wrap(err, "Listing tenants failed.")
	}
	return out, nil
}

// ---- objects ----

const objectCols = "o.tenant_id, o.kind, o.id, o.key, o.display_name, o.created_at, o.deleted_at, o.data, o.secret"

// scanObject reads objectCols followed by extra destinations.
func scanObject(s interface{ Scan(...any) error }, extra ...any) (store.Object, error) {
	var (
		o       store.Object
		kind    string
		created int64
		deleted sql.NullInt64
	)
	dest := append([]any{&o.TenantID, &kind, &o.ID, &o.Key, &o.DisplayName, &created, &deleted, &o.Data, &o.Secret}, extra...)
	if err := s.Scan(dest...); err != nil {
		return o, err
	}
	o.Kind = iam.Kind(kind)
	o.CreatedAt = fromMicros(created)
	if deleted.Valid {
		o.DeletedAt = fromMicros(deleted.Int64)
	}
	return o, nil
}

func (t *tx) scanObjects(b *builder, msg string) ([]store.Object, error) {
	rows, err := t.query(b, msg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, t.wrap(err, msg)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, t.wrap(err, msg)
	}
	return out, nil
}

// kindsIn appends "o.kind IN (...)"; kind "" or no kinds mean every
// directory kind.
func kindsIn(b *builder, kinds []iam.Kind) {
	if len(kinds) == 0 {
		kinds = iam.DirectoryKinds
	}
	ks := make([]string, len(kinds))
	for i, k := range kinds {
		ks[i] = string(k)
	}
	b.sql("o.kind IN ").list(ks)
}

func (t *tx) Get(tenantID string, kind iam.Kind, id string) (store.Object, error) {
	b := newBuilder(t.d)
	b.sql("SELECT ", objectCols, " FROM objects o WHERE o.tenant_id = ").arg(tenantID).sql(" AND ")
	if kind == "" {
		kindsIn(b, nil)
	} else {
		b.kindEq("o.kind", kind)
	}
	b.sql(" AND o.id = ").arg(id).sql(" ORDER BY o.kind LIMIT 1")
	o, err := scanObject(t.queryRow(b.String(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, notFound(kind, id)
	}
	if err != nil {
		return o, t.wrap(err, "Reading the object failed.")
	}
	return o, nil
}

func notFound(kind iam.Kind, id string) error {
	if kind == "" {
		kind = "directoryObject"
	}
	return errs.E(errs.NotFound, "Resource '%s' of type %s does not exist.", id, kind)
}

// GetByKey uses the partial unique index on live keys; the redundant
// conditions are spelled out so the planner can prove the index applies.
func (t *tx) GetByKey(tenantID string, kind iam.Kind, key string) (store.Object, error) {
	if key == "" {
		return store.Object{}, notFound(kind, key)
	}
	b := newBuilder(t.d)
	b.sql("SELECT ", objectCols, " FROM objects o WHERE o.tenant_id = ").arg(tenantID).
		sql(" AND ").kindEq("o.kind", kind).sql(" AND o.key_fold = ").arg(fold(key)).
		sql(" AND o.key_fold <> '' AND o.deleted_at IS NULL")
	o, err := scanObject(t.queryRow(b.String(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, notFound(kind, key)
	}
	if err != nil {
		return o, t.wrap(err, "Reading the object failed.")
	}
	return o, nil
}

// getManyChunk keeps each statement well under the engines' parameter limits.
const getManyChunk = 500

func (t *tx) GetMany(tenantID string, ids []string, kinds []iam.Kind) ([]store.Object, error) {
	var out []store.Object
	for len(ids) > 0 {
		n := min(len(ids), getManyChunk)
		chunk := ids[:n]
		ids = ids[n:]
		b := newBuilder(t.d)
		b.sql("SELECT ", objectCols, " FROM objects o WHERE o.tenant_id = ").arg(tenantID).sql(" AND ")
		kindsIn(b, kinds)
		b.sql(" AND o.deleted_at IS NULL AND o.id IN ").list(chunk)
		objs, err := t.scanObjects(b, "Reading objects failed.")
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func (t *tx) List(tenantID string, kind iam.Kind, scope store.Scope, q query.List) (store.Page, error) {
	return t.list([]iam.Kind{kind}, func(b *builder) {
		b.sql("o.tenant_id = ").arg(tenantID).sql(" AND ").kindEq("o.kind", kind)
		if scope == store.DeletedOnly {
			b.sql(" AND o.deleted_at IS NOT NULL")
		} else {
			b.sql(" AND o.deleted_at IS NULL")
		}
	}, q)
}

// ListLinked selects the objects through an IN subquery rather than a join
// so an object linked several times (different qualifiers) appears once.
func (t *tx) ListLinked(tenantID string, rel iam.Rel, dir store.Direction, id string, kinds []iam.Kind, q query.List) (store.Page, error) {
	near, far, err := linkSides(dir)
	if err != nil {
		return store.Page{}, err
	}
	return t.list(kinds, func(b *builder) {
		// Always by kind: a service's own records may share a directory
		// object's id (a user's sign-in state) and must not be listed.
		b.sql("o.tenant_id = ").arg(tenantID).sql(" AND o.deleted_at IS NULL AND ")
		kindsIn(b, kinds)
		b.sql(" AND o.id IN (SELECT l.", far, " FROM links l WHERE l.tenant_id = ").arg(tenantID).
			sql(" AND l.rel = ").arg(string(rel)).sql(" AND l.", near, " = ").arg(id).sql(")")
	}, q)
}

// linkSides returns the column holding the starting id and the column to
// walk to.
func linkSides(dir store.Direction) (near, far string, err error) {
	switch dir {
	case store.Targets:
		return "source_id", "target_id", nil
	case store.Sources:
		return "target_id", "source_id", nil
	}
	return "", "", errs.E(errs.Invalid, "Unknown link direction %d.", dir)
}

// Transitive walks links with a recursive CTE. UNION (not UNION ALL) drops
// ids already reached, which is what makes cycles terminate; each step
// only adds live objects, so a soft-deleted group cuts every path through it.
// "r CROSS JOIN links" makes SQLite drive each step from the ids just
// reached (CROSS JOIN fixes its join order) and seek their links by index,
// instead of scanning every link of the relation; PostgreSQL plans it as
// an ordinary join.
func (t *tx) Transitive(tenantID string, rel iam.Rel, dir store.Direction, id string) ([]string, error) {
	near, far, err := linkSides(dir)
	if err != nil {
		return nil, err
	}
	live := " AND EXISTS (SELECT 1 FROM objects o WHERE o.tenant_id = l.tenant_id AND o.id = l." + far + " AND o.deleted_at IS NULL)"
	b := newBuilder(t.d)
	b.sql("WITH RECURSIVE r(id) AS (SELECT l.", far, " FROM links l WHERE l.tenant_id = ").arg(tenantID).
		sql(" AND l.rel = ").arg(string(rel)).sql(" AND l.", near, " = ").arg(id).sql(live).
		sql(" UNION SELECT l.", far, " FROM r CROSS JOIN links l WHERE l.tenant_id = ").arg(tenantID).
		sql(" AND l.rel = ").arg(string(rel)).sql(" AND l.", near, " = r.id", live).
		sql(") SELECT id FROM r WHERE id <> ").arg(id).sql(" ORDER BY id")
	rows, err := t.query(b, "Expanding links failed.")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, t.wrap(err, "Expanding links failed.")
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, t.wrap(err, "Expanding links failed.")
	}
	return out, nil
}

// ---- links ----

const linkCols = "tenant_id, rel, source_id, target_id, qualifier, id, data, created_at"

func scanLink(s interface{ Scan(...any) error }) (store.Link, error) {
	var (
		l   store.Link
		rel string
		at  int64
	)
	if err := s.Scan(&l.TenantID, &rel, &l.SourceID, &l.TargetID, &l.Qualifier, &l.ID, &l.Data, &at); err != nil {
		return l, err
	}
	l.Rel = iam.Rel(rel)
	l.CreatedAt = fromMicros(at)
	return l, nil
}

func (t *tx) Links(tenantID string, rel iam.Rel, sourceID, targetID string) ([]store.Link, error) {
	if sourceID == "" && targetID == "" {
		return nil, errs.E(errs.Invalid, "Links needs a source or a target.")
	}
	b := newBuilder(t.d)
	b.sql("SELECT ", linkCols, " FROM links WHERE tenant_id = ").arg(tenantID).sql(" AND rel = ").arg(string(rel))
	if sourceID != "" {
		b.sql(" AND source_id = ").arg(sourceID)
	}
	if targetID != "" {
		b.sql(" AND target_id = ").arg(targetID)
	}
	b.sql(" ORDER BY source_id, target_id, qualifier")
	rows, err := t.query(b, "Reading links failed.")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, t.wrap(err, "Reading links failed.")
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, t.wrap(err, "Reading links failed.")
	}
	return out, nil
}

func (t *tx) LinkByID(tenantID string, rel iam.Rel, id string) (store.Link, error) {
	if id == "" {
		return store.Link{}, errs.E(errs.NotFound, "The link does not exist.")
	}
	b := newBuilder(t.d)
	b.sql("SELECT ", linkCols, " FROM links WHERE tenant_id = ").arg(tenantID).
		sql(" AND rel = ").arg(string(rel)).sql(" AND id = ").arg(id).sql(" AND id <> ''")
	l, err := scanLink(t.queryRow(b.String(), b.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return l, errs.E(errs.NotFound, "Resource '%s' does not exist.", id)
	}
	if err != nil {
		return l, t.wrap(err, "Reading the link failed.")
	}
	return l, nil
}
