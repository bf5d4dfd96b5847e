package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oidc"
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
	s := newServerWith(t, func(d *oidc.Deps) { d.Users = busyUsers{d.Users.(*authn.Service)} })
	app := s.daemon
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
