package app_test

import (
	"net/url"
	"testing"

	"github.com/ostiary/ostiary/internal/app/apptest"
)

// adminToken grants the bootstrap application what the user-sign-in tests
// need besides Directory.ReadWrite.All (consent and the sign-in log) and
// returns a fresh token carrying it.
func adminToken(t testing.TB, srv *apptest.Server) string {
	t.Helper()
	tok := srv.Token(t)
	sp := call(t, srv, "GET", "/v1.0/servicePrincipals(appId='"+srv.Creds.ClientID+"')", tok, nil, 200).JSON(t)
	grant(t, srv, tok, sp["id"].(string), "DelegatedPermissionGrant.ReadWrite.All", "AuditLog.Read.All")
	return srv.Token(t)
}

// publicClient registers an application that allows public client flows
// (ROPC, device code) and its service principal.
func publicClient(t testing.TB, srv *apptest.Server, tok, name string) clientApp {
	t.Helper()
	r := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": name, "isFallbackPublicClient": true,
		"publicClient": map[string]any{"redirectUris": []string{"http://localhost"}}}, 201)
	a := clientApp{ID: idOf(t, r)}
	a.AppID, _ = r.JSON(t)["appId"].(string)
	a.SPID = idOf(t, call(t, srv, "POST", "/v1.0/servicePrincipals", tok, map[string]any{"appId": a.AppID}, 201))
	return a
}

// consent grants the client Graph's delegated scope for every user and
// returns the grant id.
func consent(t testing.TB, srv *apptest.Server, tok, clientSPID, scope string) string {
	t.Helper()
	gid, _ := graphSP(t, srv, tok)
	return idOf(t, call(t, srv, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{
		"clientId": clientSPID, "consentType": "AllPrincipals", "resourceId": gid, "scope": scope}, 201))
}

// TestOAuth2PermissionGrants: consent objects through Graph, with their
// validation, filters and the permission they need.
func TestOAuth2PermissionGrants(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	plain := srv.Token(t)
	client := publicClient(t, srv, plain, "Notes")
	gid, _ := graphSP(t, srv, plain)
	body := map[string]any{"clientId": client.SPID, "consentType": "AllPrincipals", "resourceId": gid, "scope": "User.Read"}
	denied(t, srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", plain, body), "consent without DelegatedPermissionGrant.ReadWrite.All")
	call(t, srv, "GET", "/v1.0/oauth2PermissionGrants", plain, nil, 200) // Directory.ReadWrite.All reads

	tok := adminToken(t, srv)
	badReq(t, srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{"clientId": client.SPID, "consentType": "AllPrincipals",
		"resourceId": gid, "scope": "User.Read No.Such.Scope"}), "unknown scope")
	badReq(t, srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{"clientId": client.SPID, "consentType": "Principal",
		"resourceId": gid, "scope": "User.Read"}), "Principal grant without a principal")
	badReq(t, srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{"clientId": client.SPID, "consentType": "Principal",
		"principalId": client.SPID, "resourceId": gid, "scope": "User.Read"}), "Principal grant to a non-user")
	badReq(t, srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{"clientId": srv.Creds.TenantID, "consentType": "AllPrincipals",
		"resourceId": gid, "scope": "User.Read"}), "unknown client")

	id := consent(t, srv, tok, client.SPID, "User.Read User.Read")
	if r := srv.Do(t, "POST", "/v1.0/oauth2PermissionGrants", tok, body); r.Status != 409 {
		t.Errorf("second AllPrincipals grant for the same pair: %d %s", r.Status, r.Body)
	}
	user := createUser(t, srv, tok, "grantee@"+srv.Creds.Domain)
	pid := idOf(t, call(t, srv, "POST", "/v1.0/oauth2PermissionGrants", tok, map[string]any{"clientId": client.SPID, "consentType": "Principal",
		"principalId": user, "resourceId": gid, "scope": "Mail.Read"}, 201))

	g := call(t, srv, "GET", "/v1.0/oauth2PermissionGrants/"+id, tok, nil, 200).JSON(t)
	if g["scope"] != "User.Read" || g["principalId"] != nil || g["consentType"] != "AllPrincipals" {
		t.Errorf("stored grant: %v", g)
	}
	for filter, want := range map[string][]string{
		"clientId eq '" + client.SPID + "'": sorted(id, pid),
		"consentType eq 'Principal'":        {pid},
		"principalId eq '" + user + "'":     {pid},
		"resourceId eq '" + gid + "'":       sorted(id, pid),
		"consentType eq 'AllPrincipals'":    {id},
	} {
		got := valueIDs(t, call(t, srv, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape(filter), tok, nil, 200))
		if len(got) != len(want) || (len(got) > 0 && got[0] != want[0]) {
			t.Errorf("%s: got %v, want %v", filter, got, want)
		}
	}
	call(t, srv, "PATCH", "/v1.0/oauth2PermissionGrants/"+id, tok, map[string]any{"scope": "User.Read Mail.Read"}, 204)
	if g := call(t, srv, "GET", "/v1.0/oauth2PermissionGrants/"+id, tok, nil, 200).JSON(t); g["scope"] != "User.Read Mail.Read" {
		t.Errorf("after PATCH: %v", g)
	}
	badReq(t, srv.Do(t, "PATCH", "/v1.0/oauth2PermissionGrants/"+id, tok, map[string]any{"clientId": gid}), "clientId is immutable")
	call(t, srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+pid, tok, nil, 204)
	notFound(t, srv.Do(t, "GET", "/v1.0/oauth2PermissionGrants/"+pid, tok, nil), "deleted grant")
}
