package app_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ostiary/ostiary/internal/app"
	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/authmethods/webauthntest"
)

// pageForm is a form of a page: its action, its own fields and its
// attributes.
type pageForm struct {
	htmlForm
	attrs map[string]string
}

// pageForms parses every form of a page.
func pageForms(t testing.TB, body string) []pageForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []pageForm
	var cur *pageForm
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
			}
			switch n.Data {
			case "form":
				out = append(out, pageForm{htmlForm: htmlForm{action: attrs["action"], fields: url.Values{}}, attrs: attrs})
				cur = &out[len(out)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attrs["name"] != "" {
					cur.fields.Add(attrs["name"], attrs["value"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// formWith is the page's form whose field name has value.
func formWith(t testing.TB, body, name, value string) htmlForm {
	t.Helper()
	for _, f := range pageForms(t, body) {
		if f.fields.Get(name) == value {
			return f.htmlForm
		}
	}
	t.Fatalf("no form with %s=%s: %s", name, value, body)
	return htmlForm{}
}

// passkeyForm is the page's passkey form of the mode ("get" or "create")
// and the WebAuthn options it carries, as passkey.js reads them. The form
// is hidden until the script shows it (without script it stays inert).
func passkeyForm(t testing.TB, p page, mode string) (htmlForm, []byte) {
	t.Helper()
	for _, f := range pageForms(t, p.body) {
		if f.attrs["data-passkey"] != mode {
			continue
		}
		if _, hidden := f.attrs["hidden"]; !hidden {
			t.Errorf("the passkey form is shown without script: %v", f.attrs)
		}
		if f.fields.Get("ostiary_passkey_handle") == "" || !f.fields.Has("ostiary_passkey_response") || f.fields.Get("csrf_token") == "" {
			t.Errorf("passkey form fields: %v", f.fields)
		}
		if !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'self'") || !strings.Contains(p.body, passkeyScriptTag) {
			t.Errorf("a page offering a passkey without its script: %v", p.header)
		}
		return f.htmlForm, []byte(f.attrs["data-passkey-options"])
	}
	t.Fatalf("no %q passkey form: %d %s", mode, p.status, p.body)
	return htmlForm{}, nil
}

// postPasskey posts a passkey form with the authenticator's answer.
func postPasskey(t testing.TB, b *browser, f htmlForm, answer []byte) page {
	t.Helper()
	f.fields.Set("ostiary_passkey_response", string(answer))
	return b.do(t, "POST", f.action, f.fields)
}

// TestPasskeyBrowser drives passkeys through the real pages over HTTPS on
// a public host that can be a relying party (localhost), with a software
// authenticator: a passkey is added in My Security Info; a new browser
// signs in with it alone (amr fido and mfa); the same assertion again and
// a cloned authenticator are refused; after a password it is the second
// factor; it is the fresh second factor My Security Info asks for; the
// sign-in log names it; a disabled account cannot use it.
func TestPasskeyBrowser(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	w := newUserWorld(t, app.Options{Now: clock.Now}, apptest.SecurityDefaults(), apptest.PublicHost("localhost"))
	if !strings.HasPrefix(w.srv.URL, "https://localhost:") {
		t.Fatalf("public URL %s", w.srv.URL)
	}
	w.allowSelfEdit(t)
	auth := webauthntest.New(t, w.srv.URL, "localhost")

	// The script is served from this host.
	js := newBrowser(w.srv).do(t, "GET", "/static/signin/passkey.js", nil)
	if js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") || !strings.Contains(js.body, "navigator.credentials") {
		t.Fatalf("passkey.js: %d %v", js.status, js.header)
	}

	// 1. My Security Info: sign in (registering an authenticator app, as
	// security defaults ask of a user with no method), add a passkey.
	// Its sign-in page (on /organizations, no tenant yet) offers none.
	b := newBrowser(w.srv)
	p := b.do(t, "GET", "/mysecurityinfo", nil)
	if strings.Contains(p.body, "data-passkey") {
		t.Errorf("a passkey offered before the tenant is known: %s", p.body)
	}
	p, _ = w.signInRegisteringTOTP(t, b, parseForm(t, p.body), clock.Now())
	add := formWith(t, p.body, "ostiary_change", "add-passkey")
	p = b.do(t, "POST", add.action, add.fields)
	pf, opts := passkeyForm(t, p, "create")
	if pf.fields.Get("ostiary_change") != "confirm-passkey" {
		t.Fatalf("registration form: %v", pf.fields)
	}
	key, created := auth.Create(opts)
	pf.fields.Set("ostiary_passkey_name", "Test key")
	p = postPasskey(t, b, pf, created)
	if !strings.Contains(p.body, "Passkey added.") || !strings.Contains(p.body, "Passkey (Test key)") {
		t.Fatalf("after adding a passkey: %d %s", p.status, p.body)
	}
	// The same registration answer again: its ceremony is spent.
	if p = postPasskey(t, b, pf, created); strings.Contains(p.body, "Passkey added.") || strings.Count(p.body, "Passkey (") != 1 {
		t.Fatalf("a registration answered twice: %s", p.body)
	}
	clone := key.Clone() // a copy of the authenticator, at counter 0

	// 2. Passwordless: a new browser, the sign-in page's passkey.
	b2 := newBrowser(w.srv)
	verifier, challenge := pkcePair(t)
	authURL := strings.Replace(w.authorizeURL(challenge), "scope=User.Read+", "scope=User.ReadWrite+", 1)
	p = b2.do(t, "GET", authURL, nil)
	if f := parseForm(t, p.body); f.fields.Get("ostiary_login") != "1" {
		t.Fatalf("the password form is no longer first: %v", f.fields)
	}
	pf, opts = passkeyForm(t, p, "get")
	if o := auth.Options(opts); o["allowCredentials"] != nil && len(o["allowCredentials"].([]any)) > 0 {
		t.Errorf("passwordless options name credentials: %v", o)
	}
	assertion := auth.Get(opts, key)
	loc := postPasskey(t, b2, pf, assertion).location(t)
	tok := w.redeemCode(t, loc.Query().Get("code"), verifier)
	if amr := claimStrings(claimsOf(t, tok), "amr"); !slices.Contains(amr, "fido") || !slices.Contains(amr, "mfa") || slices.Contains(amr, "pwd") {
		t.Errorf("amr after a passkey sign-in: %v", amr)
	}
	// The session is multifactor: a Graph change needs no more.
	if r := w.srv.Do(t, "PATCH", "/v1.0/me", tok, map[string]any{"preferredLanguage": "fr-FR"}); r.Status != 204 {
		t.Errorf("change with a passkey token: %d %s", r.Status, r.Body)
	}

	// 3. The same assertion again, and a cloned authenticator (its counter
	// behind the original's), are refused; the original goes on working.
	if p = postPasskey(t, b2, pf, assertion); p.status != 200 || !strings.Contains(p.body, "sign you in with that passkey") {
		t.Fatalf("replayed assertion: %d %s", p.status, p.body)
	}
	b3 := newBrowser(w.srv)
	p = b3.do(t, "GET", authURL, nil)
	pf, opts = passkeyForm(t, p, "get")
	if p = postPasskey(t, b3, pf, auth.Get(opts, clone)); p.status != 200 || !strings.Contains(p.body, "sign you in with that passkey") {
		t.Fatalf("cloned authenticator: %d %s", p.status, p.body)
	}
	// A forged signature, with the replayed one's fresh ceremony.
	pf, opts = passkeyForm(t, p, "get")
	if p = postPasskey(t, b3, pf, auth.Get(opts, key.Forged(t))); p.status != 200 || !strings.Contains(p.body, "sign you in with that passkey") {
		t.Fatalf("forged signature: %d %s", p.status, p.body)
	}
	pf, opts = passkeyForm(t, p, "get")
	verifier3, challenge3 := pkcePair(t)
	pf.fields.Set("code_challenge", challenge3)
	w.redeemCode(t, postPasskey(t, b3, pf, auth.Get(opts, key)).location(t).Query().Get("code"), verifier3)

	// 4. A password, then the passkey as the second factor.
	clock.Add(time.Minute)
	b4 := newBrowser(w.srv)
	verifier, challenge = pkcePair(t)
	p = w.passwordStep(t, b4, w.authorizeURL(challenge), w.upn, userPassword)
	if !strings.Contains(p.body, "Enter code") || !strings.Contains(p.body, "Use a passkey instead") {
		t.Fatalf("MFA challenge: %d %s", p.status, p.body)
	}
	if f := parseForm(t, p.body); f.fields.Get("ostiary_mfa") != "verify" {
		t.Fatalf("the code form is no longer first: %v", f.fields)
	}
	pf, opts = passkeyForm(t, p, "get")
	if pf.fields.Get("ostiary_mfa") != "passkey" {
		t.Fatalf("MFA passkey form: %v", pf.fields)
	}
	allowed, _ := auth.Options(opts)["allowCredentials"].([]any)
	if len(allowed) != 1 {
		t.Errorf("the challenge's options name %d credentials, want the user's one", len(allowed))
	}
	loc = postPasskey(t, b4, pf, auth.Get(opts, key)).location(t)
	tok = w.redeemCode(t, loc.Query().Get("code"), verifier)
	if amr := claimStrings(claimsOf(t, tok), "amr"); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "fido") || !slices.Contains(amr, "mfa") {
		t.Errorf("amr after password and passkey: %v", amr)
	}

	// 5. My Security Info, eleven minutes on: a change asks for a second
	// factor first, and the passkey gives it.
	clock.Add(11 * time.Minute)
	p = b.do(t, "GET", "/mysecurityinfo", nil)
	add = formWith(t, p.body, "ostiary_change", "add-passkey")
	p = b.do(t, "POST", add.action, add.fields)
	if !strings.Contains(p.body, "Verify your identity first") {
		t.Fatalf("stale MFA: %s", p.body)
	}
	pf, opts = passkeyForm(t, p, "get")
	if pf.fields.Get("ostiary_verify") != "passkey" || pf.fields.Get("ostiary_change") != "add-passkey" {
		t.Fatalf("verification form: %v", pf.fields)
	}
	p = postPasskey(t, b, pf, auth.Get(opts, key))
	if _, opts = passkeyForm(t, p, "create"); len(opts) == 0 {
		t.Fatal("no registration after the passkey check")
	}

	// 6. The sign-in log names the passkey: the passwordless sign-ins and
	// the second factor succeeded with it; the refused ones failed with
	// AADSTS500121.
	r := call(t, w.srv, "GET", "/v1.0/auditLogs/signIns?$top=999&$filter="+url.QueryEscape("userId eq '"+w.userID+"'"), w.tok, nil, 200)
	var logs struct {
		Value []struct {
			Status struct {
				ErrorCode int `json:"errorCode"`
			} `json:"status"`
			AuthenticationRequirement string   `json:"authenticationRequirement"`
			AuthenticationMethodsUsed []string `json:"authenticationMethodsUsed"`
			MfaDetail                 *struct {
				AuthMethod string `json:"authMethod"`
			} `json:"mfaDetail"`
		} `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &logs); err != nil {
		t.Fatal(err)
	}
	var passwordless, second int
	for _, l := range logs.Value {
		if l.Status.ErrorCode != 0 || l.MfaDetail == nil || l.MfaDetail.AuthMethod != "FIDO2 security key" {
			continue
		}
		if l.AuthenticationRequirement != "multiFactorAuthentication" {
			t.Errorf("a passkey sign-in logged as %q", l.AuthenticationRequirement)
		}
		if slices.Equal(l.AuthenticationMethodsUsed, []string{"FIDO2 security key"}) {
			passwordless++
		} else if slices.Equal(l.AuthenticationMethodsUsed, []string{"Password", "FIDO2 security key"}) {
			second++
		}
	}
	if passwordless != 2 || second != 1 {
		t.Errorf("sign-in log: %d passwordless and %d second-factor passkey sign-ins, want 2 and 1: %s", passwordless, second, r.Body)
	}
	// A refused passkey names no user (nothing was proven); its record
	// names the app and the failure.
	if refused := listSignIns(t, w.srv, w.tok, "status/errorCode eq 500121 and appId eq '"+w.client.AppID+"'"); len(refused) != 3 {
		t.Errorf("%d refused passkey sign-ins logged, want 3 (replay, clone, forgery)", len(refused))
	}

	// 7. A disabled account cannot sign in with its passkey.
	call(t, w.srv, "PATCH", "/v1.0/users/"+w.userID, w.tok, map[string]any{"accountEnabled": false}, 204)
	b5 := newBrowser(w.srv)
	p = b5.do(t, "GET", authURL, nil)
	pf, opts = passkeyForm(t, p, "get")
	if p = postPasskey(t, b5, pf, auth.Get(opts, key)); p.status != 200 || !strings.Contains(p.body, "Your account has been locked") {
		t.Fatalf("disabled account with a passkey: %d %s", p.status, p.body)
	}
}

// TestPasskeyOffIPHost: on a server whose public host is an IP address
// (the default test server), no page offers a passkey and no page's CSP
// allows script.
func TestPasskeyOffIPHost(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{}, apptest.SecurityDefaults())
	b := newBrowser(w.srv)
	_, challenge := pkcePair(t)
	p := b.do(t, "GET", w.authorizeURL(challenge), nil)
	if strings.Contains(p.body, "data-passkey") || strings.Contains(p.header.Get("Content-Security-Policy"), "script-src") {
		t.Fatalf("passkey offered on an IP host: %v %s", p.header, p.body)
	}
	p = b.do(t, "GET", "/mysecurityinfo", nil)
	p, _ = w.signInRegisteringTOTP(t, b, parseForm(t, p.body), time.Now())
	if !strings.Contains(p.body, "Add an authenticator app") || strings.Contains(p.body, "Add a passkey") {
		t.Fatalf("security info on an IP host: %s", p.body)
	}
}

// TestPasskeyOnlySecondFactor: a user whose one second factor is a passkey
// (added in My Security Info within the registration grace) is asked for
// it after the password, on a page with no code form; My Security Info
// asks for it before a change.
func TestPasskeyOnlySecondFactor(t *testing.T) {
	t.Parallel()
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	w := newUserWorld(t, app.Options{Now: clock.Now}, apptest.SecurityDefaults(), apptest.PublicHost("localhost"))
	w.allowSelfEdit(t)
	auth := webauthntest.New(t, w.srv.URL, "localhost")

	b := newBrowser(w.srv)
	key, p := skipAndAddPasskey(t, b, auth, w.upn, userPassword)
	// The session passed no second factor: a change now asks for the
	// passkey, the user's only one.
	addApp := formWith(t, p.body, "ostiary_change", "add-totp")
	p = b.do(t, "POST", addApp.action, addApp.fields)
	if !strings.Contains(p.body, "Verify your identity first: use your passkey") || strings.Contains(p.body, `name="otc"`) {
		t.Fatalf("verification with a passkey only: %s", p.body)
	}
	pf, opts := passkeyForm(t, p, "get")
	if p = postPasskey(t, b, pf, auth.Get(opts, key)); secretOnPage.FindStringSubmatch(p.body) == nil {
		t.Fatalf("adding an app after the passkey check: %s", p.body)
	}

	// A password sign-in owes the passkey.
	b2 := newBrowser(w.srv)
	verifier, challenge := pkcePair(t)
	p = w.passwordStep(t, b2, w.authorizeURL(challenge), w.upn, userPassword)
	if !strings.Contains(p.body, "Use your passkey") || strings.Contains(p.body, `name="otc"`) {
		t.Fatalf("challenge with a passkey only: %d %s", p.status, p.body)
	}
	pf, opts = passkeyForm(t, p, "get")
	// Another user's passkey, through a ceremony open to any user's (the
	// sign-in page's), is not this user's second factor.
	bobUPN := "bob@" + w.srv.Creds.Domain
	call(t, w.srv, "POST", "/v1.0/users", w.tok, newUser(bobUPN, "Bob"), 201)
	bobKey, _ := skipAndAddPasskey(t, newBrowser(w.srv), auth, bobUPN, "Str0ng-Passw0rd!")
	other, otherOpts := passkeyForm(t, newBrowser(w.srv).do(t, "GET", w.authorizeURL(challenge), nil), "get")
	foreign := pf
	foreign.fields = url.Values{}
	for k, v := range pf.fields {
		foreign.fields[k] = slices.Clone(v)
	}
	foreign.fields.Set("ostiary_passkey_handle", other.fields.Get("ostiary_passkey_handle"))
	if r := postPasskey(t, b2, foreign, auth.Get(otherOpts, bobKey)); r.status != 200 || !strings.Contains(r.body, "sign you in with that passkey") {
		t.Fatalf("another user's passkey as the second factor: %d %s", r.status, r.body)
	}
	loc := postPasskey(t, b2, pf, auth.Get(opts, key)).location(t)
	tok := w.redeemCode(t, loc.Query().Get("code"), verifier)
	if amr := claimStrings(claimsOf(t, tok), "amr"); !slices.Contains(amr, "pwd") || !slices.Contains(amr, "fido") || !slices.Contains(amr, "mfa") {
		t.Errorf("amr after password and passkey: %v", amr)
	}
}

// skipAndAddPasskey signs a user with no method in to My Security Info,
// skips the registration (within the grace period) and adds a passkey
// with auth. It returns the key and the page after it.
func skipAndAddPasskey(t testing.TB, b *browser, auth *webauthntest.Authenticator, upn, password string) (*webauthntest.Key, page) {
	t.Helper()
	p := b.do(t, "GET", "/mysecurityinfo", nil)
	f := parseForm(t, p.body)
	f.fields.Set("username", upn)
	f.fields.Set("password", password)
	p = b.do(t, "POST", f.action, f.fields)
	skip := formWith(t, p.body, "ostiary_mfa", "skip")
	p = b.do(t, "POST", skip.action, skip.fields)
	add := formWith(t, p.body, "ostiary_change", "add-passkey")
	p = b.do(t, "POST", add.action, add.fields)
	pf, opts := passkeyForm(t, p, "create")
	key, created := auth.Create(opts)
	if p = postPasskey(t, b, pf, created); !strings.Contains(p.body, "Passkey added.") {
		t.Fatalf("adding a first method: %s", p.body)
	}
	return key, p
}
