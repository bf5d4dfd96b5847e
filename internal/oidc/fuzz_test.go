package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenEndpoint sends arbitrary bodies, content types, Basic headers
// and tenant segments to the token endpoint in process: it must never panic
// or fail with a server error, and every refusal must be Entra's JSON shape.
func FuzzTokenEndpoint(f *testing.F) {
	s := newServer(f)
	good := clientCreds(s.daemon.AppID, secret, graphURI+"/.default").Encode()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(s.daemon.AppID+":"+secret))
	for _, seed := range []struct{ tenant, ct, auth, body string }{
		{tenantID, "application/x-www-form-urlencoded", "", good},
		{domain, "application/x-www-form-urlencoded", basic, "grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"},
		{"common", "application/x-www-form-urlencoded; charset=utf-8", "", good},
		{tenantID, "application/json", "", `{"grant_type":"client_credentials"}`},
		{tenantID, "application/x-www-form-urlencoded", "Basic !!!", "grant_type=client_credentials&scope=%zz"},
		{tenantID, "application/x-www-form-urlencoded", "Basic JXp6OiV6eg==", good},
		{"", "", "", ""},
		{tenantID, "multipart/form-data; boundary=x", "", "--x--"},
		{tenantID, "application/x-www-form-urlencoded", "", "grant_type=client_credentials&scope=+%2F.default+api%3A%2F%2F%2F.default&client_id=" + s.daemon.AppID},
		{tenantID, "application/x-www-form-urlencoded", "", "grant_type=refresh_token&refresh_token=0.AAAA&client_id=" + s.daemon.AppID},
		{"common", "application/x-www-form-urlencoded", "", "grant_type=refresh_token&refresh_token=0." + strings.Repeat("A", 64) + "&client_id=" + s.daemon.AppID + "&scope=User.Read"},
		{tenantID, "application/x-www-form-urlencoded", "", "grant_type=password&username=a%40" + domain + "&password=x&scope=User.Read+openid&client_id=" + s.daemon.AppID + "&client_secret=" + secret},
		{"organizations", "application/x-www-form-urlencoded", "", "grant_type=password&username=nobody&password=&scope=%2F%2F&client_id=" + s.daemon.AppID},
		{"consumers", "application/x-www-form-urlencoded", "", "grant_type=password&username=x%40y&password=p&scope=api%3A%2F%2Fa%2Fx+api%3A%2F%2Fb%2Fy&client_id=x"},
	} {
		f.Add(seed.tenant, seed.ct, seed.auth, seed.body)
	}
	f.Fuzz(func(t *testing.T, tenant, ct, auth, body string) {
		req := httptest.NewRequest(http.MethodPost, "/"+url.PathEscape(tenant)+"/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		s.mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q %q %q %q: %s", rec.Code, tenant, ct, auth, body, rec.Body)
		}
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed ||
			rec.Code == http.StatusTemporaryRedirect || rec.Code == http.StatusMovedPermanently {
			return // the segment changed the route (contained "/", or was empty and the mux cleaned the path)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d, body not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if _, ok := m["error_codes"]; !ok || m["error"] == nil {
				t.Fatalf("status %d without Entra's error shape: %v", rec.Code, m)
			}
		}
	})
}
