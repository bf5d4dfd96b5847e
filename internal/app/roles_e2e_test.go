package app_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

const (
	globalAdminRole = "62e90394-69f5-4237-9190-012177145e10"
	defaultUserRole = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
	rolesPath       = "/v1.0/roleManagement/directory/roleDefinitions"
	assignPath      = "/v1.0/roleManagement/directory/roleAssignments"
)

func customRole(name string, actions ...string) map[string]any {
	return map[string]any{"displayName": name, "description": name, "isEnabled": true,
		"rolePermissions": []any{map[string]any{"allowedResourceActions": actions}}}
}

// TestRoleDefinitionsAndAssignments walks roleManagement/directory over
// real HTTPS: built-ins, a custom role, assignments at the tenant and at an
// application's scope, and the refusals Entra gives.
func TestRoleDefinitionsAndAssignments(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		dom := srv.Creds.Domain

		// Built-ins, with Global Administrator in Graph's shape.
		r := call(t, srv, "GET", rolesPath, tok, nil, 200)
		vals := r.JSON(t)["value"].([]any)
		if len(vals) < 145 {
			t.Fatalf("%d role definitions, want 145+", len(vals))
		}
		if !slices.Contains(valueIDs(t, r), globalAdminRole) {
			t.Fatal("Global Administrator missing")
		}
		ga := call(t, srv, "GET", rolesPath+"/"+globalAdminRole, tok, nil, 200).JSON(t)
		if ga["displayName"] != "Global Administrator" || ga["isBuiltIn"] != true || ga["templateId"] != globalAdminRole ||
			ga["resourceScopes"].([]any)[0] != "/" || len(ga["rolePermissions"].([]any)) == 0 {
			t.Fatalf("Global Administrator: %v", ga)
		}
		if _, ok := ga["inheritsPermissionsFrom"]; ok {
			t.Error("inheritsPermissionsFrom rendered")
		}
		f := call(t, srv, "GET", rolesPath+"?$filter="+url.QueryEscape("displayName eq 'Global Administrator'"), tok, nil, 200)
		if ids := valueIDs(t, f); len(ids) != 1 || ids[0] != globalAdminRole {
			t.Errorf("filter by name: %v", ids)
		}

		// The bootstrap admin's assignment is listed.
		admin := call(t, srv, "GET", "/v1.0/users/"+srv.Creds.AdminUserPrincipalName, tok, nil, 200).JSON(t)["id"].(string)
		r = call(t, srv, "GET", assignPath+"?$filter="+url.QueryEscape("principalId eq '"+admin+"'"), tok, nil, 200)
		if vals := r.JSON(t)["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["roleDefinitionId"] != globalAdminRole ||
			vals[0].(map[string]any)["resourceScope"] != "/" {
			t.Fatalf("bootstrap assignment: %s", r.Body)
		}

		// Custom roles: catalog permissions only.
		r = call(t, srv, "POST", rolesPath, tok, customRole("App Registration Administrator",
			"microsoft.directory/applications/basic/update", "microsoft.directory/applications/credentials/update"), 201)
		custom := r.JSON(t)
		roleID := custom["id"].(string)
		if custom["isBuiltIn"] != false || custom["templateId"] != roleID || custom["isEnabled"] != true {
			t.Fatalf("custom role: %s", r.Body)
		}
		r = srv.Do(t, "POST", rolesPath, tok, customRole("Sneaky", "microsoft.directory/roleAssignments/allProperties/allTasks"))
		badReq(t, r, "custom role with a forbidden permission")
		if !strings.Contains(string(r.Body), "microsoft.directory/roleAssignments/allProperties/allTasks") {
			t.Errorf("error does not name the action: %s", r.Body)
		}
		call(t, srv, "PATCH", rolesPath+"/"+roleID, tok, map[string]any{"description": "Manages app registrations"}, 204)
		if m := call(t, srv, "GET", rolesPath+"/"+roleID, tok, nil, 200).JSON(t); m["description"] != "Manages app registrations" {
			t.Errorf("after PATCH: %v", m)
		}
		badReq(t, srv.Do(t, "PATCH", rolesPath+"/"+roleID, tok, map[string]any{"rolePermissions": []any{
			map[string]any{"allowedResourceActions": []string{"microsoft.directory/users/password/update"}}}}), "PATCH forbidden permission")
		badReq(t, srv.Do(t, "PATCH", rolesPath+"/"+globalAdminRole, tok, map[string]any{"description": "mine"}), "PATCH built-in")
		badReq(t, srv.Do(t, "DELETE", rolesPath+"/"+globalAdminRole, tok, nil), "DELETE built-in")

		// Assignments: a user at "/" and at an application's scope.
		userID := createUser(t, srv, tok, "appadmin@"+dom)
		app := idOf(t, call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": "Contoso Widget Builder"}, 201))
		r = call(t, srv, "POST", assignPath, tok, map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleAssignment",
			"principalId": userID, "roleDefinitionId": roleID, "directoryScopeId": "/"}, 201)
		tenantWide := r.JSON(t)
		if tenantWide["resourceScope"] != "/" || tenantWide["principalId"] != userID || tenantWide["appScopeId"] != nil {
			t.Errorf("created assignment: %s", r.Body)
		}
		if _, ok := tenantWide["appScopeId"]; !ok {
			t.Error("appScopeId not rendered as null")
		}
		scoped := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{
			"principalId": userID, "roleDefinitionId": roleID, "directoryScopeId": "/" + app}, 201))
		r = srv.Do(t, "POST", assignPath, tok, map[string]any{"principalId": userID, "roleDefinitionId": roleID, "directoryScopeId": "/" + app})
		if r.Status != 409 {
			t.Errorf("duplicate assignment: %d %s", r.Status, r.Body)
		}
		f = call(t, srv, "GET", assignPath+"?$filter="+url.QueryEscape("directoryScopeId eq '/"+app+"'"), tok, nil, 200)
		if ids := valueIDs(t, f); len(ids) != 1 || ids[0] != scoped {
			t.Errorf("filter by scope: %v", ids)
		}

		// Refusals: a plain group, a system-assigned role, a missing scope object.
		plain := createGroup(t, srv, tok, "Plain Admins", nil)
		badReq(t, srv.Do(t, "POST", assignPath, tok, map[string]any{"principalId": plain, "roleDefinitionId": globalAdminRole}), "non-role-assignable group")
		raGroup := createGroup(t, srv, tok, "Real Admins", map[string]any{"isAssignableToRole": true})
		call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": raGroup, "roleDefinitionId": globalAdminRole}, 201)
		badReq(t, srv.Do(t, "POST", assignPath, tok, map[string]any{"principalId": userID, "roleDefinitionId": defaultUserRole}), "system-assigned role")
		badReq(t, srv.Do(t, "POST", assignPath, tok, map[string]any{"principalId": userID, "roleDefinitionId": roleID,
			"directoryScopeId": "/administrativeUnits/" + app}), "application as an administrative unit")

		// A role in use cannot be deleted; once unassigned it can.
		badReq(t, srv.Do(t, "DELETE", rolesPath+"/"+roleID, tok, nil), "delete assigned custom role")
		call(t, srv, "DELETE", assignPath+"/"+scoped, tok, nil, 204)
		call(t, srv, "DELETE", assignPath+"/"+tenantWide["id"].(string), tok, nil, 204)
		notFound(t, srv.Do(t, "GET", assignPath+"/"+scoped, tok, nil), "deleted assignment")
		call(t, srv, "DELETE", rolesPath+"/"+roleID, tok, nil, 204)
		notFound(t, srv.Do(t, "GET", rolesPath+"/"+roleID, tok, nil), "deleted role")
		if r := srv.Do(t, "PATCH", assignPath+"/"+scoped, tok, map[string]any{"directoryScopeId": "/"}); r.Status < 400 {
			t.Errorf("PATCH on a role assignment: %d", r.Status)
		}

		// Directory.Read.All reads, but only RoleManagement.ReadWrite.Directory writes.
		reader := appToken(t, srv, registerApp(t, srv, tok, "Reader", "Directory.Read.All"))
		call(t, srv, "GET", rolesPath, reader, nil, 200)
		call(t, srv, "GET", assignPath, reader, nil, 200)
		denied(t, srv.Do(t, "POST", rolesPath, reader, customRole("Reader Role", "microsoft.directory/users/basic/update")), "create role with Directory.Read.All")
		denied(t, srv.Do(t, "POST", assignPath, reader, map[string]any{"principalId": userID, "roleDefinitionId": globalAdminRole}), "assign with Directory.Read.All")
		writer := appToken(t, srv, registerApp(t, srv, tok, "Writer", "Directory.ReadWrite.All"))
		denied(t, srv.Do(t, "POST", assignPath, writer, map[string]any{"principalId": userID, "roleDefinitionId": globalAdminRole}), "assign with Directory.ReadWrite.All")

		// Every change is audited under RoleManagement.
		audits := appToken(t, srv, registerApp(t, srv, tok, "Auditor", "AuditLog.Read.All"))
		r = call(t, srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("category eq 'RoleManagement'"), audits, nil, 200)
		for _, a := range []string{"Add role definition", "Update role definition", "Delete role definition", "Add member to role", "Remove member from role"} {
			if !strings.Contains(string(r.Body), `"activityDisplayName":"`+a+`"`) {
				t.Errorf("no %q audit record", a)
			}
		}
	})
}
