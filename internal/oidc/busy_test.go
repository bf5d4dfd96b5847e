package oidc_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oidc"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/secretbox"
	"github.com/ostiary/ostiary/internal/store/backendtest"
	"github.com/ostiary/ostiary/internal/tokens"
)

// busyUsers answers every password check as a saturated passwords.Hasher
// does (errs.Unavailable with code TooManyRequests, which
// passwords.TestPoolRefusesBeyondQueue pins); everything else is authn's.
type busyUsers struct{ *authn.Service }

func (busyUsers) AuthenticatePassword(context.Context, string, string, string, string, time.Time) (*iam.User, error) {
	return nil, errs.E(errs.Unavailable, "Too many requests are being processed. Please retry later.").WithCode("TooManyRequests")
}

// TestPasswordGrantBusyHasherIs429: when the password hasher's queue is
// full, the token endpoint answers 429 with Retry-After in Entra's error
// shape (temporarily_unavailable, AADSTS50000), which MSAL and azcore
// retry after the delay.
func TestPasswordGrantBusyHasherIs429(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := backendtest.Open(t)
	master := make([]byte, secretbox.KeySize)
	_, _ = rand.Read(master)
	box, err := secretbox.New(master)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.NewKeys(db, box, tokens.KeyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.EnsureKeys(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ts := httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	issuer, err := tokens.NewIssuer(keys, tokens.IssuerConfig{PublicURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	svc := authn.NewWith(db, authn.Config{Hasher: passwords.NewHasher(passwords.Params{Memory: 8 * 1024, Time: 1, Threads: 1}, 1, 0)})
	h, err := oidc.New(oidc.Config{PublicURL: ts.URL}, oidc.Deps{Tenants: svc, Clients: svc, Tokens: issuer, Keys: keys,
		SignIns: svc, Users: busyUsers{svc}, UserTokens: issuer})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(mux)
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	authntest.Graph(t, db, tenantID)
	app := authntest.Application(t, db, tenantID, authntest.AppSpec{DisplayName: "Daemon", Secrets: []authntest.Secret{{Value: secret}}})
	s := &server{mux: mux, url: ts.URL, http: ts.Client(), st: db, keys: keys}

	resp, body := s.token(t, tokenCall{form: url.Values{"grant_type": {"password"}, "client_id": {app.AppID}, "client_secret": {secret},
		"username": {"alice@" + domain}, "password": {"Us3r-Passw0rd-Long!"}, "scope": {"User.Read"}}})
	msg := checkError(t, resp, body, http.StatusTooManyRequests, "temporarily_unavailable", 50000)
	if !strings.Contains(msg, "retry later") {
		t.Errorf("message %q", msg)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want 1", ra)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}
