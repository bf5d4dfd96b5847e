package authmethods

import (
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/secretbox"
)

const (
	tokenTenant = "8d9c7f0a-1111-4a2b-9c3d-0123456789ab"
	tokenUser   = "5e0b2a1c-2222-4d3e-8f4a-0123456789ab"
)

var tokenNow = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// tokenService is just enough of a Service to seal and open handles.
func tokenService(t testing.TB) *Service {
	t.Helper()
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{challenges: box, now: func() time.Time { return tokenNow }}
}

// validToken is a named sign-in's token as BeginPasskeyLogin makes it.
func validToken() loginToken {
	return loginToken{UserID: tokenUser, Expires: tokenNow.Add(ceremonyLifetime).Unix(), Session: webauthn.SessionData{
		Challenge: "c2lnbi1pbi1jaGFsbGVuZ2UtMzItYnl0ZXMtbG9uZyEh", RelyingPartyID: "login.ostiary.test",
		UserID: userHandle(tokenUser), AllowedCredentialIDs: [][]byte{[]byte("credential-1")},
		UserVerification: protocol.VerificationRequired, Expires: tokenNow.Add(ceremonyLifetime)}}
}

func mustSeal(t testing.TB, s *Service, tenantID string, tok loginToken) string {
	t.Helper()
	h, err := s.sealLoginToken(tenantID, tok)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// What the opener checks beyond the seal: a token the server itself
// sealed is still refused when it is expired, lives too long, relaxes
// user verification, has no challenge, or names users inconsistently; a
// token sealed for another type or tenant, or under another key, does not
// open.
func TestOpenLoginTokenChecks(t *testing.T) {
	s := tokenService(t)
	ok := mustSeal(t, s, tokenTenant, validToken())
	got, err := s.openLoginToken(tokenTenant, ok, tokenNow)
	if err != nil || got.UserID != tokenUser || got.Session.Challenge != validToken().Session.Challenge {
		t.Fatalf("a valid token: %+v %v", got, err)
	}
	discoverable := validToken()
	discoverable.UserID, discoverable.Session.UserID, discoverable.Session.AllowedCredentialIDs = "", nil, nil
	if _, err := s.openLoginToken(tokenTenant, mustSeal(t, s, tokenTenant, discoverable), tokenNow); err != nil {
		t.Fatalf("a discoverable token: %v", err)
	}

	bad := map[string]func(*loginToken){
		"expired":          func(l *loginToken) { l.Expires = tokenNow.Unix() },
		"long past":        func(l *loginToken) { l.Expires = tokenNow.Add(-time.Hour).Unix() },
		"no expiry":        func(l *loginToken) { l.Expires = 0 },
		"far future":       func(l *loginToken) { l.Expires = tokenNow.Add(time.Hour).Unix() },
		"uv preferred":     func(l *loginToken) { l.Session.UserVerification = protocol.VerificationPreferred },
		"uv unset":         func(l *loginToken) { l.Session.UserVerification = "" },
		"no challenge":     func(l *loginToken) { l.Session.Challenge = "" },
		"other user":       func(l *loginToken) { l.UserID = "00000000-0000-0000-0000-000000000001" },
		"user, no handle":  func(l *loginToken) { l.Session.UserID = nil },
		"handle, no user":  func(l *loginToken) { l.UserID = "" },
		"handle malformed": func(l *loginToken) { l.Session.UserID = []byte("x") },
	}
	for name, change := range bad {
		tok := validToken()
		change(&tok)
		if _, err := s.openLoginToken(tokenTenant, mustSeal(t, s, tokenTenant, tok), tokenNow); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}

	plain, _ := json.Marshal(validToken())
	seal := func(ad string) string {
		b, err := s.challenges.Seal(plain, []byte(ad))
		if err != nil {
			t.Fatal(err)
		}
		return loginTokenPrefix + tokenEncoding.EncodeToString(b)
	}
	other := tokenService(t)
	foreign := map[string]string{
		"registration type": seal("authmethods.challenge\x00" + ceremonyPasskeyCreate + "\x00" + tokenTenant),
		"other tenant":      mustSeal(t, s, "0b5e9c2d-3333-4e4f-9a5b-0123456789ab", validToken()),
		"no tenant":         mustSeal(t, s, "", validToken()),
		"stored secret AD":  seal(string(secretAD(tokenTenant, "authenticationMethodCeremony", "x"))),
		"other key":         mustSeal(t, other, tokenTenant, validToken()),
		"garbage sealed":    loginTokenPrefix + tokenEncoding.EncodeToString([]byte("not sealed at all, just bytes....")),
	}
	for name, h := range foreign {
		if _, err := s.openLoginToken(tokenTenant, h, tokenNow); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	// No tenant opens nothing, not even a token sealed for no tenant.
	if _, err := s.openLoginToken("", foreign["no tenant"], tokenNow); errs.KindOf(err) != errs.Invalid {
		t.Errorf("opened for no tenant: %v", err)
	}
	// The error says nothing of what was wrong.
	_, e1 := s.openLoginToken(tokenTenant, foreign["other tenant"], tokenNow)
	_, e2 := s.openLoginToken(tokenTenant, ok, tokenNow.Add(time.Hour))
	if errs.As(e1).Message != errs.As(e2).Message || errs.As(e1).Code != errs.As(e2).Code {
		t.Errorf("errors differ: %v / %v", e1, e2)
	}
}

// The largest handle a named sign-in can need (the most passkeys a user
// may have, each with the longest credential id WebAuthn allows) fits
// the opener's bound and a sign-in form.
func TestLoginTokenWorstCaseSize(t *testing.T) {
	s := tokenService(t)
	tok := validToken()
	tok.Session.AllowedCredentialIDs = nil
	for range maxPerType {
		id := make([]byte, 1023)
		_, _ = rand.Read(id)
		tok.Session.AllowedCredentialIDs = append(tok.Session.AllowedCredentialIDs, id)
	}
	h := mustSeal(t, s, tokenTenant, tok)
	if _, err := s.openLoginToken(tokenTenant, h, tokenNow); err != nil {
		t.Fatalf("a worst-case handle of %d bytes: %v", len(h), err)
	}
	if len(h) > 20<<10 {
		t.Errorf("a worst-case handle takes %d bytes of a 32 KiB form", len(h))
	}
}
