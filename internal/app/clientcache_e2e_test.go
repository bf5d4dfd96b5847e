package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// The token service keeps clients, tenants and app role assignments in
// memory (authn/clientcache.go). These tests check that every write that
// matters reaches the next token: at once on the replica that made it, and
// within a second on another.

// TestClientCacheFollowsWrites: after a token has filled the cache, a
// removed secret, a revoked app role, a new secret and a disabled service
// principal all show in the very next token request.
func TestClientCacheFollowsWrites(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	a := registerApp(t, srv, tok, "cached daemon", "User.Read.All", "Group.Read.All")
	if got := rolesOf(t, appToken(t, srv, a)); !slices.Equal(got, []string{"Group.Read.All", "User.Read.All"}) {
		t.Fatalf("roles before: %v", got)
	}

	gid, _ := graphSP(t, srv, tok)
	assignments := call(t, srv, "GET", "/v1.0/servicePrincipals/"+a.SPID+"/appRoleAssignments", tok, nil, 200)
	for _, id := range valueIDs(t, assignments) {
		call(t, srv, "DELETE", "/v1.0/servicePrincipals/"+gid+"/appRoleAssignedTo/"+id, tok, nil, 204)
		break
	}
	if got := rolesOf(t, appToken(t, srv, a)); len(got) != 1 {
		t.Errorf("a revoked app role is still in the next token: %v", got)
	}

	pw := call(t, srv, "POST", "/v1.0/applications/"+a.ID+"/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "second"}}, 200).JSON(t)
	second, _ := pw["secretText"].(string)
	if st, m := tokenRequest(t, srv, srv.Creds.TenantID, a.AppID, second); st != 200 {
		t.Errorf("a new secret does not work at once: %d %v", st, m)
	}
	call(t, srv, "POST", "/v1.0/applications/"+a.ID+"/removePassword", tok, map[string]any{"keyId": a.KeyID}, 204)
	st, m := tokenRequest(t, srv, srv.Creds.TenantID, a.AppID, a.Secret)
	wantTokenError(t, st, m, 401, "invalid_client", 7000215, "a removed secret")

	call(t, srv, "PATCH", "/v1.0/servicePrincipals/"+a.SPID, tok, map[string]any{"accountEnabled": false}, 204)
	if st, m := tokenRequest(t, srv, srv.Creds.TenantID, a.AppID, second); aadstsCode(m) != 7000112 {
		t.Errorf("a disabled service principal still gets tokens: %d %v", st, m)
	}
}

// TestReplicasClientCache: two replicas on one PostgreSQL database. A
// secret added through one works on the other at once (a mismatch is
// always checked against the store); a removed secret and a revoked app
// role stop working on the other within a second (the change feed).
func TestReplicasClientCache(t *testing.T) {
	a := apptest.New(t, apptest.Postgres(t))
	b := apptest.Replica(t, a)
	tok := a.Token(t)
	app := registerApp(t, a, tok, "replicated daemon", "User.Read.All")
	tenant := a.Creds.TenantID
	if st, m := tokenRequest(t, b, tenant, app.AppID, app.Secret); st != 200 {
		t.Fatalf("replica b: %d %v", st, m)
	}

	pw := call(t, a, "POST", "/v1.0/applications/"+app.ID+"/addPassword", tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "second"}}, 200).JSON(t)
	second, _ := pw["secretText"].(string)
	if st, m := tokenRequest(t, b, tenant, app.AppID, second); st != 200 {
		t.Errorf("a secret added on replica a does not work on b at once: %d %v", st, m)
	}

	within := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("replica b: %s a second later", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	call(t, a, "POST", "/v1.0/applications/"+app.ID+"/removePassword", tok, map[string]any{"keyId": app.KeyID}, 204)
	within("the secret removed on replica a still works", func() bool {
		_, m := tokenRequest(t, b, tenant, app.AppID, app.Secret)
		return aadstsCode(m) == 7000215
	})

	gid, _ := graphSP(t, a, tok)
	ids := valueIDs(t, call(t, a, "GET", "/v1.0/servicePrincipals/"+app.SPID+"/appRoleAssignments", tok, nil, 200))
	if len(ids) != 1 {
		t.Fatalf("assignments: %v", ids)
	}
	call(t, a, "DELETE", "/v1.0/servicePrincipals/"+gid+"/appRoleAssignedTo/"+ids[0], tok, nil, 204)
	within("the app role revoked on replica a is still granted", func() bool {
		st, m := tokenRequest(t, b, tenant, app.AppID, second)
		if st != 200 {
			t.Fatalf("token: %d %v", st, m)
		}
		return len(rolesOf(t, m["access_token"].(string))) == 0
	})
}
