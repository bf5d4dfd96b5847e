package app_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/ostiary/ostiary/internal/app"
)

// TestDeviceCodeCommon: the device code flow on /organizations and
// /common, where the user's sign-in on /devicelogin decides the tenant.
// MSAL Go's flow on /organizations gets tokens of the user's tenant; a
// browser session of another tenant, which cannot use the app, does not
// answer the code; polls before the answer are pending; the code is bound
// to the tenant that answered it; a confidential client's credential is
// checked at the polls. The apps are multi-tenant, as these aliases
// require (AADSTS50194 otherwise: commonaudience_e2e_test.go).
func TestDeviceCodeCommon(t *testing.T) {
	t.Parallel()
	a := newUserWorld(t, app.Options{})
	b := tenantWorld(t, a.srv, "fabrikam", "bob")
	setAudience(t, a, a.client.ID, "AzureADMultipleOrgs")
	setAudience(t, b, b.client.ID, "AzureADMultipleOrgs")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// MSAL Go on /organizations for B's app; alice's browser (a session
	// of A, where B's app is unknown) must sign in, as bob.
	pc, err := public.New(b.client.AppID, public.WithAuthority(a.srv.URL+"/organizations"),
		public.WithInstanceDiscovery(false), public.WithHTTPClient(a.srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, []string{"User.Read"})
	if err != nil {
		t.Fatalf("MSAL AcquireTokenByDeviceCode on /organizations: %v", err)
	}
	br := newBrowser(a.srv)
	_, ch := pkcePair(t)
	a.signIn(t, br, a.authorizeURL(ch))
	p, err := b.deviceLogin(t, br, dc.Result.UserCode, "continue")
	if err != nil || !strings.Contains(p.body, "You have signed in to the Notes application") {
		t.Fatalf("bob approves: %v %d %s", err, p.status, p.body)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("MSAL device code poll on /organizations: %v", err)
	}
	if res.Account.HomeAccountID != b.userID+"."+b.srv.Creds.TenantID {
		t.Errorf("account: %+v", res.Account)
	}
	if me := call(t, a.srv, "GET", "/v1.0/me", res.AccessToken, nil, 200).JSON(t); me["id"] != b.userID {
		t.Errorf("/me: %v", me)
	}

	// The raw protocol on /common, answered by a session of A for A's app.
	start := url.Values{"client_id": {a.client.AppID}, "scope": {"User.Read openid offline_access"}}
	st, m := a.deviceCode(t, start, "common")
	if st != 200 || m["device_code"] == nil {
		t.Fatalf("devicecode on /common: %d %v", st, m)
	}
	device, userCode := m["device_code"].(string), m["user_code"].(string)
	poll := func(seg, code string, extra ...string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"device_code"}, "client_id": {a.client.AppID}, "device_code": {code}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return a.postToken(t, form, "tenant", seg)
	}
	st, m = poll("common", device)
	if st != 400 || m["error"] != "authorization_pending" || aadstsCode(m) != 70016 {
		t.Fatalf("poll before the answer: %d %v", st, m)
	}
	st, m = poll("common", device, "client_id", b.client.AppID)
	if st != 400 || aadstsCode(m) != 70000 {
		t.Errorf("another client's poll: %d %v", st, m)
	}
	alice := newBrowser(a.srv)
	a.signIn(t, alice, a.authorizeURL(ch))
	if p := a.mustDeviceLogin(t, alice, userCode, "continue"); !strings.Contains(p.body, "You have signed in") {
		t.Fatalf("alice approves with her session: %s", p.body)
	}
	st, m = poll(b.srv.Creds.TenantID, device)
	if st != 400 || aadstsCode(m) != 700005 {
		t.Errorf("a code of A polled at B's path: %d %v", st, m)
	}
	st, m = poll("common", device)
	if st != 200 {
		t.Fatalf("redeem on /common: %d %v", st, m)
	}
	if c := claimsOf(t, m["id_token"].(string)); c["tid"] != a.srv.Creds.TenantID || c["oid"] != a.userID {
		t.Errorf("alice's ID token: %v", c)
	}
	st, m = poll("common", device)
	wantAADSTS(t, st, m, 90120, "second redemption")

	// Unknown client ids and /consumers are refused at once.
	if st, m = a.deviceCode(t, url.Values{"client_id": {"not-a-guid"}, "scope": {"User.Read"}}, "organizations"); st != 400 || aadstsCode(m) != 700016 {
		t.Errorf("malformed client id on /organizations: %d %v", st, m)
	}
	if st, m = a.deviceCode(t, start, "consumers"); st != 400 || aadstsCode(m) != 9001023 {
		t.Errorf("/consumers: %d %v", st, m)
	}

	// A confidential client (A's bootstrap app, consented): the code it
	// asked for with a secret on /common is redeemed only with its
	// secret, checked in the tenant the user chose.
	boot := call(t, a.srv, "GET", "/v1.0/servicePrincipals(appId='"+a.srv.Creds.ClientID+"')", a.tok, nil, 200).JSON(t)
	consent(t, a.srv, a.tok, boot["id"].(string), "User.Read")
	call(t, a.srv, "PATCH", "/v1.0/applications(appId='"+a.srv.Creds.ClientID+"')", a.tok, map[string]any{"signInAudience": "AzureADMultipleOrgs"}, 204)
	st, m = a.deviceCode(t, url.Values{"client_id": {a.srv.Creds.ClientID}, "client_secret": {"not-checked-yet"}, "scope": {"User.Read"}}, "common")
	if st != 200 {
		t.Fatalf("confidential devicecode on /common: %d %v", st, m)
	}
	confDevice := m["device_code"].(string)
	p = br.do(t, "GET", "/devicelogin", nil)
	f := parseForm(t, p.body)
	f.fields.Set("otc", m["user_code"].(string))
	p = br.do(t, "POST", f.action, f.fields) // bob's session: the app is not B's
	if !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("A's app with B's session: want the sign-in page: %s", p.body)
	}
	p = signInAs(t, br, p, a.upn, userPassword)
	f = parseForm(t, p.body)
	f.fields.Set("decision", "continue")
	if p = br.do(t, "POST", f.action, f.fields); !strings.Contains(p.body, "You have signed in") {
		t.Fatalf("confidential client's code: %s", p.body)
	}
	conf := func(extra ...string) (int, map[string]any) {
		form := url.Values{"grant_type": {"device_code"}, "client_id": {a.srv.Creds.ClientID}, "device_code": {confDevice}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return a.postToken(t, form, "tenant", "common")
	}
	if st, m = conf(); st != 401 || aadstsCode(m) != 7000218 {
		t.Errorf("poll without the secret: %d %v", st, m)
	}
	if st, m = conf("client_secret", "wrong-secret"); st != 401 || aadstsCode(m) != 7000215 {
		t.Errorf("poll with a wrong secret: %d %v", st, m)
	}
	if st, m = conf("client_secret", a.srv.Creds.ClientSecret); st != 200 {
		t.Errorf("poll with the secret: %d %v", st, m)
	}
}
