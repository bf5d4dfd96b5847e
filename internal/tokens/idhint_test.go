package tokens

import (
	"testing"
	"time"
)

// TestIDTokenHint: an ID token of this server is a logout hint even long
// after it expired, and carries auth_time and sid when asked; an access
// token, another issuer's token or a forged one is not a hint.
func TestIDTokenHint(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	const user = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
	signedIn := t0.Add(-10 * time.Minute)
	id, err := f.issuer.IssueIDToken(IDTokenRequest{TenantID: testTenant, ClientAppID: testClientApp, User: UserInfo{ID: user, UserPrincipalName: "a@b"},
		AuthTime: signedIn, SessionID: "sess-1", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	c := decodeSegment(t, id.Raw, 1)
	if c["auth_time"] != float64(signedIn.Unix()) || c["sid"] != "sess-1" {
		t.Errorf("auth_time and sid: %v", c)
	}
	plain, err := f.issuer.IssueIDToken(IDTokenRequest{TenantID: testTenant, ClientAppID: testClientApp, User: UserInfo{ID: user}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeSegment(t, plain.Raw, 1); c["auth_time"] != nil || c["sid"] != nil {
		t.Errorf("claims not asked for: %v", c)
	}

	h, err := f.verify.VerifyIDTokenHint(id.Raw)
	if err != nil || h.TenantID != testTenant || h.ClientAppID != testClientApp || h.ObjectID != user || h.SessionID != "sess-1" || !h.Expiry.Before(time.Now()) {
		t.Fatalf("hint: %+v %v", h, err)
	}
	app, err := f.issuer.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verify.VerifyIDTokenHint(app.Raw); err == nil {
		t.Error("an access token was taken for an ID token hint")
	}
	other := newFixture(t, KeyConfig{})
	foreign, _ := other.issuer.IssueIDToken(IDTokenRequest{TenantID: testTenant, ClientAppID: testClientApp, User: UserInfo{ID: user}, Now: t0})
	if _, err := f.verify.VerifyIDTokenHint(foreign.Raw); err == nil {
		t.Error("a token signed by another key set was taken for a hint")
	}
	if _, err := f.verify.VerifyIDTokenHint(id.Raw[:len(id.Raw)-4] + "AAAA"); err == nil {
		t.Error("a forged hint was accepted")
	}
}
