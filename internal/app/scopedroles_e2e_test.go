package app_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

const (
	userAdminRole     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	helpdeskAdminRole = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	appAdminRole      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	unitsPath         = "/v1.0/directory/administrativeUnits"
)

// TestScopedRoleMembersOverHTTP walks an administrative unit's
// scopedRoleMembers and checks they are the role assignments at its scope.
func TestScopedRoleMembersOverHTTP(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		dom := srv.Creds.Domain
		au := idOf(t, call(t, srv, "POST", unitsPath, tok, map[string]any{"displayName": "Seattle"}, 201))
		other := idOf(t, call(t, srv, "POST", unitsPath, tok, map[string]any{"displayName": "Portland"}, 201))
		alice := createUser(t, srv, tok, "alice@"+dom)
		bob := createUser(t, srv, tok, "bob@"+dom)
		members := unitsPath + "/" + au + "/scopedRoleMembers"

		r := call(t, srv, "POST", members, tok, map[string]any{"roleId": userAdminRole, "roleMemberInfo": map[string]any{"id": alice}}, 201)
		m := r.JSON(t)
		info, _ := m["roleMemberInfo"].(map[string]any)
		if !strings.HasSuffix(m["@odata.context"].(string), "$metadata#scopedRoleMemberships/$entity") || m["roleId"] != userAdminRole ||
			m["administrativeUnitId"] != au || info["id"] != alice || info["userPrincipalName"] != "alice@"+dom || info["displayName"] != "User alice" {
			t.Fatalf("created: %s", r.Body)
		}
		mid := m["id"].(string)

		// The membership is a role assignment at the unit's scope, and an
		// assignment made there is a membership.
		f := call(t, srv, "GET", assignPath+"?$filter="+url.QueryEscape("directoryScopeId eq '/administrativeUnits/"+au+"'"), tok, nil, 200)
		if ids := valueIDs(t, f); len(ids) != 1 || ids[0] != mid {
			t.Fatalf("assignments at the unit: %s", f.Body)
		}
		viaRA := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": bob, "roleDefinitionId": helpdeskAdminRole,
			"directoryScopeId": "/administrativeUnits/" + au}, 201))
		if ids := valueIDs(t, call(t, srv, "GET", members, tok, nil, 200)); len(ids) != 2 || !contains(ids, mid) || !contains(ids, viaRA) {
			t.Errorf("scopedRoleMembers: %v", ids)
		}
		if ids := valueIDs(t, call(t, srv, "GET", unitsPath+"/"+other+"/scopedRoleMembers", tok, nil, 200)); len(ids) != 0 {
			t.Errorf("another unit's members: %v", ids)
		}
		if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/users/alice@"+dom+"/scopedRoleMemberOf", tok, nil, 200)); len(ids) != 1 || ids[0] != mid {
			t.Errorf("scopedRoleMemberOf: %v", ids)
		}
		one := call(t, srv, "GET", members+"/"+mid+"?$select=id,roleId", tok, nil, 200).JSON(t)
		if one["roleId"] != userAdminRole || one["roleMemberInfo"] != nil {
			t.Errorf("GET with $select: %v", one)
		}

		// Refusals, in Graph's envelope.
		if r := srv.Do(t, "POST", members, tok, map[string]any{"roleId": userAdminRole, "roleMemberInfo": map[string]any{"id": alice}}); r.Status != 409 {
			t.Errorf("duplicate: %d %s", r.Status, r.Body)
		}
		badReq(t, srv.Do(t, "POST", members, tok, map[string]any{"roleId": globalAdminRole, "roleMemberInfo": map[string]any{"id": alice}}), "Global Administrator at a unit")
		badReq(t, srv.Do(t, "POST", members, tok, map[string]any{"roleId": userAdminRole}), "no roleMemberInfo")
		notFound(t, srv.Do(t, "POST", unitsPath+"/"+bob+"/scopedRoleMembers", tok, map[string]any{"roleId": userAdminRole,
			"roleMemberInfo": map[string]any{"id": alice}}), "a user as the unit")
		notFound(t, srv.Do(t, "GET", unitsPath+"/"+other+"/scopedRoleMembers/"+mid, tok, nil), "membership under another unit")
		notFound(t, srv.Do(t, "DELETE", unitsPath+"/"+other+"/scopedRoleMembers/"+mid, tok, nil), "delete under another unit")

		// Reading takes a role-management read permission; writing, RoleManagement.ReadWrite.Directory.
		reader := appToken(t, srv, registerApp(t, srv, tok, "Reader", "RoleManagement.Read.Directory"))
		ro := call(t, srv, "GET", members+"/"+mid, reader, nil, 200).JSON(t)
		if info := ro["roleMemberInfo"].(map[string]any); info["id"] != alice || info["displayName"] != nil || info["userPrincipalName"] != nil {
			t.Errorf("a caller who cannot read users sees %v", info)
		}
		denied(t, srv.Do(t, "POST", members, reader, map[string]any{"roleId": userAdminRole, "roleMemberInfo": map[string]any{"id": bob}}), "create with a read permission")
		denied(t, srv.Do(t, "DELETE", members+"/"+mid, reader, nil), "delete with a read permission")
		writer := appToken(t, srv, registerApp(t, srv, tok, "Writer", "Directory.ReadWrite.All"))
		denied(t, srv.Do(t, "POST", members, writer, map[string]any{"roleId": userAdminRole, "roleMemberInfo": map[string]any{"id": bob}}), "create with Directory.ReadWrite.All")

		call(t, srv, "DELETE", members+"/"+mid, tok, nil, 204)
		notFound(t, srv.Do(t, "GET", members+"/"+mid, tok, nil), "deleted membership")
		notFound(t, srv.Do(t, "GET", assignPath+"/"+mid, tok, nil), "its role assignment")
	})
}

// TestRoleAssignmentExpand checks $expand=principal,roleDefinition,directoryScope
// on role assignments, and that expanding shows no more than the caller may read.
func TestRoleAssignmentExpand(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		dom := srv.Creds.Domain
		au := idOf(t, call(t, srv, "POST", unitsPath, tok, map[string]any{"displayName": "Seattle"}, 201))
		app := idOf(t, call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": "Widgets"}, 201))
		user := createUser(t, srv, tok, "dana@"+dom)
		bot := registerApp(t, srv, tok, "Bot")
		atUnit := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": user, "roleDefinitionId": userAdminRole,
			"directoryScopeId": "/administrativeUnits/" + au}, 201))
		atApp := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": bot.SPID, "roleDefinitionId": appAdminRole,
			"directoryScopeId": "/" + app}, 201))
		admin := call(t, srv, "GET", "/v1.0/users/"+srv.Creds.AdminUserPrincipalName, tok, nil, 200).JSON(t)["id"].(string)

		r := call(t, srv, "GET", assignPath+"?$expand="+url.QueryEscape("principal,roleDefinition,directoryScope"), tok, nil, 200)
		byID := map[string]map[string]any{}
		for _, v := range r.JSON(t)["value"].([]any) {
			a := v.(map[string]any)
			byID[a["id"].(string)] = a
		}
		want := func(id, principalType, principal, role, scopeType, scope string) {
			t.Helper()
			a := byID[id]
			if a == nil {
				t.Fatalf("assignment %s not listed: %s", id, r.Body)
			}
			p, _ := a["principal"].(map[string]any)
			d, _ := a["roleDefinition"].(map[string]any)
			if p["@odata.type"] != principalType || p["id"] != principal {
				t.Errorf("%s: principal %v", id, a["principal"])
			}
			if d["id"] != role || d["displayName"] == nil || d["@odata.type"] != nil {
				t.Errorf("%s: roleDefinition %v", id, a["roleDefinition"])
			}
			s, present := a["directoryScope"]
			if scopeType == "" {
				if !present || s != nil {
					t.Errorf("%s: tenant scope expanded to %v", id, s)
				}
				return
			}
			if sm, _ := s.(map[string]any); sm["@odata.type"] != scopeType || sm["id"] != scope {
				t.Errorf("%s: directoryScope %v", id, s)
			}
		}
		var adminRA string
		for id, a := range byID {
			if a["principalId"] == admin {
				adminRA = id
			}
		}
		want(adminRA, "#microsoft.graph.user", admin, globalAdminRole, "", "")
		want(atUnit, "#microsoft.graph.user", user, userAdminRole, "#microsoft.graph.administrativeUnit", au)
		want(atApp, "#microsoft.graph.servicePrincipal", bot.SPID, appAdminRole, "#microsoft.graph.application", app)
		// Users expand with their default property set.
		if p := byID[atUnit]["principal"].(map[string]any); p["userPrincipalName"] != "dana@"+dom || p["accountEnabled"] != nil {
			t.Errorf("user principal: %v", p)
		}

		// On one assignment, with a nested $select and $select on the assignment.
		one := call(t, srv, "GET", assignPath+"/"+atUnit+"?$select=id,principalId&$expand="+url.QueryEscape("principal($select=id,displayName)"), tok, nil, 200).JSON(t)
		if p := one["principal"].(map[string]any); p["displayName"] != "User dana" || p["userPrincipalName"] != nil || one["roleDefinitionId"] != nil {
			t.Errorf("single with nested $select: %v", one)
		}
		// With a filter.
		f := call(t, srv, "GET", assignPath+"?$filter="+url.QueryEscape("principalId eq '"+user+"'")+"&$expand=roleDefinition", tok, nil, 200).JSON(t)
		if vals := f["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["roleDefinition"].(map[string]any)["displayName"] != "User Administrator" {
			t.Errorf("filtered expand: %v", f)
		}

		badReq(t, srv.Do(t, "GET", assignPath+"?$expand=members", tok, nil), "unknown navigation")
		badReq(t, srv.Do(t, "GET", assignPath+"?$expand=principal,principal", tok, nil), "expanded twice")

		// A caller who may read role assignments but not users or
		// applications sees those principals and scopes as ids.
		reader := appToken(t, srv, registerApp(t, srv, tok, "Reader", "RoleManagement.Read.Directory"))
		one = call(t, srv, "GET", assignPath+"/"+atApp+"?$expand=principal", reader, nil, 200).JSON(t)
		if p := one["principal"].(map[string]any); p["id"] != bot.SPID || p["@odata.type"] != "#microsoft.graph.servicePrincipal" || p["displayName"] != nil {
			t.Errorf("unreadable principal: %v", p)
		}
		one = call(t, srv, "GET", assignPath+"/"+atApp+"?$expand=directoryScope", reader, nil, 200).JSON(t)
		if s := one["directoryScope"].(map[string]any); s["id"] != app || s["displayName"] != nil {
			t.Errorf("unreadable scope: %v", s)
		}
		one = call(t, srv, "GET", assignPath+"/"+atApp+"?$expand=roleDefinition", reader, nil, 200).JSON(t)
		if d := one["roleDefinition"].(map[string]any); d["displayName"] != "Application Administrator" {
			t.Errorf("role definition for a role reader: %v", d)
		}
	})
}

// TestLastGlobalAdministratorOverHTTP checks that the tenant keeps a person
// holding Global Administrator.
func TestLastGlobalAdministratorOverHTTP(t *testing.T) {
	backends(t, func(t *testing.T, srv *apptest.Server) {
		tok := srv.Token(t)
		admin := call(t, srv, "GET", "/v1.0/users/"+srv.Creds.AdminUserPrincipalName, tok, nil, 200).JSON(t)["id"].(string)
		r := call(t, srv, "GET", assignPath+"?$filter="+url.QueryEscape("principalId eq '"+admin+"'"), tok, nil, 200)
		ids := valueIDs(t, r)
		if len(ids) != 1 {
			t.Fatalf("bootstrap assignments: %s", r.Body)
		}
		last := func(r apptest.Response, what string) {
			t.Helper()
			if r.Status != 400 || r.ErrorCode() != "Request_BadRequest" || !strings.Contains(string(r.Body), "last Global Administrator") {
				t.Errorf("%s: got %d %s, want 400 naming the last Global Administrator", what, r.Status, r.Body)
			}
		}
		last(srv.Do(t, "DELETE", assignPath+"/"+ids[0], tok, nil), "delete the last Global Administrator assignment")
		// Deleting an administrator takes a role the sensitive-actions
		// matrix allows; a service principal holding Global Administrator
		// has it, and does not count as the last one.
		sp := idOf(t, call(t, srv, "GET", "/v1.0/servicePrincipals(appId='"+srv.Creds.ClientID+"')", tok, nil, 200))
		call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": sp, "roleDefinitionId": globalAdminRole}, 201)
		last(srv.Do(t, "DELETE", "/v1.0/users/"+admin, tok, nil), "delete the last Global Administrator")
		last(srv.Do(t, "DELETE", assignPath+"/"+ids[0], tok, nil), "delete the last person's assignment beside an app's")

		// With a second one, the first can go; then the second is the last.
		second := createUser(t, srv, tok, "second@"+srv.Creds.Domain)
		call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": second, "roleDefinitionId": globalAdminRole}, 201)
		call(t, srv, "DELETE", assignPath+"/"+ids[0], tok, nil, 204)
		call(t, srv, "DELETE", "/v1.0/users/"+admin, tok, nil, 204)
		last(srv.Do(t, "DELETE", "/v1.0/users/"+second, tok, nil), "delete the new last Global Administrator")
	})
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}
