package app_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// tenantWorld is newUserWorld's world in a second tenant of the same
// server: a public client "Notes" consented for User.Read and one user
// named name, with the same password. Its srv is a copy of the server
// whose Creds are the new tenant's.
func tenantWorld(t *testing.T, srv *apptest.Server, label, name string) *userWorld {
	t.Helper()
	creds, err := srv.App.Directory().CreateTenant(context.Background(), directory.TenantSpec{Name: label, AdminPassword: "Adm1n-Passw0rd!"})
	if err != nil {
		t.Fatal(err)
	}
	other := *srv
	other.Creds = creds
	w := &userWorld{srv: &other, tok: adminToken(t, &other)}
	w.client = publicClient(t, &other, w.tok, "Notes")
	w.upn = name + "@" + creds.Domain
	body := newUser(w.upn, strings.ToUpper(name[:1])+name[1:])
	body["passwordProfile"] = map[string]any{"password": userPassword, "forceChangePasswordNextSignIn": false}
	w.userID = idOf(t, call(t, &other, "POST", "/v1.0/users", w.tok, body, 201))
	w.grant = consent(t, &other, w.tok, w.client.SPID, "User.Read")
	return w
}

// setAudience sets an application's signInAudience through Graph.
func setAudience(t testing.TB, w *userWorld, appObjectID, audience string) {
	t.Helper()
	call(t, w.srv, "PATCH", "/v1.0/applications/"+appObjectID, w.tok, map[string]any{"signInAudience": audience}, 204)
}

// provision writes, in tenantID, a service principal of the application
// appID that ownerTenantID registered, as consent to a multi-tenant app
// provisions it in a customer's tenant (Graph cannot create one of another
// tenant's app yet). It returns the service principal's id.
func provision(t testing.TB, srv *apptest.Server, tenantID, ownerTenantID, appID string) string {
	t.Helper()
	id := iam.NewID()
	name, enabled, owner, typ := "Notes", true, ownerTenantID, "Application"
	now := time.Now().UTC().Truncate(time.Second)
	sp := iam.ServicePrincipal{ObjectMeta: iam.ObjectMeta{ID: id, DisplayName: &name, CreatedDateTime: &now}, AppID: appID, AppDisplayName: &name,
		AccountEnabled: &enabled, AppOwnerOrganizationID: &owner, ServicePrincipalType: &typ, ServicePrincipalNames: []string{appID},
		AppRoleAssignmentRequired: new(bool), Tags: []string{}, ReplyURLs: []string{}, AppRoles: []iam.AppRole{},
		OAuth2PermissionScopes: []iam.PermissionScope{}, KeyCredentials: []iam.KeyCredential{}, PasswordCredentials: []iam.PasswordCredential{}}
	data, err := json.Marshal(sp)
	if err != nil {
		t.Fatal(err)
	}
	err = srv.App.Store().Write(context.Background(), func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindServicePrincipal, ID: id, Key: appID, DisplayName: name, CreatedAt: now, Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// onAlias moves a tenant authorize (or other) path to /common or
// /organizations.
func onAlias(path, tenantID, alias string) string {
	return strings.Replace(path, "/"+tenantID+"/", "/"+alias+"/", 1)
}

// fakeRefreshToken is a well-formed refresh token value of tenantID that
// was never issued: it routes a request on /common to that tenant.
func fakeRefreshToken(t testing.TB, tenantID string) string {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(tenantID, "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 32)
	_, _ = rand.Read(random)
	return "0." + base64.RawURLEncoding.EncodeToString(append(b, random...))
}

// redeemAt redeems an authorization code of the world's public client
// at tenant segment seg.
func (w *userWorld) redeemAt(t testing.TB, seg, code, verifier string) (int, map[string]any) {
	t.Helper()
	return w.postToken(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {code},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {verifier}, "scope": {"User.Read openid offline_access"}}, "tenant", seg)
}

// TestCommonSessionTenant: on /common a browser session answers only for
// an application its tenant can use. A session of tenant A is not used
// for tenant B's app (multi-tenant, as /common requires, but not
// provisioned in A): the sign-in page is shown, and a user of B signing
// in there gets tokens of B. A multi-tenant app of A that B has
// provisioned is answered from B's session, with tokens of B (the user's
// home tenant); made single-tenant again, it is not.
func TestCommonSessionTenant(t *testing.T) {
	t.Parallel()
	a := newUserWorld(t, app.Options{})
	b := tenantWorld(t, a.srv, "fabrikam", "bob")
	setAudience(t, b, b.client.ID, "AzureADMultipleOrgs")
	br := newBrowser(a.srv)
	_, ch := pkcePair(t)
	if q := a.signIn(t, br, a.authorizeURL(ch)); q.Get("code") == "" {
		t.Fatalf("alice's sign-in at A: %v", q)
	}

	// B's app on /common with A's session: the sign-in page, not a code
	// (nor A's "application not found" page).
	verifier, challenge := pkcePair(t)
	commonB := onAlias(b.authorizeURL(challenge), b.srv.Creds.TenantID, "common")
	p := br.do(t, "GET", commonB, nil)
	if p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("B's app on /common with A's session: want the sign-in page, got %d %s", p.status, p.body)
	}
	p = br.do(t, "GET", commonB+"&prompt=none", nil)
	if p.status != 400 || !strings.Contains(p.body, "AADSTS50058") || p.header.Get("Location") != "" {
		t.Errorf("prompt=none for B's app with A's session: %d %s", p.status, p.header.Get("Location"))
	}
	// Bob signs in there: the code and the tokens are B's.
	loc := signInAs(t, br, br.do(t, "GET", commonB, nil), b.upn, userPassword).location(t)
	st, m := b.redeemAt(t, "common", loc.Query().Get("code"), verifier)
	if st != 200 {
		t.Fatalf("redeem bob's code on /common: %d %v", st, m)
	}
	if c := claimsOf(t, m["id_token"].(string)); c["tid"] != b.srv.Creds.TenantID || c["oid"] != b.userID {
		t.Errorf("bob's ID token: %v", c)
	}
	// Now the session is B's: A's single-tenant app on /common asks again.
	commonA := onAlias(a.authorizeURL(ch), a.srv.Creds.TenantID, "common")
	if p := br.do(t, "GET", commonA, nil); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("A's app on /common with B's session: %d %s", p.status, p.body)
	}

	// A's Notes made multi-tenant and provisioned in B (with B's consent):
	// B's session answers on /common, and the tokens are B's.
	setAudience(t, a, a.client.ID, "AzureADMultipleOrgs")
	spInB := provision(t, a.srv, b.srv.Creds.TenantID, a.srv.Creds.TenantID, a.client.AppID)
	consent(t, b.srv, b.tok, spInB, "User.Read")
	v2, c2 := pkcePair(t)
	loc = br.do(t, "GET", onAlias(a.authorizeURL(c2), a.srv.Creds.TenantID, "common"), nil).location(t)
	if loc.Query().Get("code") == "" {
		t.Fatalf("multi-tenant app with B's session: %s", loc)
	}
	st, m = a.redeemAt(t, "organizations", loc.Query().Get("code"), v2)
	if st != 200 {
		t.Fatalf("redeem the multi-tenant app's code: %d %v", st, m)
	}
	at := claimsOf(t, m["access_token"].(string))
	if at["tid"] != b.srv.Creds.TenantID || at["oid"] != b.userID || at["appid"] != a.client.AppID {
		t.Errorf("multi-tenant app's access token: %v", at)
	}
	call(t, a.srv, "GET", "/v1.0/me", m["access_token"].(string), nil, 200)

	// Single-tenant again: B's service principal no longer makes it a
	// client in B, on /common or on B's own path.
	setAudience(t, a, a.client.ID, "AzureADMyOrg")
	if p := br.do(t, "GET", onAlias(a.authorizeURL(c2), a.srv.Creds.TenantID, "common"), nil); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("single-tenant app of A with B's session on /common: %d %s", p.status, p.body)
	}
	onB := strings.Replace(a.authorizeURL(c2), "/"+a.srv.Creds.TenantID+"/", "/"+b.srv.Creds.TenantID+"/", 1)
	if p := br.do(t, "GET", onB, nil); p.status != 400 || !strings.Contains(p.body, "AADSTS700016") {
		t.Errorf("single-tenant app of A on B's path: %d %s", p.status, p.body)
	}
	st, m = a.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {a.client.AppID},
		"refresh_token": {fakeRefreshToken(t, b.srv.Creds.TenantID)}}, "tenant", "common")
	if st != 400 || aadstsCode(m) != 700016 {
		t.Errorf("single-tenant app of A at B's token endpoint: %d %v", st, m)
	}
}

// TestAssertionReplayAcrossTenants: a client assertion is used once per
// client, whatever tenant the request resolves to. One whose audience is
// the /organizations token endpoint, accepted for a refresh token of
// tenant A, is a replay (AADSTS50012) with a refresh token of tenant B,
// where the multi-tenant client is provisioned too; one whose audience is
// A's GUID endpoint, used there, is a replay on /common.
func TestAssertionReplayAcrossTenants(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tok := srv.Token(t)
	a := &userWorld{srv: srv, tok: tok}
	b := tenantWorld(t, srv, "fabrikam", "bob")
	daemon := registerApp(t, srv, tok, "Cert daemon", "User.Read.All")
	cert := newClientCert(t)
	uploadCert(t, srv, tok, daemon.ID, cert)
	setAudience(t, a, daemon.ID, "AzureADMultipleOrgs")
	provision(t, srv, b.srv.Creds.TenantID, srv.Creds.TenantID, daemon.AppID)

	post := func(seg, assertion string, form url.Values) (int, map[string]any) {
		t.Helper()
		form.Set("client_id", daemon.AppID)
		form.Set("client_assertion_type", jwtBearerAssertion)
		form.Set("client_assertion", assertion)
		return a.postToken(t, form, "tenant", seg)
	}
	refresh := func(tenantID string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fakeRefreshToken(t, tenantID)}, "scope": {"User.Read"}}
	}
	headers := map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256()}
	claims := clientAssertionClaims(srv, daemon.AppID)
	claims["aud"] = srv.URL + "/organizations/oauth2/v2.0/token"
	orgs := signAssertion(t, cert.key, jose.PS256, headers, claims)
	// The client is authenticated (the refresh token, never issued, is
	// what fails), so the assertion was used.
	st, m := post("organizations", orgs, refresh(srv.Creds.TenantID))
	wantTokenError(t, st, m, 400, "invalid_grant", 70000, "first use, refresh token of A")
	st, m = post("organizations", orgs, refresh(b.srv.Creds.TenantID))
	wantTokenError(t, st, m, 401, "invalid_client", 50012, "replay with a refresh token of B")

	// A fresh one is good in B, then spent everywhere.
	claims["jti"] = iam.NewID()
	fresh := signAssertion(t, cert.key, jose.PS256, headers, claims)
	st, m = post("organizations", fresh, refresh(b.srv.Creds.TenantID))
	wantTokenError(t, st, m, 400, "invalid_grant", 70000, "fresh assertion in B")
	st, m = post("organizations", fresh, refresh(srv.Creds.TenantID))
	wantTokenError(t, st, m, 401, "invalid_client", 50012, "its replay in A")

	// The GUID endpoint's audience: client credentials there, then /common.
	guid := signAssertion(t, cert.key, jose.PS256, headers, clientAssertionClaims(srv, daemon.AppID))
	st, m = post(srv.Creds.TenantID, guid, url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	if st != 200 {
		t.Fatalf("client credentials with a certificate: %d %v", st, m)
	}
	st, m = post("common", guid, refresh(srv.Creds.TenantID))
	wantTokenError(t, st, m, 401, "invalid_client", 50012, "replay on /common")
	st, m = post(srv.Creds.Domain, guid, url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}})
	wantTokenError(t, st, m, 401, "invalid_client", 50012, "replay at the domain path")
}
