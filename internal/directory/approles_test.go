package directory_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// assignFixture is a resource API with three roles and a principal of each type.
type assignFixture struct {
	resource                    iam.ServicePrincipal
	appRole, userRole, disabled string
	client                      iam.ServicePrincipal
	user                        iam.User
	group                       iam.Group
}

func (e *appsEnv) assignFixture() assignFixture {
	e.t.Helper()
	f := assignFixture{appRole: iam.NewID(), userRole: iam.NewID(), disabled: iam.NewID()}
	role := func(id, value, member string, enabled bool) string {
		en := "true"
		if !enabled {
			en = "false"
		}
		return `{"id":"` + id + `","allowedMemberTypes":["` + member + `"],"displayName":"` + value + `","description":"d","value":"` + value + `","isEnabled":` + en + `}`
	}
	api := e.createApp(e.adminA, `{"displayName":"Ledger API","appRoles":[`+role(f.appRole, "Ledger.Read.All", "Application", true)+`,`+
		role(f.userRole, "Ledger.User", "User", true)+`,`+role(f.disabled, "Ledger.Old", "Application", false)+`]}`)
	f.resource = e.createSP(e.adminA, api.AppID)
	f.client = e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"Ledger client"}`).AppID)
	f.user = e.createUser(e.adminA, "ada@alpha.ostiary.test")
	f.group = e.createGroup(e.adminA, "accountants")
	return f
}

func TestAssignAppRole(t *testing.T) {
	e := newAppsEnv(t)
	f := e.assignFixture()
	a, err := e.svc.AssignAppRole(e.ctx, e.adminA, f.client.ID, f.resource.ID, f.appRole)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ID) != 43 || a.PrincipalType != "ServicePrincipal" || a.PrincipalID != f.client.ID || a.ResourceID != f.resource.ID ||
		a.AppRoleID != f.appRole || *a.ResourceDisplayName != "Ledger API" || *a.PrincipalDisplayName != "Ledger client" || !a.CreatedDateTime.Equal(e.now) {
		t.Fatalf("assignment = %+v", a)
	}
	if e.audits(e.tenantA, "Add app role assignment to service principal") != 1 {
		t.Error("not audited")
	}
	notFound := "Permission being assigned was not found on application"
	for name, c := range map[string]struct{ principal, role string }{
		"user role to an app":         {f.client.ID, f.userRole},
		"disabled role":               {f.client.ID, f.disabled},
		"unknown role":                {f.client.ID, iam.NewID()},
		"application role to a user":  {f.user.ID, f.appRole},
		"application role to a group": {f.group.ID, f.appRole},
	} {
		_, err := e.svc.AssignAppRole(e.ctx, e.adminA, c.principal, f.resource.ID, c.role)
		if !errs.Is(err, errs.Invalid) || errs.As(err).Code != "Request_BadRequest" || !strings.Contains(errs.As(err).Message, notFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, f.client.ID, f.resource.ID, f.appRole)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "Permission being assigned already exists on the object")
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, f.client.ID, f.resource.ID, "role")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "appRoleId")
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, iam.NewID(), f.resource.ID, f.appRole)
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, f.client.ID, f.user.ID, f.appRole)
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	au, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Sales"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, au.ID, f.resource.ID, f.appRole)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "principalId")

	for _, p := range []string{f.user.ID, f.group.ID} {
		if _, err := e.svc.AssignAppRole(e.ctx, e.adminA, p, f.resource.ID, f.userRole); err != nil {
			t.Fatal(err)
		}
	}
	// Default access works for any principal type.
	if _, err := e.svc.AssignAppRole(e.ctx, e.adminA, f.user.ID, f.resource.ID, iam.DefaultAccessAppRoleID); err != nil {
		t.Fatal(err)
	}
}

func TestListAndRemoveAppRoleAssignments(t *testing.T) {
	e := newAppsEnv(t)
	f := e.assignFixture()
	mine, _ := e.svc.AssignAppRole(e.ctx, e.adminA, f.client.ID, f.resource.ID, f.appRole)
	ua, _ := e.svc.AssignAppRole(e.ctx, e.adminA, f.user.ID, f.resource.ID, f.userRole)
	if _, err := e.svc.AssignAppRole(e.ctx, e.adminA, f.group.ID, f.resource.ID, f.userRole); err != nil {
		t.Fatal(err)
	}

	held, err := e.svc.ListAppRoleAssignments(e.ctx, e.adminA, f.client.ID, query.List{})
	if err != nil || len(held.Items) != 1 || held.Items[0].ID != mine.ID {
		t.Fatalf("client's assignments = %+v, %v", held.Items, err)
	}
	// Page through the resource's assignments one at a time.
	seen := map[string]bool{}
	q := query.List{Top: 1, Count: true}
	for {
		p, err := e.svc.ListAppRoleAssignedTo(e.ctx, e.adminA, f.resource.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Count != 3 || len(p.Items) != 1 {
			t.Fatalf("page = %d items, count %d", len(p.Items), p.Count)
		}
		seen[p.Items[0].ID] = true
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	if len(seen) != 3 {
		t.Fatalf("paged through %d assignments, want 3", len(seen))
	}
	byType := query.Cmp{Field: query.Field{Path: "principalType", Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: "user"}}
	if p, err := e.svc.ListAppRoleAssignedTo(e.ctx, e.adminA, f.resource.ID, query.List{Filter: byType}); err != nil || len(p.Items) != 1 || p.Items[0].ID != ua.ID {
		t.Fatalf("filtered = %+v, %v", p.Items, err)
	}
	badFilter := query.StartsWith{Field: query.Field{Path: "createdDateTime"}, Prefix: "2"}
	_, err = e.svc.ListAppRoleAssignedTo(e.ctx, e.adminA, f.resource.ID, query.List{Filter: badFilter})
	wantErr(t, err, errs.Unsupported, "Request_UnsupportedQuery", "")

	// A renamed principal shows its new name; a deleted one disappears.
	if err := e.svc.UpdateUser(e.ctx, e.adminA, f.user.ID, directory.Patch(`{"displayName":"Ada L."}`)); err != nil {
		t.Fatal(err)
	}
	p, _ := e.svc.ListAppRoleAssignments(e.ctx, e.adminA, f.user.ID, query.List{})
	if len(p.Items) != 1 || *p.Items[0].PrincipalDisplayName != "Ada L." {
		t.Fatalf("user's assignments = %+v", p.Items)
	}
	if err := e.svc.DeleteGroup(e.ctx, e.adminA, f.group.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.svc.ListAppRoleAssignedTo(e.ctx, e.adminA, f.resource.ID, query.List{}); len(p.Items) != 2 {
		t.Fatalf("assignedTo after deleting the group = %d, want 2", len(p.Items))
	}

	// Removal goes through the principal or the resource, nothing else.
	wantErr(t, e.svc.RemoveAppRoleAssignment(e.ctx, e.adminA, f.user.ID, mine.ID), errs.NotFound, "Request_ResourceNotFound", "")
	wantErr(t, e.svc.RemoveAppRoleAssignment(e.ctx, e.adminB, f.client.ID, mine.ID), errs.NotFound, "", "")
	if err := e.svc.RemoveAppRoleAssignment(e.ctx, e.adminA, f.resource.ID, mine.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.RemoveAppRoleAssignment(e.ctx, e.adminA, f.client.ID, mine.ID), errs.NotFound, "", "")
	if err := e.svc.RemoveAppRoleAssignment(e.ctx, e.adminA, f.user.ID, ua.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.svc.ListAppRoleAssignedTo(e.ctx, e.adminA, f.resource.ID, query.List{}); len(p.Items) != 0 {
		t.Fatalf("assignments left: %+v", p.Items)
	}
	if e.audits(e.tenantA, "Remove app role assignment from service principal") != 1 || e.audits(e.tenantA, "Remove app role assignment from user") != 1 {
		t.Error("removals not audited")
	}
}

func TestAppRoleAssignmentsDeniedAndIsolated(t *testing.T) {
	e := newAppsEnv(t)
	f := e.assignFixture()
	// Directory.ReadWrite.All alone does not grant app roles: that is how
	// an app would give itself more permissions.
	dirWriter := caller(e.tenantA, "", "Directory.ReadWrite.All")
	_, err := e.svc.AssignAppRole(e.ctx, dirWriter, f.client.ID, f.resource.ID, f.appRole)
	wantDenied(t, err)
	a, err := e.svc.AssignAppRole(e.ctx, caller(e.tenantA, "", "AppRoleAssignment.ReadWrite.All"), f.client.ID, f.resource.ID, f.appRole)
	if err != nil {
		t.Fatal(err)
	}
	wantDenied(t, e.svc.RemoveAppRoleAssignment(e.ctx, dirWriter, f.client.ID, a.ID))
	_, err = e.svc.ListAppRoleAssignments(e.ctx, caller(e.tenantA, ""), f.client.ID, query.List{})
	wantDenied(t, err)
	// Tenant B can neither see nor use tenant A's objects.
	_, err = e.svc.AssignAppRole(e.ctx, e.adminB, f.client.ID, f.resource.ID, f.appRole)
	wantErr(t, err, errs.NotFound, "", "")
	_, err = e.svc.ListAppRoleAssignedTo(e.ctx, e.adminB, f.resource.ID, query.List{})
	wantErr(t, err, errs.NotFound, "", "")
	bApp := e.createApp(e.adminB, `{"displayName":"B client"}`)
	bSP := e.createSP(e.adminB, bApp.AppID)
	_, err = e.svc.AssignAppRole(e.ctx, e.adminB, bSP.ID, f.resource.ID, f.appRole)
	wantErr(t, err, errs.NotFound, "", "")
}

func TestAssignMicrosoftGraphPermission(t *testing.T) {
	e := newAppsEnv(t)
	graph := iam.ServicePrincipal{ObjectMeta: iam.ObjectMeta{ID: iam.NewID(), DisplayName: ptr("Microsoft Graph")}, AppID: iam.MicrosoftGraphAppID,
		AppRoles: graphperms.AppRoles(), OAuth2PermissionScopes: graphperms.Scopes()}
	data, _ := json.Marshal(graph)
	err := e.st.Write(e.ctx, func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: e.tenantA, Kind: iam.KindServicePrincipal, ID: graph.ID, Key: graph.AppID, DisplayName: "Microsoft Graph", CreatedAt: e.now, Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
	client := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"Daemon"}`).AppID)
	role, ok := graphperms.AppRoleByValue("User.Read.All")
	if !ok {
		t.Fatal("User.Read.All missing from the catalog")
	}
	a, err := e.svc.AssignAppRole(e.ctx, e.adminA, client.ID, graph.ID, role.ID)
	if err != nil || *a.ResourceDisplayName != "Microsoft Graph" {
		t.Fatalf("AssignAppRole = %+v, %v", a, err)
	}
	// A delegated permission is not an app role.
	scope := graphperms.Scopes()[0]
	_, err = e.svc.AssignAppRole(e.ctx, e.adminA, client.ID, graph.ID, scope.ID)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "Permission being assigned was not found on application '"+iam.MicrosoftGraphAppID+"'")
}

func ptr[T any](v T) *T { return &v }
