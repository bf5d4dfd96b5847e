package app_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// TestGraphPermissionsDefaultDeny registers applications through Graph and
// checks that each can do exactly what its Graph application permissions
// allow: User.Read.All reads users and nothing else, no permission reads
// nothing, a forged roles claim is refused, and a revoked grant is absent
// from the next token.
func TestGraphPermissionsDefaultDeny(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain
	userID := createUser(t, srv, tok, "target@"+dom)
	groupID := createGroup(t, srv, tok, "Some Group", nil)
	call(t, srv, "POST", "/v1.0/groups/"+groupID+"/members/$ref", tok, ref(userID), 204)
	goneID := createUser(t, srv, tok, "gone@"+dom)
	call(t, srv, "DELETE", "/v1.0/users/"+goneID, tok, nil, 204)

	// An application granted only User.Read.All.
	reader := registerApp(t, srv, tok, "Reader", "User.Read.All")
	graphID, _ := graphSP(t, srv, tok)
	assignments := valueIDs(t, call(t, srv, "GET", "/v1.0/servicePrincipals/"+reader.SPID+"/appRoleAssignments", tok, nil, 200))
	if len(assignments) != 1 {
		t.Fatalf("reader's assignments: %v", assignments)
	}
	readerTok := appToken(t, srv, reader)
	if got := rolesOf(t, readerTok); strings.Join(got, ",") != "User.Read.All" {
		t.Fatalf("reader token roles = %v", got)
	}

	call(t, srv, "GET", "/v1.0/users", readerTok, nil, 200)
	call(t, srv, "GET", "/v1.0/users/"+userID, readerTok, nil, 200)
	call(t, srv, "GET", "/v1.0/users/target@"+dom, readerTok, nil, 200)
	call(t, srv, "GET", "/v1.0/directory/deletedItems/microsoft.graph.user", readerTok, nil, 200)
	// getByIds skips the kinds the caller may not read.
	r := call(t, srv, "POST", "/v1.0/directoryObjects/getByIds", readerTok, map[string]any{"ids": []string{userID, groupID}}, 200)
	if ids := valueIDs(t, r); len(ids) != 1 || ids[0] != userID {
		t.Errorf("getByIds with User.Read.All: %s", r.Body)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1.0/users", newUser("new@"+dom, "New")},
		{"PATCH", "/v1.0/users/" + userID, map[string]any{"displayName": "Changed"}},
		{"PATCH", "/v1.0/users/" + userID, map[string]any{"passwordProfile": map[string]any{"password": "Ch4nged-Passw0rd!"}}},
		{"DELETE", "/v1.0/users/" + userID, nil},
		{"POST", "/v1.0/users/" + userID + "/revokeSignInSessions", nil},
		{"PUT", "/v1.0/users/" + userID + "/manager/$ref", ref(srv.Creds.ClientID)},
		{"POST", "/v1.0/directory/deletedItems/" + goneID + "/restore", nil},
		{"DELETE", "/v1.0/directory/deletedItems/" + goneID, nil},
		{"POST", "/v1.0/groups", groupBody("Nope", nil)},
		{"GET", "/v1.0/groups", nil},
		{"GET", "/v1.0/groups/" + groupID, nil},
		{"GET", "/v1.0/groups/" + groupID + "/members", nil},
		{"POST", "/v1.0/groups/" + groupID + "/members/$ref", ref(userID)},
		{"GET", "/v1.0/applications", nil},
		{"GET", "/v1.0/applications/" + reader.ID, nil},
		{"POST", "/v1.0/applications", map[string]any{"displayName": "Nope"}},
		{"POST", "/v1.0/applications/" + reader.ID + "/addPassword", map[string]any{}},
		{"GET", "/v1.0/servicePrincipals", nil},
		{"GET", "/v1.0/domains", nil},
		{"POST", "/v1.0/domains", map[string]any{"id": "evil.example"}},
		{"GET", "/v1.0/auditLogs/directoryAudits", nil},
		{"GET", "/v1.0/directory/deletedItems/microsoft.graph.group", nil},
		{"POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{groupID}, "types": []string{"group"}}},
		// Privilege escalation: granting itself more.
		{"POST", "/v1.0/servicePrincipals/" + graphID + "/appRoleAssignedTo", map[string]any{"principalId": reader.SPID, "resourceId": graphID, "appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7"}},
		{"POST", "/v1.0/servicePrincipals/" + reader.SPID + "/appRoleAssignments", map[string]any{"principalId": reader.SPID, "resourceId": graphID, "appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7"}},
	} {
		denied(t, srv.Do(t, c.method, c.path, readerTok, c.body), "User.Read.All: "+c.method+" "+c.path)
	}
	if got := rolesOf(t, appToken(t, srv, reader)); strings.Join(got, ",") != "User.Read.All" {
		t.Fatalf("reader escalated: roles = %v", got)
	}

	// An application with no grant at all: every Graph call is refused,
	// whether or not the object it names exists.
	none := registerApp(t, srv, tok, "Nothing")
	noneTok := appToken(t, srv, none)
	if got := rolesOf(t, noneTok); len(got) != 0 {
		t.Fatalf("ungranted token roles = %v", got)
	}
	const unknown = "00000000-0000-0000-0000-0000000000aa"
	upn := "target@" + dom
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1.0/users", nil},
		{"GET", "/v1.0/users/" + userID, nil},
		{"GET", "/v1.0/users/" + unknown, nil},
		{"GET", "/v1.0/users/" + upn, nil},
		{"GET", "/v1.0/users/nobody@" + dom, nil},
		{"GET", "/v1.0/users/" + upn + "/memberOf", nil},
		{"GET", "/v1.0/users/nobody@" + dom + "/memberOf", nil},
		{"GET", "/v1.0/users/" + upn + "/transitiveMemberOf/microsoft.graph.group", nil},
		{"GET", "/v1.0/users/nobody@" + dom + "/transitiveMemberOf", nil},
		{"GET", "/v1.0/users/" + upn + "/manager", nil},
		{"GET", "/v1.0/users/nobody@" + dom + "/manager", nil},
		{"GET", "/v1.0/users/" + upn + "/appRoleAssignments", nil},
		{"GET", "/v1.0/users/nobody@" + dom + "/appRoleAssignments", nil},
		{"POST", "/v1.0/users/" + upn + "/checkMemberGroups", map[string]any{"groupIds": []string{groupID}}},
		{"POST", "/v1.0/users/nobody@" + dom + "/checkMemberGroups", map[string]any{"groupIds": []string{groupID}}},
		{"POST", "/v1.0/users/" + upn + "/getMemberObjects", map[string]any{"securityEnabledOnly": false}},
		{"POST", "/v1.0/users/nobody@" + dom + "/getMemberGroups", map[string]any{"securityEnabledOnly": false}},
		{"DELETE", "/v1.0/users/nobody@" + dom + "/appRoleAssignments/x", nil},
		{"POST", "/v1.0/users", newUser("new@"+dom, "New")},
		{"PATCH", "/v1.0/users/" + userID, map[string]any{"displayName": "x"}},
		{"DELETE", "/v1.0/users/" + userID, nil},
		{"GET", "/v1.0/groups", nil},
		{"GET", "/v1.0/groups/" + groupID, nil},
		{"GET", "/v1.0/groups/" + groupID + "/transitiveMembers", nil},
		{"POST", "/v1.0/groups", groupBody("Nope", nil)},
		{"POST", "/v1.0/groups/" + groupID + "/members/$ref", ref(userID)},
		{"DELETE", "/v1.0/groups/" + groupID + "/members/" + userID + "/$ref", nil},
		{"GET", "/v1.0/applications", nil},
		{"GET", "/v1.0/applications/" + none.ID, nil},
		{"GET", "/v1.0/applications(appId='" + none.AppID + "')", nil},
		{"POST", "/v1.0/applications", map[string]any{"displayName": "x"}},
		{"POST", "/v1.0/applications/" + none.ID + "/addPassword", map[string]any{}},
		{"GET", "/v1.0/servicePrincipals", nil},
		{"GET", "/v1.0/servicePrincipals/" + none.SPID, nil},
		{"GET", "/v1.0/servicePrincipals(appId='" + graphAppID + "')", nil},
		{"GET", "/v1.0/servicePrincipals/" + graphID + "/appRoleAssignedTo", nil},
		{"POST", "/v1.0/servicePrincipals/" + graphID + "/appRoleAssignedTo", map[string]any{"principalId": none.SPID, "resourceId": graphID, "appRoleId": "19dbc75e-c2e2-444c-a770-ec69d8559fc7"}},
		{"GET", "/v1.0/domains", nil},
		{"GET", "/v1.0/domains/" + dom, nil},
		{"GET", "/v1.0/organization", nil},
		{"GET", "/v1.0/directory/administrativeUnits", nil},
		{"GET", "/v1.0/directory/deletedItems/microsoft.graph.user", nil},
		{"GET", "/v1.0/directory/deletedItems/" + goneID, nil},
		{"GET", "/v1.0/directory/deletedItems/" + unknown, nil},
		{"POST", "/v1.0/directory/deletedItems/" + goneID + "/restore", nil},
		{"POST", "/v1.0/directory/deletedItems/" + unknown + "/restore", nil},
		{"DELETE", "/v1.0/directory/deletedItems/" + goneID, nil},
		{"DELETE", "/v1.0/directory/deletedItems/" + unknown, nil},
		{"GET", "/v1.0/directoryObjects/" + userID, nil},
		{"GET", "/v1.0/directoryObjects/" + unknown, nil},
		{"POST", "/v1.0/directoryObjects/getByIds", map[string]any{"ids": []string{userID}}},
		{"GET", "/v1.0/auditLogs/directoryAudits", nil},
	} {
		denied(t, srv.Do(t, c.method, c.path, noneTok, c.body), "no grants: "+c.method+" "+c.path)
	}
	denied(t, srv.Do(t, "GET", "/v1.0/users/$count", noneTok, nil, "ConsistencyLevel", "eventual"), "no grants: $count")
	// The deleted user is still there: nothing above touched it.
	call(t, srv, "GET", "/v1.0/directory/deletedItems/"+goneID, tok, nil, 200)

	// A token whose claims were changed is refused: re-signed with another
	// key under the server's kid, or not re-signed at all.
	forged := forgeToken(t, readerTok, func(c map[string]any) { c["roles"] = []string{"Directory.ReadWrite.All"} }, true)
	tampered := forgeToken(t, readerTok, func(c map[string]any) { c["roles"] = []string{"Directory.ReadWrite.All"} }, false)
	unsigned := forgeToken(t, readerTok, func(c map[string]any) { c["roles"] = []string{"Directory.ReadWrite.All"} }, false)
	unsigned = noneAlg(t, unsigned)
	for name, bad := range map[string]string{"re-signed": forged, "tampered": tampered, "alg none": unsigned} {
		for _, c := range []struct{ method, path string }{{"GET", "/v1.0/groups"}, {"GET", "/v1.0/users"}, {"POST", "/v1.0/users"}} {
			r := srv.Do(t, c.method, c.path, bad, newUser("forged@"+dom, "Forged"))
			if r.Status != 401 || r.ErrorCode() != "InvalidAuthenticationToken" {
				t.Errorf("%s token: %s %s = %d %s, want 401", name, c.method, c.path, r.Status, r.Body)
			}
		}
	}

	// Revoking the grant: the token already issued keeps its roles until it
	// expires (Entra's behaviour for application permissions); the next one
	// has none and is refused.
	call(t, srv, "DELETE", "/v1.0/servicePrincipals/"+graphID+"/appRoleAssignedTo/"+assignments[0], tok, nil, 204)
	notFound(t, srv.Do(t, "DELETE", "/v1.0/servicePrincipals/"+graphID+"/appRoleAssignedTo/"+assignments[0], tok, nil), "second revoke")
	call(t, srv, "GET", "/v1.0/users", readerTok, nil, 200)
	after := appToken(t, srv, reader)
	if got := rolesOf(t, after); len(got) != 0 {
		t.Fatalf("token after revoke still has roles %v", got)
	}
	denied(t, srv.Do(t, "GET", "/v1.0/users", after, nil), "GET /users after revoke")
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/servicePrincipals/"+reader.SPID+"/appRoleAssignments", tok, nil, 200)); len(ids) != 0 {
		t.Errorf("assignments after revoke: %v", ids)
	}
}

// forgeToken changes a token's claims; resign signs it again with a fresh
// RSA key under the original header (same kid), otherwise the original
// signature is kept.
func forgeToken(t *testing.T, tok string, change func(map[string]any), resign bool) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	claims := claimsOf(t, tok)
	change(claims)
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload)
	if !resign {
		return signed + "." + parts[2]
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// noneAlg rewrites a token's header to alg "none" with no signature.
func noneAlg(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h["alg"] = "none"
	hb, _ := json.Marshal(h)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1] + "."
}

// TestRoleAssignableGroups checks the boundary around groups that can hold
// directory roles (CONTRACT D.2 isAssignableToRole rules): only
// RoleManagement.ReadWrite.Directory creates or changes them,
// isAssignableToRole is immutable, no group nests in one, no dynamic
// membership.
func TestRoleAssignableGroups(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain
	userID := createUser(t, srv, tok, "member@"+dom)
	otherID := createUser(t, srv, tok, "other@"+dom)
	plainGroup := createGroup(t, srv, tok, "Plain Group", nil)

	groupsApp := registerApp(t, srv, tok, "Groups Admin App", "Group.ReadWrite.All")
	gtok := appToken(t, srv, groupsApp)
	ra := map[string]any{"isAssignableToRole": true}

	// Group.ReadWrite.All alone cannot create one, but can make plain groups.
	denied(t, srv.Do(t, "POST", "/v1.0/groups", gtok, groupBody("Sneaky Admins", ra)), "create role-assignable group with Group.ReadWrite.All")
	call(t, srv, "POST", "/v1.0/groups", gtok, groupBody("Fine Group", nil), 201)
	call(t, srv, "POST", "/v1.0/groups/"+plainGroup+"/members/$ref", gtok, ref(otherID), 204)

	// The bootstrap app (RoleManagement.ReadWrite.Directory) can.
	r := call(t, srv, "POST", "/v1.0/groups", tok, groupBody("Helpdesk Admins", ra), 201)
	raGroup := idOf(t, r)
	if r.JSON(t)["isAssignableToRole"] != true {
		t.Fatalf("created group: %s", r.Body)
	}
	for _, body := range []map[string]any{
		{"isAssignableToRole": false},
		{"isAssignableToRole": nil},
		{"isAssignableToRole": false, "displayName": "Renamed"},
	} {
		badReq(t, srv.Do(t, "PATCH", "/v1.0/groups/"+raGroup, tok, body), "PATCH isAssignableToRole")
	}
	badReq(t, srv.Do(t, "PATCH", "/v1.0/groups/"+plainGroup, tok, map[string]any{"isAssignableToRole": true}), "PATCH plain group to role-assignable")
	if m := call(t, srv, "GET", "/v1.0/groups/"+raGroup, tok, nil, 200).JSON(t); m["isAssignableToRole"] != true || m["displayName"] != "Helpdesk Admins" {
		t.Errorf("after refused PATCHes: %v", m)
	}
	if m := call(t, srv, "GET", "/v1.0/groups/"+plainGroup, tok, nil, 200).JSON(t); m["isAssignableToRole"] == true {
		t.Errorf("plain group became role-assignable: %v", m)
	}

	// No nesting, by $ref or by bind; users are fine.
	badReq(t, srv.Do(t, "POST", "/v1.0/groups/"+raGroup+"/members/$ref", tok, ref(plainGroup)), "group into role-assignable group")
	badReq(t, srv.Do(t, "PATCH", "/v1.0/groups/"+raGroup, tok, map[string]any{
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/groups/" + plainGroup}}), "group bound into role-assignable group")
	badReq(t, srv.Do(t, "POST", "/v1.0/groups", tok, groupBody("Nested At Birth", map[string]any{"isAssignableToRole": true,
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/groups/" + plainGroup}})), "role-assignable group created with a group member")
	call(t, srv, "POST", "/v1.0/groups/"+raGroup+"/members/$ref", tok, ref(userID), 204)
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/groups/"+raGroup+"/members", tok, nil, 200)); strings.Join(ids, ",") != userID {
		t.Errorf("members = %v", ids)
	}

	// Group.ReadWrite.All alone cannot change it in any way.
	denied(t, srv.Do(t, "POST", "/v1.0/groups/"+raGroup+"/members/$ref", gtok, ref(otherID)), "add member with Group.ReadWrite.All")
	denied(t, srv.Do(t, "PATCH", "/v1.0/groups/"+raGroup, gtok, map[string]any{
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/" + otherID}}), "bind member with Group.ReadWrite.All")
	denied(t, srv.Do(t, "DELETE", "/v1.0/groups/"+raGroup+"/members/"+userID+"/$ref", gtok, nil), "remove member with Group.ReadWrite.All")
	denied(t, srv.Do(t, "POST", "/v1.0/groups/"+raGroup+"/owners/$ref", gtok, ref(otherID)), "add owner with Group.ReadWrite.All")
	denied(t, srv.Do(t, "PATCH", "/v1.0/groups/"+raGroup, gtok, map[string]any{"description": "mine now"}), "PATCH with Group.ReadWrite.All")
	denied(t, srv.Do(t, "DELETE", "/v1.0/groups/"+raGroup, gtok, nil), "DELETE with Group.ReadWrite.All")
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/groups/"+raGroup+"/members", tok, nil, 200)); strings.Join(ids, ",") != userID {
		t.Errorf("members changed by a refused call: %v", ids)
	}

	// Once deleted by an admin, it can be neither restored nor purged
	// without RoleManagement.ReadWrite.Directory.
	call(t, srv, "DELETE", "/v1.0/groups/"+raGroup, tok, nil, 204)
	denied(t, srv.Do(t, "POST", "/v1.0/directory/deletedItems/"+raGroup+"/restore", gtok, nil), "restore with Group.ReadWrite.All")
	denied(t, srv.Do(t, "DELETE", "/v1.0/directory/deletedItems/"+raGroup, gtok, nil), "purge with Group.ReadWrite.All")
	call(t, srv, "POST", "/v1.0/directory/deletedItems/"+raGroup+"/restore", tok, nil, 200)
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/groups/"+raGroup+"/members", tok, nil, 200)); strings.Join(ids, ",") != userID {
		t.Errorf("members after restore: %v", ids)
	}

	// Shapes refused at create, even for a privileged caller.
	for name, extra := range map[string]map[string]any{
		"dynamic": {"isAssignableToRole": true, "groupTypes": []string{"DynamicMembership"},
			"membershipRule": `user.department -eq "IT"`, "membershipRuleProcessingState": "On"},
		"not security-enabled": {"isAssignableToRole": true, "securityEnabled": false, "mailEnabled": true, "groupTypes": []string{"Unified"}},
		"public unified":       {"isAssignableToRole": true, "mailEnabled": true, "groupTypes": []string{"Unified"}, "visibility": "Public"},
	} {
		badReq(t, srv.Do(t, "POST", "/v1.0/groups", tok, groupBody("Bad "+strings.ReplaceAll(name, " ", ""), extra)), "role-assignable "+name)
	}
}

// TestTokenConfusionAndOwnedBy: a token for another API is no Graph token
// even when that API names its roles like Graph permissions; an
// application holding Application.ReadWrite.OwnedBy manages what it
// created and cannot reach the privileged bootstrap application.
func TestTokenConfusionAndOwnedBy(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	tenant := srv.Creds.TenantID

	// A custom API whose app role is spelled like Graph's most powerful one.
	api := registerApp(t, srv, tok, "Lookalike API")
	uri := "api://lookalike-" + api.AppID[:8]
	const roleID = "6b0c3d4e-9a41-4f0e-8d2a-1c2b3a4d5e6f"
	call(t, srv, "PATCH", "/v1.0/applications/"+api.ID, tok, map[string]any{
		"identifierUris": []string{uri},
		"appRoles": []map[string]any{{"id": roleID, "allowedMemberTypes": []string{"Application"}, "displayName": "Everything",
			"description": "Everything", "value": "Directory.ReadWrite.All", "isEnabled": true}},
	}, 204)
	client := registerApp(t, srv, tok, "Lookalike Client")
	call(t, srv, "POST", "/v1.0/servicePrincipals/"+api.SPID+"/appRoleAssignedTo", tok,
		map[string]any{"principalId": client.SPID, "resourceId": api.SPID, "appRoleId": roleID}, 201)
	for _, scope := range []string{uri + "/.default", api.AppID + "/.default"} {
		status, body := tokenRequest(t, srv, tenant, client.AppID, client.Secret, "scope", scope)
		apiTok, _ := body["access_token"].(string)
		if status != 200 || apiTok == "" {
			t.Fatalf("token for %s: %d %v", scope, status, body)
		}
		if roles := rolesOf(t, apiTok); strings.Join(roles, ",") != "Directory.ReadWrite.All" {
			t.Fatalf("API token roles = %v", roles)
		}
		for _, p := range []string{"/v1.0/users", "/v1.0/groups", "/v1.0/applications"} {
			r := srv.Do(t, "GET", p, apiTok, nil)
			if r.Status != 401 || r.ErrorCode() != "InvalidAuthenticationToken" {
				t.Errorf("token for %s at Graph %s: %d %s, want 401", scope, p, r.Status, r.Body)
			}
		}
	}
	// The Graph token of the same client has no role at all.
	if roles := rolesOf(t, appToken(t, srv, client)); len(roles) != 0 {
		t.Errorf("client's Graph roles = %v", roles)
	}

	// Application.ReadWrite.OwnedBy: its own objects only.
	owned := registerApp(t, srv, tok, "Self Manager", "Application.ReadWrite.OwnedBy")
	otok := appToken(t, srv, owned)
	r := call(t, srv, "POST", "/v1.0/applications", otok, map[string]any{"displayName": "Mine"}, 201)
	mine := idOf(t, r)
	mineAppID, _ := r.JSON(t)["appId"].(string)
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/applications/"+mine+"/owners", otok, nil, 200)); strings.Join(ids, ",") != owned.SPID {
		t.Errorf("owners of the created app: %v", ids)
	}
	call(t, srv, "POST", "/v1.0/applications/"+mine+"/addPassword", otok, map[string]any{}, 200)
	call(t, srv, "POST", "/v1.0/servicePrincipals", otok, map[string]any{"appId": mineAppID}, 201)
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/applications", otok, nil, 200)); strings.Join(ids, ",") != mine {
		t.Errorf("OwnedBy app lists %v", ids)
	}
	bootApp := call(t, srv, "GET", "/v1.0/applications(appId='"+srv.Creds.ClientID+"')", tok, nil, 200).JSON(t)["id"].(string)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1.0/applications/" + bootApp, nil},
		{"GET", "/v1.0/applications(appId='" + srv.Creds.ClientID + "')", nil},
		{"PATCH", "/v1.0/applications/" + bootApp, map[string]any{"displayName": "pwned"}},
		{"POST", "/v1.0/applications/" + bootApp + "/addPassword", map[string]any{}},
		{"POST", "/v1.0/applications(appId='" + srv.Creds.ClientID + "')/addPassword", map[string]any{}},
		{"POST", "/v1.0/applications/" + bootApp + "/owners/$ref", ref(owned.SPID)},
		{"DELETE", "/v1.0/applications/" + bootApp, nil},
		{"POST", "/v1.0/servicePrincipals", map[string]any{"appId": api.AppID}},
		{"PATCH", "/v1.0/servicePrincipals(appId='" + srv.Creds.ClientID + "')", map[string]any{"accountEnabled": false}},
		{"POST", "/v1.0/servicePrincipals/" + api.SPID + "/appRoleAssignedTo", map[string]any{"principalId": owned.SPID, "resourceId": api.SPID, "appRoleId": roleID}},
		{"GET", "/v1.0/users", nil},
	} {
		if r := srv.Do(t, c.method, c.path, otok, c.body); r.Status != 403 && r.Status != 404 {
			t.Errorf("OwnedBy app: %s %s = %d %s, want 403 or 404", c.method, c.path, r.Status, r.Body)
		}
	}
	if m := call(t, srv, "GET", "/v1.0/applications/"+bootApp, tok, nil, 200).JSON(t); m["displayName"] != "Ostiary Bootstrap" || len(m["passwordCredentials"].([]any)) != 1 {
		t.Errorf("bootstrap app changed: %v %v", m["displayName"], m["passwordCredentials"])
	}
	if ids := valueIDs(t, call(t, srv, "GET", "/v1.0/applications/"+bootApp+"/owners", tok, nil, 200)); len(ids) != 0 {
		t.Errorf("bootstrap app owners: %v", ids)
	}
}

// TestRelationsShowLimitedInformation: a permission to read one kind's
// relations does not reveal the properties of related objects of another
// kind; those come with their @odata.type and id only, as in Graph.
func TestRelationsShowLimitedInformation(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	dom := srv.Creds.Domain
	user := createUser(t, srv, tok, "insider@"+dom)
	group := createGroup(t, srv, tok, "Project Falcon", map[string]any{"description": "reorg 2027"})
	call(t, srv, "POST", "/v1.0/groups/"+group+"/members/$ref", tok, ref(user), 204)
	call(t, srv, "POST", "/v1.0/groups/"+group+"/owners/$ref", tok, ref(user), 204)
	app := registerApp(t, srv, tok, "Owned App")
	call(t, srv, "POST", "/v1.0/applications/"+app.ID+"/owners/$ref", tok, ref(user), 204)

	check := func(tok, path string, hidden []string, wantIDs ...string) {
		t.Helper()
		r := call(t, srv, "GET", path, tok, nil, 200, "ConsistencyLevel", "eventual")
		for _, s := range hidden {
			if strings.Contains(string(r.Body), s) {
				t.Errorf("GET %s reveals %q: %s", path, s, r.Body)
			}
		}
		if wantIDs != nil {
			if got := valueIDs(t, r); strings.Join(got, ",") != strings.Join(sorted(wantIDs...), ",") {
				t.Errorf("GET %s ids = %v, want %v", path, got, wantIDs)
			}
		}
	}
	groupProps := []string{"Project Falcon", "reorg 2027", "ProjectFalcon"}
	userProps := []string{"insider@", "User insider"}
	appProps := []string{"Owned App"}

	users := appToken(t, srv, registerApp(t, srv, tok, "Users Only", "User.Read.All"))
	check(users, "/v1.0/users/"+user+"/memberOf", groupProps, group)
	check(users, "/v1.0/users/"+user+"/transitiveMemberOf", groupProps, group)
	check(users, "/v1.0/users/"+user+"/memberOf/microsoft.graph.group", groupProps, group)
	check(users, "/v1.0/users/"+user+"/ownedObjects", append(groupProps, appProps...), group, app.ID)
	check(users, "/v1.0/users/"+user+"?$expand=memberOf", groupProps)
	check(users, "/v1.0/users?$expand=memberOf", groupProps)

	members := appToken(t, srv, registerApp(t, srv, tok, "Members Only", "GroupMember.Read.All"))
	check(members, "/v1.0/groups/"+group+"/members", userProps, user)
	check(members, "/v1.0/groups/"+group+"/transitiveMembers", userProps, user)
	check(members, "/v1.0/groups/"+group+"/owners", userProps, user)
	check(members, "/v1.0/groups?$expand=members", userProps)

	apps := appToken(t, srv, registerApp(t, srv, tok, "Apps Only", "Application.Read.All"))
	check(apps, "/v1.0/applications/"+app.ID+"/owners", userProps, user)

	// Nor does a filter or a sort on their properties: which objects
	// would match says what they are, so those the caller cannot read
	// match none.
	for _, q := range []string{"?$count=true&$filter=" + url.QueryEscape("displayName eq 'Project Falcon'"),
		"?$count=true&$filter=" + url.QueryEscape("displayName eq 'Other'"), "?$count=true&$orderby=displayName"} {
		check(users, "/v1.0/users/"+user+"/memberOf"+q, groupProps, []string{}...)
		check(apps, "/v1.0/applications/"+app.ID+"/owners"+q, userProps, []string{}...)
	}

	// With the permission for the other kind too, the properties are there.
	both := appToken(t, srv, registerApp(t, srv, tok, "Both", "User.Read.All", "Group.Read.All"))
	if r := call(t, srv, "GET", "/v1.0/users/"+user+"/memberOf", both, nil, 200); !strings.Contains(string(r.Body), "Project Falcon") {
		t.Errorf("memberOf with Group.Read.All: %s", r.Body)
	}
	check(both, "/v1.0/users/"+user+"/memberOf?$count=true&$filter="+url.QueryEscape("displayName eq 'Project Falcon'"), nil, group)
	if r := call(t, srv, "GET", "/v1.0/groups/"+group+"/members", both, nil, 200); !strings.Contains(string(r.Body), "insider@") {
		t.Errorf("members with User.Read.All: %s", r.Body)
	}
}
