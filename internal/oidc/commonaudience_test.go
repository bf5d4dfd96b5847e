package oidc_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/ostiary/ostiary/internal/authn/authntest"
)

// TestSingleTenantAppOnCommon: an application that is not multi-tenant is
// refused with AADSTS50194 (invalid_request, 400) when a user grant uses
// it through /common or /organizations, once its credential is checked;
// on its tenant's own endpoint, and for a multi-tenant application, the
// grant goes on (here to the unknown user or the unknown refresh token).
func TestSingleTenantAppOnCommon(t *testing.T) {
	s := newServer(t)
	multi := authntest.Application(t, s.st, tenantID, authntest.AppSpec{
		DisplayName: "Multi", SignInAudience: "AzureADMultipleOrgs", Secrets: []authntest.Secret{{Value: secret}},
	})
	ropc := func(clientID, clientSecret string) url.Values {
		return url.Values{"grant_type": {"password"}, "username": {"nobody@" + domain}, "password": {"x"},
			"scope": {"https://graph.microsoft.com/.default"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	}
	refresh := func(clientID string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshTokenOf(t, tenantID)},
			"client_id": {clientID}, "client_secret": {secret}}
	}
	for _, seg := range []string{"common", "organizations", "Common"} {
		for name, form := range map[string]url.Values{"password": ropc(s.daemon.AppID, secret), "refresh_token": refresh(s.daemon.AppID)} {
			resp, body := s.token(t, tokenCall{tenant: seg, form: form})
			msg := checkError(t, resp, body, 400, "invalid_request", 50194)
			want := "Application '" + s.daemon.AppID + "'(Daemon) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant."
			if msg != want {
				t.Errorf("%s on /%s: message %q", name, seg, msg)
			}
		}
		// The credential is checked first.
		resp, body := s.token(t, tokenCall{tenant: seg, form: ropc(s.daemon.AppID, "wrong-0123456789abcdefghijklmnopqrstuv")})
		checkError(t, resp, body, 401, "invalid_client", 7000215)
		// A multi-tenant application goes on to the user.
		resp, body = s.token(t, tokenCall{tenant: seg, form: ropc(multi.AppID, secret)})
		if code := errorCode(body); resp.StatusCode == 200 || code == 50194 {
			t.Errorf("multi-tenant app on /%s: %d %v", seg, resp.StatusCode, body["error_description"])
		}
		resp, body = s.token(t, tokenCall{tenant: seg, form: refresh(multi.AppID)})
		if code := errorCode(body); resp.StatusCode == 200 || code == 50194 {
			t.Errorf("multi-tenant app refreshing on /%s: %d %v", seg, resp.StatusCode, body["error_description"])
		}
	}
	for _, seg := range []string{tenantID, domain} {
		resp, body := s.token(t, tokenCall{tenant: seg, form: ropc(s.daemon.AppID, secret)})
		if code := errorCode(body); resp.StatusCode == 200 || code == 50194 {
			t.Errorf("single-tenant app on /%s: %d %v", seg, resp.StatusCode, body["error_description"])
		}
	}
}

// refreshTokenOf is a well-formed refresh token value of tenantID that
// was never issued.
func refreshTokenOf(t *testing.T, tenantID string) string {
	t.Helper()
	id, err := uuid.Parse(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16+32)
	copy(b, id[:])
	_, _ = rand.Read(b[16:])
	return "0." + base64.RawURLEncoding.EncodeToString(b)
}

func errorCode(body map[string]any) int {
	codes, _ := body["error_codes"].([]any)
	if len(codes) == 0 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}
