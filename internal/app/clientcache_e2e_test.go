package app_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
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

// TestRefreshFollowsConsentAndPolicy: the refresh grant's cached reads
// (the user's consent, the tenant's security defaults) follow writes at
// once: a consent narrowed or deleted, or security defaults turned on, is
// in force for the very next refresh.
func TestRefreshFollowsConsentAndPolicy(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "PATCH", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, map[string]any{"scope": "User.Read User.ReadBasic.All"}, 204)
	st, m := w.ropc(t, userPassword, "User.Read User.ReadBasic.All offline_access")
	if st != 200 {
		t.Fatalf("ropc: %d %v", st, m)
	}
	rt := m["refresh_token"].(string)
	refresh := func(what string) (int, map[string]any) {
		t.Helper()
		st, m := w.refresh(t, rt, "")
		if st == 200 {
			rt = m["refresh_token"].(string)
		}
		return st, m
	}
	if st, m := refresh("fill the caches"); st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read User.ReadBasic.All" {
		t.Fatalf("first refresh: %d %v", st, m)
	}
	call(t, w.srv, "PATCH", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, map[string]any{"scope": "User.Read"}, 204)
	if st, m := refresh("narrowed consent"); st != 400 || aadstsCode(m) != 65001 {
		t.Errorf("a refresh after the consent was narrowed: %d %v", st, m)
	}
	st, m = w.refresh(t, rt, "User.Read")
	if st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read" {
		t.Fatalf("refresh within the narrowed consent: %d %v", st, m)
	}
	rt = m["refresh_token"].(string)
	// An administrator has no registration grace under security defaults:
	// their password-only family must stop refreshing when they come on.
	spID := call(t, w.srv, "GET", "/v1.0/servicePrincipals(appId='"+w.srv.Creds.ClientID+"')", w.tok, nil, 200).JSON(t)["id"].(string)
	grant(t, w.srv, w.tok, spID, "Policy.ReadWrite.SecurityDefaults")
	call(t, w.srv, "POST", assignPath, w.tok, map[string]any{"principalId": w.userID, "roleDefinitionId": roleUserAdmin, "directoryScopeId": "/"}, 201)
	if st, m := w.refresh(t, rt, "User.Read"); st != 200 {
		t.Fatalf("refresh as an administrator without security defaults: %d %v", st, m)
	} else {
		rt = m["refresh_token"].(string)
	}
	admin := w.srv.Token(t)
	call(t, w.srv, "PATCH", securityDefaultsPath, admin, map[string]any{"isEnabled": true}, 204)
	if st, m := w.refresh(t, rt, "User.Read"); st != 400 || aadstsCode(m) != 50076 {
		t.Errorf("a password-only family refreshed after security defaults were turned on: %d %v", st, m)
	}
	call(t, w.srv, "PATCH", securityDefaultsPath, admin, map[string]any{"isEnabled": false}, 204)
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	if st, m := w.refresh(t, rt, "User.Read"); st != 400 || aadstsCode(m) != 65001 {
		t.Errorf("a refresh after the consent was deleted: %d %v", st, m)
	}
}
