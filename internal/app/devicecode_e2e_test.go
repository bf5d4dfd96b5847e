package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/ostiary/ostiary/internal/app"
)

// userCodeShape is the display form of a user code.
var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// fetch is browser.do without t.Fatal, for use from other goroutines.
func (b *browser) fetch(t testing.TB, method, path string, form url.Values) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		checkPageSecurity(t, p) // Errorf only: safe from any goroutine
	}
	return p, nil
}

// formOf is parseForm without t.Fatal.
func formOf(body string) (htmlForm, error) {
	if !strings.Contains(body, "<form") {
		return htmlForm{}, fmt.Errorf("no form in page: %s", body)
	}
	var f htmlForm
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		f = parseForm(&quietT{}, body)
	}()
	return f, err
}

// quietT lets parseForm run where t.Fatal must not be called.
type quietT struct{ testing.T }

func (*quietT) Helper()                   {}
func (*quietT) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (*quietT) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// deviceLogin drives /devicelogin as a user: enter the code, sign in with
// the password if the page asks, then answer the confirmation with
// decision ("continue" or "cancel"). It returns the last page.
func (w *userWorld) deviceLogin(t testing.TB, b *browser, userCode, decision string) (page, error) {
	p, err := b.fetch(t, "GET", "/devicelogin", nil)
	if err != nil {
		return p, err
	}
	f, err := formOf(p.body)
	if err != nil {
		return p, err
	}
	f.fields.Set("otc", userCode)
	if p, err = b.fetch(t, "POST", f.action, f.fields); err != nil {
		return p, err
	}
	if strings.Contains(p.body, `name="password"`) {
		if f, err = formOf(p.body); err != nil {
			return p, err
		}
		f.fields.Set("username", w.upn)
		f.fields.Set("password", userPassword)
		if p, err = b.fetch(t, "POST", f.action, f.fields); err != nil {
			return p, err
		}
	}
	if !strings.Contains(p.body, "Are you trying to sign in to Notes?") {
		return p, fmt.Errorf("no confirmation page: %d %s", p.status, p.body)
	}
	if f, err = formOf(p.body); err != nil {
		return p, err
	}
	f.fields.Set("decision", decision)
	return b.fetch(t, "POST", f.action, f.fields)
}

func (w *userWorld) mustDeviceLogin(t testing.TB, b *browser, userCode, decision string) page {
	t.Helper()
	p, err := w.deviceLogin(t, b, userCode, decision)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// deviceCode posts a device authorization request for the world's client.
func (w *userWorld) deviceCode(t testing.TB, form url.Values, tenant string) (int, map[string]any) {
	t.Helper()
	if tenant == "" {
		tenant = w.srv.Creds.TenantID
	}
	resp, err := w.srv.Client.PostForm(w.srv.URL+"/"+tenant+"/oauth2/v2.0/devicecode", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("devicecode response is not JSON: %d %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

// TestDeviceCodeMSAL: MSAL Go's device code flow. The user enters the
// code on /devicelogin, signs in and confirms; MSAL's poll gets a token
// that reads /me. A second device code in the same browser skips the
// password.
func TestDeviceCodeMSAL(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := public.New(w.client.AppID, public.WithAuthority(w.srv.URL+"/"+w.srv.Creds.TenantID),
		public.WithInstanceDiscovery(false), public.WithHTTPClient(w.srv.Client))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, []string{"User.Read"})
	if err != nil {
		t.Fatalf("MSAL AcquireTokenByDeviceCode: %v", err)
	}
	r := dc.Result
	if !userCodeShape.MatchString(r.UserCode) || r.VerificationURL != w.srv.URL+"/devicelogin" || r.Interval != 5 ||
		r.Message != "To sign in, use a web browser to open the page "+w.srv.URL+"/devicelogin and enter the code "+r.UserCode+" to authenticate." {
		t.Fatalf("device code result: %+v", r)
	}
	b := newBrowser(w.srv)
	// The user types the code in lower case, without the hyphen.
	p := w.mustDeviceLogin(t, b, strings.ToLower(strings.ReplaceAll(r.UserCode, "-", "")), "continue")
	if p.status != 200 || !strings.Contains(p.body, "You have signed in to the Notes application on your device") {
		t.Fatalf("done page: %d %s", p.status, p.body)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("MSAL device code poll: %v", err)
	}
	if res.Account.HomeAccountID != w.userID+"."+w.srv.Creds.TenantID || res.Account.PreferredUsername != w.upn {
		t.Errorf("account: %+v", res.Account)
	}
	if me := call(t, w.srv, "GET", "/v1.0/me", res.AccessToken, nil, 200).JSON(t); me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}
	if c := claimsOf(t, res.AccessToken); c["appid"] != w.client.AppID || !strings.Contains(fmt.Sprint(c["scp"]), "User.Read") {
		t.Errorf("access token claims: %v", c)
	}

	// Single sign-on: the session skips the password page.
	dc2, err := pc.AcquireTokenByDeviceCode(ctx, []string{"User.Read"})
	if err != nil {
		t.Fatal(err)
	}
	p, err = b.fetch(t, "GET", "/devicelogin", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := parseForm(t, p.body)
	f.fields.Set("otc", dc2.Result.UserCode)
	p = b.do(t, "POST", f.action, f.fields)
	if strings.Contains(p.body, `name="password"`) || !strings.Contains(p.body, "Are you trying to sign in to Notes?") || !strings.Contains(p.body, w.upn) {
		t.Fatalf("with a session the code should go straight to the confirmation: %s", p.body)
	}
	f = parseForm(t, p.body)
	f.fields.Set("decision", "continue")
	b.do(t, "POST", f.action, f.fields)
	if _, err := dc2.AuthenticationResult(ctx); err != nil {
		t.Fatalf("second device code: %v", err)
	}
}

// TestDeviceCodeAzidentity: azidentity's DeviceCodeCredential, with the
// user answering in the browser while the credential polls.
func TestDeviceCodeAzidentity(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	b := newBrowser(w.srv)
	done := make(chan error, 1)
	var prompted atomic.Bool
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientID: w.client.AppID, TenantID: w.srv.Creds.TenantID, DisableInstanceDiscovery: true,
		ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: w.srv.URL + "/"}, Transport: w.srv.Client},
		UserPrompt: func(ctx context.Context, m azidentity.DeviceCodeMessage) error {
			prompted.Store(true)
			if m.VerificationURL != w.srv.URL+"/devicelogin" || !strings.Contains(m.Message, m.UserCode) {
				return fmt.Errorf("device code message: %+v", m)
			}
			go func() {
				p, err := w.deviceLogin(t, b, m.UserCode, "continue")
				if err == nil && !strings.Contains(p.body, "You have signed in") {
					err = fmt.Errorf("done page: %d %s", p.status, p.body)
				}
				done <- err
			}()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatalf("DeviceCodeCredential.GetToken: %v", err)
	}
	if !prompted.Load() {
		t.Fatal("UserPrompt was not called")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if me := call(t, w.srv, "GET", "/v1.0/me", tok.Token, nil, 200).JSON(t); me["id"] != w.userID {
		t.Errorf("/me: %v", me)
	}
}

// TestDeviceCodeProtocol: the raw protocol. The devicecode response has
// Entra's shape; polls are authorization_pending, slow_down when faster
// than the interval, authorization_declined after Cancel, expired_token
// after 15 minutes; success has the auth code grant's response and is
// single-use; another client cannot redeem; the page shows unknown and
// expired codes, enforces CSRF and limits wrong guesses.
func TestDeviceCodeProtocol(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now})
	tenant := w.srv.Creds.TenantID
	start := url.Values{"client_id": {w.client.AppID}, "scope": {"User.Read openid profile offline_access"}}

	st, m := w.deviceCode(t, start, "")
	if st != 200 || m["expires_in"] != float64(900) || m["interval"] != float64(5) || m["verification_uri"] != w.srv.URL+"/devicelogin" ||
		!userCodeShape.MatchString(fmt.Sprint(m["user_code"])) || len(fmt.Sprint(m["device_code"])) < 43 || m["verification_uri_complete"] != nil ||
		!strings.HasPrefix(fmt.Sprint(m["message"]), "To sign in, use a web browser to open the page ") {
		t.Fatalf("devicecode: %d %v", st, m)
	}
	device, userCode := m["device_code"].(string), m["user_code"].(string)
	poll := func(code string, extra ...string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {w.client.AppID},
			"device_code": {code}, "client_info": {"1"}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return w.postToken(t, form)
	}
	wantError := func(st int, m map[string]any, oauth string, code int, what string) {
		t.Helper()
		if st != 400 || m["error"] != oauth || aadstsCode(m) != code || !strings.HasPrefix(fmt.Sprint(m["error_description"]), fmt.Sprintf("AADSTS%d:", code)) {
			t.Fatalf("%s: got %d %v, want 400 %s AADSTS%d", what, st, m, oauth, code)
		}
	}
	st, m = poll(device)
	wantError(st, m, "authorization_pending", 70016, "first poll")
	st, m = poll(device, "grant_type", "device_code") // MSAL's short form, too soon
	wantError(st, m, "slow_down", 70016, "poll within the interval")
	skew.Add(int64(6 * time.Second))
	st, m = poll(device, "grant_type", "device_code")
	wantError(st, m, "authorization_pending", 70016, "short grant type after the interval")
	st, m = poll(device[:len(device)-4] + "AAAA")
	wantError(st, m, "bad_verification_code", 70018, "unknown device code")

	// Another client cannot redeem it; the code stays usable.
	other := publicClient(t, w.srv, w.tok, "Other")
	st, m = poll(device, "client_id", other.AppID)
	wantError(st, m, "invalid_grant", 70000, "another client")

	// Client authentication and scope rules of the other user grants.
	st, m = w.deviceCode(t, url.Values{"client_id": {w.srv.Creds.ClientID}, "scope": {"User.Read"}}, "")
	if st != 401 || aadstsCode(m) != 7000218 {
		t.Errorf("confidential client without its secret: %d %v", st, m)
	}
	st, m = w.deviceCode(t, url.Values{"client_id": {w.srv.Creds.ClientID}, "client_secret": {w.srv.Creds.ClientSecret}, "scope": {"User.Read"}}, "")
	if st != 200 || m["device_code"] == nil {
		t.Errorf("confidential client with its secret: %d %v", st, m)
	}
	st, m = w.deviceCode(t, url.Values{"client_id": {w.client.AppID}, "scope": {"User.Read api://orders/Read"}}, "")
	if st != 400 || aadstsCode(m) != 700022 {
		t.Errorf("two resources: %d %v", st, m)
	}
	st, m = w.deviceCode(t, url.Values{"client_id": {w.client.AppID}}, "")
	if st != 400 || aadstsCode(m) != 900144 {
		t.Errorf("no scope: %d %v", st, m)
	}
	st, m = w.deviceCode(t, url.Values{"client_id": {"00000000-0000-0000-0000-00000000abcd"}, "scope": {"User.Read"}}, "")
	if st != 400 || aadstsCode(m) != 700016 {
		t.Errorf("unknown client: %d %v", st, m)
	}
	if st, m = w.deviceCode(t, start, "consumers"); st != 400 {
		t.Errorf("/consumers: %d %v", st, m)
	}

	// The page: CSRF, unknown code.
	b := newBrowser(w.srv)
	p := b.do(t, "GET", "/devicelogin", nil)
	f := parseForm(t, p.body)
	if p.status != 200 || f.fields.Get("csrf_token") == "" || f.action != "/devicelogin" {
		t.Fatalf("code page: %d %s", p.status, p.body)
	}
	noCSRF := url.Values{"otc": {userCode}, "ostiary_step": {"code"}}
	if p := b.do(t, "POST", "/devicelogin", noCSRF); p.status != 403 || strings.Contains(p.body, "password") {
		t.Errorf("code without CSRF token: %d %s", p.status, p.body)
	}
	f.fields.Set("otc", "BCDF-GHJK")
	if p := b.do(t, "POST", f.action, f.fields); !strings.Contains(p.body, "That code didn&#39;t work") || strings.Contains(p.body, `name="password"`) {
		t.Errorf("unknown user code: %d %s", p.status, p.body)
	}
	f.fields.Set("otc", "<b>x</b>")
	if p := b.do(t, "POST", f.action, f.fields); !strings.Contains(p.body, "That code didn&#39;t work") || strings.Contains(p.body, "<b>x") {
		t.Errorf("malformed user code: %d %s", p.status, p.body)
	}

	// Approve; the poll gets the auth code grant's response, once.
	if p := w.mustDeviceLogin(t, b, userCode, "continue"); !strings.Contains(p.body, "You have signed in") {
		t.Fatalf("approve: %s", p.body)
	}
	if p, _ := w.deviceLogin(t, b, userCode, "continue"); !strings.Contains(p.body, "already used") {
		t.Errorf("a used user code: %s", p.body)
	}
	st, m = poll(device, "grant_type", "device_code")
	if st != 200 || m["token_type"] != "Bearer" || m["access_token"] == nil || m["refresh_token"] == nil || m["id_token"] == nil ||
		m["client_info"] == nil || m["expires_in"] == nil || !strings.Contains(fmt.Sprint(m["scope"]), "User.Read") {
		t.Fatalf("redeem: %d %v", st, m)
	}
	id := claimsOf(t, m["id_token"].(string))
	if id["oid"] != w.userID || id["aud"] != w.client.AppID || id["tid"] != tenant {
		t.Errorf("id token: %v", id)
	}
	call(t, w.srv, "GET", "/v1.0/me", m["access_token"].(string), nil, 200)
	rt := m["refresh_token"].(string)
	// Waiting polls leave no sign-in record; the redemption does.
	var redeemed, waiting int
	for _, rec := range listSignIns(t, w.srv, w.tok, "appId eq '"+w.client.AppID+"'") {
		switch {
		case rec.Status.ErrorCode == 70016:
			waiting++
		case rec.Status.ErrorCode == 0 && rec.UserID == w.userID && rec.IsInteractive && rec.ResourceDisplayName != nil:
			redeemed++
		}
	}
	if waiting != 0 || redeemed != 1 {
		t.Errorf("sign-in log: %d waiting polls, %d redemptions", waiting, redeemed)
	}
	st, m = poll(device)
	wantError(st, m, "invalid_grant", 90120, "second redemption")
	st, m = w.refresh(t, rt, "")
	wantAADSTS(t, st, m, 70000, "refresh token of a device code redeemed twice")

	// Cancel: authorization_declined; the page says so.
	_, m = w.deviceCode(t, start, "")
	p = w.mustDeviceLogin(t, b, m["user_code"].(string), "cancel")
	if !strings.Contains(p.body, "You have declined to sign in to Notes") {
		t.Errorf("cancel page: %s", p.body)
	}
	st, m = poll(m["device_code"].(string))
	wantError(st, m, "authorization_declined", 65004, "declined")

	// Missing consent: the page shows it and the device gets 65001.
	call(t, w.srv, "DELETE", "/v1.0/oauth2PermissionGrants/"+w.grant, w.tok, nil, 204)
	_, m = w.deviceCode(t, start, "")
	if p, _ := w.deviceLogin(t, b, m["user_code"].(string), "continue"); !strings.Contains(p.body, "AADSTS65001") {
		t.Errorf("no consent page: %d %s", p.status, p.body)
	}
	st, m = poll(m["device_code"].(string))
	if st != 400 || aadstsCode(m) != 65001 || m["suberror"] != "consent_required" {
		t.Errorf("no consent poll: %d %v", st, m)
	}
	w.grant = consent(t, w.srv, w.tok, w.client.SPID, "User.Read")

	// Expiry: after 15 minutes the poll says expired_token and the page
	// refuses the code.
	_, m = w.deviceCode(t, start, "")
	skew.Add(int64(15*time.Minute + time.Second))
	st, m2 := poll(m["device_code"].(string))
	wantError(st, m2, "expired_token", 70019, "expired")
	if p, err := w.deviceLogin(t, b, m["user_code"].(string), "continue"); err == nil || !strings.Contains(p.body, "expired") {
		t.Errorf("expired user code on the page: %v %s", err, p.body)
	}

	// Guessing: after ten wrong codes even a right one is refused. (A new
	// window first: the refusals above counted against this address.)
	skew.Add(int64(16 * time.Minute))
	_, m = w.deviceCode(t, start, "")
	guesser := newBrowser(w.srv)
	p = guesser.do(t, "GET", "/devicelogin", nil)
	f = parseForm(t, p.body)
	for i := range 10 {
		f.fields.Set("otc", fmt.Sprintf("BCDF-GH%c%c", "BCDFGHJKLM"[i], 'Z'))
		if p := guesser.do(t, "POST", f.action, f.fields); p.status != 200 {
			t.Fatalf("guess %d: %d", i, p.status)
		}
	}
	f.fields.Set("otc", m["user_code"].(string))
	if p := guesser.do(t, "POST", f.action, f.fields); p.status != 429 || !strings.Contains(p.body, "Too many codes") || strings.Contains(p.body, "Are you trying") {
		t.Errorf("after ten wrong codes: %d %s", p.status, p.body)
	}
	// The limit is per address too: another browser on it is refused.
	if _, err := w.deviceLogin(t, newBrowser(w.srv), m["user_code"].(string), "continue"); err == nil {
		t.Errorf("another browser from the same address was not limited")
	}
	skew.Add(int64(16 * time.Minute))
	_, m = w.deviceCode(t, start, "")
	if _, err := w.deviceLogin(t, guesser, m["user_code"].(string), "continue"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}
