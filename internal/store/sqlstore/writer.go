package sqlstore

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Writes never let a statement fail on a unique constraint: inserts use
// ON CONFLICT DO NOTHING and updates check keys first. On PostgreSQL a failed
// statement aborts the whole transaction, and a closure that handles a
// Conflict (say, by trying another name) must still be able to continue.

// fold is the case folding of keys and display names, done in Go so that
// both engines store and index exactly the same bytes.
func fold(s string) string { return strings.ToLower(s) }

// kindLiteral spells a kind defined in this codebase as an SQL literal. The
// partial index on global keys is declared for a literal kind, and a planner
// can only use it for a statement that names the same literal.
func kindLiteral(k iam.Kind) string {
	if !propertyName.MatchString(string(k)) {
		panic("sqlstore: kind " + string(k) + " is not an identifier")
	}
	return "'" + string(k) + "'"
}

// kindEq appends "col = <kind>": the kind as a literal when it is an
// identifier (every kind this codebase defines), else as a placeholder.
// SQLite marks a prepared statement whose "kind = ?" could match the
// partial index declared for kind = 'domain' as depending on that
// parameter, and then compiles it again after every bind, which cost a
// third of each cached read; with the literal the plan is fixed.
func (b *builder) kindEq(col string, k iam.Kind) *builder {
	if propertyName.MatchString(string(k)) {
		return b.sql(col, " = '", string(k), "'")
	}
	return b.sql(col, " = ").arg(string(k))
}

func globalKey(k iam.Kind) bool { return slices.Contains(store.GlobalKeyKinds, k) }

func (t *tx) CreateTenant(tn iam.Tenant) error {
	if tn.ID == "" {
		return errs.E(errs.Invalid, "A tenant needs an id.")
	}
	data, err := json.Marshal(tn)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "Encoding the tenant failed.")
	}
	b := newBuilder(t.d)
	b.sql("INSERT INTO tenants (id, created_at, data) VALUES (").arg(tn.ID).sql(", ").
		arg(micros(tn.CreatedDateTime)).sql(", ").arg(t.d.DocArg(data)).sql(") ON CONFLICT DO NOTHING")
	n, err := t.exec(b, "Creating the tenant failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.Conflict, "Tenant %q already exists.", tn.ID)
	}
	return nil
}

func (t *tx) UpdateTenant(tn iam.Tenant) error {
	data, err := json.Marshal(tn)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "Encoding the tenant failed.")
	}
	b := newBuilder(t.d)
	b.sql("UPDATE tenants SET created_at = ").arg(micros(tn.CreatedDateTime)).
		sql(", data = ").arg(t.d.DocArg(data)).sql(" WHERE id = ").arg(tn.ID)
	n, err := t.exec(b, "Updating the tenant failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.NotFound, "Tenant %q does not exist.", tn.ID)
	}
	return nil
}

func validObject(o store.Object) error {
	if o.Kind == "" || o.ID == "" {
		return errs.E(errs.Invalid, "An object needs a kind and an id.")
	}
	return validDoc(o.Data)
}

// validDoc refuses a document that is not JSON. Checked here, a bad
// document is the writer's Invalid; stored, it would make every later JSON
// filter over its kind fail (SQLite parses documents at query time).
func validDoc(b []byte) error {
	if len(b) > 0 && !json.Valid(b) {
		return errs.E(errs.Invalid, "The document is not valid JSON.")
	}
	return nil
}

func (t *tx) Insert(o store.Object) error {
	if err := validObject(o); err != nil {
		return err
	}
	b := newBuilder(t.d)
	b.sql("INSERT INTO objects (tenant_id, kind, id, key, key_fold, display_name, display_name_fold,",
		" created_at, deleted_at, data, secret) VALUES (").
		arg(o.TenantID).sql(", ").arg(string(o.Kind)).sql(", ").arg(o.ID).sql(", ").
		arg(o.Key).sql(", ").arg(fold(o.Key)).sql(", ").arg(o.DisplayName).sql(", ").arg(fold(o.DisplayName)).sql(", ").
		arg(micros(o.CreatedAt)).sql(", ").arg(nullMicros(o.DeletedAt)).sql(", ").
		arg(t.docArg(o.Data)).sql(", ").arg(bytesArg(o.Secret)).sql(") ON CONFLICT DO NOTHING")
	n, err := t.exec(b, "Creating the object failed.")
	if err != nil {
		return err
	}
	if n > 0 {
		return t.feedObject(o.TenantID, o.Kind, o.ID)
	}
	// Say which rule the object broke.
	b = newBuilder(t.d)
	b.sql("SELECT 1 FROM objects o WHERE o.tenant_id = ").arg(o.TenantID).
		sql(" AND o.kind = ").arg(string(o.Kind)).sql(" AND o.id = ").arg(o.ID)
	idTaken, err := t.exists(b, "Creating the object failed.")
	if err != nil {
		return err
	}
	if idTaken {
		return errs.E(errs.Conflict, "An object with id '%s' already exists.", o.ID)
	}
	return keyTaken(o)
}

func keyTaken(o store.Object) error {
	return errs.E(errs.Conflict, "Another object already uses the value '%s' for %s.", o.Key, keyName(o.Kind))
}

func keyName(k iam.Kind) string {
	if p, ok := store.KeyPath[k]; ok {
		return p
	}
	return "its key"
}

// Update checks the key first (see the note at the top of this file): a
// live object with a key must not collide with another live object of its
// kind in the tenant or, for global kinds, anywhere.
func (t *tx) Update(o store.Object) error {
	if err := validObject(o); err != nil {
		return err
	}
	if k := fold(o.Key); k != "" && o.DeletedAt.IsZero() {
		b := newBuilder(t.d)
		b.sql("SELECT 1 FROM objects o WHERE o.tenant_id = ").arg(o.TenantID).
			sql(" AND o.kind = ").arg(string(o.Kind)).sql(" AND o.key_fold = ").arg(k).
			sql(" AND o.key_fold <> '' AND o.deleted_at IS NULL AND o.id <> ").arg(o.ID)
		taken, err := t.exists(b, "Updating the object failed.")
		if err != nil {
			return err
		}
		if !taken && globalKey(o.Kind) {
			b = newBuilder(t.d)
			b.sql("SELECT 1 FROM objects o WHERE o.kind = ", kindLiteral(o.Kind), " AND o.key_fold = ").arg(k).
				sql(" AND o.key_fold <> '' AND o.deleted_at IS NULL AND o.tenant_id <> ").arg(o.TenantID)
			if taken, err = t.exists(b, "Updating the object failed."); err != nil {
				return err
			}
		}
		if taken {
			return keyTaken(o)
		}
	}
	b := newBuilder(t.d)
	b.sql("UPDATE objects SET key = ").arg(o.Key).sql(", key_fold = ").arg(fold(o.Key)).
		sql(", display_name = ").arg(o.DisplayName).sql(", display_name_fold = ").arg(fold(o.DisplayName)).
		sql(", created_at = ").arg(micros(o.CreatedAt)).sql(", deleted_at = ").arg(nullMicros(o.DeletedAt)).
		sql(", data = ").arg(t.docArg(o.Data)).sql(", secret = ").arg(bytesArg(o.Secret)).
		sql(" WHERE tenant_id = ").arg(o.TenantID).sql(" AND kind = ").arg(string(o.Kind)).sql(" AND id = ").arg(o.ID)
	n, err := t.exec(b, "Updating the object failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(o.Kind, o.ID)
	}
	return t.feedObject(o.TenantID, o.Kind, o.ID)
}

// Delete removes the object and, unless an object of another kind still
// has the same id in the tenant, every link to or from the id.
func (t *tx) Delete(tenantID string, kind iam.Kind, id string) error {
	b := newBuilder(t.d)
	b.sql("DELETE FROM objects WHERE tenant_id = ").arg(tenantID).sql(" AND kind = ").arg(string(kind)).
		sql(" AND id = ").arg(id)
	n, err := t.exec(b, "Deleting the object failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(kind, id)
	}
	// The entry stands for the links that go with the object too: a
	// reader re-reads the object's memberships.
	if err := t.feedObject(tenantID, kind, id); err != nil {
		return err
	}
	b = newBuilder(t.d)
	b.sql("SELECT 1 FROM objects o WHERE o.tenant_id = ").arg(tenantID).sql(" AND o.id = ").arg(id)
	shared, err := t.exists(b, "Deleting the object failed.")
	if err != nil || shared {
		return err
	}
	for _, col := range []string{"source_id", "target_id"} {
		b = newBuilder(t.d)
		b.sql("DELETE FROM links WHERE tenant_id = ").arg(tenantID).sql(" AND ", col, " = ").arg(id)
		if _, err := t.exec(b, "Deleting the object's links failed."); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) AddLink(l store.Link) error {
	if l.Rel == "" || l.SourceID == "" || l.TargetID == "" {
		return errs.E(errs.Invalid, "A link needs a relationship, a source and a target.")
	}
	if err := validDoc(l.Data); err != nil {
		return err
	}
	for _, id := range []string{l.SourceID, l.TargetID} {
		b := newBuilder(t.d)
		b.sql("SELECT 1 FROM objects o WHERE o.tenant_id = ").arg(l.TenantID).sql(" AND o.id = ").arg(id)
		ok, err := t.exists(b, "Adding the link failed.")
		if err != nil {
			return err
		}
		if !ok {
			return notFound("", id)
		}
	}
	b := newBuilder(t.d)
	b.sql("INSERT INTO links (", linkCols, ") VALUES (").arg(l.TenantID).sql(", ").arg(string(l.Rel)).sql(", ").
		arg(l.SourceID).sql(", ").arg(l.TargetID).sql(", ").arg(l.Qualifier).sql(", ").arg(l.ID).sql(", ").
		arg(t.docArg(l.Data)).sql(", ").arg(micros(l.CreatedAt)).sql(") ON CONFLICT DO NOTHING")
	n, err := t.exec(b, "Adding the link failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.Conflict, "The link already exists.")
	}
	return t.feedLink(l.TenantID, l.Rel, l.SourceID, l.TargetID)
}

func (t *tx) RemoveLink(tenantID string, rel iam.Rel, sourceID, targetID, qualifier string) error {
	b := newBuilder(t.d)
	b.sql("DELETE FROM links WHERE tenant_id = ").arg(tenantID).sql(" AND rel = ").arg(string(rel)).
		sql(" AND source_id = ").arg(sourceID).sql(" AND target_id = ").arg(targetID).
		sql(" AND qualifier = ").arg(qualifier)
	n, err := t.exec(b, "Removing the link failed.")
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.NotFound, "The link does not exist.")
	}
	return t.feedLink(tenantID, rel, sourceID, targetID)
}
