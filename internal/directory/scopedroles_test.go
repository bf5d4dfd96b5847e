package directory_test

import (
	"testing"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Built-in role template ids used by the role tests.
const (
	applicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	applicationDeveloper          = "cf1c38e5-3621-4004-a7cb-879624dced7c"
	cloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	groupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	knowledgeAdministrator        = "b5a8dcf3-09d5-43a9-a639-8e29ef291470"
	licenseAdministrator          = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
	privilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	helpdeskAdministrator         = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
)

// roleAdmin can manage roles and read every kind of object.
func roleAdmin(tenant string) *iam.Caller {
	return caller(tenant, "", "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory")
}

func (e *appsEnv) assign(c *iam.Caller, principal, role, scope string) (iam.RoleAssignment, error) {
	return e.svc.CreateRoleAssignment(e.ctx, c, directory.Patch(`{"principalId":"`+principal+`","roleDefinitionId":"`+role+`","directoryScopeId":"`+scope+`"}`))
}

func (e *appsEnv) mustAssign(c *iam.Caller, principal, role, scope string) iam.RoleAssignment {
	e.t.Helper()
	ra, err := e.assign(c, principal, role, scope)
	if err != nil {
		e.t.Fatalf("assign %s to %s at %s: %v", role, principal, scope, err)
	}
	return ra
}

// TestScopedRoleMembers checks that an administrative unit's
// scopedRoleMembers and roleAssignments at its scope are one set.
func TestScopedRoleMembers(t *testing.T) {
	e := newAppsEnv(t)
	admin := roleAdmin(e.tenantA)
	pra := caller(e.tenantA, "", "RoleManagement.ReadWrite.Directory")
	au, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Region"}`))
	other, _ := e.svc.CreateAdministrativeUnit(e.ctx, e.adminA, directory.Patch(`{"displayName":"Elsewhere"}`))
	u := e.createUser(e.adminA, "helper@alpha.ostiary.test")
	sp := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"bot"}`).AppID)
	scope := "/administrativeUnits/" + au.ID

	add := func(c *iam.Caller, unit, principal, role string) (iam.ScopedRoleMembership, error) {
		return e.svc.CreateScopedRoleMember(e.ctx, c, unit, directory.Patch(`{"roleId":"`+role+`","roleMemberInfo":{"id":"`+principal+`"}}`))
	}
	m, err := add(admin, au.ID, u.ID, userAdministrator)
	if err != nil {
		t.Fatal(err)
	}
	if m.RoleID != userAdministrator || m.AdministrativeUnitID != au.ID || m.RoleMemberInfo.ID != u.ID ||
		deref(m.RoleMemberInfo.DisplayName) != deref(u.DisplayName) || deref(m.RoleMemberInfo.UserPrincipalName) != u.UserPrincipalName {
		t.Fatalf("created %+v", m)
	}
	// It is a role assignment at the unit's scope, with the same id.
	ra, err := e.svc.GetRoleAssignment(e.ctx, admin, m.ID)
	if err != nil || ra.DirectoryScopeID != scope || ra.PrincipalID != u.ID || ra.RoleDefinitionID != userAdministrator {
		t.Fatalf("role assignment behind the membership: %+v, %v", ra, err)
	}
	// And an assignment made through roleAssignments is a scoped member.
	viaRA := e.mustAssign(admin, sp.ID, helpdeskAdministrator, scope)
	list, err := e.svc.ListScopedRoleMembers(e.ctx, admin, au.ID, query.List{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("list = %+v, %v", list.Items, err)
	}
	for _, it := range list.Items {
		if it.ID == viaRA.ID && (it.RoleMemberInfo.UserPrincipalName != nil || deref(it.RoleMemberInfo.DisplayName) != "bot") {
			t.Errorf("service principal member %+v", it.RoleMemberInfo)
		}
	}
	if p, _ := e.svc.ListScopedRoleMembers(e.ctx, admin, other.ID, query.List{}); len(p.Items) != 0 {
		t.Errorf("another unit lists %d members", len(p.Items))
	}
	mine, err := e.svc.ListScopedRoleMemberOf(e.ctx, admin, u.UserPrincipalName, query.List{})
	if err != nil || len(mine.Items) != 1 || mine.Items[0].ID != m.ID {
		t.Errorf("scopedRoleMemberOf = %+v, %v", mine.Items, err)
	}

	// The same checks as roleAssignments: duplicates, roles a unit takes.
	_, err = add(admin, au.ID, u.ID, userAdministrator)
	wantErr(t, err, errs.Conflict, "Request_MultipleObjectsWithSameKeyValue", "")
	_, err = add(admin, au.ID, u.ID, iam.GlobalAdministratorRoleID)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "cannot be assigned at the scope")
	_, err = add(admin, au.ID, iam.NewID(), userAdministrator)
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "does not exist")
	_, err = add(admin, au.ID, u.ID, "User Administrator")
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "roleId")
	_, err = e.svc.CreateScopedRoleMember(e.ctx, admin, au.ID, directory.Patch(`{"roleId":"`+userAdministrator+`"}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "roleMemberInfo")
	_, err = e.svc.CreateScopedRoleMember(e.ctx, admin, au.ID, directory.Patch(`{"roleId":"`+userAdministrator+`","administrativeUnitId":"`+other.ID+`","roleMemberInfo":{"id":"`+sp.ID+`"}}`))
	wantErr(t, err, errs.Invalid, "Request_BadRequest", "read-only")
	_, err = add(admin, iam.NewID(), u.ID, userAdministrator)
	wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
	_, err = add(e.adminA, au.ID, u.ID, helpdeskAdministrator)
	wantDenied(t, err)

	// Another unit's path, or a tenant-wide assignment, does not reach it.
	tenantWide := e.mustAssign(admin, u.ID, helpdeskAdministrator, "/")
	for _, c := range []struct{ unit, id string }{{other.ID, m.ID}, {au.ID, tenantWide.ID}, {au.ID, iam.NewID()}} {
		_, err := e.svc.GetScopedRoleMember(e.ctx, admin, c.unit, c.id)
		wantErr(t, err, errs.NotFound, "Request_ResourceNotFound", "")
		wantErr(t, e.svc.DeleteScopedRoleMember(e.ctx, admin, c.unit, c.id), errs.NotFound, "Request_ResourceNotFound", "")
	}

	// A caller who may read role assignments but not users sees member ids only.
	got, err := e.svc.GetScopedRoleMember(e.ctx, pra, au.ID, m.ID)
	if err != nil || got.RoleMemberInfo.ID != u.ID || got.RoleMemberInfo.DisplayName != nil || got.RoleMemberInfo.UserPrincipalName != nil {
		t.Errorf("membership read without User.Read.All: %+v, %v", got, err)
	}

	if err := e.svc.DeleteScopedRoleMember(e.ctx, admin, au.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetRoleAssignment(e.ctx, admin, m.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("role assignment survives its membership: %v", err)
	}
	if e.audits(e.tenantA, "Add member to role") != 3 || e.audits(e.tenantA, "Remove member from role") != 1 {
		t.Error("scoped role changes not audited as role changes")
	}
}

// TestLastGlobalAdministrator checks that the last person holding Global
// Administrator can lose neither the assignment nor the account.
func TestLastGlobalAdministrator(t *testing.T) {
	e := newAppsEnv(t)
	admin := roleAdmin(e.tenantA)
	const last = "last Global Administrator"
	alice := e.createUser(e.adminA, "alice@alpha.ostiary.test")
	aliceGA := e.mustAssign(admin, alice.ID, iam.GlobalAdministratorRoleID, "/")
	wantErr(t, e.svc.DeleteRoleAssignment(e.ctx, admin, aliceGA.ID), errs.Invalid, "Request_BadRequest", last)
	wantErr(t, e.svc.DeleteUser(e.ctx, admin, alice.ID), errs.Invalid, "Request_BadRequest", last)

	// A service principal holding the role does not count as a person.
	sp := e.createSP(e.adminA, e.createApp(e.adminA, `{"displayName":"automation"}`).AppID)
	spGA := e.mustAssign(admin, sp.ID, iam.GlobalAdministratorRoleID, "/")
	wantErr(t, e.svc.DeleteRoleAssignment(e.ctx, admin, aliceGA.ID), errs.Invalid, "Request_BadRequest", last)
	if err := e.svc.DeleteRoleAssignment(e.ctx, admin, spGA.ID); err != nil {
		t.Fatalf("removing a service principal's Global Administrator: %v", err)
	}
	// Nor does a disabled user.
	off := e.createUser(e.adminA, "off@alpha.ostiary.test")
	if err := e.svc.UpdateUser(e.ctx, admin, off.ID, directory.Patch(`{"accountEnabled":false}`)); err != nil {
		t.Fatal(err)
	}
	e.mustAssign(admin, off.ID, iam.GlobalAdministratorRoleID, "/")
	wantErr(t, e.svc.DeleteUser(e.ctx, admin, alice.ID), errs.Invalid, "Request_BadRequest", last)

	// A member of a role-assignable group holding the role does.
	g, err := e.svc.CreateGroup(e.ctx, admin, directory.Patch(`{"displayName":"Admins","mailEnabled":false,"mailNickname":"admins","securityEnabled":true,"isAssignableToRole":true}`))
	if err != nil {
		t.Fatal(err)
	}
	bob := e.createUser(e.adminA, "bob@alpha.ostiary.test")
	if err := e.svc.AddGroupMember(e.ctx, admin, g.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	groupGA := e.mustAssign(admin, g.ID, iam.GlobalAdministratorRoleID, "/")
	if err := e.svc.DeleteRoleAssignment(e.ctx, admin, aliceGA.ID); err != nil {
		t.Fatalf("removing one of two Global Administrators: %v", err)
	}
	// Now Bob, through the group, is the last one.
	wantErr(t, e.svc.DeleteRoleAssignment(e.ctx, admin, groupGA.ID), errs.Invalid, "Request_BadRequest", last)
	wantErr(t, e.svc.DeleteUser(e.ctx, admin, bob.ID), errs.Invalid, "Request_BadRequest", last)
	// Alice's account is no longer protected, and another role's
	// assignments never are.
	if err := e.svc.DeleteUser(e.ctx, admin, alice.ID); err != nil {
		t.Fatal(err)
	}
	ua := e.mustAssign(admin, bob.ID, userAdministrator, "/")
	if err := e.svc.DeleteRoleAssignment(e.ctx, admin, ua.ID); err != nil {
		t.Fatal(err)
	}
	// Another tenant's administrators do not count here.
	carol := e.createUser(e.adminB, "carol@beta.ostiary.test")
	e.mustAssign(roleAdmin(e.tenantB), carol.ID, iam.GlobalAdministratorRoleID, "/")
	wantErr(t, e.svc.DeleteUser(e.ctx, admin, bob.ID), errs.Invalid, "Request_BadRequest", last)
}

// TestObjectScopeRoles checks which roles an app registration, a service
// principal and a group take as a scope.
func TestObjectScopeRoles(t *testing.T) {
	e := newAppsEnv(t)
	admin := roleAdmin(e.tenantA)
	u := e.createUser(e.adminA, "scoped@alpha.ostiary.test")
	single := e.createApp(e.adminA, `{"displayName":"Mine"}`)
	multi := e.createApp(e.adminA, `{"displayName":"Shared","signInAudience":"AzureADMultipleOrgs"}`)
	sp := e.createSP(e.adminA, single.AppID)
	security := e.createGroup(e.adminA, "security")
	unified, err := e.svc.CreateGroup(e.ctx, admin, directory.Patch(`{"displayName":"Team","mailEnabled":true,"mailNickname":"team","securityEnabled":false,"groupTypes":["Unified"]}`))
	if err != nil {
		t.Fatal(err)
	}
	assignable, err := e.svc.CreateGroup(e.ctx, admin, directory.Patch(`{"displayName":"Admins","mailEnabled":false,"mailNickname":"admins","securityEnabled":true,"isAssignableToRole":true}`))
	if err != nil {
		t.Fatal(err)
	}
	custom := func(name string, actions ...string) string {
		body := `{"displayName":"` + name + `","isEnabled":true,"rolePermissions":[{"allowedResourceActions":[`
		for i, a := range actions {
			if i > 0 {
				body += ","
			}
			body += `"` + a + `"`
		}
		d, err := e.svc.CreateRoleDefinition(e.ctx, admin, directory.Patch(body+`]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	myOrgEditor := custom("Single-tenant app editor", "microsoft.directory/applications.myOrganization/basic/update")
	appReader := custom("App reader", "microsoft.directory/applications/allProperties/read")
	appCreator := custom("App creator", "microsoft.directory/applications/create", "microsoft.directory/applications/basic/update")
	userEditor := custom("User editor", "microsoft.directory/users/basic/update")

	for _, c := range []struct {
		name, role, scope string
		ok                bool
	}{
		{"Application Administrator at an app", applicationAdministrator, single.ID, true},
		{"Cloud Application Administrator at a service principal", cloudApplicationAdministrator, sp.ID, true},
		{"Application Developer (create only) at an app", applicationDeveloper, single.ID, false},
		{"Groups Administrator at an app", groupsAdministrator, single.ID, false},
		{"Application Administrator at a group", applicationAdministrator, security.ID, false},
		{"myOrganization subtype at a single-tenant app", myOrgEditor, single.ID, true},
		{"myOrganization subtype at a multi-tenant app", myOrgEditor, multi.ID, false},
		{"custom reads at an app", appReader, multi.ID, true},
		{"custom role with a create at an app", appCreator, single.ID, false},
		{"custom user role at a group", userEditor, security.ID, false},
		{"Groups Administrator at a security group", groupsAdministrator, security.ID, true},
		{"Knowledge Administrator (groups.security) at a security group", knowledgeAdministrator, security.ID, true},
		{"Knowledge Administrator (groups.security) at a Microsoft 365 group", knowledgeAdministrator, unified.ID, false},
		{"License Administrator at a security group", licenseAdministrator, security.ID, true},
		{"License Administrator (writes only) at a role-assignable group", licenseAdministrator, assignable.ID, false},
		{"Privileged Role Administrator at a role-assignable group", privilegedRoleAdministrator, assignable.ID, true},
		{"Groups Administrator (reads count) at a role-assignable group", groupsAdministrator, assignable.ID, true},
		{"any role at a user", applicationAdministrator, u.ID, false},
	} {
		_, err := e.assign(admin, u.ID, c.role, "/"+c.scope)
		if c.ok && err != nil {
			t.Errorf("%s: refused: %v", c.name, err)
		}
		if !c.ok && (err == nil || errs.As(err).Code != "Request_BadRequest") {
			t.Errorf("%s: got %v, want Request_BadRequest", c.name, err)
		}
	}
}
