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

func link(tn string, rel iam.Rel, src, dst string) store.Link {
	return store.Link{TenantID: tn, Rel: rel, SourceID: src, TargetID: dst, CreatedAt: epoch}
}

func addLinks(t *testing.T, s store.Store, ls ...store.Link) {
	t.Helper()
	write(t, s, func(w store.Writer) error {
		for _, l := range ls {
			if err := w.AddLink(l); err != nil {
				return err
			}
		}
		return nil
	})
}

func setDeleted(t *testing.T, s store.Store, o store.Object, deleted bool) {
	t.Helper()
	o.DeletedAt = time.Time{}
	if deleted {
		o.DeletedAt = epoch.Add(time.Hour)
	}
	write(t, s, func(w store.Writer) error { return w.Update(o) })
}

func links(t *testing.T, s store.Store, tn string, rel iam.Rel, src, dst string) []store.Link {
	t.Helper()
	var ls []store.Link
	read(t, s, func(r store.Reader) error {
		var err error
		ls, err = r.Links(tn, rel, src, dst)
		return err
	})
	return ls
}

func testLinks(t *testing.T, s store.Store) {
	const tn = "tenant-links"
	g := group(tn, iam.NewID(), "G")
	u1 := user(tn, iam.NewID(), "U1", "u1@contoso.com", nil)
	u2 := user(tn, iam.NewID(), "U2", "u2@contoso.com", nil)
	sp := obj(tn, iam.KindServicePrincipal, iam.NewID(), "SP", iam.NewID(), nil)
	insert(t, s, g, u1, u2, sp)

	m1 := link(tn, iam.RelMember, g.ID, u1.ID)
	m1.Data = mustJSON(map[string]any{"addedBy": "admin"})
	addLinks(t, s, m1, link(tn, iam.RelMember, g.ID, u2.ID))
	ara := func(id, role string) store.Link {
		l := link(tn, iam.RelAppRoleAssignment, u1.ID, sp.ID)
		l.ID, l.Qualifier = id, role
		return l
	}
	addLinks(t, s, ara("ara-1", "role-a"), ara("ara-2", "role-b"))

	try := func(l store.Link) error {
		return s.Write(context.Background(), func(w store.Writer) error { return w.AddLink(l) })
	}
	wantKind(t, try(link(tn, iam.RelMember, g.ID, u1.ID)), errs.Conflict, "duplicate link")
	wantKind(t, try(ara("ara-1", "role-c")), errs.Conflict, "duplicate link id")
	wantKind(t, try(link(tn, iam.RelMember, g.ID, iam.NewID())), errs.NotFound, "missing target")
	wantKind(t, try(link(tn, iam.RelMember, iam.NewID(), u1.ID)), errs.NotFound, "missing source")
	wantKind(t, try(link(tn, "", g.ID, u1.ID)), errs.Invalid, "link without rel")

	ls := links(t, s, tn, iam.RelMember, g.ID, "")
	if len(ls) != 2 {
		t.Fatalf("Links from g = %+v", ls)
	}
	for _, l := range ls {
		if l.TargetID == u1.ID {
			jsonEqual(t, l.Data, m1.Data, "link Data")
			if !l.CreatedAt.Equal(epoch) || l.Rel != iam.RelMember || l.TenantID != tn {
				t.Fatalf("link = %+v", l)
			}
		}
	}
	if ls := links(t, s, tn, iam.RelMember, "", u1.ID); len(ls) != 1 || ls[0].SourceID != g.ID {
		t.Fatalf("Links to u1 = %+v", ls)
	}
	if ls := links(t, s, tn, iam.RelAppRoleAssignment, u1.ID, sp.ID); len(ls) != 2 {
		t.Fatalf("Links u1->sp = %+v", ls)
	}
	if ls := links(t, s, tn, iam.RelOwner, g.ID, ""); len(ls) != 0 {
		t.Fatalf("Links of another rel = %+v", ls)
	}
	read(t, s, func(r store.Reader) error {
		l, err := r.LinkByID(tn, iam.RelAppRoleAssignment, "ara-2")
		if err != nil {
			return err
		}
		if l.Qualifier != "role-b" || l.SourceID != u1.ID || l.TargetID != sp.ID {
			t.Errorf("LinkByID = %+v", l)
		}
		_, err = r.LinkByID(tn, iam.RelAppRoleAssignment, "nope")
		wantKind(t, err, errs.NotFound, "LinkByID missing")
		_, err = r.LinkByID(tn, iam.RelAppRoleAssignment, "")
		wantKind(t, err, errs.NotFound, "LinkByID empty")
		_, err = r.LinkByID("tenant-other", iam.RelAppRoleAssignment, "ara-2")
		wantKind(t, err, errs.NotFound, "LinkByID other tenant")
		_, err = r.Links(tn, iam.RelMember, "", "")
		wantKind(t, err, errs.Invalid, "Links without ends")
		return nil
	})

	write(t, s, func(w store.Writer) error { return w.RemoveLink(tn, iam.RelMember, g.ID, u2.ID, "") })
	err := s.Write(context.Background(), func(w store.Writer) error { return w.RemoveLink(tn, iam.RelMember, g.ID, u2.ID, "") })
	wantKind(t, err, errs.NotFound, "RemoveLink missing")
	err = s.Write(context.Background(), func(w store.Writer) error {
		return w.RemoveLink(tn, iam.RelAppRoleAssignment, u1.ID, sp.ID, "role-z")
	})
	wantKind(t, err, errs.NotFound, "RemoveLink wrong qualifier")

	// Soft delete keeps links; Links returns them whatever the other end's state.
	addLinks(t, s, link(tn, iam.RelMember, g.ID, u2.ID))
	setDeleted(t, s, u2, true)
	if ls := links(t, s, tn, iam.RelMember, g.ID, ""); len(ls) != 2 {
		t.Fatalf("links after soft delete = %+v", ls)
	}

	// Delete removes every link to or from the object, of every rel.
	write(t, s, func(w store.Writer) error { return w.Delete(tn, iam.KindUser, u1.ID) })
	if ls := links(t, s, tn, iam.RelMember, g.ID, ""); len(ls) != 1 || ls[0].TargetID != u2.ID {
		t.Fatalf("links after delete = %+v", ls)
	}
	if ls := links(t, s, tn, iam.RelAppRoleAssignment, "", sp.ID); len(ls) != 0 {
		t.Fatalf("app role assignments after delete = %+v", ls)
	}
}

func listLinked(t *testing.T, s store.Store, tn string, rel iam.Rel, dir store.Direction, id string, kinds []iam.Kind, q query.List) store.Page {
	t.Helper()
	var p store.Page
	read(t, s, func(r store.Reader) error {
		var err error
		p, err = r.ListLinked(tn, rel, dir, id, kinds, q)
		return err
	})
	return p
}

func testListLinked(t *testing.T, s store.Store) {
	const tn = "tenant-linked"
	g := group(tn, iam.NewID(), "Parent")
	g2 := group(tn, iam.NewID(), "Member group B")
	g3 := group(tn, iam.NewID(), "Member group A")
	sp := obj(tn, iam.KindServicePrincipal, iam.NewID(), "Member app", iam.NewID(), nil)
	var users []store.Object
	for _, n := range []string{"Member Anna", "Member Ben", "member Abe", "Other Zed", "Member Gone"} {
		users = append(users, user(tn, iam.NewID(), n, n[len(n)-3:]+"@contoso.com", nil))
	}
	outsider := user(tn, iam.NewID(), "Member Outsider", "outsider@contoso.com", nil)
	insert(t, s, append(users, g, g2, g3, sp, outsider)...)
	var ls []store.Link
	for _, o := range append(users, g2, g3, sp) {
		ls = append(ls, link(tn, iam.RelMember, g.ID, o.ID))
	}
	ls = append(ls, link(tn, iam.RelMember, g2.ID, users[0].ID), link(tn, iam.RelOwner, g.ID, outsider.ID))
	for _, q := range []string{"r1", "r2", "r3"} { // one object linked three times
		l := link(tn, iam.RelAppRoleAssignment, users[0].ID, sp.ID)
		l.Qualifier = q
		ls = append(ls, l)
	}
	addLinks(t, s, ls...)
	setDeleted(t, s, users[4], true)
	// A service's own record under a member's id (a user's sign-in state)
	// is not a member.
	insert(t, s, store.Object{TenantID: tn, Kind: iam.KindSignInState, ID: users[1].ID, CreatedAt: epoch, Data: []byte(`{}`)})

	id := func(objs ...store.Object) []string { return idsOf(objs) }
	members := func(kinds []iam.Kind, q query.List) store.Page {
		return listLinked(t, s, tn, iam.RelMember, store.Targets, g.ID, kinds, q)
	}
	p := members(nil, query.List{Count: true})
	sameSet(t, idsOf(p.Items), id(users[0], users[1], users[2], users[3], g2, g3, sp), "members")
	if p.Count != 7 {
		t.Fatalf("members Count = %d", p.Count)
	}
	p = members([]iam.Kind{iam.KindUser}, query.List{})
	sameSet(t, idsOf(p.Items), id(users[0], users[1], users[2], users[3]), "user members")
	p = members([]iam.Kind{iam.KindUser, iam.KindGroup}, query.List{})
	sameSet(t, idsOf(p.Items), id(users[0], users[1], users[2], users[3], g2, g3), "user and group members")

	// Filter, sort and page across kinds.
	f := query.StartsWith{Field: fs("displayName"), Prefix: "member a"}
	q := query.List{Filter: f, Sort: &query.Sort{Field: fs("displayName"), Desc: true}, Top: 2, Count: true}
	got := walk(t, s, q, func(r store.Reader, q query.List) (store.Page, error) {
		return r.ListLinked(tn, iam.RelMember, store.Targets, g.ID, nil, q)
	}, 3)
	if want := id(sp, users[0], users[2]); !equalIDs(got, want) {
		t.Fatalf("filtered members = %v, want %v (Member app, Member Anna, member Abe)", got, want)
	}
	// The key property maps to the key column for one kind and to the
	// document for several; the answer is the same.
	upn := eq(fs("userPrincipalName"), str("BEN@contoso.com"))
	for _, kinds := range [][]iam.Kind{{iam.KindUser}, nil} {
		p = members(kinds, query.List{Filter: upn})
		sameSet(t, idsOf(p.Items), id(users[1]), "members by userPrincipalName")
	}

	// Sources: the groups a user is in; an object linked several times appears once.
	p = listLinked(t, s, tn, iam.RelMember, store.Sources, users[0].ID, nil, query.List{})
	sameSet(t, idsOf(p.Items), id(g, g2), "memberOf")
	p = listLinked(t, s, tn, iam.RelAppRoleAssignment, store.Sources, sp.ID, nil, query.List{Count: true})
	if len(p.Items) != 1 || p.Count != 1 {
		t.Fatalf("multiply linked object listed %d times (Count %d)", len(p.Items), p.Count)
	}
	setDeleted(t, s, g2, true)
	p = listLinked(t, s, tn, iam.RelMember, store.Sources, users[0].ID, nil, query.List{})
	sameSet(t, idsOf(p.Items), id(g), "memberOf with a soft-deleted group")
	// Restoring brings the membership back.
	setDeleted(t, s, users[4], false)
	p = members([]iam.Kind{iam.KindUser}, query.List{})
	sameSet(t, idsOf(p.Items), id(users[0], users[1], users[2], users[3], users[4]), "members after restore")

	err := s.Read(context.Background(), func(r store.Reader) error {
		_, err := r.ListLinked(tn, iam.RelMember, 0, g.ID, nil, query.List{})
		return err
	})
	wantKind(t, err, errs.Invalid, "ListLinked without direction")
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testTransitive(t *testing.T, s store.Store) {
	const tn = "tenant-transitive"
	g1, g2, g3, g4 := group(tn, "g1", "G1"), group(tn, "g2", "G2"), group(tn, "g3", "G3"), group(tn, "g4", "G4")
	u1, u2, u3, u4 := user(tn, "u1", "U1", "", nil), user(tn, "u2", "U2", "", nil), user(tn, "u3", "U3", "", nil), user(tn, "u4", "U4", "", nil)
	insert(t, s, g1, g2, g3, g4, u1, u2, u3, u4)
	m := iam.RelMember
	addLinks(t, s,
		link(tn, m, "g1", "g2"), link(tn, m, "g2", "g3"), link(tn, m, "g3", "g1"), // a cycle
		link(tn, m, "g2", "u1"), link(tn, m, "g3", "u2"), link(tn, m, "g1", "u3"), link(tn, m, "g4", "u1"),
		link(tn, iam.RelOwner, "g1", "u4"), // another rel is not followed
	)
	check := func(id string, dir store.Direction, want ...string) {
		t.Helper()
		var got []string
		read(t, s, func(r store.Reader) error {
			var err error
			got, err = r.Transitive(tn, m, dir, id)
			return err
		})
		sameSet(t, got, want, "Transitive from "+id)
	}
	check("g1", store.Targets, "g2", "g3", "u1", "u2", "u3")
	check("u2", store.Sources, "g3", "g2", "g1")
	check("u1", store.Sources, "g2", "g4", "g1", "g3")
	check("g4", store.Targets, "u1")
	check("u4", store.Sources)

	// A soft-deleted group cuts every path through it, and is not returned.
	setDeleted(t, s, g2, true)
	check("g1", store.Targets, "u3")
	check("u1", store.Sources, "g4")
	check("u2", store.Sources, "g3")
	setDeleted(t, s, g2, false)
	check("g1", store.Targets, "g2", "g3", "u1", "u2", "u3")
	// A soft-deleted leaf is not returned.
	setDeleted(t, s, u3, true)
	check("g1", store.Targets, "g2", "g3", "u1", "u2")
}
