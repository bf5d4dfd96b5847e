package directory_test

import (
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

const userAdministrator = "fe930be7-5e62-47db-91af-98c3a49a38b1"

func TestRoleManagementService(t *testing.T) {
	e := newAppsEnv(t)
	pra := &iam.Caller{Type: iam.CallerApp, TenantID: e.tenantA, ObjectID: iam.NewID(), AppID: iam.NewID(), AppDisplayName: "PRA",
		Roles: []string{"RoleManagement.ReadWrite.Directory"}}
	praB := &iam.Caller{Type: iam.CallerApp, TenantID: e.tenantB, ObjectID: iam.NewID(), AppID: iam.NewID(), AppDisplayName: "PRA B",
		Roles: []string{"RoleManagement.ReadWrite.Directory"}}

	// Directory.ReadWrite.All neither defines nor assigns roles.
	_, err := e.svc.CreateRoleDefinition(e.ctx, e.adminA, directory.Patch(`{"displayName":"x","isEnabled":true,"rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"]}]}`))
	wantErr(t, err, errs.Denied, "", "")

	role, err := e.svc.CreateRoleDefinition(e.ctx, pra, directory.Patch(`{"displayName":"User Editors","isEnabled":true,"templateId":"11111111-2222-3333-4444-555555555555",
		"rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"]}]}`))
	if err != nil || role.TemplateID != "11111111-2222-3333-4444-555555555555" || role.ID == role.TemplateID || role.IsBuiltIn {
		t.Fatalf("create %+v, %v", role, err)
	}
	for _, body := range []string{
		`{"displayName":"c","isEnabled":true,"rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"],"condition":"$ResourceIsSelf"}]}`,
		`{"displayName":"c","isEnabled":true,"rolePermissions":[]}`,
		`{"displayName":"c","isEnabled":true,"isBuiltIn":true,"rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"]}]}`,
		`{"displayName":"c","isEnabled":true,"templateId":"` + userAdministrator + `","rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"]}]}`,
	} {
		_, err := e.svc.CreateRoleDefinition(e.ctx, pra, directory.Patch(body))
		wantErr(t, err, errs.Invalid, "Request_BadRequest", "")
	}
	_, err = e.svc.CreateRoleDefinition(e.ctx, pra, directory.Patch(`{"displayName":"dup","isEnabled":true,"templateId":"11111111-2222-3333-4444-555555555555",
		"rolePermissions":[{"allowedResourceActions":["microsoft.directory/users/basic/update"]}]}`))
	wantErr(t, err, errs.Conflict, "", "")

	// Tenants do not see each other's custom roles.
	if _, err := e.svc.GetRoleDefinition(e.ctx, praB, role.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("other tenant reads the role: %v", err)
	}
	builtIn := query.Cmp{Field: query.Field{Path: "isBuiltIn", Type: query.Bool}, Op: query.Eq, Value: query.Value{Type: query.Bool}}
	if p, err := e.svc.ListRoleDefinitions(e.ctx, pra, query.List{Filter: builtIn}); err != nil || len(p.Items) != 1 || p.Items[0].ID != role.ID {
		t.Errorf("isBuiltIn eq false = %+v, %v", p.Items, err)
	}
	if p, _ := e.svc.ListRoleDefinitions(e.ctx, praB, query.List{Filter: builtIn}); len(p.Items) != 0 {
		t.Errorf("tenant B lists %d custom roles", len(p.Items))
	}

	// Scopes: an AU takes User Administrator and a custom user role, not Global Administrator.
	u := e.createUser(e.adminA, "helper@alpha.ostiary.test")
	au, err := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Region"}`))
	if err != nil {
		t.Fatal(err)
	}
	assign := func(c *iam.Caller, principal, role, scope string) (iam.RoleAssignment, error) {
		return e.svc.CreateRoleAssignment(e.ctx, c, directory.Patch(`{"principalId":"`+principal+`","roleDefinitionId":"`+role+`","directoryScopeId":"`+scope+`"}`))
	}
	auScope := "/administrativeUnits/" + au.ID
	if _, err := assign(pra, u.ID, userAdministrator, auScope); err != nil {
		t.Fatal(err)
	}
	ra, err := assign(pra, u.ID, role.ID, auScope)
	if err != nil || ra.ResourceScope != auScope {
		t.Fatalf("custom role at AU: %+v, %v", ra, err)
	}
	_, err = assign(pra, u.ID, iam.GlobalAdministratorRoleID, auScope)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "cannot be assigned at the scope")
	_, err = assign(pra, u.ID, role.ID, "/"+u.ID)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "directory scope")
	_, err = assign(pra, u.ID, role.ID, "tenant")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "directoryScopeId")
	// A principal of another tenant does not exist here.
	_, err = assign(praB, u.ID, userAdministrator, "/")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "does not exist")

	// A disabled role cannot be given out.
	if err := e.svc.UpdateRoleDefinition(e.ctx, pra, role.ID, directory.Patch(`{"isEnabled":false}`)); err != nil {
		t.Fatal(err)
	}
	_, err = assign(pra, u.ID, role.ID, "/")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "disabled")
	err = e.svc.UpdateRoleDefinition(e.ctx, pra, role.ID, directory.Patch(`{"templateId":"`+iam.NewID()+`"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")

	err = e.svc.DeleteRoleDefinition(e.ctx, pra, role.ID)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "assigned")
	if err := e.svc.DeleteRoleAssignment(e.ctx, pra, ra.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteRoleDefinition(e.ctx, pra, role.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.audits(e.tenantA, "Add member to role"); n != 2 {
		t.Errorf("%d 'Add member to role' records", n)
	}
	for _, a := range []string{"Remove member from role", "Add role definition", "Update role definition", "Delete role definition"} {
		if e.audits(e.tenantA, a) != 1 {
			t.Errorf("no %q record", a)
		}
	}
}
