package app_test

import (
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
)

// TestAuthorizeMaxAgeAndHints: max_age forces a new sign-in once the
// session's is older, and puts auth_time in the ID token; login_hint
// prefills the page and, naming another user than the session's, asks for
// a sign-in; domain_hint picks the tenant on /common.
func TestAuthorizeMaxAgeAndHints(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now})
	// Multi-tenant, as /common below requires (AADSTS50194 otherwise).
	setAudience(t, w, w.client.ID, "AzureADMultipleOrgs")
	b := newBrowser(w.srv)
	signedIn := now().Unix()
	_, ch := pkcePair(t)
	w.signIn(t, b, w.authorizeURL(ch))

	// Within max_age the session answers; the ID token says when the user
	// signed in.
	v, c := pkcePair(t)
	loc := b.do(t, "GET", w.authorizeURL(c, "max_age", "3600"), nil).location(t)
	st, m := w.redeemAt(t, w.srv.Creds.TenantID, loc.Query().Get("code"), v)
	if st != 200 {
		t.Fatalf("redeem: %d %v", st, m)
	}
	id := claimsOf(t, m["id_token"].(string))
	if at, ok := id["auth_time"].(float64); !ok || int64(at) < signedIn-1 || int64(at) > signedIn+1 || id["sid"] != loc.Query().Get("session_state") {
		t.Errorf("ID token with max_age: auth_time %v (signed in at %d), sid %v (session_state %s)", id["auth_time"], signedIn, id["sid"], loc.Query().Get("session_state"))
	}
	// Without max_age there is no auth_time.
	v, c = pkcePair(t)
	loc = b.do(t, "GET", w.authorizeURL(c), nil).location(t)
	if _, m = w.redeemAt(t, w.srv.Creds.TenantID, loc.Query().Get("code"), v); claimsOf(t, m["id_token"].(string))["auth_time"] != nil {
		t.Errorf("auth_time without max_age: %v", m)
	}

	// Two hours later max_age=3600 asks for the password again; the new
	// sign-in's time is in the token.
	skew.Add(int64(2 * time.Hour))
	v, c = pkcePair(t)
	p := b.do(t, "GET", w.authorizeURL(c, "max_age", "3600"), nil)
	if p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("max_age exceeded: want the sign-in page, got %d %s", p.status, p.body)
	}
	loc = signInAs(t, b, p, w.upn, userPassword).location(t)
	_, m = w.redeemAt(t, w.srv.Creds.TenantID, loc.Query().Get("code"), v)
	if at, _ := claimsOf(t, m["id_token"].(string))["auth_time"].(float64); int64(at) < now().Unix()-5 {
		t.Errorf("auth_time after the new sign-in: %v", at)
	}
	// max_age=0 always asks; a malformed one goes back as invalid_request.
	if p := b.do(t, "GET", w.authorizeURL(c, "max_age", "0"), nil); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("max_age=0: %d", p.status)
	}
	loc = b.do(t, "GET", w.authorizeURL(c, "max_age", "soon"), nil).location(t)
	if loc.Query().Get("error") != "invalid_request" || !strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS90023") {
		t.Errorf("malformed max_age: %s", loc)
	}

	// login_hint: the session's user (any case) is answered at once;
	// another user gets the sign-in page with the name filled in.
	if loc := b.do(t, "GET", w.authorizeURL(c, "login_hint", strings.ToUpper(w.upn)), nil).location(t); loc.Query().Get("code") == "" {
		t.Errorf("login_hint of the session's user: %s", loc)
	}
	other := "carol@" + w.srv.Creds.Domain
	p = b.do(t, "GET", w.authorizeURL(c, "login_hint", other), nil)
	if p.status != 200 || !strings.Contains(p.body, `value="`+other+`"`) {
		t.Errorf("login_hint of another user: %d %s", p.status, p.body)
	}

	// domain_hint on /common: without a session it picks the tenant, so
	// the page names the app; an unknown hint is ignored, and a session of
	// the tenant it names answers.
	fresh := newBrowser(w.srv)
	common := onAlias(w.authorizeURL(c), w.srv.Creds.TenantID, "common")
	if p := fresh.do(t, "GET", common, nil); p.status != 200 || strings.Contains(p.body, "to continue to Notes") {
		t.Errorf("/common without a hint names no app before the sign-in: %d %s", p.status, p.body)
	}
	if p := fresh.do(t, "GET", common+"&domain_hint="+w.srv.Creds.Domain, nil); p.status != 200 || !strings.Contains(p.body, "to continue to Notes") {
		t.Errorf("/common with domain_hint: %d %s", p.status, p.body)
	}
	for _, hint := range []string{w.srv.Creds.Domain, "unknown.example"} {
		if loc := b.do(t, "GET", common+"&domain_hint="+hint, nil).location(t); loc.Query().Get("code") == "" {
			t.Errorf("/common with domain_hint %s and a session: %s", hint, loc)
		}
	}
	// A hint naming tenant B, whose Notes it is, sets the session of A
	// aside: the page for B's app, and bob's sign-in there.
	bw := tenantWorld(t, w.srv, "fabrikam", "bob")
	setAudience(t, bw, bw.client.ID, "AzureADMultipleOrgs")
	vb, cb := pkcePair(t)
	commonB := onAlias(bw.authorizeURL(cb), bw.srv.Creds.TenantID, "common") + "&domain_hint=" + bw.srv.Creds.Domain
	p = b.do(t, "GET", commonB, nil)
	if p.status != 200 || !strings.Contains(p.body, "to continue to Notes") {
		t.Fatalf("domain_hint of B with A's session: %d %s", p.status, p.body)
	}
	loc = signInAs(t, b, p, bw.upn, userPassword).location(t)
	if st, m := bw.redeemAt(t, "common", loc.Query().Get("code"), vb); st != 200 || claimsOf(t, m["access_token"].(string))["tid"] != bw.srv.Creds.TenantID {
		t.Errorf("bob's tokens: %d %v", st, m)
	}
}

// TestSelectAccount: prompt=select_account with a session shows "Pick an
// account" (the session's account, or another); continuing issues a code
// on the session, "Use another account" shows the sign-in page, the form
// is CSRF-protected, and without a session the sign-in page is shown.
func TestSelectAccount(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	b := newBrowser(w.srv)
	_, challenge := pkcePair(t)
	if q := w.signIn(t, b, w.authorizeURL(challenge)); q.Get("code") == "" {
		t.Fatalf("sign-in: %v", q)
	}
	p := b.do(t, "GET", w.authorizeURL(challenge, "prompt", "select_account"), nil)
	if p.status != 200 || !strings.Contains(p.body, "Pick an account") || !strings.Contains(p.body, w.upn) || strings.Contains(p.body, `name="password"`) {
		t.Fatalf("select_account with a session: %d %s", p.status, p.body)
	}
	f := parseForm(t, p.body)
	if f.fields.Has("prompt") {
		t.Errorf("the picker's form carries prompt on: %v", f.fields)
	}
	forged := url.Values{}
	for k, v := range f.fields {
		forged[k] = v
	}
	forged.Set("ostiary_account", "continue")
	forged.Set("csrf_token", strings.Repeat("x", 43))
	if r := b.do(t, "POST", f.action, forged); r.status != 403 {
		t.Errorf("picker answer with a wrong CSRF token: %d", r.status)
	}
	f.fields.Set("ostiary_account", "continue")
	if q := b.do(t, "POST", f.action, f.fields).location(t).Query(); q.Get("code") == "" || q.Get("state") != "st-1" {
		t.Errorf("continue as the signed-in account: %v", q)
	}
	f.fields.Set("ostiary_account", "other")
	if p := b.do(t, "POST", f.action, f.fields); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("use another account: %d %s", p.status, p.body)
	} else if parseForm(t, p.body).fields.Has("ostiary_account") {
		t.Errorf("the sign-in page carries the picker's answer on")
	}
	if p := newBrowser(w.srv).do(t, "GET", w.authorizeURL(challenge, "prompt", "select_account"), nil); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("select_account without a session: %d %s", p.status, p.body)
	}
}
