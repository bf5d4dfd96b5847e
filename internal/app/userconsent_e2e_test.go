package app_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// consentPage signs in through the password page and returns the page
// that follows it (the consent page, an error page, or a redirect).
func (w *userWorld) consentPage(t testing.TB, b *browser, authURL string) page {
	t.Helper()
	p := b.do(t, "GET", authURL, nil)
	if p.status != 200 {
		t.Fatalf("authorize: %d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, `name="password"`) {
		return p // signed in already
	}
	f := parseForm(t, p.body)
	f.fields.Set("username", w.upn)
	f.fields.Set("password", userPassword)
	return b.do(t, "POST", f.action, f.fields)
}

// answer presses Accept or Cancel on a consent page.
func answer(t testing.TB, b *browser, p page, button string) page {
	t.Helper()
	if p.status != 200 || !strings.Contains(p.body, "Permissions requested") {
		t.Fatalf("want the consent page, got %d: %s", p.status, p.body)
	}
	f := parseForm(t, p.body)
	if f.fields.Get("csrf_token") == "" {
		t.Fatalf("consent form without CSRF token")
	}
	f.fields.Set("ostiary_consent", button)
	return b.do(t, "POST", f.action, f.fields)
}

// userGrants lists the Principal grants of the world's client.
func (w *userWorld) userGrants(t testing.TB) []map[string]any {
	t.Helper()
	return w.grantsOfType(t, "Principal")
}

// grantsOfType lists the world's client's grants of one consentType.
func (w *userWorld) grantsOfType(t testing.TB, consentType string) []map[string]any {
	t.Helper()
	r := call(t, w.srv, "GET", "/v1.0/oauth2PermissionGrants?$filter="+url.QueryEscape("clientId eq '"+w.client.SPID+"'"), w.tok, nil, 200).JSON(t)
	var out []map[string]any
	for _, v := range r["value"].([]any) {
		if g := v.(map[string]any); g["consentType"] == consentType {
			out = append(out, g)
		}
	}
	return out
}

// TestUserConsentPage: with no consent, the code flow shows the consent
// page after sign-in; Accept records a Principal grant for the user with
// exactly the requested scopes (audited as the user) and the flow goes
// on to a code whose tokens carry them; userinfo answers with that token.
// prompt=consent shows the page again, Accept merges into the same grant,
// and Cancel goes back as access_denied (AADSTS65004).
func TestUserConsentPage(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	verifier, challenge := pkcePair(t)
	b := newBrowser(w.srv)

	p := w.consentPage(t, b, w.authorizeURL(challenge))
	for _, want := range []string{"Notes", "Sign in and read your profile", "Allows the app to sign in and read your profile, on your behalf."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("consent page lacks %q: %s", want, p.body)
		}
	}
	// The form is CSRF-protected.
	f := parseForm(t, p.body)
	f.fields.Set("ostiary_consent", "accept")
	f.fields.Set("csrf_token", strings.Repeat("x", 43))
	if r := b.do(t, "POST", f.action, f.fields); r.status != 403 || len(w.userGrants(t)) != 0 {
		t.Fatalf("consent with a wrong CSRF token: %d", r.status)
	}
	q := answer(t, b, p, "accept").location(t).Query()
	if q.Get("code") == "" || q.Get("state") != "st-1" {
		t.Fatalf("after consent: %v", q)
	}
	grants := w.userGrants(t)
	if len(grants) != 1 || grants[0]["principalId"] != w.userID {
		t.Fatalf("grants after consent: %v", grants)
	}
	scopes := strings.Fields(grants[0]["scope"].(string))
	slices.Sort(scopes)
	if want := []string{"User.Read", "offline_access", "openid", "profile"}; !slices.Equal(scopes, want) {
		t.Errorf("granted scopes %v, want %v", scopes, want)
	}
	st, m := w.postToken(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {q.Get("code")},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {verifier}, "scope": {"User.Read openid profile offline_access"}})
	if st != 200 {
		t.Fatalf("redeem: %d %v", st, m)
	}
	at := m["access_token"].(string)
	scp := strings.Fields(claimsOf(t, at)["scp"].(string))
	slices.Sort(scp)
	if want := []string{"User.Read", "openid", "profile"}; !slices.Equal(scp, want) {
		t.Errorf("scp %v, want %v", scp, want)
	}
	// The consent is audited, initiated by the user.
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Consent to application'"), w.tok, nil, 200).JSON(t)
	vals := audits["value"].([]any)
	if len(vals) != 1 {
		t.Fatalf("consent audit records: %v", audits)
	}
	if by := vals[0].(map[string]any)["initiatedBy"].(map[string]any)["user"].(map[string]any); by["id"] != w.userID {
		t.Errorf("consent initiated by %v", by)
	}

	// userinfo takes the Graph token with openid.
	r := w.srv.Do(t, "GET", "/oidc/userinfo", at, nil)
	ui := r.JSON(t)
	idSub := claimsOf(t, m["id_token"].(string))["sub"]
	if r.Status != 200 || ui["sub"] != idSub || ui["name"] != "Alice Liddell" || ui["given_name"] != "Alice" ||
		ui["family_name"] != "Liddell" || ui["email"] != w.upn || ui["picture"] != nil {
		t.Errorf("userinfo: %d %v (id token sub %v)", r.Status, ui, idSub)
	}
	for what, tok := range map[string]string{"no token": "", "garbage": "x.y.z", "app-only token": w.tok} {
		r := w.srv.Do(t, "GET", "/oidc/userinfo", tok, nil)
		if r.Status != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("userinfo with %s: %d %v", what, r.Status, r.Header)
		}
	}
	// A token without openid is refused for its scope.
	st, m = w.ropc(t, userPassword, "User.Read")
	if st != 200 {
		t.Fatalf("ropc: %d %v", st, m)
	}
	if r := w.srv.Do(t, "GET", "/oidc/userinfo", m["access_token"].(string), nil); r.Status != 403 ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Errorf("userinfo without openid: %d %v", r.Status, r.Header)
	}

	// Consent exists: no page; prompt=consent shows it again.
	if q := b.do(t, "GET", w.authorizeURL(challenge), nil).location(t).Query(); q.Get("code") == "" {
		t.Errorf("with consent: %v", q)
	}
	p = b.do(t, "GET", w.authorizeURL(challenge, "prompt", "consent", "scope", "User.Read User.ReadBasic.All openid"), nil)
	if !strings.Contains(p.body, "Sign in and read your profile") || !strings.Contains(p.body, "Read basic profiles of all users") {
		t.Errorf("prompt=consent page: %s", p.body)
	}
	if q := answer(t, b, p, "accept").location(t).Query(); q.Get("code") == "" {
		t.Errorf("after the second consent: %v", q)
	}
	grants = w.userGrants(t)
	if len(grants) != 1 || !strings.Contains(grants[0]["scope"].(string), "User.ReadBasic.All") || !strings.Contains(grants[0]["scope"].(string), "offline_access") {
		t.Errorf("merged grant: %v", grants)
	}
	p = b.do(t, "GET", w.authorizeURL(challenge, "prompt", "consent"), nil)
	q = answer(t, b, p, "cancel").location(t).Query()
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004") || q.Get("state") != "st-1" || q.Get("code") != "" {
		t.Errorf("cancel: %v", q)
	}
}

// TestConsentNeedsAdmin: an Admin-type scope, or a tenant whose
// authorization policy does not let users consent, ends on a page saying
// an administrator must consent, never a silent redirect. The policy is
// Graph's authorizationPolicy singleton with Entra's defaults, which a
// tenant without a stored one also reads.
func TestConsentNeedsAdmin(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	_, challenge := pkcePair(t)
	b := newBrowser(w.srv)

	p := w.consentPage(t, b, w.authorizeURL(challenge, "scope", "User.Read User.Read.All openid"))
	if p.status != 403 || !strings.Contains(p.body, "AADSTS90094") || !strings.Contains(p.body, "Need admin approval") || p.header.Get("Location") != "" {
		t.Errorf("admin scope: %d %s", p.status, p.body)
	}

	// The policy needs Policy.Read.All to read, Policy.ReadWrite.Authorization to write.
	denied(t, call(t, w.srv, "GET", "/v1.0/policies/authorizationPolicy", w.tok, nil, 403), "read without Policy.Read.All")
	sp := call(t, w.srv, "GET", "/v1.0/servicePrincipals(appId='"+w.srv.Creds.ClientID+"')", w.tok, nil, 200).JSON(t)
	grant(t, w.srv, w.tok, sp["id"].(string), "Policy.ReadWrite.Authorization")
	ptok := w.srv.Token(t)
	pol := call(t, w.srv, "GET", "/v1.0/policies/authorizationPolicy", ptok, nil, 200).JSON(t)
	durp := pol["defaultUserRolePermissions"].(map[string]any)
	if pol["id"] != "authorizationPolicy" || pol["allowedToUseSSPR"] != true || pol["blockMsolPowerShell"] != false ||
		durp["allowedToCreateApps"] != true || durp["allowedToReadOtherUsers"] != true ||
		!strings.HasSuffix(pol["@odata.context"].(string), "$metadata#policies/authorizationPolicy/$entity") {
		t.Errorf("default policy: %v", pol)
	}
	if a := durp["permissionGrantPoliciesAssigned"].([]any); len(a) != 1 || a[0] != iam.UserConsentLegacyPolicy {
		t.Errorf("default permission grant policies: %v", a)
	}
	badReq(t, call(t, w.srv, "PATCH", "/v1.0/policies/authorizationPolicy", ptok,
		map[string]any{"defaultUserRolePermissions": map[string]any{"permissionGrantPoliciesAssigned": []string{"nonsense"}}}, 400), "unknown policy id")
	badReq(t, call(t, w.srv, "PATCH", "/v1.0/policies/authorizationPolicy", ptok, map[string]any{"id": "other"}, 400), "id is read-only")
	call(t, w.srv, "PATCH", "/v1.0/policies/authorizationPolicy", ptok,
		map[string]any{"defaultUserRolePermissions": map[string]any{"permissionGrantPoliciesAssigned": []string{}}, "blockMsolPowerShell": true}, 204)
	pol = call(t, w.srv, "GET", "/v1.0/policies/authorizationPolicy", ptok, nil, 200).JSON(t)
	durp = pol["defaultUserRolePermissions"].(map[string]any)
	if len(durp["permissionGrantPoliciesAssigned"].([]any)) != 0 || durp["allowedToCreateApps"] != true || pol["blockMsolPowerShell"] != true {
		t.Errorf("patched policy (other members must stay): %v", pol)
	}
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Update authorization policy'"), w.tok, nil, 200).JSON(t)
	if len(audits["value"].([]any)) != 1 {
		t.Errorf("policy audit records: %v", audits)
	}

	p = b.do(t, "GET", w.authorizeURL(challenge), nil)
	if p.status != 403 || !strings.Contains(p.body, "AADSTS65001") || !strings.Contains(p.body, "only an admin can grant") {
		t.Errorf("users may not consent: %d %s", p.status, p.body)
	}
	// prompt=none still goes back silently.
	if q := b.do(t, "GET", w.authorizeURL(challenge, "prompt", "none"), nil).location(t).Query(); q.Get("error") != "consent_required" {
		t.Errorf("prompt=none: %v", q)
	}
	// Admin consent (an AllPrincipals grant) lets the flow through.
	w.grant = consent(t, w.srv, w.tok, w.client.SPID, "User.Read")
	if q := b.do(t, "GET", w.authorizeURL(challenge), nil).location(t).Query(); q.Get("code") == "" {
		t.Errorf("with admin consent: %v", q)
	}

	// A tenant whose policy was never stored reads Entra's defaults.
	err := w.srv.App.Store().Write(context.Background(), func(wr store.Writer) error {
		return wr.Delete(w.srv.Creds.TenantID, iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID)
	})
	if err != nil {
		t.Fatal(err)
	}
	pol = call(t, w.srv, "GET", "/v1.0/policies/authorizationPolicy", ptok, nil, 200).JSON(t)
	if a := pol["defaultUserRolePermissions"].(map[string]any)["permissionGrantPoliciesAssigned"].([]any); len(a) != 1 || pol["blockMsolPowerShell"] != false {
		t.Errorf("lazy default policy: %v", pol)
	}
}

// TestDiscoveryAdvertisesUserInfo: the v2 document names the userinfo
// endpoint, and no v1 document is served (no token carries a v1 issuer yet,
// and the v1 endpoints it would name do not exist).
func TestDiscoveryAdvertisesUserInfo(t *testing.T) {
	t.Parallel()
	srv := apptest.New(t)
	tid := srv.Creds.TenantID
	v2 := srv.Do(t, "GET", "/"+tid+"/v2.0/.well-known/openid-configuration", "", nil).JSON(t)
	if v2["userinfo_endpoint"] != srv.URL+"/oidc/userinfo" {
		t.Errorf("v2 userinfo_endpoint: %v", v2["userinfo_endpoint"])
	}
	if r := srv.Do(t, "GET", "/"+tid+"/.well-known/openid-configuration", "", nil); r.Status != 404 {
		t.Errorf("a v1 document is served: %d %s", r.Status, r.Body)
	}
}

// TestCleanupExpired: the cleanup removes expired codes and sessions,
// then refresh tokens with their families and sign-in logs past the
// retention, and nothing that is still valid (a fake clock moves time).
func TestCleanupExpired(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now})
	ctx := context.Background()
	cleanup := func() (rep struct{ rt, fam, codes, sessions, signIns int }) {
		t.Helper()
		r, ran, err := w.srv.App.CleanupExpired(ctx, "test")
		if err != nil || !ran {
			t.Fatalf("cleanup: ran %v, %v", ran, err)
		}
		rep.rt, rep.fam, rep.codes, rep.sessions, rep.signIns = r.RefreshTokens, r.RefreshTokenFamilies, r.AuthCodes, r.SignInSessions, r.SignIns
		return rep
	}
	st, m := w.ropc(t, userPassword, "User.Read offline_access")
	if st != 200 {
		t.Fatalf("ropc: %d %v", st, m)
	}
	st, m = w.refresh(t, m["refresh_token"].(string), "")
	if st != 200 {
		t.Fatalf("refresh: %d %v", st, m)
	}
	rt := m["refresh_token"].(string)
	_, challenge := pkcePair(t)
	b := newBrowser(w.srv)
	if q := w.signIn(t, b, w.authorizeURL(challenge)); q.Get("code") == "" { // a code never redeemed, and a session
		t.Fatalf("sign-in: %v", q)
	}
	if rep := cleanup(); rep != (struct{ rt, fam, codes, sessions, signIns int }{}) {
		t.Errorf("nothing has expired yet, removed %+v", rep)
	}

	skew.Add(int64(25 * time.Hour)) // the code (10 min) and the session (24 h) expire
	rep := cleanup()
	if rep.codes != 1 || rep.sessions != 1 || rep.rt != 0 || rep.signIns != 0 {
		t.Errorf("after 25 h: %+v", rep)
	}
	st, m = w.refresh(t, rt, "")
	if st != 200 {
		t.Fatalf("refresh after the cleanup: %d %v", st, m)
	}
	rt = m["refresh_token"].(string)

	skew.Add(int64(31 * 24 * time.Hour)) // the sign-in logs of days 0 and 1 pass the 30-day retention
	rep = cleanup()
	if rep.signIns < 3 || rep.rt != 0 || rep.fam != 0 || rep.codes != 0 || rep.sessions != 0 {
		t.Errorf("after 32 days: %+v", rep)
	}
	logs := listSignIns(t, w.srv, w.srv.Token(t), "")
	if len(logs) == 0 {
		t.Error("no sign-in log left")
	}
	for _, s := range logs {
		if now().Sub(s.CreatedDateTime) > 30*24*time.Hour {
			t.Errorf("a sign-in log past the retention remains: %+v", s)
		}
	}

	skew.Add(int64(91 * 24 * time.Hour)) // every refresh token expired
	rep = cleanup()
	if rep.rt != 3 || rep.fam != 1 {
		t.Errorf("after 123 days: %+v", rep)
	}
	st, m = w.refresh(t, rt, "")
	wantAADSTS(t, st, m, 70000, "refresh token removed by the cleanup")
}

// TestConsentOnBehalfOfOrganization: an administrator who may grant
// tenant consent sees Entra's "Consent on behalf of your organization"
// checkbox on the consent page. Checked, Accept records an AllPrincipals
// grant of the page's scopes (audited as admin consent) and the next user
// is not asked; scopes only an administrator may consent to make it
// required. A user without such a role is not offered it, and a forged
// checkbox gives them their own consent only.
func TestConsentOnBehalfOfOrganization(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	_, challenge := pkcePair(t)

	// A plain user: no checkbox; a forged one is ignored.
	p := w.consentPage(t, newBrowser(w.srv), w.authorizeURL(challenge))
	if strings.Contains(p.body, "on behalf of your organization") {
		t.Fatalf("a user without an admin role is offered consent for the organization")
	}
	f := parseForm(t, p.body)
	f.fields.Set("ostiary_consent", "accept")
	f.fields.Set("ostiary_consent_org", "1")
	b := newBrowser(w.srv)
	p = w.consentPage(t, b, w.authorizeURL(challenge))
	f = parseForm(t, p.body)
	f.fields.Set("ostiary_consent", "accept")
	f.fields.Set("ostiary_consent_org", "1")
	if q := b.do(t, "POST", f.action, f.fields).location(t).Query(); q.Get("code") == "" {
		t.Fatalf("a user's consent with a forged checkbox: %v", q)
	}
	if g := w.userGrants(t); len(g) != 1 || g[0]["principalId"] != w.userID {
		t.Fatalf("a forged checkbox must give the user's own consent only: %v", g)
	}
	orgGrants := func() []map[string]any { return w.grantsOfType(t, "AllPrincipals") }
	if g := orgGrants(); len(g) != 0 {
		t.Fatalf("organization grants after a user's consent: %v", g)
	}

	// A Cloud Application Administrator: offered, not required.
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.userGrants(t)[0]["id"].(string), w.tok, nil, 204)
	call(t, w.srv, "POST", assignPath, w.tok, map[string]any{"principalId": w.userID,
		"roleDefinitionId": "158c047a-c907-4556-b7ef-446551a6b5f7", "directoryScopeId": "/"}, 201)
	b = newBrowser(w.srv)
	p = w.consentPage(t, b, w.authorizeURL(challenge))
	if !strings.Contains(p.body, "Consent on behalf of your organization") || strings.Contains(p.body, " required>") {
		t.Fatalf("an administrator's consent page: %s", p.body)
	}
	f = parseForm(t, p.body)
	if f.fields.Has("ostiary_consent_org") {
		t.Fatalf("the checkbox is checked by default")
	}
	f.fields.Set("ostiary_consent", "accept")
	f.fields.Set("ostiary_consent_org", "1")
	if q := b.do(t, "POST", f.action, f.fields).location(t).Query(); q.Get("code") == "" {
		t.Fatalf("after consent for the organization: %v", q)
	}
	if g := orgGrants(); len(g) != 1 || !strings.Contains(g[0]["scope"].(string), "User.Read") {
		t.Fatalf("organization grants: %v", g)
	}
	if g := w.userGrants(t); len(g) != 0 {
		t.Fatalf("consent for the organization also made a user grant: %v", g)
	}
	audits := call(t, w.srv, "GET", "/v1.0/auditLogs/directoryAudits?$filter="+url.QueryEscape("activityDisplayName eq 'Consent to application'"), w.tok, nil, 200)
	if !strings.Contains(string(audits.Body), `"AdminConsent"`) {
		t.Errorf("the consent is not audited as admin consent: %s", audits.Body)
	}

	// Another user now signs in without a consent page.
	bob := "bob@" + w.srv.Creds.Domain
	body := newUser(bob, "Bob")
	body["passwordProfile"] = map[string]any{"password": userPassword, "forceChangePasswordNextSignIn": false}
	call(t, w.srv, "POST", "/v1.0/users", w.tok, body, 201)
	bw := *w
	bw.upn = bob
	if q := bw.consentPage(t, newBrowser(w.srv), w.authorizeURL(challenge)).location(t).Query(); q.Get("code") == "" {
		t.Fatalf("another user after consent for the organization: %v", q)
	}

	// A scope only an administrator may consent to: the checkbox is
	// checked and required.
	_, challenge = pkcePair(t)
	u := w.authorizeURL(challenge)
	u = strings.Replace(u, url.QueryEscape("User.Read"), url.QueryEscape("User.Read.All"), 1)
	p = w.consentPage(t, newBrowser(w.srv), u)
	if !strings.Contains(p.body, "Consent on behalf of your organization") || !strings.Contains(p.body, "checked required") {
		t.Fatalf("admin-only scope: %s", p.body)
	}
}
