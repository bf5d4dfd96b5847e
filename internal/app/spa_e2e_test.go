package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app"
)

const spaRedirect = "https://spa.example/app"

// originPost posts a token request with an Origin header, as a browser's
// fetch does, and returns the status, the body and the CORS header.
func (w *userWorld) originPost(t testing.TB, origin string, form url.Values) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest("POST", w.srv.URL+"/"+w.srv.Creds.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := w.srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token response is not JSON: %d %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, m, resp.Header.Get("Access-Control-Allow-Origin")
}

// TestSPATokenEndpoint: a single-page app redeems its code from its own
// origin: the token endpoint answers the preflight and lets exactly the
// origins of the client's spa redirect URIs read its answers, errors
// included. Refresh tokens of a code issued to a spa redirect URI last a
// fixed 24 hours, which rotation does not extend (AADSTS700084); those of
// other platforms slide.
func TestSPATokenEndpoint(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w := newUserWorld(t, app.Options{Now: now})
	r := call(t, w.srv, "POST", "/v1.0/applications", w.tok, map[string]any{"displayName": "Planner SPA",
		"spa": map[string]any{"redirectUris": []string{spaRedirect}}}, 201)
	spa := clientApp{ID: idOf(t, r)}
	spa.AppID, _ = r.JSON(t)["appId"].(string)
	spa.SPID = idOf(t, call(t, w.srv, "POST", "/v1.0/servicePrincipals", w.tok, map[string]any{"appId": spa.AppID}, 201))
	consent(t, w.srv, w.tok, spa.SPID, "User.Read")

	// Preflight.
	req, _ := http.NewRequest("OPTIONS", w.srv.URL+"/"+w.srv.Creds.TenantID+"/oauth2/v2.0/token", nil)
	req.Header.Set("Origin", "https://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-client-sku")
	resp, err := w.srv.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://spa.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "x-client-sku") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// The SPA signs alice in and redeems the code from its origin.
	verifier, challenge := pkcePair(t)
	q := url.Values{"client_id": {spa.AppID}, "response_type": {"code"}, "redirect_uri": {spaRedirect}, "scope": {"User.Read openid offline_access"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {"s"}}
	redeem := url.Values{"grant_type": {"authorization_code"}, "client_id": {spa.AppID}, "redirect_uri": {spaRedirect},
		"code_verifier": {verifier}, "scope": {"User.Read openid offline_access"}}
	// Redeemed from a server (no Origin header), a SPA's code is refused
	// (AADSTS9002327), and used up like any code presented.
	redeem.Set("code", w.signIn(t, newBrowser(w.srv), "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/authorize?"+q.Encode()).Get("code"))
	if st, m := w.postToken(t, redeem); st != 400 || m["error"] != "invalid_request" || aadstsCode(m) != 9002327 {
		t.Errorf("a SPA's code redeemed without an Origin: %d %v", st, m)
	}
	redeem.Set("code", w.signIn(t, newBrowser(w.srv), "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/authorize?"+q.Encode()).Get("code"))
	st, m, acao := w.originPost(t, "https://spa.example", redeem)
	if st != 200 || acao != "https://spa.example" || m["refresh_token"] == nil {
		t.Fatalf("redeem from the SPA's origin: %d %q %v", st, acao, m)
	}
	rt := m["refresh_token"].(string)
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {spa.AppID}, "refresh_token": {rt}, "scope": {"User.Read offline_access"}}
	}
	// So is its refresh token, which stays usable from the browser.
	if st, m := w.postToken(t, refresh(rt)); st != 400 || aadstsCode(m) != 9002327 {
		t.Errorf("a SPA's refresh token redeemed without an Origin: %d %v", st, m)
	}
	// Another origin may not read the answer (a bad token here, so as not
	// to spend the real one); the SPA's own may, errors too.
	if st, _, acao := w.originPost(t, "https://evil.example", refresh(fakeRefreshToken(t, w.srv.Creds.TenantID))); st != 400 || acao != "" {
		t.Errorf("another origin: %d %q", st, acao)
	}
	if st, _, acao := w.originPost(t, "https://spa.example", refresh(fakeRefreshToken(t, w.srv.Creds.TenantID))); st != 400 || acao != "https://spa.example" {
		t.Errorf("an error for the SPA's origin: %d %q", st, acao)
	}
	// A client without that spa redirect URI gives no origin access.
	if _, _, acao := w.originPost(t, "https://spa.example", url.Values{"grant_type": {"refresh_token"}, "client_id": {w.client.AppID},
		"refresh_token": {fakeRefreshToken(t, w.srv.Creds.TenantID)}}); acao != "" {
		t.Errorf("a client without spa redirect URIs: %q", acao)
	}

	// Without a credential the SPA's application redeems only what was
	// issued to its spa platform: a code of its web redirect URI needs the
	// client's secret, even with PKCE.
	call(t, w.srv, "PATCH", "/v1.0/applications/"+spa.ID, w.tok, map[string]any{"web": map[string]any{"redirectUris": []string{"https://spa.example/web"}}}, 204)
	v3, c3 := pkcePair(t)
	q.Set("redirect_uri", "https://spa.example/web")
	q.Set("code_challenge", c3)
	webCode := w.signIn(t, newBrowser(w.srv), "/"+w.srv.Creds.TenantID+"/oauth2/v2.0/authorize?"+q.Encode()).Get("code")
	redeem.Set("code", webCode)
	redeem.Set("redirect_uri", "https://spa.example/web")
	redeem.Set("code_verifier", v3)
	if st, m, _ := w.originPost(t, "https://spa.example", redeem); st != 401 || aadstsCode(m) != 7000218 {
		t.Errorf("web code of the SPA's app without a secret: %d %v", st, m)
	}

	// Rotation within the 24 hours works but does not extend them.
	skew.Add(int64(12 * time.Hour))
	st, m, _ = w.originPost(t, "https://spa.example", refresh(rt))
	if st != 200 || m["refresh_token"] == nil {
		t.Fatalf("refresh after 12 hours: %d %v", st, m)
	}
	rt = m["refresh_token"].(string)
	skew.Add(int64(12*time.Hour + time.Second))
	st, m, acao = w.originPost(t, "https://spa.example", refresh(rt))
	if st != 400 || m["error"] != "invalid_grant" || aadstsCode(m) != 700084 || acao != "https://spa.example" {
		t.Fatalf("refresh after 24 hours: %d %q %v", st, acao, m)
	}

	// A public client's refresh token (loopback redirect) slides.
	v2, c2 := pkcePair(t)
	nativeCode := w.signIn(t, newBrowser(w.srv), w.authorizeURL(c2)).Get("code")
	st, m = w.redeemAt(t, w.srv.Creds.TenantID, nativeCode, v2)
	if st != 200 {
		t.Fatalf("native redeem: %d %v", st, m)
	}
	native := m["refresh_token"].(string)
	for range 2 {
		skew.Add(int64(20 * time.Hour))
		st, m = w.refresh(t, native, "User.Read")
		if st != 200 {
			t.Fatalf("native refresh: %d %v", st, m)
		}
		native = m["refresh_token"].(string)
	}
}
