package access_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/access"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const tn = "11111111-1111-1111-1111-111111111111"

var (
	epoch   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	quiet   = slog.New(slog.NewTextHandler(io.Discard, nil))
	pwReset = rbac.Request{Principal: rbac.Principal{ID: "hana", Type: rbac.User}, Action: "microsoft.directory/users/password/update",
		Target: rbac.Target{ID: "bob", Kind: iam.KindUser}}
)

// env is a store with two replicas' access caches over it.
type env struct {
	t    testing.TB
	st   store.Store
	a, b *access.Tenants
	wa   store.Store // writes through replica a
}

func newEnv(t testing.TB) *env {
	st := backendtest.Open(t)
	e := &env{t: t, st: st, a: access.New(st, quiet), b: access.New(st, quiet)}
	e.wa = e.a.Watch(st)
	e.write(func(w store.Writer) error {
		if err := w.CreateTenant(iam.Tenant{ID: tn, CreatedDateTime: epoch}); err != nil {
			return err
		}
		for _, o := range []store.Object{
			doc(iam.KindUser, "hana", map[string]any{"userType": "Member"}),
			doc(iam.KindUser, "bob", map[string]any{"userType": "Member"}),
			doc(iam.KindUser, "gus", map[string]any{"userType": "Guest"}),
			doc(iam.KindGroup, "helpdesk", map[string]any{"isAssignableToRole": true}),
			doc(iam.KindGroup, "plain", map[string]any{"isAssignableToRole": false}),
			doc(iam.KindAdministrativeUnit, "au-east", nil),
		} {
			if err := w.Insert(o); err != nil {
				return err
			}
		}
		return nil
	})
	return e
}

func doc(kind iam.Kind, id string, props map[string]any) store.Object {
	if props == nil {
		props = map[string]any{}
	}
	props["id"] = id
	b, _ := json.Marshal(props)
	return store.Object{TenantID: tn, Kind: kind, ID: id, CreatedAt: epoch, Data: b}
}

func (e *env) write(fn func(store.Writer) error) {
	e.t.Helper()
	if err := e.wa.Write(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) assign(id, principal, role, scope string) {
	e.t.Helper()
	e.write(func(w store.Writer) error {
		return w.Insert(doc(iam.KindRoleAssignment, id, map[string]any{"principalId": principal,
			"roleDefinitionId": role, "directoryScopeId": scope}))
	})
}

func (e *env) allowed(ts *access.Tenants, r rbac.Request) bool {
	e.t.Helper()
	t, err := ts.Tenant(context.Background(), tn)
	if err != nil {
		e.t.Fatal(err)
	}
	return rbac.Allowed(t.Roles, r, epoch)
}

// A replica's own writes are enforced on its very next decision, with no
// feed reader running.
func TestOwnWritesAreSeenAtOnce(t *testing.T) {
	e := newEnv(t)
	if e.allowed(e.a, pwReset) {
		t.Fatal("allowed before any assignment")
	}
	e.assign("a1", "hana", rbac.HelpdeskAdministrator, "/")
	if !e.allowed(e.a, pwReset) {
		t.Fatal("the assignment is not seen")
	}
	e.write(func(w store.Writer) error { return w.Delete(tn, iam.KindRoleAssignment, "a1") })
	if e.allowed(e.a, pwReset) {
		t.Fatal("the deleted assignment still works")
	}

	// Through a role-assignable group: membership changes count.
	e.assign("a2", "helpdesk", rbac.HelpdeskAdministrator, "/")
	e.write(func(w store.Writer) error {
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: "helpdesk", TargetID: "hana", CreatedAt: epoch})
	})
	if !e.allowed(e.a, pwReset) {
		t.Fatal("a member of the role-assignable group is not granted its role")
	}
	e.write(func(w store.Writer) error { return w.RemoveLink(tn, iam.RelMember, "helpdesk", "hana", "") })
	if e.allowed(e.a, pwReset) {
		t.Fatal("a removed member keeps the group's role")
	}

	// An assignment to a group that is not role-assignable gives nothing.
	e.write(func(w store.Writer) error {
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: "plain", TargetID: "hana", CreatedAt: epoch})
	})
	e.assign("a3", "plain", rbac.HelpdeskAdministrator, "/")
	if e.allowed(e.a, pwReset) {
		t.Fatal("a plain group's assignment was honoured")
	}
}

// Another replica catches up from the feed within its poll interval.
func TestOtherReplicaFollowsTheFeed(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.b.Run(ctx, 20*time.Millisecond)
	if e.allowed(e.b, pwReset) {
		t.Fatal("allowed before any assignment")
	}
	eventually := func(want bool, what string) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for e.allowed(e.b, pwReset) != want {
			if time.Now().After(deadline) {
				t.Fatalf("replica b did not see %s within a second", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	e.assign("a1", "hana", rbac.HelpdeskAdministrator, "/")
	eventually(true, "the new assignment")
	e.write(func(w store.Writer) error { return w.Delete(tn, iam.KindRoleAssignment, "a1") })
	eventually(false, "the deleted assignment")

	// AU-scoped: the target's unit membership travels through the feed too.
	e.assign("a2", "hana", rbac.HelpdeskAdministrator, "/administrativeUnits/au-east")
	e.write(func(w store.Writer) error {
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: "au-east", TargetID: "bob", CreatedAt: epoch})
	})
	eventually(true, "bob joining the unit")
	// Deleting the unit (hard) drops what it granted.
	e.write(func(w store.Writer) error { return w.Delete(tn, iam.KindAdministrativeUnit, "au-east") })
	eventually(false, "the unit's deletion")
}

func TestGuestsAndPolicy(t *testing.T) {
	e := newEnv(t)
	ten, err := e.a.Tenant(context.Background(), tn)
	if err != nil {
		t.Fatal(err)
	}
	if ten.DefaultRole("gus") != rbac.GuestUser || ten.DefaultRole("hana") != rbac.DefaultUser {
		t.Fatalf("default roles: gus %s, hana %s", ten.DefaultRole("gus"), ten.DefaultRole("hana"))
	}
	if !ten.Policy().AllowedToCreateApps {
		t.Fatal("the default policy lets users create apps")
	}
	p := iam.DefaultAuthorizationPolicy()
	p.DefaultUserRolePermissions.AllowedToCreateApps = false
	p.GuestUserRoleID = rbac.RestrictedGuestUser
	b, _ := json.Marshal(p)
	e.write(func(w store.Writer) error {
		if err := w.Insert(store.Object{TenantID: tn, Kind: iam.KindAuthorizationPolicy, ID: iam.AuthorizationPolicyID, CreatedAt: epoch, Data: b}); err != nil {
			return err
		}
		u := doc(iam.KindUser, "hana", map[string]any{"userType": "Guest"})
		return w.Update(u)
	})
	ten, _ = e.a.Tenant(context.Background(), tn)
	if ten.Policy().AllowedToCreateApps || ten.DefaultRole("hana") != rbac.RestrictedGuestUser {
		t.Fatalf("policy %+v, hana's role %s", ten.Policy(), ten.DefaultRole("hana"))
	}
}

// State built after writes reads them from the store, and custom roles
// load before the assignments that use them.
func TestBuildFromStore(t *testing.T) {
	e := newEnv(t)
	e.write(func(w store.Writer) error {
		role := doc(iam.KindRoleDefinition, "custom-apps", map[string]any{"displayName": "App Managers", "isEnabled": true,
			"rolePermissions": []any{map[string]any{"allowedResourceActions": []string{"microsoft.directory/applications/basic/update"}}}})
		if err := w.Insert(role); err != nil {
			return err
		}
		if err := w.Insert(doc(iam.KindRoleAssignment, "a9", map[string]any{"principalId": "hana",
			"roleDefinitionId": "custom-apps", "directoryScopeId": "/"})); err != nil {
			return err
		}
		return w.AddLink(store.Link{TenantID: tn, Rel: iam.RelMember, SourceID: "au-east", TargetID: "bob", CreatedAt: epoch})
	})
	fresh := access.New(e.st, quiet)
	ten, err := fresh.Tenant(context.Background(), tn)
	if err != nil {
		t.Fatal(err)
	}
	if got := ten.Roles.Assignments("hana"); !slices.Equal(got, []string{"a9"}) {
		t.Fatalf("hana's assignments: %v", got)
	}
	if _, units := ten.Roles.Memberships("bob"); !slices.Equal(units, []string{"au-east"}) {
		t.Fatalf("bob's units: %v", units)
	}
	app := rbac.Request{Principal: rbac.Principal{ID: "hana", Type: rbac.User}, Action: "microsoft.directory/applications/basic/update",
		Target: rbac.Target{ID: "x", Kind: iam.KindApplication}}
	if !rbac.Allowed(ten.Roles, app, epoch) {
		t.Fatal("the custom role does not grant its action")
	}
}
