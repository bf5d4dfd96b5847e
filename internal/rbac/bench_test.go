package rbac_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
)

// The benchmark snapshot is issue 4's target size: 1,000,000 assignments,
// 100,000 role-assignable group memberships and 10,000 administrative units.
const (
	benchPrincipals = 240_000 // users with 4 assignments each (960,000)
	benchGroups     = 10_000  // role-assignable groups with 4 assignments each (40,000)
	benchMembers    = 10      // members per group: 100,000 memberships
	benchUnits      = 10_000
	benchPerUnit    = 50 // objects per unit: 500,000 AU memberships
)

func benchID(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i) }

var benchRoles = []string{
	rbac.UserAdministrator, rbac.HelpdeskAdministrator, "c4e39bd9-1100-46d3-8c65-fb160da0071f", // Authentication Administrator
	"fdd7a751-b60b-444a-984c-02652fe8fa1c", // Groups Administrator
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451", // Global Reader
	rbac.DirectoryReaders,
}

var benchSnapshot = sync.OnceValue(func() *rbac.Snapshot {
	s := rbac.NewSnapshot()
	changes := make([]rbac.Change, 0, 1_700_000)
	assign := func(id string, principal string, role string, scope string) {
		changes = append(changes, rbac.PutAssignment{Assignment: rbac.Assignment{ID: id, PrincipalID: principal, RoleDefinitionID: role, DirectoryScopeID: scope}})
	}
	n := 0
	scopes := func(i int) [4]string {
		return [4]string{"/", "/administrativeUnits/" + benchID(3, (i*7)%benchUnits), "/administrativeUnits/" + benchID(3, (i*13+1)%benchUnits), "/" + benchID(4, i)}
	}
	for i := range benchPrincipals {
		for k, sc := range scopes(i) {
			assign(benchID(9, n), benchID(1, i), benchRoles[(i+k)%len(benchRoles)], sc)
			n++
		}
	}
	for g := range benchGroups {
		for k, sc := range scopes(g) {
			assign(benchID(9, n), benchID(2, g), benchRoles[(g+k)%len(benchRoles)], sc)
			n++
		}
		for m := range benchMembers {
			changes = append(changes, rbac.AddGroupMember{GroupID: benchID(2, g), MemberID: benchID(1, (g*benchMembers+m)*7%benchPrincipals)})
		}
	}
	for u := range benchUnits {
		for m := range benchPerUnit {
			changes = append(changes, rbac.AddUnitMember{UnitID: benchID(3, u), ObjectID: benchID(5, (u*benchPerUnit+m)%(benchUnits*benchPerUnit/2))})
		}
	}
	if err := s.Apply(changes...); err != nil {
		panic(err)
	}
	if s.Len() != 1_000_000 {
		panic(fmt.Sprintf("benchmark snapshot has %d assignments", s.Len()))
	}
	return s
})

var benchActions = []string{
	"microsoft.directory/users/basic/update",
	"microsoft.directory/users/standard/read",
	"microsoft.directory/users/password/update",
	"microsoft.directory/users/manager/update",
	"microsoft.directory/groups/members/update",
	"microsoft.directory/applications/credentials/update",
	"microsoft.directory/users/delete",
	"microsoft.directory/roleAssignments/allProperties/allTasks",
}

// benchRequests mixes allowed and denied decisions, direct and group-derived
// principals, tenant, unit and object scopes, and sensitive actions. With
// active > 0 the principals and targets come from that many objects, as in
// a burst of traffic from active users; with 0 from the whole snapshot,
// which misses the CPU cache on nearly every lookup (the worst case).
func benchRequests(n, active int) []rbac.Request {
	rng := rand.New(rand.NewPCG(1, 2))
	pn, tn := benchPrincipals, benchUnits*benchPerUnit/2
	if active > 0 {
		pn, tn = active, active
	}
	reqs := make([]rbac.Request, n)
	for i := range reqs {
		reqs[i] = rbac.Request{
			Principal: rbac.Principal{ID: benchID(1, rng.IntN(pn)*(benchPrincipals/pn)), Type: rbac.User, DefaultRoleID: rbac.DefaultUser},
			Action:    benchActions[rng.IntN(len(benchActions))],
			Target:    rbac.Target{ID: benchID(5, rng.IntN(tn)*(benchUnits*benchPerUnit/2/tn)), Kind: iam.KindUser},
		}
	}
	return reqs
}

func BenchmarkEvaluate(b *testing.B) {
	s := benchSnapshot()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, w := range []struct {
		name   string
		active int
	}{{"cold", 0}, {"active1000", 1000}} {
		reqs := benchRequests(4096, w.active)
		for _, r := range reqs { // warm the action cache, as a running server has
			rbac.Evaluate(s, r, now)
		}
		b.Run(w.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			i, allowed := 0, 0
			for b.Loop() {
				if rbac.Evaluate(s, reqs[i&4095], now).Allowed {
					allowed++
				}
				i++
			}
			b.ReportMetric(float64(allowed)/float64(i), "allowed/op")
		})
		b.Run(w.name+"/allowed", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rbac.Allowed(s, reqs[i&4095], now)
				i++
			}
		})
		b.Run(w.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(4096)
				for pb.Next() {
					rbac.Evaluate(s, reqs[i&4095], now)
					i++
				}
			})
		})
		// The per-decision time at the 50th and 99th percentile, measured
		// over batches of 16 so that reading the clock stays out of it.
		for _, f := range []struct {
			name string
			eval func(rbac.Request)
		}{
			{"median", func(r rbac.Request) { rbac.Evaluate(s, r, now) }},
			{"median-allowed", func(r rbac.Request) { rbac.Allowed(s, r, now) }},
		} {
			b.Run(w.name+"/"+f.name, func(b *testing.B) {
				const batch = 16
				var per []float64
				i := 0
				for b.Loop() {
					start := time.Now()
					for range batch {
						f.eval(reqs[i&4095])
						i++
					}
					per = append(per, float64(time.Since(start).Nanoseconds())/batch)
				}
				slices.Sort(per)
				b.ReportMetric(per[len(per)/2], "p50-ns/decision")
				b.ReportMetric(per[len(per)*99/100], "p99-ns/decision")
			})
		}
	}
}

// BenchmarkApply is the cost of one incremental update in the large snapshot.
func BenchmarkApply(b *testing.B) {
	s := benchSnapshot()
	i := 0
	for b.Loop() {
		a := rbac.Assignment{ID: "bench-apply", PrincipalID: benchID(1, i%benchPrincipals), RoleDefinitionID: rbac.HelpdeskAdministrator, DirectoryScopeID: "/"}
		if err := s.Apply(rbac.PutAssignment{Assignment: a}, rbac.DeleteAssignment{ID: "bench-apply"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
