package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

const (
	roleUserAdmin = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	helpdeskRole  = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	explainPath   = "/ostiary/v1/access/explain"
)

// An app with no Graph permission but a directory role on its service
// principal acts with that role, and loses it on the next request once the
// assignment is deleted.
func TestDirectoryRoleForAppOnly(t *testing.T) {
	srv := apptest.New(t)
	tok := srv.Token(t)
	a := registerApp(t, srv, tok, "provisioner")
	atok := appToken(t, srv, a)
	body := func(n string) map[string]any {
		return map[string]any{"accountEnabled": true, "displayName": n, "mailNickname": n,
			"userPrincipalName": n + "@" + srv.Creds.Domain, "passwordProfile": map[string]any{"password": "Str0ng-Passw0rd!"}}
	}
	denied(t, srv.Do(t, "POST", "/v1.0/users", atok, body("u1")), "create user without a permission or role")
	ra := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": a.SPID, "roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"}, 201))
	call(t, srv, "POST", "/v1.0/users", atok, body("u2"), 201)
	call(t, srv, "DELETE", assignPath+"/"+ra, tok, nil, 204)
	denied(t, srv.Do(t, "POST", "/v1.0/users", atok, body("u3")), "create user after the assignment was deleted")
}

func TestAccessExplain(t *testing.T) {
	srv := apptest.New(t)
	tok := srv.Token(t)
	hana := createUser(t, srv, tok, "hana@"+srv.Creds.Domain)
	bob := createUser(t, srv, tok, "bob@"+srv.Creds.Domain)
	au := idOf(t, call(t, srv, "POST", "/v1.0/directory/administrativeUnits", tok, map[string]any{"displayName": "East"}, 201))
	call(t, srv, "POST", "/v1.0/directory/administrativeUnits/"+au+"/members/$ref", tok, ref(bob), 204)
	ra := idOf(t, call(t, srv, "POST", assignPath, tok, map[string]any{"principalId": hana, "roleDefinitionId": helpdeskRole,
		"directoryScopeId": "/administrativeUnits/" + au}, 201))

	ask := func(target string) map[string]any {
		return call(t, srv, "POST", explainPath, tok, map[string]any{"principalId": hana,
			"action": "microsoft.directory/users/password/update", "targetId": target}, 200).JSON(t)
	}
	m := ask(bob)
	reasons := m["reasons"].([]any)
	r0 := reasons[0].(map[string]any)
	if m["allowed"] != true || r0["assignmentId"] != ra || r0["directoryScopeId"] != "/administrativeUnits/"+au ||
		r0["code"] != "granted" || m["target"].(map[string]any)["id"] != bob {
		t.Fatalf("explain bob: %v", m)
	}
	// The bootstrap admin is outside the unit and holds an admin role.
	admin := call(t, srv, "GET", "/v1.0/users/"+srv.Creds.AdminUserPrincipalName, tok, nil, 200).JSON(t)["id"].(string)
	m = ask(admin)
	if m["allowed"] != false {
		t.Fatalf("explain admin: %v", m)
	}
	var codes []string
	for _, x := range m["reasons"].([]any) {
		codes = append(codes, x.(map[string]any)["code"].(string))
	}
	if !slices.Contains(codes, "scopeMismatch") {
		t.Fatalf("denial reasons %v", codes)
	}
	// Bad questions.
	badReq(t, srv.Do(t, "POST", explainPath, tok, map[string]any{"principalId": hana, "action": "users/read"}), "malformed action")
	notFound(t, srv.Do(t, "POST", explainPath, tok, map[string]any{"principalId": "00000000-0000-0000-0000-000000000000",
		"action": "microsoft.directory/users/create"}), "unknown principal")
	if r := srv.Do(t, "GET", explainPath, tok, nil); r.Status != 400 {
		t.Fatalf("GET explain: %d", r.Status)
	}
	// Protected like role assignment reads: an app without a role
	// management or directory read permission is refused.
	a := registerApp(t, srv, tok, "nosy")
	denied(t, srv.Do(t, "POST", explainPath, appToken(t, srv, a), map[string]any{"principalId": hana,
		"action": "microsoft.directory/users/create"}), "explain without permission")
	if r := srv.Do(t, "POST", explainPath, "", map[string]any{}); r.Status != 401 {
		t.Fatalf("explain without a token: %d", r.Status)
	}
}

// Two replicas on one PostgreSQL database: a role change made through one
// is enforced by the other within a second, for an assignment deleted and
// for a member taken out of a role-assignable group.
func TestReplicasEnforceRoleChanges(t *testing.T) {
	a := apptest.New(t, apptest.Postgres(t))
	b := apptest.Replica(t, a)
	tok := a.Token(t)
	app := registerApp(t, a, tok, "provisioner")
	btok := b.TokenFor(t, a.Creds.TenantID, app.AppID, app.Secret, "https://graph.microsoft.com/.default")
	n := 0
	create := func() int {
		n++
		name := "replica-user-" + strings.Repeat("x", n)
		return b.Do(t, "POST", "/v1.0/users", btok, map[string]any{"accountEnabled": true, "displayName": name, "mailNickname": "r" + strings.Repeat("x", n),
			"userPrincipalName": "r" + strings.Repeat("x", n) + "@" + a.Creds.Domain, "passwordProfile": map[string]any{"password": "Str0ng-Passw0rd!"}}).Status
	}
	within := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for {
			got := create()
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica b still answers %d, want %d, a second after %s", got, want, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := create(); got != 403 {
		t.Fatalf("before any role: %d", got)
	}
	ra := idOf(t, call(t, a, "POST", assignPath, tok, map[string]any{"principalId": app.SPID, "roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"}, 201))
	within(201, "the assignment was made on replica a")
	call(t, a, "DELETE", assignPath+"/"+ra, tok, nil, 204)
	within(403, "the assignment was deleted on replica a")

	g := createGroup(t, a, tok, "Provisioners", map[string]any{"isAssignableToRole": true})
	call(t, a, "POST", assignPath, tok, map[string]any{"principalId": g, "roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"}, 201)
	call(t, a, "POST", "/v1.0/groups/"+g+"/members/$ref", tok, ref(app.SPID), 204)
	within(201, "the app joined the role-assignable group on replica a")
	call(t, a, "DELETE", "/v1.0/groups/"+g+"/members/"+app.SPID+"/$ref", tok, nil, 204)
	within(403, "the app left the group on replica a")
}
