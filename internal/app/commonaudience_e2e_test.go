package app_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
)

// TestSingleTenantAppOnCommon: an application created single-tenant
// (signInAudience AzureADMyOrg, Graph's default) and used on /common or
// /organizations gets AADSTS50194 (invalid_request, 400), as in Entra: at
// the token endpoint (ROPC, refresh token, authorization code), at
// authorize (on the error page, never at the redirect URI), and for a
// device code asked for there once the user's tenant finds the client
// (on the device login page, and at the polls). Its tenant's own
// endpoints serve it; made multi-tenant, /common does too.
func TestSingleTenantAppOnCommon(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	wantMsg := "Application '" + w.client.AppID + "'(Notes) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant."
	want50194 := func(st int, m map[string]any, what string) {
		t.Helper()
		desc, _ := m["error_description"].(string)
		if st != 400 || m["error"] != "invalid_request" || aadstsCode(m) != 50194 || !strings.HasPrefix(desc, "AADSTS50194: "+wantMsg) {
			t.Errorf("%s: got %d %v, want 400 invalid_request AADSTS50194", what, st, m)
		}
	}
	wantPage := func(p page, what string) {
		t.Helper()
		if p.status != 400 || p.header.Get("Location") != "" || !strings.Contains(p.body, "AADSTS50194") ||
			!strings.Contains(p.body, "is not configured as a multi-tenant application") {
			t.Errorf("%s: want the AADSTS50194 error page, got %d %s %s", what, p.status, p.header.Get("Location"), p.body)
		}
	}
	ropc := func(seg, password string) (int, map[string]any) {
		t.Helper()
		return w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "username": {w.upn},
			"password": {password}, "scope": {"User.Read openid offline_access"}}, "tenant", seg)
	}
	aliases := []string{"common", "organizations"}

	// Token endpoint: ROPC is refused before the password is checked (a
	// wrong one gets the same answer); the tenant's endpoint works.
	for _, seg := range aliases {
		st, m := ropc(seg, userPassword)
		want50194(st, m, "ROPC on /"+seg)
		st, m = ropc(seg, "wrong-password")
		want50194(st, m, "ROPC with a wrong password on /"+seg)
	}
	st, m := ropc(w.srv.Creds.TenantID, userPassword)
	if st != 200 {
		t.Fatalf("ROPC on the tenant: %d %v", st, m)
	}
	// Its refresh token works on the tenant's endpoint only.
	rt := m["refresh_token"].(string)
	for _, seg := range aliases {
		st, m = w.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {w.client.AppID}, "refresh_token": {rt}}, "tenant", seg)
		want50194(st, m, "refresh on /"+seg)
	}
	if st, m = w.refresh(t, rt, ""); st != 200 {
		t.Errorf("refresh on the tenant after the refusals: %d %v", st, m)
	}

	// Authorize: the error page, whatever decides the tenant; nothing is
	// sent to the redirect URI.
	for _, seg := range aliases {
		_, ch := pkcePair(t)
		u := onAlias(w.authorizeURL(ch), w.srv.Creds.TenantID, seg)
		wantPage(newBrowser(w.srv).do(t, "GET", u+"&domain_hint="+w.srv.Creds.Domain, nil), "authorize on /"+seg+" with domain_hint")
		// Without a hint the user name decides, before the password.
		b := newBrowser(w.srv)
		p := b.do(t, "GET", u, nil)
		if p.status != 200 || !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("authorize on /%s without a hint: want the sign-in page, got %d %s", seg, p.status, p.body)
		}
		wantPage(signInAs(t, b, p, w.upn, "wrong-password"), "sign-in on /"+seg)
	}
	// A session of the app's own tenant does not answer there either.
	b := newBrowser(w.srv)
	v, ch := pkcePair(t)
	q := w.signIn(t, b, w.authorizeURL(ch))
	if q.Get("code") == "" {
		t.Fatalf("sign-in on the tenant: %v", q)
	}
	for _, seg := range aliases {
		_, ch2 := pkcePair(t)
		wantPage(b.do(t, "GET", onAlias(w.authorizeURL(ch2), w.srv.Creds.TenantID, seg), nil), "authorize on /"+seg+" with a session")
		// The tenant's code is refused there before it is used...
		st, m = w.redeemAt(t, seg, q.Get("code"), v)
		want50194(st, m, "code redeemed on /"+seg)
	}
	// ... so it still works on the tenant's endpoint.
	if st, m = w.redeemAt(t, w.srv.Creds.TenantID, q.Get("code"), v); st != 200 {
		t.Errorf("code redeemed on the tenant after the refusals: %d %v", st, m)
	}

	// Device code: asked for on an alias, the code is deferred (no tenant
	// can know the client yet); the tenant the user's sign-in picks finds
	// it single-tenant: the device login page shows AADSTS50194 and the
	// code is declined with it, so the polls get it at once, wherever.
	start := url.Values{"client_id": {w.client.AppID}, "scope": {"User.Read"}}
	poll := func(seg, device string) (int, map[string]any) {
		t.Helper()
		return w.postToken(t, url.Values{"grant_type": {"device_code"}, "client_id": {w.client.AppID}, "device_code": {device}}, "tenant", seg)
	}
	for i, seg := range aliases {
		st, m = w.deviceCode(t, start, seg)
		if st != 200 || m["device_code"] == nil {
			t.Fatalf("devicecode on /%s: %d %v", seg, st, m)
		}
		device, userCode := m["device_code"].(string), m["user_code"].(string)
		if st, m = poll(seg, device); st != 400 || m["error"] != "authorization_pending" {
			t.Fatalf("poll on /%s before the answer: %d %v", seg, st, m)
		}
		// On /common a fresh browser signs in; on /organizations the
		// session of the app's tenant answers at once.
		br := b
		if i == 0 {
			br = newBrowser(w.srv)
		}
		p := br.do(t, "GET", "/devicelogin", nil)
		f := parseForm(t, p.body)
		f.fields.Set("otc", userCode)
		p = br.do(t, "POST", f.action, f.fields)
		if i == 0 {
			if !strings.Contains(p.body, `name="password"`) {
				t.Fatalf("device login on /%s: want the sign-in page: %d %s", seg, p.status, p.body)
			}
			f = parseForm(t, p.body)
			f.fields.Set("username", w.upn)
			f.fields.Set("password", userPassword)
			p = br.do(t, "POST", f.action, f.fields)
		}
		wantPage(p, "device login for a code of /"+seg)
		st, m = poll(seg, device)
		want50194(st, m, "device code poll on /"+seg)
		st, m = poll(w.srv.Creds.TenantID, device)
		want50194(st, m, "device code of /"+seg+" polled on the tenant")
	}
	// On the tenant's endpoint the device code flow works.
	st, m = w.deviceCode(t, start, "")
	if st != 200 {
		t.Fatalf("devicecode on the tenant: %d %v", st, m)
	}
	if p := w.mustDeviceLogin(t, b, m["user_code"].(string), "continue"); !strings.Contains(p.body, "You have signed in") {
		t.Fatalf("device login on the tenant: %s", p.body)
	}
	if st, m = poll(w.srv.Creds.TenantID, m["device_code"].(string)); st != 200 {
		t.Errorf("device code poll on the tenant: %d %v", st, m)
	}

	// Made multi-tenant, the app is served on both aliases.
	setAudience(t, w, w.client.ID, "AzureADMultipleOrgs")
	for _, seg := range aliases {
		if st, m = ropc(seg, userPassword); st != 200 {
			t.Errorf("multi-tenant app, ROPC on /%s: %d %v", seg, st, m)
		}
	}
}
