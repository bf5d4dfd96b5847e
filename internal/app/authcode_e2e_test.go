package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"golang.org/x/net/html"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so a test sees each step of the sign-in flow.
type browser struct {
	srv *apptest.Server
	c   *http.Client
}

func newBrowser(srv *apptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{srv: srv, c: &http.Client{Transport: srv.Client.Transport, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location(t testing.TB) *url.URL {
	t.Helper()
	if p.status != http.StatusFound {
		t.Fatalf("want a redirect, got %d: %s", p.status, p.body)
	}
	u, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) do(t testing.TB, method, u string, form url.Values) page {
	t.Helper()
	if !strings.HasPrefix(u, "https://") {
		u = b.srv.URL + u
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		checkPageSecurity(t, p)
	}
	return p
}

// passkeyScriptTag is the one script a page may have: the same-origin
// passkey script, on pages that offer a passkey.
const passkeyScriptTag = `<script src="/static/signin/passkey.js" defer></script>`

// checkPageSecurity: every page has the strict CSP and no inline script
// or style. A page that offers a passkey loads the passkey script, and
// only such a page has `script-src 'self'`, and nothing more, in its CSP.
func checkPageSecurity(t testing.TB, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") || strings.Contains(csp, "strict-dynamic") {
		t.Errorf("CSP allows unsafe scripts: %q", csp)
	}
	scripts := false
	for _, d := range strings.Split(csp, ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src") {
			if d != "script-src 'self'" {
				t.Errorf("CSP allows scripts other than this host's: %q", csp)
			}
			scripts = true
		}
	}
	low := strings.ToLower(p.body)
	tags := strings.Count(low, passkeyScriptTag)
	if tags > 1 || scripts != (tags == 1) {
		t.Errorf("script-src 'self' in the CSP (%v) but %d passkey script tags: %q %s", scripts, tags, csp, p.body)
	}
	rest := strings.ReplaceAll(low, passkeyScriptTag, "")
	if strings.Contains(rest, "<script") || strings.Contains(low, " style=") || strings.Contains(low, "<style") || strings.Contains(low, "javascript:") {
		t.Errorf("page has inline script or style: %s", p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("page is cacheable: %v", p.header)
	}
}

// htmlForm is the first form of a page: its action and its fields.
type htmlForm struct {
	action string
	fields url.Values
}

func parseForm(t testing.TB, body string) htmlForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var f *htmlForm
	var walk func(n *html.Node)
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	// Only the first form's own inputs: a page may have several forms.
	var inForm *html.Node
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				if f == nil {
					f = &htmlForm{action: attr(n, "action"), fields: url.Values{}}
					inForm = n
					defer func() { inForm = nil }()
				}
			case "input":
				// As a browser submits: a checkbox only when checked.
				box := attr(n, "type") == "checkbox" || attr(n, "type") == "radio"
				checked := slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "checked" })
				if inForm != nil && attr(n, "name") != "" && (!box || checked) {
					f.fields.Set(attr(n, "name"), attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if f == nil {
		t.Fatalf("no form in page: %s", body)
	}
	return *f
}

func pkcePair(t testing.TB) (verifier, challenge string) {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

const loopbackRedirect = "http://localhost:53123"

// authorizeURL builds an authorize URL for the world's public client.
func (w *userWorld) authorizeURL(challenge string, extra ...string) string {
	q := url.Values{"client_id": {w.client.AppID}, "response_type": {"code"}, "redirect_uri": {loopbackRedirect},
		"scope": {"User.Read openid profile offline_access"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return "/" + w.srv.Creds.TenantID + "/oauth2/v2.0/authorize?" + q.Encode()
}

// signIn drives the password page and returns the redirect's parameters.
func (w *userWorld) signIn(t testing.TB, b *browser, authURL string) url.Values {
	t.Helper()
	p := b.do(t, "GET", authURL, nil)
	if p.status != 200 {
		t.Fatalf("authorize: %d %s", p.status, p.body)
	}
	f := parseForm(t, p.body)
	if f.fields.Get("csrf_token") == "" {
		t.Fatalf("login form without CSRF token: %s", p.body)
	}
	f.fields.Set("username", w.upn)
	f.fields.Set("password", userPassword)
	loc := b.do(t, "POST", f.action, f.fields).location(t)
	return loc.Query()
}

// TestAuthCodeMSAL: the sign-in pages give a code that MSAL Go redeems
// with its PKCE verifier; the token reads /me. The code is single-use,
// a wrong verifier is refused, and a second authorize uses the session.
func TestAuthCodeMSAL(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	ctx := context.Background()
	pc, err := public.New(w.client.AppID, public.WithAuthority(w.srv.URL+"/"+w.srv.Creds.TenantID),
		public.WithInstanceDiscovery(false), public.WithHTTPClient(w.srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	verifier, challenge := pkcePair(t)
	msalURL, err := pc.AuthCodeURL(ctx, w.client.AppID, loopbackRedirect, []string{"User.Read"}, public.WithLoginHint(w.upn))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(msalURL)
	if u.Host != strings.TrimPrefix(w.srv.URL, "https://") {
		t.Fatalf("MSAL authorize URL on another host: %s", msalURL)
	}
	q := u.Query()
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("state", "st-1")
	u.RawQuery = q.Encode()

	b := newBrowser(w.srv)
	p := b.do(t, "GET", u.String(), nil)
	if p.status != 200 || !strings.Contains(p.body, `value="`+w.upn+`"`) {
		t.Fatalf("login page with login_hint: %d %s", p.status, p.body)
	}
	f := parseForm(t, p.body)
	f.fields.Set("username", w.upn)
	f.fields.Set("password", "wrong-password")
	p = b.do(t, "POST", f.action, f.fields)
	if p.status != 200 || !strings.Contains(p.body, "Your account or password is incorrect") || p.header.Get("Location") != "" {
		t.Fatalf("wrong password: %d %s", p.status, p.body)
	}
	f = parseForm(t, p.body)
	f.fields.Set("password", userPassword)
	loc := b.do(t, "POST", f.action, f.fields).location(t)
	if loc.Scheme+"://"+loc.Host != loopbackRedirect || loc.Query().Get("state") != "st-1" || loc.Query().Get("session_state") == "" {
		t.Fatalf("redirect: %s", loc)
	}
	code := loc.Query().Get("code")
	res, err := pc.AcquireTokenByAuthCode(ctx, code, loopbackRedirect, []string{"User.Read"}, public.WithChallenge(verifier))
	if err != nil {
		t.Fatalf("MSAL AcquireTokenByAuthCode: %v", err)
	}
	if res.Account.HomeAccountID != w.userID+"."+w.srv.Creds.TenantID {
		t.Errorf("account: %+v", res.Account)
	}
	if me := call(t, w.srv, "GET", "/v1.0/me", res.AccessToken, nil, 200).JSON(t); me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}
	// Single use.
	redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {code},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {verifier}, "scope": {"User.Read"}}
	st, m := w.postToken(t, redeem)
	wantAADSTS(t, st, m, 54005, "code reuse")

	// SSO: the session skips the password page; nonce reaches the ID token.
	v2, c2 := pkcePair(t)
	loc = b.do(t, "GET", w.authorizeURL(c2, "nonce", "nonce-42"), nil).location(t)
	code2 := loc.Query().Get("code")
	if code2 == "" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("SSO authorize: %s", loc)
	}
	bad := url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {code2},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {v2[:len(v2)-1] + "A"}, "scope": {"User.Read openid"}}
	if v2[len(v2)-1] == 'A' {
		bad.Set("code_verifier", v2[:len(v2)-1]+"B")
	}
	st, m = w.postToken(t, bad)
	wantAADSTS(t, st, m, 501481, "PKCE mismatch")

	v3, c3 := pkcePair(t)
	loc = b.do(t, "GET", w.authorizeURL(c3, "nonce", "nonce-43"), nil).location(t)
	good := url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {loc.Query().Get("code")},
		"redirect_uri": {loopbackRedirect}, "code_verifier": {v3}, "scope": {"User.Read openid offline_access"}, "client_info": {"1"}}
	wrongRedirect := url.Values{}
	for k, v := range good {
		wrongRedirect[k] = v
	}
	st, m = w.postToken(t, good)
	if st != 200 || m["id_token"] == nil || m["refresh_token"] == nil || m["client_info"] == nil {
		t.Fatalf("redeem: %d %v", st, m)
	}
	id := claimsOf(t, m["id_token"].(string))
	if id["nonce"] != "nonce-43" || id["oid"] != w.userID || id["aud"] != w.client.AppID {
		t.Errorf("id token: %v", id)
	}
	rt := m["refresh_token"].(string)
	st, m = w.postToken(t, good) // reuse revokes the refresh token it issued
	wantAADSTS(t, st, m, 54005, "second reuse")
	st, m = w.refresh(t, rt, "")
	wantAADSTS(t, st, m, 70000, "refresh token of a reused code")

	// A code must be redeemed with its redirect URI, at its tenant.
	_, c4 := pkcePair(t)
	loc = b.do(t, "GET", w.authorizeURL(c4), nil).location(t)
	wrongRedirect.Set("code", loc.Query().Get("code"))
	wrongRedirect.Set("redirect_uri", "http://localhost:1")
	st, m = w.postToken(t, wrongRedirect)
	wantAADSTS(t, st, m, 70000, "redirect_uri differs from authorize")
	loc = b.do(t, "GET", w.authorizeURL(c4), nil).location(t)
	good.Set("code", loc.Query().Get("code"))
	st, m = w.postToken(t, good, "tenant", "00000000-0000-0000-0000-000000000001")
	if st != 400 {
		t.Errorf("redeem at another tenant: %d %v", st, m)
	}
}

// TestAuthorizeErrors: a bad redirect URI is shown, never redirected;
// protocol errors go back to the client; CSRF is enforced; prompt=none
// without a session is login_required; logout ends the session.
func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	_, challenge := pkcePair(t)
	b := newBrowser(w.srv)

	for _, ru := range []string{"https://evil.example/cb", "http://localhost.evil.example:1", "http://localhost:53123/other"} {
		p := b.do(t, "GET", w.authorizeURL(challenge, "redirect_uri", ru), nil)
		if p.status != 400 || p.header.Get("Location") != "" || !strings.Contains(p.body, "AADSTS50011") {
			t.Errorf("redirect mismatch %s: %d %v %s", ru, p.status, p.header.Get("Location"), p.body)
		}
	}
	p := b.do(t, "GET", w.authorizeURL(challenge, "client_id", "00000000-0000-0000-0000-00000000abcd"), nil)
	if p.status != 400 || p.header.Get("Location") != "" || !strings.Contains(p.body, "AADSTS700016") {
		t.Errorf("unknown client: %d %s", p.status, p.body)
	}

	// Protocol errors go to the redirect URI with the state.
	for _, c := range []struct {
		extra []string
		want  string
	}{
		{[]string{"response_type", "token"}, "unsupported_response_type"},
		{[]string{"code_challenge", ""}, "invalid_request"},
		{[]string{"code_challenge_method", "plain", "code_challenge", strings.Repeat("a", 43)}, "invalid_request"},
		{[]string{"prompt", "none"}, "login_required"},
	} {
		loc := b.do(t, "GET", w.authorizeURL(challenge, c.extra...), nil).location(t)
		if loc.Query().Get("error") != c.want || loc.Query().Get("state") != "st-1" || !strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS") {
			t.Errorf("%v: %s", c.extra, loc)
		}
	}

	// CSRF: the login form without or with a wrong token is refused.
	p = b.do(t, "GET", w.authorizeURL(challenge), nil)
	f := parseForm(t, p.body)
	f.fields.Set("username", w.upn)
	f.fields.Set("password", userPassword)
	tok := f.fields.Get("csrf_token")
	f.fields.Del("csrf_token")
	if p := b.do(t, "POST", f.action, f.fields); p.status != 403 || p.header.Get("Location") != "" {
		t.Errorf("no CSRF token: %d", p.status)
	}
	f.fields.Set("csrf_token", strings.Repeat("A", len(tok)))
	if p := b.do(t, "POST", f.action, f.fields); p.status != 403 {
		t.Errorf("wrong CSRF token: %d", p.status)
	}
	// Another browser's token does not work with this browser's cookie.
	f.fields.Set("csrf_token", tok)
	if p := newBrowser(w.srv).do(t, "POST", f.action, f.fields); p.status != 403 {
		t.Errorf("CSRF token without its cookie: %d", p.status)
	}

	// Sign in; form_post answers with a CSP-compliant page and a button.
	if q := w.signIn(t, b, w.authorizeURL(challenge)); q.Get("code") == "" {
		t.Fatalf("sign-in: %v", q)
	}
	p = b.do(t, "GET", w.authorizeURL(challenge, "response_mode", "form_post"), nil)
	f = parseForm(t, p.body)
	if p.status != 200 || f.action != loopbackRedirect || f.fields.Get("code") == "" || f.fields.Get("state") != "st-1" ||
		!strings.Contains(p.body, "Continue") || !strings.Contains(p.header.Get("Content-Security-Policy"), "form-action 'self' "+loopbackRedirect) {
		t.Errorf("form_post: %d %v %s", p.status, p.header, p.body)
	}
	// prompt=login asks for the password again despite the session.
	if p := b.do(t, "GET", w.authorizeURL(challenge, "prompt", "login"), nil); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("prompt=login: %d", p.status)
	}
	// Missing consent shows the consent page; with prompt=none it goes
	// back as consent_required.
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	if p := b.do(t, "GET", w.authorizeURL(challenge), nil); p.status != 200 || !strings.Contains(p.body, "Permissions requested") {
		t.Errorf("no consent: want the consent page, got %d", p.status)
	}
	loc := b.do(t, "GET", w.authorizeURL(challenge, "prompt", "none"), nil).location(t)
	if loc.Query().Get("error") != "consent_required" || !strings.HasPrefix(loc.Query().Get("error_description"), "AADSTS65001") {
		t.Errorf("no consent: %s", loc)
	}
	w.grant = consent(t, w.srv, w.tok, w.client.SPID, "User.Read")

	// Logout: an unregistered target shows the signed-out page; a target
	// the signing-out app (client_id) registered is redirected to with the
	// state.
	logout := "/" + w.srv.Creds.TenantID + "/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {"http://localhost"}, "state": {"bye"},
		"client_id": {w.client.AppID}}.Encode()
	p = b.do(t, "GET", logout, nil)
	f = parseForm(t, p.body)
	if p.status != 200 || f.fields.Get("csrf_token") == "" {
		t.Fatalf("sign-out page: %d %s", p.status, p.body)
	}
	noCSRF := url.Values{}
	for k, v := range f.fields {
		noCSRF[k] = v
	}
	noCSRF.Del("csrf_token")
	if p := b.do(t, "POST", f.action, noCSRF); p.status != 403 {
		t.Errorf("sign-out without CSRF: %d", p.status)
	}
	loc = b.do(t, "POST", f.action, f.fields).location(t)
	if loc.String() != "http://localhost?state=bye" {
		t.Errorf("post-logout redirect: %s", loc)
	}
	loc = b.do(t, "GET", w.authorizeURL(challenge, "prompt", "none"), nil).location(t)
	if loc.Query().Get("error") != "login_required" {
		t.Errorf("after logout prompt=none: %s", loc)
	}
	p = b.do(t, "GET", "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape("https://evil.example/")+"&client_id="+w.client.AppID, nil)
	if p.status != 200 || p.header.Get("Location") != "" || !strings.Contains(p.body, "signed out") {
		t.Errorf("unregistered post-logout target: %d %s", p.status, p.body)
	}
	// A URI another application registered is no target for this one: any
	// user who can register an app could otherwise make the sign-out page
	// redirect anywhere. Without client_id there is no redirect at all.
	other := publicClientWithRedirect(t, w.srv, w.tok, "Elsewhere", "https://elsewhere.example/bye")
	for _, q := range []url.Values{
		{"post_logout_redirect_uri": {"https://elsewhere.example/bye"}, "client_id": {w.client.AppID}},
		{"post_logout_redirect_uri": {"http://localhost"}},
	} {
		p = b.do(t, "GET", "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/logout?"+q.Encode(), nil)
		if p.status != 200 || p.header.Get("Location") != "" || !strings.Contains(p.body, "signed out") {
			t.Errorf("post-logout target %v: %d %s", q, p.status, p.header.Get("Location"))
		}
	}
	q := url.Values{"post_logout_redirect_uri": {"https://elsewhere.example/bye"}, "client_id": {other}}
	if loc := b.do(t, "GET", "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/logout?"+q.Encode(), nil).location(t); loc.String() != "https://elsewhere.example/bye" {
		t.Errorf("the registering app's own target: %s", loc)
	}

	// revokeSignInSessions ends the browser session too.
	w.signIn(t, b, w.authorizeURL(challenge))
	time.Sleep(10 * time.Millisecond)
	call(t, w.srv, "POST", "/v1.0/users/"+w.userID+"/revokeSignInSessions", w.tok, nil, 200)
	loc = b.do(t, "GET", w.authorizeURL(challenge, "prompt", "none"), nil).location(t)
	if loc.Query().Get("error") != "login_required" {
		t.Errorf("after revokeSignInSessions prompt=none: %s", loc)
	}
	// The stylesheet is served.
	if r := w.srv.Do(t, "GET", "/static/signin/signin.css", "", nil); r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %v", r.Status, r.Header)
	}
}

// publicClientWithRedirect registers an application with one web redirect
// URI and returns its appId.
func publicClientWithRedirect(t testing.TB, srv *apptest.Server, tok, name, uri string) string {
	t.Helper()
	r := call(t, srv, "POST", "/v1.0/applications", tok, map[string]any{"displayName": name, "web": map[string]any{"redirectUris": []string{uri}}}, 201)
	var app struct {
		AppID string `json:"appId"`
	}
	if err := json.Unmarshal(r.Body, &app); err != nil {
		t.Fatal(err)
	}
	return app.AppID
}
