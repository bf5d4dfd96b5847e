package app_test

import (
	"context"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/directory"
)

// webApp registers an application with a web redirect URI, an optional
// front-channel logout URL, its service principal and consent to
// User.Read, and returns its appId.
func webApp(t testing.TB, w *userWorld, name, redirect, logoutURL string) string {
	t.Helper()
	web := map[string]any{"redirectUris": []string{redirect}}
	if logoutURL != "" {
		web["logoutUrl"] = logoutURL
	}
	r := call(t, w.srv, "POST", "/v1.0/applications", w.tok, map[string]any{"displayName": name, "web": web}, 201)
	appID, _ := r.JSON(t)["appId"].(string)
	sp := idOf(t, call(t, w.srv, "POST", "/v1.0/servicePrincipals", w.tok, map[string]any{"appId": appID}, 201))
	consent(t, w.srv, w.tok, sp, "User.Read")
	return appID
}

// TestLogoutFrontChannelAndIDTokenHint: signing out calls, in frames of
// the signed-out page, the logout URL of every app the session signed in
// to, with iss and sid, under a CSP that allows frames from those origins
// only, and offers the way back to the app; id_token_hint names the app
// without client_id, even once expired, and a hint that is not this
// server's ID token for that app names nothing.
func TestLogoutFrontChannelAndIDTokenHint(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now})
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.client.ID, w.tok, map[string]any{"web": map[string]any{
		"logoutUrl": "https://notes.example/signout"}}, 204)
	calendar := webApp(t, w, "Calendar", "https://calendar.example/cb", "https://calendar.example/logout?v=1")
	tasks := webApp(t, w, "Tasks", "https://tasks.example/cb", "")
	webApp(t, w, "Unused", "https://unused.example/cb", "https://unused.example/logout")

	// Alice signs in to Notes (keeping its ID token), then to Calendar and
	// Tasks by single sign-on.
	b := newBrowser(w.srv)
	v, c := pkcePair(t)
	q := w.signIn(t, b, w.authorizeURL(c))
	sid := q.Get("session_state")
	st, m := w.redeemAt(t, w.srv.Creds.TenantID, q.Get("code"), v)
	if st != 200 {
		t.Fatalf("redeem: %d %v", st, m)
	}
	idToken := m["id_token"].(string)
	if claimsOf(t, idToken)["sid"] != sid {
		t.Errorf("ID token sid %v, session_state %s", claimsOf(t, idToken)["sid"], sid)
	}
	for _, a := range []struct{ id, redirect string }{{calendar, "https://calendar.example/cb"}, {tasks, "https://tasks.example/cb"}} {
		q := url.Values{"client_id": {a.id}, "response_type": {"code"}, "redirect_uri": {a.redirect}, "scope": {"User.Read openid"}}
		if loc := b.do(t, "GET", "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/authorize?"+q.Encode(), nil).location(t); loc.Query().Get("code") == "" {
			t.Fatalf("SSO to %s: %s", a.redirect, loc)
		}
	}

	// Sign out on /common with only the hint: confirm, then the page.
	logout := "/common/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {"http://localhost"},
		"id_token_hint": {idToken}, "state": {"bye"}}.Encode()
	p := b.do(t, "GET", logout, nil)
	f := parseForm(t, p.body)
	p = b.do(t, "POST", f.action, f.fields)
	if p.status != 200 {
		t.Fatalf("signed-out page: %d %s", p.status, p.body)
	}
	iss := url.QueryEscape(w.srv.URL + "/" + w.srv.Creds.TenantID + "/v2.0")
	for _, want := range []string{
		`<iframe src="https://notes.example/signout?iss=` + iss + `&amp;sid=` + sid + `"`,
		`<iframe src="https://calendar.example/logout?iss=` + iss + `&amp;sid=` + sid + `&amp;v=1"`,
		"<li>Notes</li>", "<li>Calendar</li>", "<li>Tasks</li>",
		`<a class="button" href="http://localhost?state=bye">Continue</a>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("signed-out page lacks %s: %s", want, p.body)
		}
	}
	if strings.Contains(p.body, "unused.example") || strings.Count(p.body, "<iframe") != 2 {
		t.Errorf("frames of apps the session did not sign in to, or too many: %s", p.body)
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "; frame-src https://notes.example https://calendar.example;") {
		t.Errorf("CSP: %s", csp)
	}
	if loc := b.do(t, "GET", w.authorizeURL(c, "prompt", "none"), nil).location(t); loc.Query().Get("error") != "login_required" {
		t.Errorf("after sign-out: %s", loc)
	}

	// Without a session, the hint alone (expired by now) leads back to a
	// URI Notes registered; a tampered hint, an access token, or a hint of
	// another app than client_id, leads nowhere.
	skew.Add(int64(3 * time.Hour))
	if loc := b.do(t, "GET", logout, nil).location(t); loc.String() != "http://localhost?state=bye" {
		t.Errorf("expired hint: %s", loc)
	}
	accessToken := m["access_token"].(string)
	fabrikam, err := w.srv.App.Directory().CreateTenant(context.Background(), directory.TenantSpec{Name: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	for what, q := range map[string]url.Values{
		"tampered hint":    {"id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}},
		"access token":     {"id_token_hint": {accessToken}},
		"another client":   {"id_token_hint": {idToken}, "client_id": {calendar}},
		"another tenant's": {"id_token_hint": {idToken}, "tenant": {fabrikam.TenantID}},
	} {
		seg := "common"
		if tn := q.Get("tenant"); tn != "" {
			seg = tn
			q.Del("tenant")
		}
		q.Set("post_logout_redirect_uri", "http://localhost")
		p := b.do(t, "GET", "/"+seg+"/oauth2/v2.0/logout?"+q.Encode(), nil)
		if p.status != 200 || p.header.Get("Location") != "" || !strings.Contains(p.body, "You signed out") {
			t.Errorf("%s: %d %s", what, p.status, p.header.Get("Location"))
		}
	}
}
