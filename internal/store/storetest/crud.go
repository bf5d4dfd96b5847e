package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

func testTenants(t *testing.T, s store.Store) {
	a := iam.Tenant{ID: "00000000-0000-0000-0000-00000000000a", DisplayName: "Contoso", InitialDomain: "contoso.onostiary.test", CreatedDateTime: epoch, SecurityDefaults: true}
	b := iam.Tenant{ID: "00000000-0000-0000-0000-00000000000b", DisplayName: "Fabrikam", CreatedDateTime: epoch.Add(time.Hour)}
	write(t, s, func(w store.Writer) error {
		if err := w.CreateTenant(b); err != nil {
			return err
		}
		return w.CreateTenant(a)
	})
	err := s.Write(context.Background(), func(w store.Writer) error { return w.CreateTenant(a) })
	wantKind(t, err, errs.Conflict, "CreateTenant duplicate")

	read(t, s, func(r store.Reader) error {
		got, err := r.Tenant(a.ID)
		if err != nil {
			return err
		}
		if !tenantEqual(got, a) {
			t.Errorf("Tenant = %+v, want %+v", got, a)
		}
		_, err = r.Tenant("00000000-0000-0000-0000-0000000000ff")
		wantKind(t, err, errs.NotFound, "Tenant missing")

		all, err := r.Tenants("", 10)
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
			t.Errorf("Tenants = %+v, want a, b", all)
		}
		rest, err := r.Tenants(a.ID, 10)
		if err != nil {
			return err
		}
		if len(rest) != 1 || rest[0].ID != b.ID {
			t.Errorf("Tenants after a = %+v, want b", rest)
		}
		one, err := r.Tenants("", 1)
		if err != nil {
			return err
		}
		if len(one) != 1 {
			t.Errorf("Tenants limit 1 = %d items", len(one))
		}
		return nil
	})

	a.DisplayName = "Contoso Ltd"
	a.SecurityDefaults = false
	write(t, s, func(w store.Writer) error { return w.UpdateTenant(a) })
	read(t, s, func(r store.Reader) error {
		got, err := r.Tenant(a.ID)
		if err == nil && !tenantEqual(got, a) {
			t.Errorf("after update Tenant = %+v, want %+v", got, a)
		}
		return err
	})
	err = s.Write(context.Background(), func(w store.Writer) error {
		return w.UpdateTenant(iam.Tenant{ID: "00000000-0000-0000-0000-0000000000ff"})
	})
	wantKind(t, err, errs.NotFound, "UpdateTenant missing")
}

func tenantEqual(a, b iam.Tenant) bool {
	return a.CreatedDateTime.Equal(b.CreatedDateTime) && a.CreatedDateTime.Location() == time.UTC &&
		a.ID == b.ID && a.DisplayName == b.DisplayName && a.InitialDomain == b.InitialDomain &&
		a.SecurityDefaults == b.SecurityDefaults
}

func testObjectCRUD(t *testing.T, s store.Store) {
	const tn = "tenant-crud"
	u := user(tn, iam.NewID(), "Alice Adams", "Alice@Contoso.com", map[string]any{"jobTitle": "Engineer"})
	g := group(tn, iam.NewID(), "Engineers")
	insert(t, s, u, g)

	got, err := get(t, s, tn, iam.KindUser, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != tn || got.Kind != iam.KindUser || got.ID != u.ID || got.Key != u.Key ||
		got.DisplayName != u.DisplayName || !got.CreatedAt.Equal(u.CreatedAt) || got.Deleted() {
		t.Fatalf("Get = %+v, want %+v", got, u)
	}
	jsonEqual(t, got.Data, u.Data, "Data")

	// Kind "" finds any directory kind; a wrong kind does not.
	if got, err := get(t, s, tn, "", g.ID); err != nil || got.Kind != iam.KindGroup {
		t.Fatalf(`Get(kind "") = %+v, %v`, got, err)
	}
	_, err = get(t, s, tn, iam.KindGroup, u.ID)
	wantKind(t, err, errs.NotFound, "Get wrong kind")
	_, err = get(t, s, tn, iam.KindUser, iam.NewID())
	wantKind(t, err, errs.NotFound, "Get missing")

	// GetByKey is case-insensitive and returns the key as written.
	read(t, s, func(r store.Reader) error {
		o, err := r.GetByKey(tn, iam.KindUser, "ALICE@contoso.COM")
		if err != nil {
			return err
		}
		if o.ID != u.ID || o.Key != "Alice@Contoso.com" {
			t.Errorf("GetByKey = %+v", o)
		}
		_, err = r.GetByKey(tn, iam.KindUser, "nobody@contoso.com")
		wantKind(t, err, errs.NotFound, "GetByKey missing")
		_, err = r.GetByKey(tn, iam.KindGroup, "alice@contoso.com")
		wantKind(t, err, errs.NotFound, "GetByKey other kind")

		many, err := r.GetMany(tn, []string{u.ID, g.ID, iam.NewID()}, nil)
		if err != nil {
			return err
		}
		sameSet(t, idsOf(many), []string{u.ID, g.ID}, "GetMany")
		many, err = r.GetMany(tn, []string{u.ID, g.ID}, []iam.Kind{iam.KindGroup})
		if err != nil {
			return err
		}
		sameSet(t, idsOf(many), []string{g.ID}, "GetMany groups")
		many, err = r.GetMany(tn, nil, nil)
		if err != nil || len(many) != 0 {
			t.Errorf("GetMany(nil) = %v, %v", many, err)
		}
		return nil
	})

	// Update replaces everything but the identity.
	u2 := u
	u2.DisplayName = "Alice Smith"
	u2.Key = "alice.smith@contoso.com"
	u2.Data = mustJSON(map[string]any{"id": u.ID, "displayName": "Alice Smith", "jobTitle": nil})
	write(t, s, func(w store.Writer) error { return w.Update(u2) })
	got, _ = get(t, s, tn, iam.KindUser, u.ID)
	if got.DisplayName != "Alice Smith" || got.Key != "alice.smith@contoso.com" {
		t.Fatalf("after Update = %+v", got)
	}
	jsonEqual(t, got.Data, u2.Data, "Data after update")

	err = s.Write(context.Background(), func(w store.Writer) error {
		return w.Update(user(tn, iam.NewID(), "Ghost", "", nil))
	})
	wantKind(t, err, errs.NotFound, "Update missing")

	// Soft delete keeps the object readable by Get.
	u2.DeletedAt = epoch.Add(time.Hour)
	write(t, s, func(w store.Writer) error { return w.Update(u2) })
	got, err = get(t, s, tn, iam.KindUser, u.ID)
	if err != nil || !got.Deleted() || !got.DeletedAt.Equal(u2.DeletedAt) {
		t.Fatalf("soft-deleted Get = %+v, %v", got, err)
	}
	read(t, s, func(r store.Reader) error {
		_, err := r.GetByKey(tn, iam.KindUser, u2.Key)
		wantKind(t, err, errs.NotFound, "GetByKey soft-deleted")
		many, err := r.GetMany(tn, []string{u.ID}, nil)
		if err == nil && len(many) != 0 {
			t.Errorf("GetMany returned a soft-deleted object")
		}
		return err
	})

	write(t, s, func(w store.Writer) error { return w.Delete(tn, iam.KindUser, u.ID) })
	_, err = get(t, s, tn, iam.KindUser, u.ID)
	wantKind(t, err, errs.NotFound, "Get deleted")
	err = s.Write(context.Background(), func(w store.Writer) error { return w.Delete(tn, iam.KindUser, u.ID) })
	wantKind(t, err, errs.NotFound, "Delete missing")

	// The server-wide tenant "" is a tenant like any other.
	key := obj("", iam.KindSigningKey, "kid-1", "", "", map[string]any{"alg": "RS256"})
	insert(t, s, key)
	if got, err := get(t, s, "", iam.KindSigningKey, "kid-1"); err != nil || got.TenantID != "" {
		t.Fatalf("server-wide Get = %+v, %v", got, err)
	}
	p := list(t, s, "", iam.KindSigningKey, store.Live, query.List{})
	sameSet(t, idsOf(p.Items), []string{"kid-1"}, "server-wide List")

	err = s.Write(context.Background(), func(w store.Writer) error { return w.Insert(store.Object{TenantID: tn}) })
	wantKind(t, err, errs.Invalid, "Insert without kind and id")
	bad := user(tn, iam.NewID(), "Bad", "", nil)
	bad.Data = []byte(`{"displayName": `)
	err = s.Write(context.Background(), func(w store.Writer) error { return w.Insert(bad) })
	wantKind(t, err, errs.Invalid, "Insert with a malformed document")
}

func testSecret(t *testing.T, s store.Store) {
	const tn = "tenant-secret"
	secret := []byte{0, 1, 2, 0xff, 'x', 0}
	u := user(tn, iam.NewID(), "Bob", "bob@contoso.com", nil)
	u.Secret = secret
	noSecret := user(tn, iam.NewID(), "Carol", "carol@contoso.com", nil)
	noData := store.Object{TenantID: tn, Kind: iam.KindUser, ID: iam.NewID(), CreatedAt: epoch}
	insert(t, s, u, noSecret, noData)

	got, err := get(t, s, tn, iam.KindUser, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Secret, secret) {
		t.Fatalf("Secret = %x, want %x", got.Secret, secret)
	}
	if bytes.Contains(got.Data, []byte{0xff}) {
		t.Fatalf("Data leaks the secret: %q", got.Data)
	}
	jsonEqual(t, got.Data, u.Data, "Data beside a secret")
	if got, _ := get(t, s, tn, iam.KindUser, noSecret.ID); got.Secret != nil {
		t.Fatalf("Secret of an object without one = %x", got.Secret)
	}
	if got, _ := get(t, s, tn, iam.KindUser, noData.ID); got.Data != nil || got.Secret != nil {
		t.Fatalf("object without Data = %+v", got)
	}

	// Listing returns the secret too: it is the service's to keep apart.
	p := list(t, s, tn, iam.KindUser, store.Live, query.List{Filter: query.Cmp{Field: query.Field{Path: "id"}, Op: query.Eq, Value: query.Value{Type: query.String, Str: u.ID}}})
	if len(p.Items) != 1 || !bytes.Equal(p.Items[0].Secret, secret) {
		t.Fatalf("List secret = %+v", p.Items)
	}

	u.Secret = []byte("rotated")
	write(t, s, func(w store.Writer) error { return w.Update(u) })
	if got, _ := get(t, s, tn, iam.KindUser, u.ID); string(got.Secret) != "rotated" {
		t.Fatalf("Secret after update = %q", got.Secret)
	}
}

func testTimeZones(t *testing.T, s store.Store) {
	const tn = "tenant-tz"
	india := time.FixedZone("IST", 5*3600+1800)
	pacific := time.FixedZone("PST", -8*3600)
	at := time.Date(2024, 1, 1, 3, 0, 0, 123456000, india) // 2023-12-31T21:30:00.123456Z
	u := user(tn, iam.NewID(), "TZ", "", nil)
	u.CreatedAt = at
	u.DeletedAt = at.In(pacific).Add(time.Minute)
	tn1 := iam.Tenant{ID: tn, DisplayName: "TZ", CreatedDateTime: at}
	g := group(tn, iam.NewID(), "G")
	write(t, s, func(w store.Writer) error {
		if err := w.CreateTenant(tn1); err != nil {
			return err
		}
		if err := w.Insert(u); err != nil {
			return err
		}
		if err := w.Insert(g); err != nil {
			return err
		}
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelOwner, SourceID: g.ID, TargetID: u.ID, CreatedAt: at.In(pacific)})
	})
	check := func(what string, got, want time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", what, got, want.UTC())
		}
	}
	got, err := get(t, s, tn, iam.KindUser, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("CreatedAt", got.CreatedAt, at)
	check("DeletedAt", got.DeletedAt, u.DeletedAt)
	read(t, s, func(r store.Reader) error {
		tt, err := r.Tenant(tn)
		if err != nil {
			return err
		}
		check("Tenant.CreatedDateTime", tt.CreatedDateTime, at)
		ls, err := r.Links(tn, iam.RelOwner, g.ID, "")
		if err != nil || len(ls) != 1 {
			t.Fatalf("Links = %v, %v", ls, err)
		}
		check("Link.CreatedAt", ls[0].CreatedAt, at)
		return nil
	})
	// A time filter given in another zone compares the same instant.
	p := list(t, s, tn, iam.KindUser, store.DeletedOnly, query.List{Filter: query.Cmp{
		Field: query.Field{Path: "createdDateTime", Type: query.Time}, Op: query.Eq,
		Value: query.Value{Type: query.Time, Time: at.In(pacific)},
	}})
	sameSet(t, idsOf(p.Items), []string{u.ID}, "createdDateTime eq in another zone")
}

func testRollback(t *testing.T, s store.Store) {
	const tn = "tenant-rollback"
	g := group(tn, iam.NewID(), "Kept")
	insert(t, s, g)
	u := user(tn, iam.NewID(), "Lost", "lost@contoso.com", nil)
	err := s.Write(context.Background(), func(w store.Writer) error {
		if err := w.CreateTenant(iam.Tenant{ID: tn, CreatedDateTime: epoch}); err != nil {
			return err
		}
		if err := w.Insert(u); err != nil {
			return err
		}
		if err := w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: g.ID, TargetID: u.ID, CreatedAt: epoch}); err != nil {
			return err
		}
		g2 := g
		g2.DisplayName = "Renamed"
		if err := w.Update(g2); err != nil {
			return err
		}
		// The closure sees its own writes.
		if _, err := w.Get(tn, iam.KindUser, u.ID); err != nil {
			return err
		}
		return errSentinel
	})
	if err != errSentinel { //nolint:errorlint // the error must come back unchanged
		t.Fatalf("Write returned %v, want the closure's error unchanged", err)
	}
	// An errs error keeps its kind.
	err = s.Write(context.Background(), func(w store.Writer) error { return errs.E(errs.Precondition, "no") })
	wantKind(t, err, errs.Precondition, "closure's errs kind")
	err = s.Read(context.Background(), func(r store.Reader) error { return errSentinel })
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Read returned %v", err)
	}
	assertRolledBack(t, s, tn, g, u)
}

func assertRolledBack(t *testing.T, s store.Store, tn string, g, u store.Object) {
	t.Helper()
	read(t, s, func(r store.Reader) error {
		_, err := r.Tenant(tn)
		wantKind(t, err, errs.NotFound, "tenant after rollback")
		_, err = r.Get(tn, iam.KindUser, u.ID)
		wantKind(t, err, errs.NotFound, "object after rollback")
		got, err := r.Get(tn, iam.KindGroup, g.ID)
		if err != nil || got.DisplayName != g.DisplayName {
			t.Errorf("update survived rollback: %+v, %v", got, err)
		}
		ls, err := r.Links(tn, iam.RelMember, g.ID, "")
		if err != nil || len(ls) != 0 {
			t.Errorf("links after rollback = %v, %v", ls, err)
		}
		return nil
	})
}

func testPanic(t *testing.T, s store.Store) {
	const tn = "tenant-panic"
	g := group(tn, iam.NewID(), "Kept")
	insert(t, s, g)
	u := user(tn, iam.NewID(), "Lost", "", nil)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the closure's panic", r)
			}
		}()
		_ = s.Write(context.Background(), func(w store.Writer) error {
			if err := w.Insert(u); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	assertRolledBack(t, s, tn, g, u)
	// The store is still usable (SQLite's one write connection was released).
	insert(t, s, user(tn, iam.NewID(), "After", "", nil))
}
