package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// TestObjectLayout: an entry is two whole cache lines (see object).
func TestObjectLayout(t *testing.T) {
	if n := unsafe.Sizeof(object{}); n != 128 {
		t.Errorf("object is %d bytes, want 128", n)
	}
	if off := unsafe.Offsetof(object{}.units); off != 64 {
		t.Errorf("units at offset %d, want 64", off)
	}
}

// TestChurnReusesReferences: adding and removing assignments and
// memberships among the same 100 ids over and over never needs more than
// 100 entries, and every reference count matches what the snapshot holds.
func TestChurnReusesReferences(t *testing.T) {
	s := NewSnapshot()
	id := func(i int) string {
		if i%3 == 0 {
			return fmt.Sprintf("obj-%d", i) // not a GUID: the string map
		}
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	round := func() {
		var cs []Change
		for i := range 50 {
			scope := "/"
			switch i % 3 {
			case 1:
				scope = "/administrativeUnits/" + id(100+rng.IntN(5))
			case 2:
				scope = "/" + id(200+rng.IntN(20))
			}
			a := Assignment{ID: fmt.Sprint("a", i), PrincipalID: id(rng.IntN(30)), RoleDefinitionID: HelpdeskAdministrator, DirectoryScopeID: scope}
			if i%4 == 0 {
				a.End = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			cs = append(cs, PutAssignment{Assignment: a})
			cs = append(cs, AddGroupMember{GroupID: id(300 + rng.IntN(5)), MemberID: id(rng.IntN(30))})
			cs = append(cs, AddUnitMember{UnitID: id(100 + rng.IntN(5)), ObjectID: id(400 + rng.IntN(30))})
			cs = append(cs, SetMemberships{ObjectID: id(500 + rng.IntN(10)), Groups: []string{id(300), id(300)}, Units: []string{id(101)}})
		}
		if err := s.Apply(cs...); err != nil {
			t.Fatal(err)
		}
		s.checkCounts(t)
		cs = cs[:0]
		for i := range 50 {
			cs = append(cs, DeleteAssignment{ID: fmt.Sprint("a", i)})
		}
		for g := range 5 {
			for m := range 30 {
				cs = append(cs, RemoveGroupMember{GroupID: id(300 + g), MemberID: id(m)},
					RemoveUnitMember{UnitID: id(100 + g), ObjectID: id(400 + m)})
			}
		}
		for m := range 10 {
			cs = append(cs, SetMemberships{ObjectID: id(500 + m)})
		}
		if err := s.Apply(cs...); err != nil {
			t.Fatal(err)
		}
		s.checkCounts(t)
	}
	for range 100 {
		round()
	}
	if len(s.objs) > 100 {
		t.Errorf("%d entries for 100 ids", len(s.objs))
	}
	if n := s.ids.len(); n != 0 || s.Len() != 0 || len(s.schedules) != 0 {
		t.Errorf("%d ids and %d assignments left once everything is removed", n, s.Len())
	}
}

// checkCounts recomputes every reference count from what the snapshot
// holds and compares it with the interner's, and checks that freed
// references hold nothing and are not found.
func (s *Snapshot) checkCounts(t testing.TB) {
	t.Helper()
	want := make([]int32, len(s.objs))
	timed := 0
	for r := range s.objs {
		o := &s.objs[r]
		for _, a := range o.assignments {
			if _, ok := s.schedules[a.id()]; ok != a.timed {
				t.Errorf("assignment %s timed %v, has a schedule %v", a.id(), a.timed, ok)
			}
			if a.timed {
				timed++
			}
			want[r]++
			if a.scope != noRef {
				want[a.scope]++
			}
			if s.byID.ref(a.id()) != ref(r) {
				t.Errorf("assignment %s is not found under %d", a.id(), r)
			}
		}
		for _, l := range [][]ref{o.groups.items(), o.units.items()} {
			for _, to := range l {
				want[r]++
				want[to]++
			}
		}
	}
	free := map[ref]bool{}
	for _, r := range s.ids.free {
		free[r] = true
	}
	for r, n := range want {
		o := &s.objs[r]
		if s.ids.counts[r] != n {
			t.Errorf("ref %d (%q) counted %d, holds %d", r, o.id, s.ids.counts[r], n)
		}
		if free[ref(r)] != (n == 0) {
			t.Errorf("ref %d (%q) holds %d, free %v", r, o.id, n, free[ref(r)])
		}
		if n > 0 && s.ids.ref(o.id) != ref(r) {
			t.Errorf("ref %d (%q) is not found by its id", r, o.id)
		}
		if n == 0 && (o.id != "" || o.assignments != nil || o.groups.n != 0 || o.groups.spill != nil || o.units.n != 0 || o.units.spill != nil) {
			t.Errorf("freed ref %d still holds data", r)
		}
	}
	if len(s.schedules) != timed {
		t.Errorf("%d schedules for %d timed assignments", len(s.schedules), timed)
	}
	if live := len(s.objs) - len(s.ids.free); s.ids.len() != live {
		t.Errorf("%d ids interned, %d references live", s.ids.len(), live)
	}
}
