package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

func testKeyConflicts(t *testing.T, s store.Store) {
	const tn = "tenant-keys"
	a := user(tn, iam.NewID(), "A", "Alice@Contoso.com", nil)
	insert(t, s, a)

	try := func(what string, fn func(w store.Writer) error) error {
		t.Helper()
		return s.Write(context.Background(), fn)
	}
	b := user(tn, iam.NewID(), "B", "ALICE@contoso.COM", nil)
	wantKind(t, try("", func(w store.Writer) error { return w.Insert(b) }), errs.Conflict, "Insert taken key (other case)")
	dup := user(tn, a.ID, "A again", "other@contoso.com", nil)
	wantKind(t, try("", func(w store.Writer) error { return w.Insert(dup) }), errs.Conflict, "Insert existing id")

	// The same key is free for another kind and another tenant; empty keys never collide.
	insert(t, s,
		obj(tn, iam.KindApplication, iam.NewID(), "App", "alice@contoso.com", nil),
		user("tenant-keys-2", iam.NewID(), "A elsewhere", "alice@contoso.com", nil),
		user(tn, iam.NewID(), "No key 1", "", nil),
		user(tn, iam.NewID(), "No key 2", "", nil),
	)

	// Update into a taken key conflicts; keeping one's own key does not.
	c := user(tn, iam.NewID(), "C", "carol@contoso.com", nil)
	insert(t, s, c)
	c2 := c
	c2.Key = "alice@CONTOSO.com"
	wantKind(t, try("", func(w store.Writer) error { return w.Update(c2) }), errs.Conflict, "Update into taken key")
	c.DisplayName = "Carol"
	write(t, s, func(w store.Writer) error { return w.Update(c) })

	// A Conflict inside a closure leaves the transaction usable.
	write(t, s, func(w store.Writer) error {
		err := w.Insert(b)
		if !errs.Is(err, errs.Conflict) {
			t.Errorf("Insert in closure: %v, want Conflict", err)
		}
		b.Key = "bob@contoso.com"
		return w.Insert(b)
	})

	// Soft delete frees the key ...
	a.DeletedAt = epoch.Add(time.Hour)
	write(t, s, func(w store.Writer) error { return w.Update(a) })
	a2 := user(tn, iam.NewID(), "A2", "alice@contoso.com", nil)
	insert(t, s, a2)
	read(t, s, func(r store.Reader) error {
		o, err := r.GetByKey(tn, iam.KindUser, "Alice@Contoso.com")
		if err == nil && o.ID != a2.ID {
			t.Errorf("GetByKey after reuse = %s, want %s", o.ID, a2.ID)
		}
		return err
	})
	// ... and restoring into it conflicts.
	a.DeletedAt = time.Time{}
	wantKind(t, try("", func(w store.Writer) error { return w.Update(a) }), errs.Conflict, "restore into taken key")
	// Two soft-deleted objects may share a key.
	a2.DeletedAt = epoch.Add(2 * time.Hour)
	write(t, s, func(w store.Writer) error { return w.Update(a2) })
	a.DeletedAt = epoch.Add(3 * time.Hour)
	write(t, s, func(w store.Writer) error { return w.Update(a) })
	// And with the key free again, the restore succeeds.
	a.DeletedAt = time.Time{}
	write(t, s, func(w store.Writer) error { return w.Update(a) })
}

func domain(tenant, name string, verified bool) store.Object {
	return obj(tenant, iam.KindDomain, name, "", name, map[string]any{"isVerified": verified})
}

func testGlobalKeys(t *testing.T, s store.Store) {
	ta := iam.Tenant{ID: "tenant-ga", DisplayName: "A", CreatedDateTime: epoch}
	tb := iam.Tenant{ID: "tenant-gb", DisplayName: "B", CreatedDateTime: epoch}
	write(t, s, func(w store.Writer) error {
		if err := w.CreateTenant(ta); err != nil {
			return err
		}
		if err := w.CreateTenant(tb); err != nil {
			return err
		}
		if err := w.Insert(domain(ta.ID, "contoso.com", true)); err != nil {
			return err
		}
		return w.Insert(domain(tb.ID, "fabrikam.com", false))
	})
	for _, k := range store.GlobalKeyKinds {
		o := obj(tb.ID, k, "Contoso.COM", "", "Contoso.COM", map[string]any{"isVerified": true})
		err := s.Write(context.Background(), func(w store.Writer) error { return w.Insert(o) })
		wantKind(t, err, errs.Conflict, "global key "+string(k)+" in another tenant")
	}
	// Update into a global key held by another tenant conflicts too.
	f := domain(tb.ID, "fabrikam.com", false)
	f.Key = "CONTOSO.com"
	err := s.Write(context.Background(), func(w store.Writer) error { return w.Update(f) })
	wantKind(t, err, errs.Conflict, "Update into another tenant's global key")
	// A user key equal to a domain name is unrelated.
	insert(t, s, user(tb.ID, iam.NewID(), "U", "contoso.com", nil))

	read(t, s, func(r store.Reader) error {
		got, err := r.TenantByDomain("CONTOSO.com")
		if err != nil {
			return err
		}
		if got.ID != ta.ID {
			t.Errorf("TenantByDomain = %s, want %s", got.ID, ta.ID)
		}
		_, err = r.TenantByDomain("fabrikam.com")
		wantKind(t, err, errs.NotFound, "TenantByDomain unverified")
		_, err = r.TenantByDomain("nowhere.example")
		wantKind(t, err, errs.NotFound, "TenantByDomain unknown")
		return nil
	})

	// A soft-deleted domain frees the name for everyone.
	d := domain(ta.ID, "contoso.com", true)
	d.DeletedAt = epoch
	write(t, s, func(w store.Writer) error { return w.Update(d) })
	read(t, s, func(r store.Reader) error {
		_, err := r.TenantByDomain("contoso.com")
		wantKind(t, err, errs.NotFound, "TenantByDomain soft-deleted")
		return nil
	})
	insert(t, s, domain(tb.ID, "contoso.com", true))
	read(t, s, func(r store.Reader) error {
		got, err := r.TenantByDomain("contoso.com")
		if err == nil && got.ID != tb.ID {
			t.Errorf("TenantByDomain after move = %s, want %s", got.ID, tb.ID)
		}
		return err
	})
}

func testTenantIsolation(t *testing.T, s store.Store) {
	const ta, tb = "tenant-iso-a", "tenant-iso-b"
	// The same ids and keys in two tenants.
	ua := user(ta, "same-user", "Alice A", "alice@contoso.com", nil)
	ub := user(tb, "same-user", "Alice B", "alice@contoso.com", nil)
	ga, gb := group(ta, "same-group", "Group A"), group(tb, "same-group", "Group B")
	onlyB := user(tb, "only-b", "Only B", "onlyb@contoso.com", nil)
	insert(t, s, ua, ub, ga, gb, onlyB)
	write(t, s, func(w store.Writer) error {
		if err := w.AddLink(store.Link{TenantID: ta, Rel: iam.RelMember, SourceID: ga.ID, TargetID: ua.ID, CreatedAt: epoch}); err != nil {
			return err
		}
		if err := w.AddLink(store.Link{TenantID: tb, Rel: iam.RelMember, SourceID: gb.ID, TargetID: ub.ID, CreatedAt: epoch}); err != nil {
			return err
		}
		if err := w.AddLink(store.Link{TenantID: tb, Rel: iam.RelMember, SourceID: gb.ID, TargetID: onlyB.ID, CreatedAt: epoch}); err != nil {
			return err
		}
		// An end in another tenant does not exist for this one.
		err := w.AddLink(store.Link{TenantID: ta, Rel: iam.RelMember, SourceID: ga.ID, TargetID: onlyB.ID, CreatedAt: epoch})
		wantKind(t, err, errs.NotFound, "AddLink across tenants")
		return nil
	})

	read(t, s, func(r store.Reader) error {
		o, err := r.Get(ta, iam.KindUser, "same-user")
		if err != nil || o.DisplayName != "Alice A" {
			t.Errorf("Get in A = %+v, %v", o, err)
		}
		o, err = r.GetByKey(tb, iam.KindUser, "alice@contoso.com")
		if err != nil || o.DisplayName != "Alice B" {
			t.Errorf("GetByKey in B = %+v, %v", o, err)
		}
		_, err = r.Get(ta, iam.KindUser, onlyB.ID)
		wantKind(t, err, errs.NotFound, "Get B's object in A")
		many, err := r.GetMany(ta, []string{"same-user", onlyB.ID}, nil)
		if err != nil {
			return err
		}
		if len(many) != 1 || many[0].TenantID != ta {
			t.Errorf("GetMany in A = %+v", many)
		}
		p, err := r.List(ta, iam.KindUser, store.Live, query.List{Count: true})
		if err != nil {
			return err
		}
		if p.Count != 1 || len(p.Items) != 1 || p.Items[0].DisplayName != "Alice A" {
			t.Errorf("List in A = %+v", p)
		}
		ls, err := r.Links(ta, iam.RelMember, ga.ID, "")
		if err != nil {
			return err
		}
		if len(ls) != 1 || ls[0].TenantID != ta {
			t.Errorf("Links in A = %+v", ls)
		}
		p, err = r.ListLinked(ta, iam.RelMember, store.Targets, "same-group", nil, query.List{})
		if err != nil {
			return err
		}
		if len(p.Items) != 1 || p.Items[0].TenantID != ta {
			t.Errorf("ListLinked in A = %+v", p.Items)
		}
		ids, err := r.Transitive(ta, iam.RelMember, store.Targets, "same-group")
		if err != nil {
			return err
		}
		sameSet(t, ids, []string{"same-user"}, "Transitive in A")
		ids, err = r.Transitive(ta, iam.RelMember, store.Sources, "same-user")
		if err != nil {
			return err
		}
		sameSet(t, ids, []string{"same-group"}, "Transitive sources in A")
		return nil
	})

	// Deleting in one tenant leaves the other's twin and links alone.
	write(t, s, func(w store.Writer) error { return w.Delete(ta, iam.KindUser, "same-user") })
	read(t, s, func(r store.Reader) error {
		ls, err := r.Links(tb, iam.RelMember, "same-group", "")
		if err == nil && len(ls) != 2 {
			t.Errorf("B's links after deleting A's twin = %+v", ls)
		}
		return err
	})
}
