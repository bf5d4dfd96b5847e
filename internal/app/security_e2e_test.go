package app_test

import (
	"net/url"
	"testing"

	"github.com/ostiary/ostiary/internal/app"
)

// TestAuthCodeWithoutPKCENeedsClientCredential: a code issued to a web
// redirect URI without a PKCE challenge can only be redeemed by the client
// proving who it is. An application that also allows public client flows
// must not let anyone holding an intercepted code redeem it with nothing
// but the client id.
func TestAuthCodeWithoutPKCENeedsClientCredential(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	const webRedirect = "https://notes.example/signin-oidc"
	call(t, w.srv, "PATCH", "/v1.0/applications/"+w.appObjectID(t), w.tok,
		map[string]any{"web": map[string]any{"redirectUris": []string{webRedirect}}}, 204)

	b := newBrowser(w.srv)
	q := w.signIn(t, b, w.authorizeURL("", "redirect_uri", webRedirect, "code_challenge_method", ""))
	code := q.Get("code")
	if code == "" {
		t.Fatalf("web sign-in without PKCE: %v", q)
	}
	st, m := w.postToken(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {w.client.AppID}, "code": {code},
		"redirect_uri": {webRedirect}, "scope": {"User.Read"}})
	if st == 200 || m["access_token"] != nil {
		t.Fatalf("a code issued without PKCE was redeemed with no client credential: %d %v", st, m)
	}
	if aadstsCode(m) != 7000218 {
		t.Errorf("want AADSTS7000218 (credential required), got %d %v", st, m)
	}
}

// appObjectID returns the object id of the world's client application.
func (w *userWorld) appObjectID(t testing.TB) string {
	t.Helper()
	return idOf(t, call(t, w.srv, "GET", "/v1.0/applications(appId='"+w.client.AppID+"')", w.tok, nil, 200))
}

// TestRefreshTokenOfConfidentialClientNeedsCredential: a refresh token
// issued to a client that authenticated with its secret stays bound to
// that credential. An application that also allows public client flows
// must not let a stolen refresh token be redeemed with the client id
// alone.
func TestRefreshTokenOfConfidentialClientNeedsCredential(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	pw := call(t, w.srv, "POST", "/v1.0/applications/"+w.appObjectID(t)+"/addPassword", w.tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "web"}}, 200).JSON(t)
	secret, _ := pw["secretText"].(string)
	st, m := w.postToken(t, url.Values{"grant_type": {"password"}, "client_id": {w.client.AppID}, "client_secret": {secret},
		"username": {w.upn}, "password": {userPassword}, "scope": {"User.Read offline_access"}})
	rt, _ := m["refresh_token"].(string)
	if st != 200 || rt == "" {
		t.Fatalf("confidential ROPC: %d %v", st, m)
	}
	st, m = w.refresh(t, rt, "User.Read")
	if st == 200 || m["access_token"] != nil {
		t.Fatalf("a confidential client's refresh token was redeemed without its credential: %d %v", st, m)
	}
	if aadstsCode(m) != 7000218 {
		t.Errorf("want AADSTS7000218, got %d %v", st, m)
	}
	// With its secret the client still refreshes, and the new token stays
	// bound.
	st, m = w.postToken(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {w.client.AppID}, "client_secret": {secret},
		"refresh_token": {rt}, "scope": {"User.Read"}})
	rt2, _ := m["refresh_token"].(string)
	if st != 200 || rt2 == "" {
		t.Fatalf("confidential refresh: %d %v", st, m)
	}
	if st, m = w.refresh(t, rt2, "User.Read"); st == 200 || aadstsCode(m) != 7000218 {
		t.Errorf("rotated refresh token without the credential: %d %v", st, m)
	}
	// A public client's own refresh token still needs nothing.
	st, m = w.ropc(t, userPassword, "User.Read offline_access")
	if st != 200 {
		t.Fatalf("public ROPC: %d %v", st, m)
	}
	if st, m = w.refresh(t, m["refresh_token"].(string), "User.Read"); st != 200 {
		t.Errorf("public refresh: %d %v", st, m)
	}
}

// TestDeviceCodeOfConfidentialClientNeedsCredential: a device code asked
// for with the client's secret is polled with it too, even when the
// application also allows public client flows; otherwise anyone who learned
// the device code could redeem it as that client.
func TestDeviceCodeOfConfidentialClientNeedsCredential(t *testing.T) {
	t.Parallel()
	w := newUserWorld(t, app.Options{})
	pw := call(t, w.srv, "POST", "/v1.0/applications/"+w.appObjectID(t)+"/addPassword", w.tok,
		map[string]any{"passwordCredential": map[string]any{"displayName": "device"}}, 200).JSON(t)
	secret, _ := pw["secretText"].(string)
	st, m := w.deviceCode(t, url.Values{"client_id": {w.client.AppID}, "client_secret": {secret}, "scope": {"User.Read"}}, "")
	device, _ := m["device_code"].(string)
	if st != 200 || device == "" {
		t.Fatalf("device code with the secret: %d %v", st, m)
	}
	grant := "urn:ietf:params:oauth:grant-type:device_code"
	st, m = w.postToken(t, url.Values{"grant_type": {grant}, "client_id": {w.client.AppID}, "device_code": {device}})
	if st == 200 || aadstsCode(m) != 7000218 {
		t.Fatalf("polled without the credential: %d %v", st, m)
	}
	// With the credential the poll is accepted (the refused poll above
	// counted towards the polling interval, hence slow_down is fine too).
	st, m = w.postToken(t, url.Values{"grant_type": {grant}, "client_id": {w.client.AppID}, "client_secret": {secret}, "device_code": {device}})
	if m["error"] != "authorization_pending" && m["error"] != "slow_down" {
		t.Fatalf("polled with the credential: %d %v", st, m)
	}
	// A public client's own device code still needs nothing.
	st, m = w.deviceCode(t, url.Values{"client_id": {w.client.AppID}, "scope": {"User.Read"}}, "")
	if st != 200 {
		t.Fatalf("public device code: %d %v", st, m)
	}
	st, m = w.postToken(t, url.Values{"grant_type": {grant}, "client_id": {w.client.AppID}, "device_code": {m["device_code"].(string)}})
	if m["error"] != "authorization_pending" {
		t.Fatalf("public poll: %d %v", st, m)
	}
}
