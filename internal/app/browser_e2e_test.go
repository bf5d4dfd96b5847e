package app_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/app/apptest/webdriver"
)

// The sign-in pages in a real headless Chromium (apptest/webdriver): what
// the http.Client tests cannot see. The browser applies each page's
// Content-Security-Policy (the stylesheet, the passkey script, the form
// targets of redirects after a POST, the frames of the signed-out page),
// runs static/passkey.js against a virtual WebAuthn authenticator, keeps
// cookies as a browser does, and reports script errors and CSP violations
// in its console, which every test checks after every page. Skipped
// without OSTIARY_TEST_CHROMEDRIVER, failed in CI without it.

// chromium is a browser for one test.
type chromium struct {
	*webdriver.Browser
	t *testing.T
}

// newChromium starts Chromium for the test; when the test ends, the
// console must hold no error from the last pages.
func newChromium(t *testing.T) *chromium {
	t.Helper()
	c := &chromium{Browser: webdriver.New(t), t: t}
	t.Cleanup(func() { c.checkConsole() }) // runs before the browser quits
	return c
}

// checkConsole fails the test on any console error or warning (script
// errors, CSP violations, failed loads) since the last check, but for
// those that contain one of allow.
func (c *chromium) checkConsole(allow ...string) {
	c.t.Helper()
	for _, e := range c.Log() {
		switch {
		case slices.ContainsFunc(allow, func(a string) bool { return strings.Contains(e.Message, a) }):
			c.t.Logf("browser console (expected): %s", e)
		case e.Level == "SEVERE" || e.Level == "WARNING",
			strings.Contains(e.Message, "Content Security Policy"), strings.Contains(e.Message, "Content-Security-Policy"):
			c.t.Errorf("browser console: %s", e)
		default:
			c.t.Logf("browser console: %s", e)
		}
	}
}

// page checks a sign-in page just reached: its heading, no console error
// on the way, the stylesheet applied (the CSP let it load); and takes its
// screenshot (kept with OSTIARY_TEST_SCREENSHOTS).
func (c *chromium) page(name, heading string) {
	c.t.Helper()
	c.Wait("the page "+heading, func() bool {
		h := c.FindAll("h1")
		return len(h) > 0 && strings.Contains(h[0].Text(), heading)
	})
	c.checkConsole()
	if bg := c.Execute("return getComputedStyle(document.body).backgroundColor"); bg != "rgb(242, 244, 247)" {
		c.t.Errorf("%s: the stylesheet is not applied (body background %v)", name, bg)
	}
	if c.Title() == "" {
		c.t.Errorf("%s: page without a title", name)
	}
	// Every image shown has loaded, and every field a user types in spans
	// its form (an input the stylesheet misses is a narrow native box).
	if bad := c.Execute(layoutCheck); bad != nil && len(bad.([]any)) > 0 {
		c.t.Errorf("%s: broken layout: %v", name, bad)
	}
	c.Capture(name)
}

// layoutCheck lists the shown images that did not load and the shown
// fields narrower than their form.
const layoutCheck = `var bad = [];
document.querySelectorAll("img").forEach(function (i) {
  if (i.offsetParent && !(i.complete && i.naturalWidth > 0)) { bad.push("image " + i.getAttribute("src").slice(0, 40)); }
});
document.querySelectorAll("input").forEach(function (i) {
  if (i.type !== "hidden" && i.offsetParent && i.form && i.offsetWidth < 0.9 * i.form.clientWidth) { bad.push("narrow input " + i.name); }
});
return bad;`

// fill types value into the empty input named name.
func (c *chromium) fill(name, value string) {
	c.t.Helper()
	in := c.Find(`input[name="` + name + `"]`)
	in.Clear()
	in.SendKeys(value)
}

// button clicks the shown button whose text contains label.
func (c *chromium) button(label string) {
	c.t.Helper()
	var found *webdriver.Element
	c.Wait("a button "+label, func() bool {
		for _, b := range c.FindAll("button") {
			if strings.Contains(b.Text(), label) && b.Displayed() {
				found = b
				return true
			}
		}
		return false
	})
	found.Click()
}

// alert waits for the page's shown error message and returns its text.
func (c *chromium) alert() string {
	c.t.Helper()
	var text string
	c.Wait("an error message", func() bool {
		for _, e := range c.FindAll(`[role="alert"]`) {
			if e.Displayed() {
				text = e.Text()
				return true
			}
		}
		return false
	})
	return text
}

// signInWithPassword types the user name (unless the page has it) and
// the password on the sign-in page and presses Sign in.
func (c *chromium) signInWithPassword(upn, password string) {
	c.t.Helper()
	if v, _ := c.Find(`input[name="username"]`).Property("value").(string); v != upn {
		c.fill("username", upn)
	}
	c.fill("password", password)
	c.button("Sign in")
}

// forget deletes the browser's cookies for srv, as a new browser.
func (c *chromium) forget(srv *apptest.Server) {
	c.t.Helper()
	c.Navigate(srv.URL + "/healthz")
	c.DeleteCookies()
}

// loopbackClient is the application's side of the flow: an HTTP server on
// loopback that the redirect URI (http://localhost:<port>, which a
// publicClient URI http://localhost matches on any port), the front-
// channel logout URL and the post-logout redirect point at. It records
// what the browser brings.
type loopbackClient struct {
	URL string
	mu  sync.Mutex
	got []url.URL // requests, with a POSTed form as the query
}

func newLoopbackClient(t *testing.T) *loopbackClient {
	t.Helper()
	lc := &loopbackClient{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			u.RawQuery = r.PostForm.Encode()
		}
		lc.mu.Lock()
		lc.got = append(lc.got, u)
		lc.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// An icon of its own: no late /favicon.ico request that could
		// fail once the test has closed this server.
		_, _ = w.Write([]byte(`<!doctype html><html lang=en><link rel=icon href="data:,"><title>Client</title><p>Back at the application.`))
	}))
	t.Cleanup(srv.Close)
	lc.URL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	return lc
}

// wait waits for a request to path and returns its parameters.
func (lc *loopbackClient) wait(c *chromium, path string) url.Values {
	c.t.Helper()
	var q url.Values
	c.Wait("the browser at the client's "+path, func() bool {
		lc.mu.Lock()
		defer lc.mu.Unlock()
		for i, u := range lc.got {
			if u.Path == path {
				q = u.Query()
				lc.got = slices.Delete(lc.got, i, i+1)
				return true
			}
		}
		return false
	})
	return q
}

// redeemFor redeems a code the loopback client received (checking the
// state), reads /me with the access token and returns its claims.
func (w *userWorld) redeemFor(t *testing.T, lc *loopbackClient, q url.Values, verifier string) map[string]any {
	t.Helper()
	if q.Get("code") == "" || q.Get("state") != "st-1" {
		t.Fatalf("at the redirect URI: %v", q)
	}
	st, m := w.postToken(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {q.Get("code")},
		"redirect_uri": {lc.URL}, "code_verifier": {verifier}, "scope": {"User.Read openid"}})
	if st != 200 {
		t.Fatalf("redeem: %d %v", st, m)
	}
	if me := call(t, w.srv, "GET", "/v1.0/me", m["access_token"].(string), nil, 200).JSON(t); me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}
	return claimsOf(t, m["access_token"].(string))
}

// TestBrowserAuthCode: the authorization code flow with PKCE in
// Chromium. A wrong password shows the error and keeps the form working;
// the password and the consent page lead to the redirect URI with a code
// that redeems; the session then answers without a page; form_post
// carries the code in a form the CSP lets the page send.
func TestBrowserAuthCode(t *testing.T) {
	t.Parallel()
	c := newChromium(t) // first: skips before the server starts
	w := newUserWorld(t, app.Options{})
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204) // the user consents
	lc := newLoopbackClient(t)
	verifier, challenge := pkcePair(t)

	// A redirect URI the app did not register: an error page, no redirect.
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", "http://localhost.evil.example"))
	c.checkConsole("the server responded with a status of 400") // the page's own status
	c.page("error", "Sign-in failed")
	if !strings.Contains(c.alert(), "AADSTS50011") {
		t.Errorf("error page: %s", c.Text())
	}

	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL))
	c.page("login", "Sign in")
	if !strings.Contains(c.Text(), "to continue to Notes") || len(c.FindAll("script")) != 0 || len(c.FindAll("form[data-passkey]")) != 0 {
		t.Errorf("sign-in page on an IP host: %s", c.Source())
	}
	if focused := c.Execute("return document.activeElement.name"); focused != "username" {
		t.Errorf("focus on %v, want the user name", focused)
	}
	c.signInWithPassword(w.upn, "wrong-password")
	c.page("login-wrong-password", "Sign in")
	if a := c.alert(); !strings.Contains(a, "Your account or password is incorrect") {
		t.Fatalf("wrong password: alert %q\n%s", a, c.Text())
	}
	if v := c.Find(`input[name="username"]`).Property("value"); v != w.upn {
		t.Errorf("the user name is not kept: %v", v)
	}
	if focused := c.Execute("return document.activeElement.name"); focused != "password" {
		t.Errorf("focus on %v, want the password", focused)
	}
	c.signInWithPassword(w.upn, userPassword)

	c.page("consent", "Permissions requested")
	if txt := c.Text(); !strings.Contains(txt, "Notes") || !strings.Contains(txt, "Signed in as "+w.upn) {
		t.Errorf("consent page: %s", txt)
	}
	c.button("Accept")
	claims := w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
	if claims["oid"] != w.userID {
		t.Errorf("claims: %v", claims)
	}
	c.checkConsole()
	if !strings.HasPrefix(c.URL(), lc.URL+"/?") {
		t.Errorf("the browser is at %s", c.URL())
	}

	// Single sign-on: straight back to the client.
	verifier, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL))
	w.redeemFor(t, lc, lc.wait(c, "/"), verifier)

	// prompt=select_account: the account picker, then on as that account.
	verifier, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL, "prompt", "select_account"))
	c.page("account-picker", "Pick an account")
	c.button(w.upn)
	w.redeemFor(t, lc, lc.wait(c, "/"), verifier)

	// form_post: the page posts the code to the client when the user
	// presses Continue.
	verifier, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL, "response_mode", "form_post"))
	c.page("form-post", "Signed in")
	c.button("Continue")
	w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
}

// TestBrowserMFA: under security defaults, a user without a method is
// asked to register an authenticator app (the QR code renders under the
// CSP; a wrong code shows an error and the same registration goes on),
// which signs them in with MFA; the next sign-in asks for a code.
func TestBrowserMFA(t *testing.T) {
	t.Parallel()
	c := newChromium(t) // first: skips before the server starts
	// At the start of a 30-second step, so codes do not roll mid-test.
	clock := &testClock{now: time.Now().UTC().Truncate(30 * time.Second).Add(time.Second)}
	w := newUserWorld(t, app.Options{Now: clock.Now}, apptest.SecurityDefaults())
	lc := newLoopbackClient(t)

	verifier, challenge := pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL))
	c.page("mfa-login", "Sign in")
	c.signInWithPassword(w.upn, userPassword)
	c.page("mfa-register", "Keep your account secure") // the QR code image loads: page checks images
	if len(c.FindAll("img.qr")) != 1 {
		t.Errorf("no QR code: %s", c.Source())
	}
	secret := c.Find("ol.steps code").Text()
	if !regexp.MustCompile(`^[A-Z2-7]{16,}$`).MatchString(secret) {
		t.Fatalf("secret on the page: %q", secret)
	}
	if !strings.Contains(c.Text(), "Skip for now (14 days") {
		t.Errorf("no skip within the grace period: %s", c.Text())
	}
	c.fill("otc", "000000")
	c.button("Next")
	c.page("mfa-register-wrong-code", "Keep your account secure")
	if a := c.alert(); !strings.Contains(a, "wrong code") || c.Find("ol.steps code").Text() != secret {
		t.Fatalf("wrong registration code: alert %q\n%s", a, c.Text())
	}
	c.fill("otc", totpCode(t, secret, clock.Now()))
	c.Find(`input[name="otc"]`).Submit() // Enter, as users do
	claims := w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
	if amr := claimStrings(claims, "amr"); !slices.Contains(amr, "mfa") || !slices.Contains(amr, "otp") {
		t.Errorf("amr after registering: %v", amr)
	}

	// A new browser session: the password, then a code.
	c.forget(w.srv)
	clock.Add(30 * time.Second)
	verifier, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL, "login_hint", w.upn))
	c.page("mfa-login-hint", "Sign in")
	c.signInWithPassword(w.upn, userPassword)
	c.page("mfa-code", "Enter code")
	if focused := c.Execute("return document.activeElement.name"); focused != "otc" {
		t.Errorf("focus on %v, want the code", focused)
	}
	c.fill("otc", totpCode(t, secret, clock.Now()))
	c.button("Verify")
	claims = w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
	if amr := claimStrings(claims, "amr"); !slices.Contains(amr, "mfa") || !slices.Contains(amr, "pwd") {
		t.Errorf("amr after the code: %v", amr)
	}
}

// TestBrowserPasskey: passkeys with the real static/passkey.js and
// Chromium's virtual authenticator, on a public host that can be a
// relying party (localhost). My Security Info adds one (after skipping
// the registration interrupt); a new session signs in with it alone; a
// password sign-in asks for it as the second factor.
func TestBrowserPasskey(t *testing.T) {
	t.Parallel()
	c := newChromium(t) // first: skips before the server starts
	w := newUserWorld(t, app.Options{}, apptest.SecurityDefaults(), apptest.PublicHost("localhost"))
	lc := newLoopbackClient(t)
	auth := c.AddVirtualAuthenticator()

	c.Navigate(w.srv.URL + "/mysecurityinfo")
	c.page("securityinfo-login", "Sign in")
	if len(c.FindAll("form[data-passkey]")) != 0 {
		t.Errorf("a passkey offered before the tenant is known")
	}
	c.signInWithPassword(w.upn, userPassword)
	c.page("securityinfo-register", "Keep your account secure")
	c.button("Skip for now")
	c.page("securityinfo", "Security info")
	c.button("Add a passkey")
	c.page("securityinfo-add-passkey", "Security info")
	// passkey.js shows the form it drives (hidden without script).
	if !c.Find(`form[data-passkey="create"]`).Displayed() {
		t.Fatalf("passkey.js did not show the registration form: %s", c.Source())
	}
	c.fill("ostiary_passkey_name", "Test key")
	c.button("Create passkey")
	c.Wait("the passkey to be added", func() bool { return strings.Contains(c.Text(), "Passkey added.") })
	c.page("securityinfo-passkey-added", "Security info")
	if !strings.Contains(c.Text(), "Passkey (Test key)") {
		t.Errorf("methods after adding: %s", c.Text())
	}
	creds := c.Credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RPID != "localhost" {
		t.Fatalf("the authenticator's credentials: %+v", creds)
	}

	// Passwordless, in a new session.
	c.forget(w.srv)
	verifier, challenge := pkcePair(t)
	authURL := w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL)
	c.Navigate(authURL)
	c.page("login-passkey", "Sign in")
	c.button("Sign in with a passkey")
	claims := w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
	if amr := claimStrings(claims, "amr"); !slices.Contains(amr, "fido") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") {
		t.Errorf("amr after a passkey sign-in: %v", amr)
	}
	c.checkConsole()

	// A password, then the passkey (the user's only second factor).
	c.forget(w.srv)
	verifier, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL))
	c.signInWithPassword(w.upn, userPassword)
	c.page("mfa-passkey", "Use your passkey")
	c.button("Use your passkey")
	claims = w.redeemFor(t, lc, lc.wait(c, "/"), verifier)
	if amr := claimStrings(claims, "amr"); !slices.Contains(amr, "fido") || !slices.Contains(amr, "pwd") {
		t.Errorf("amr after password and passkey: %v", amr)
	}
	if n := c.Credentials(auth)[0].SignCount; n < 2 {
		t.Errorf("the passkey signed %d times, want 2", n)
	}
}

// TestBrowserDeviceCodeAndSignOut: a device code entered on /devicelogin
// (lower case, no hyphen), the sign-in and the confirmation; the device's
// poll gets the tokens. Then sign-out: the confirmation page, the
// signed-out page whose frame calls the app's front-channel logout URL
// (the CSP's frame-src lets it load), and Continue back to the app.
func TestBrowserDeviceCodeAndSignOut(t *testing.T) {
	t.Parallel()
	c := newChromium(t) // first: skips before the server starts
	w := newUserWorld(t, app.Options{})
	lc := newLoopbackClient(t)
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.client.ID, w.tok, map[string]any{"web": map[string]any{
		"logoutUrl": lc.URL + "/frontchannel", "redirectUris": []string{lc.URL + "/bye"}}}, 204)

	st, dc := w.deviceCode(t, url.Values{"client_id": {w.client.AppID}, "scope": {"User.Read"}}, "")
	if st != 200 {
		t.Fatalf("devicecode: %d %v", st, dc)
	}
	c.Navigate(dc["verification_uri"].(string))
	c.page("devicelogin", "Enter code")
	c.fill("otc", "ZZZZ-ZZZZ")
	c.button("Next")
	c.page("devicelogin-wrong-code", "Enter code")
	if a := c.alert(); !strings.Contains(a, "code") {
		t.Errorf("error for an unknown code: %q", a)
	}
	userCode := dc["user_code"].(string)
	c.fill("otc", strings.ToLower(strings.ReplaceAll(userCode, "-", "")))
	c.Find(`input[name="otc"]`).Submit()
	c.page("devicelogin-signin", "Sign in")
	c.signInWithPassword(w.upn, userPassword)
	c.page("devicelogin-confirm", "Are you trying to sign in to Notes?")
	c.button("Continue")
	c.page("devicelogin-done", "You're signed in")
	if !strings.Contains(c.Text(), "You have signed in to the Notes application on your device") {
		t.Fatalf("done page: %s", c.Text())
	}
	st, m := w.postToken(t, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {w.client.AppID},
		"device_code": {dc["device_code"].(string)}})
	if st != 200 || m["access_token"] == nil {
		t.Fatalf("device poll: %d %v", st, m)
	}

	// The session signs in to Notes in the browser too, so signing out
	// calls its front-channel logout URL.
	verifier, challenge := pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL))
	q := lc.wait(c, "/")
	sid := q.Get("session_state")
	w.redeemFor(t, lc, q, verifier)

	logout := w.srv.URL + "/" + w.srv.Creds.TenantID + "/oauth2/v2.0/logout?" + url.Values{"client_id": {w.client.AppID},
		"post_logout_redirect_uri": {lc.URL + "/bye"}, "state": {"bye"}}.Encode()
	c.Navigate(logout)
	c.page("signout", "Sign out")
	if !strings.Contains(c.Text(), "Sign out "+w.upn+"?") {
		t.Errorf("sign-out page: %s", c.Text())
	}
	c.button("Sign out")
	c.page("signedout", "You signed out of your account")
	fc := lc.wait(c, "/frontchannel")
	if fc.Get("sid") != sid || fc.Get("iss") != w.srv.URL+"/"+w.srv.Creds.TenantID+"/v2.0" {
		t.Errorf("front-channel logout: %v (sid %s)", fc, sid)
	}
	if !strings.Contains(c.Text(), "Notes") {
		t.Errorf("signed-out page: %s", c.Text())
	}
	c.Find("a.button").Click()
	if q := lc.wait(c, "/bye"); q.Get("state") != "bye" {
		t.Errorf("post-logout redirect: %v", q)
	}
	c.checkConsole()

	// Signed out: prompt=none goes back with login_required.
	_, challenge = pkcePair(t)
	c.Navigate(w.srv.URL + w.authorizeURL(challenge, "redirect_uri", lc.URL, "prompt", "none"))
	if q := lc.wait(c, "/"); q.Get("error") != "login_required" {
		t.Errorf("after sign-out: %v", q)
	}
}
