package access_test

import (
	"context"
	"testing"

	"github.com/ostiary/ostiary/internal/access"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

// BenchmarkAuthorize is the cost authorization adds to a Graph call, to
// compare with BenchmarkGetUser in internal/app (docs/performance.md):
//   - app: an app-only token with a Graph permission (no snapshot);
//   - member-read: a delegated member reading another user by the default
//     user role (snapshot lookup and one evaluation, no store read);
//   - unit-admin-reset: a delegated Helpdesk Administrator scoped to an
//     administrative unit resetting a member's password (the sensitive
//     path: the target is resolved, then the matrix applied).
func BenchmarkAuthorize(b *testing.B) {
	e := newEnv(b)
	e.assign("a1", "hana", rbac.HelpdeskAdministrator, "/administrativeUnits/au-east")
	e.write(func(w store.Writer) error {
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: "au-east", TargetID: "bob", CreatedAt: epoch})
	})
	az := &access.Authorizer{Tenants: e.a}
	ctx := context.Background()
	app := &iam.Caller{Type: iam.CallerApp, TenantID: tn, ObjectID: "sp", Roles: []string{"User.Read.All"}}
	hana := &iam.Caller{Type: iam.CallerUser, TenantID: tn, ObjectID: "hana", Scopes: []string{"Directory.AccessAsUser.All"}}
	resolve := func() (authz.Target, error) { return authz.Target{ID: "bob", Kind: iam.KindUser}, nil }
	cases := []struct {
		name string
		c    *iam.Caller
		r    authz.Request
	}{
		{"app", app, authz.Request{Action: authz.UsersRead, TargetKind: iam.KindUser, TargetID: "bob", Resolve: resolve}},
		{"member-read", hana, authz.Request{Action: authz.UsersRead, TargetKind: iam.KindUser, TargetID: "bob", Resolve: resolve}},
		{"unit-admin-reset", hana, authz.Request{Action: authz.UsersPassword, TargetKind: iam.KindUser, TargetID: "bob", Resolve: resolve}},
	}
	for _, c := range cases {
		if err := az.Authorize(ctx, c.c, c.r); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := az.Authorize(ctx, c.c, c.r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
