package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/config"
)

const userPassword = "Us3r-Passw0rd-Long!"

// userWorld is a server with a public client consented for User.Read on
// Graph and one user.
type userWorld struct {
	srv    *apptest.Server
	tok    string // bootstrap token with consent and sign-in log rights
	client clientApp
	userID string
	upn    string
	grant  string
}

func newUserWorld(t *testing.T, aopts app.Options, opts ...apptest.Option) *userWorld {
	t.Helper()
	srv := apptest.NewWith(t, aopts, opts...)
	w := &userWorld{srv: srv, tok: adminToken(t, srv)}
	w.client = publicClient(t, srv, w.tok, "Notes")
	w.upn = "alice@" + srv.Creds.Domain
	body := newUser(w.upn, "Alice Liddell")
	body["passwordProfile"] = map[string]any{"password": userPassword, "forceChangePasswordNextSignIn": false}
	body["givenName"], body["surname"], body["mail"] = "Alice", "Liddell", w.upn
	w.userID = idOf(t, call(t, srv, "POST", "/v1.0/users", w.tok, body, 201))
	w.grant = consent(t, srv, w.tok, w.client.SPID, "User.Read")
	return w
}

// postToken sends a token request to the tenant's endpoint and returns the
// status and decoded body.
func (w *userWorld) postToken(t testing.TB, form url.Values, extra ...string) (int, map[string]any) {
	t.Helper()
	tenant := w.srv.Creds.TenantID
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i] == "tenant" {
			tenant = extra[i+1]
		}
	}
	resp, err := w.srv.Client.PostForm(w.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token response is not JSON: %d %s", resp.StatusCode, raw)
	}
	if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	return resp.StatusCode, m
}

func (w *userWorld) ropc(t testing.TB, password, scope string) (int, map[string]any) {
	t.Helper()
	return w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {w.upn},
		"password": {password}, "scope": {scope}, "client_info": {"1"}})
}

func (w *userWorld) refresh(t testing.TB, rt, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {w.client.AppID}, "refresh_token": {rt}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return w.postToken(t, form)
}

// aadstsCode returns the first of error_codes.
func aadstsCode(m map[string]any) int {
	if codes, ok := m["error_codes"].([]any); ok && len(codes) > 0 {
		f, _ := codes[0].(float64)
		return int(f)
	}
	return 0
}

func wantAADSTS(t testing.TB, status int, m map[string]any, code int, what string) {
	t.Helper()
	if status != 400 || aadstsCode(m) != code || m["error"] != "invalid_grant" {
		t.Fatalf("%s: got %d %v, want 400 invalid_grant AADSTS%d", what, status, m, code)
	}
}

// TestROPCTokens: the password grant's response and tokens have Entra's
// shape, and the access token reads /me.
func TestROPCTokens(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	st, m := w.ropc(t, userPassword, "User.Read openid profile email offline_access")
	if st != 200 {
		t.Fatalf("ROPC: %d %v", st, m)
	}
	if m["token_type"] != "Bearer" || m["scope"] != "User.Read openid profile email offline_access" ||
		m["refresh_token"] == nil || m["id_token"] == nil || m["expires_in"] == nil || m["ext_expires_in"] == nil {
		t.Errorf("response: %v", m)
	}
	ci, err := base64.RawURLEncoding.DecodeString(m["client_info"].(string))
	if err != nil || string(ci) != `{"uid":"`+w.userID+`","utid":"`+w.srv.Creds.TenantID+`"}` {
		t.Errorf("client_info: %q %v", ci, err)
	}
	if rt := m["refresh_token"].(string); len(rt) < 60 {
		t.Errorf("refresh token too short: %q", rt)
	}
	at := claimsOf(t, m["access_token"].(string))
	want := map[string]any{"aud": "https://graph.microsoft.com", "iss": w.srv.URL + "/" + w.srv.Creds.TenantID + "/v2.0",
		"tid": w.srv.Creds.TenantID, "oid": w.userID, "scp": "User.Read", "appid": w.client.AppID, "appidacr": "0",
		"idtyp": "user", "upn": w.upn, "unique_name": w.upn, "name": "Alice Liddell", "given_name": "Alice",
		"family_name": "Liddell", "ver": "1.0"}
	for k, v := range want {
		if at[k] != v {
			t.Errorf("access token %s = %v, want %v", k, at[k], v)
		}
	}
	if sub, _ := at["sub"].(string); len(sub) != 43 || sub == w.userID {
		t.Errorf("sub should be pairwise: %v", at["sub"])
	}
	if amr, _ := at["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
		t.Errorf("amr: %v", at["amr"])
	}
	id := claimsOf(t, m["id_token"].(string))
	if id["aud"] != w.client.AppID || id["preferred_username"] != w.upn || id["email"] != w.upn || id["ver"] != "2.0" ||
		id["sub"] != at["sub"] || id["oid"] != w.userID {
		t.Errorf("id token: %v", id)
	}

	me := call(t, w.srv, "GET", "/v1.0/me", m["access_token"].(string), nil, 200).JSON(t)
	if me["id"] != w.userID || me["userPrincipalName"] != w.upn {
		t.Errorf("/me: %v", me)
	}
	call(t, w.srv, "GET", "/v1.0/users/"+w.userID, m["access_token"].(string), nil, 200)
	other := createUser(t, w.srv, w.tok, "bob@"+w.srv.Creds.Domain)
	denied(t, w.srv.Do(t, "GET", "/v1.0/users/"+other, m["access_token"].(string), nil), "delegated read of another user")
	denied(t, w.srv.Do(t, "GET", "/v1.0/users", m["access_token"].(string), nil), "delegated list of users")

	// The admin holds Global Administrator: wids carries its template id.
	admin := w.srv.Creds.AdminUserPrincipalName
	consentAll := url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {admin},
		"password": {"Adm1n-Passw0rd!"}, "scope": {"https://graph.microsoft.com/.default"}}
	st, m = w.postToken(t, consentAll)
	if st != 200 {
		t.Fatalf("admin ROPC: %d %v", st, m)
	}
	if wids, _ := claimsOf(t, m["access_token"].(string))["wids"].([]any); len(wids) != 1 || wids[0] != "62e90394-69f5-4237-9190-012177145e10" {
		t.Errorf("wids: %v", wids)
	}
	if m["scope"] != "https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default" {
		t.Errorf(".default scope echo: %v", m["scope"])
	}

	// UserRealm answers Managed for MSAL.
	realm := call(t, w.srv, "GET", "/common/UserRealm/"+url.PathEscape(w.upn)+"?api-version=1.0", "", nil, 200).JSON(t)
	if realm["account_type"] != "Managed" || realm["domain_name"] != w.srv.Creds.Domain || realm["cloud_audience_urn"] == nil {
		t.Errorf("user realm: %v", realm)
	}
}

// TestConsentDecidesScopes: without a grant the request fails with
// AADSTS65001 consent_required; after one it works; a scope outside the
// grant is refused and never reaches scp.
func TestConsentDecidesScopes(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	st, m := w.ropc(t, userPassword, "User.Read openid")
	wantAADSTS(t, st, m, 65001, "no consent")
	if m["suberror"] != "consent_required" {
		t.Errorf("suberror: %v", m)
	}
	gid, _ := graphSP(t, w.srv, w.tok)
	call(t, w.srv, "POST", "/v1.0/oauth2PermissionGrants", w.tok, map[string]any{"clientId": w.client.SPID,
		"consentType": "Principal", "principalId": w.userID, "resourceId": gid, "scope": "User.Read"}, 201)
	st, m = w.ropc(t, userPassword, "User.Read openid")
	if st != 200 {
		t.Fatalf("after consent: %d %v", st, m)
	}
	st, m = w.ropc(t, userPassword, "User.Read Mail.Read")
	wantAADSTS(t, st, m, 65001, "scope outside the grant")
	st, m = w.ropc(t, userPassword, "https://graph.microsoft.com/.default")
	if st != 200 || claimsOf(t, m["access_token"].(string))["scp"] != "User.Read" {
		t.Errorf(".default gives the granted scopes only: %d %v", st, m)
	}
	st, m = w.ropc(t, userPassword, "User.Read api://other/Read")
	if st != 400 || aadstsCode(m) != 700022 {
		t.Errorf("two resources: %d %v", st, m)
	}
}

// TestRefreshRotation: each refresh rotates; reusing a rotated token
// revokes the family (the newest token stops working too) and is logged;
// revokeSignInSessions and a password reset end refresh tokens (50173).
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	st, m := w.ropc(t, userPassword, "User.Read offline_access openid")
	if st != 200 {
		t.Fatalf("ROPC: %d %v", st, m)
	}
	rt1 := m["refresh_token"].(string)
	st, m = w.refresh(t, rt1, "User.Read offline_access")
	if st != 200 || m["refresh_token"] == nil || m["refresh_token"] == rt1 {
		t.Fatalf("refresh: %d %v", st, m)
	}
	rt2 := m["refresh_token"].(string)
	if claimsOf(t, m["access_token"].(string))["scp"] != "User.Read" {
		t.Errorf("refreshed scp: %v", m)
	}
	st, m = w.refresh(t, rt2, "")
	if st != 200 {
		t.Fatalf("refresh without scope: %d %v", st, m)
	}
	rt3 := m["refresh_token"].(string)

	// Another client cannot use it.
	other := publicClient(t, w.srv, w.tok, "Other")
	st, m = w.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {other.AppID}, "refresh_token": {rt3}})
	wantAADSTS(t, st, m, 70000, "another client's refresh token")

	// Reuse of rt1 revokes the family: rt3, still current, dies too.
	st, m = w.refresh(t, rt1, "")
	wantAADSTS(t, st, m, 70000, "reuse of a rotated token")
	st, m = w.refresh(t, rt3, "")
	wantAADSTS(t, st, m, 70000, "the newest token of a revoked family")
	logs := listSignIns(t, w.srv, w.tok, "userId eq '"+w.userID+"' and status/errorCode eq 70000")
	reuse := false
	for _, l := range logs {
		reuse = reuse || l.Status.AdditionalDetails != nil && strings.Contains(*l.Status.AdditionalDetails, "reuse")
	}
	if !reuse {
		t.Errorf("no sign-in record of the reuse: %+v", logs)
	}
	if st, m = w.refresh(t, "0.garbage", ""); st != 400 || aadstsCode(m) != 70000 {
		t.Errorf("garbage token: %d %v", st, m)
	}

	// revokeSignInSessions ends a fresh family.
	_, m = w.ropc(t, userPassword, "User.Read offline_access")
	rt := m["refresh_token"].(string)
	call(t, w.srv, "POST", "/v1.0/users/"+w.userID+"/revokeSignInSessions", w.tok, nil, 200)
	st, m = w.refresh(t, rt, "")
	wantAADSTS(t, st, m, 50173, "refresh after revokeSignInSessions")

	// So does a password reset.
	time.Sleep(1100 * time.Millisecond) // past the revocation's second
	_, m = w.ropc(t, userPassword, "User.Read offline_access")
	rt = m["refresh_token"].(string)
	if st, _ := w.refresh(t, rt, ""); st != 200 {
		t.Fatalf("a token issued after the revocation works")
	}
	// (rt was rotated by that call; sign in again for the reset case.)
	_, m = w.ropc(t, userPassword, "User.Read offline_access")
	rt = m["refresh_token"].(string)
	call(t, w.srv, "PATCH", "/v1.0/users/"+w.userID, w.tok, map[string]any{"passwordProfile": map[string]any{"password": "An0ther-Passw0rd!"}}, 204)
	st, m = w.refresh(t, rt, "")
	wantAADSTS(t, st, m, 50173, "refresh after a password reset")
}

// TestSmartLockout: N wrong passwords lock the account even for the right
// password, from an unfamiliar address; the lock expires. Familiar
// addresses are counted apart (see authn's TestPasswordLockout, which
// drives addresses the loopback test server cannot).
func TestSmartLockout(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now}, func(c *config.Config) { c.LockoutThreshold = 3 })
	for i := 0; i < 3; i++ {
		st, m := w.ropc(t, "wrong-password", "User.Read")
		wantAADSTS(t, st, m, 50126, "wrong password")
	}
	st, m := w.ropc(t, userPassword, "User.Read")
	wantAADSTS(t, st, m, 50053, "locked account, right password")
	skew.Add(int64(61 * time.Second))
	if st, m := w.ropc(t, userPassword, "User.Read"); st != 200 {
		t.Fatalf("after the lock expired: %d %v", st, m)
	}
	logs := listSignIns(t, w.srv, w.tok, "userId eq '"+w.userID+"'")
	codes := []int{}
	for _, l := range logs {
		codes = append(codes, l.Status.ErrorCode)
	}
	if !slices.Equal(codes, []int{0, 50053, 50126, 50126, 50126}) {
		t.Errorf("sign-in log codes, newest first: %v", codes)
	}
	if st, m := w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {"nobody@" + w.srv.Creds.Domain},
		"password": {"x"}, "scope": {"User.Read"}}); st != 400 || aadstsCode(m) != 50034 {
		t.Errorf("unknown user: %d %v", st, m)
	}
	st, m = w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {w.upn},
		"password": {userPassword}, "scope": {"User.Read"}}, "tenant", "consumers")
	if st != 400 {
		t.Errorf("ROPC on /consumers: %d %v", st, m)
	}
	// /organizations serves multi-tenant apps only (AADSTS50194 otherwise).
	setAudience(t, w, w.client.ID, "AzureADMultipleOrgs")
	st, m = w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {w.upn},
		"password": {userPassword}, "scope": {"User.Read"}}, "tenant", "organizations")
	if st != 200 {
		t.Errorf("ROPC on /organizations: %d %v", st, m)
	}
	// A confidential client that sends no secret is refused.
	conf := registerApp(t, w.srv, w.tok, "Confidential")
	st, m = w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {conf.AppID}, "username": {w.upn},
		"password": {userPassword}, "scope": {"User.Read"}})
	if st != 401 || aadstsCode(m) != 7000218 {
		t.Errorf("confidential client without secret: %d %v", st, m)
	}
}

// TestMSALPublicClient: MSAL Go's public client signs in with a user name
// and password against Ostiary, calls /me, and refreshes silently; the
// x/oauth2 password flow's ID token verifies with go-oidc.
func TestMSALPublicClient(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{}, func(c *config.Config) { c.AccessTokenLifetime = 5 * time.Minute })
	ctx := context.Background()
	pc, err := public.New(w.client.AppID, public.WithAuthority(w.srv.URL+"/"+w.srv.Creds.TenantID),
		public.WithInstanceDiscovery(false), public.WithHTTPClient(w.srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	res, err := pc.AcquireTokenByUsernamePassword(ctx, []string{"User.Read"}, w.upn, userPassword)
	if err != nil {
		t.Fatalf("MSAL ROPC: %v", err)
	}
	if res.Account.HomeAccountID != w.userID+"."+w.srv.Creds.TenantID || res.Account.PreferredUsername != w.upn {
		t.Errorf("account: %+v", res.Account)
	}
	me := call(t, w.srv, "GET", "/v1.0/me", res.AccessToken, nil, 200).JSON(t)
	if me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}
	// A 5-minute token is inside MSAL's refresh margin, so the silent call
	// goes back to the server with the refresh token.
	silent, err := pc.AcquireTokenSilent(ctx, []string{"User.Read"}, public.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatalf("MSAL silent: %v", err)
	}
	if silent.AccessToken == res.AccessToken || silent.Metadata.TokenSource != 0 {
		t.Errorf("silent call should have refreshed: source %v", silent.Metadata.TokenSource)
	}
	call(t, w.srv, "GET", "/v1.0/me", silent.AccessToken, nil, 200)

	// golang.org/x/oauth2 + coreos/go-oidc.
	issuer := w.srv.URL + "/" + w.srv.Creds.TenantID + "/v2.0"
	octx := oidc.ClientContext(ctx, w.srv.Client)
	provider, err := oidc.NewProvider(octx, issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: w.client.AppID, Endpoint: provider.Endpoint(), Scopes: []string{"openid", "profile", "User.Read"}}
	tok, err := conf.PasswordCredentialsToken(context.WithValue(ctx, oauth2.HTTPClient, w.srv.Client), w.upn, userPassword)
	if err != nil {
		t.Fatalf("x/oauth2 password: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: w.client.AppID}).Verify(octx, raw)
	if err != nil {
		t.Fatalf("go-oidc verify: %v", err)
	}
	var claims struct {
		OID  string `json:"oid"`
		Name string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.OID != w.userID || claims.Name != "Alice Liddell" {
		t.Errorf("id token claims: %+v %v", claims, err)
	}
}
