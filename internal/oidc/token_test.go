package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
)

func TestClientCredentials(t *testing.T) {
	s := newServer(t)
	cases := []struct {
		name string
		call tokenCall
	}{
		{"client_secret_post", tokenCall{form: clientCreds(s.daemon.AppID, secret, graphURI+"/.default")}},
		{"client_secret_basic, form-encoded", tokenCall{form: clientCreds("", "", graphURI+"/.default"), basicID: s.daemon.AppID, basicSecret: secret}},
		{"basic with matching client_id in body", tokenCall{form: clientCreds(strings.ToUpper(s.daemon.AppID), "", graphURI+"/.default"), basicID: s.daemon.AppID, basicSecret: secret}},
		{"as MSAL Go sends it", tokenCall{
			form: func() url.Values {
				v := clientCreds(s.daemon.AppID, secret, graphURI+"/.default openid offline_access profile")
				v.Set("client_info", "1")
				v.Set("claims", `{"access_token":{"xms_cc":{"values":["CP1"]}}}`)
				return v
			}(),
			header: http.Header{"Client-Request-Id": {"0b5f8c2e-1d3a-4e6f-9a7b-8c9d0e1f2a3b"}, "Return-Client-Request-Id": {"true"}, "X-Client-Sku": {"MSAL.Go"}},
		}},
		{"domain-name tenant", tokenCall{tenant: "CONTOSO.ostiary.test", form: clientCreds(s.daemon.AppID, secret, graphURI+"/.default")}},
		{"graph by appId", tokenCall{form: clientCreds(s.daemon.AppID, secret, iam.MicrosoftGraphAppID+"/.default")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.token(t, tc.call)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %v", resp.StatusCode, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" ||
				resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("headers %v", resp.Header)
			}
			if id := tc.call.header.Get("Client-Request-Id"); id != "" && resp.Header.Get("client-request-id") != id {
				t.Errorf("client-request-id not echoed: %q", resp.Header.Get("client-request-id"))
			}
			exp, ok := body["expires_in"].(float64)
			if body["token_type"] != "Bearer" || !ok || exp != float64(int(exp)) || exp < 3600 || exp > 5400 ||
				body["ext_expires_in"] != body["expires_in"] || len(body) != 4 {
				t.Fatalf("body = %v, want token_type, expires_in, ext_expires_in and access_token only", body)
			}
			raw := body["access_token"].(string)

			set, _ := s.jwks(t, tenantID)
			claims := verifyJose(t, set, raw)
			uti, _ := claims["uti"].(string)
			iat, _ := claims["iat"].(float64)
			if len(uti) != 22 || iat == 0 || claims["nbf"] != iat || claims["exp"] != iat+exp {
				t.Errorf("uti/iat/nbf/exp = %v %v %v %v", uti, iat, claims["nbf"], claims["exp"])
			}
			for _, k := range []string{"uti", "iat", "nbf", "exp"} {
				delete(claims, k)
			}
			want := map[string]any{
				"aud": graphURI, "iss": s.url + "/" + tenantID + "/v2.0",
				"appid": s.daemon.AppID, "appidacr": "1", "idtyp": "app",
				"oid": s.daemon.SPID, "sub": s.daemon.SPID, "tid": tenantID,
				"roles": []any{"Group.Read.All", "User.Read.All"}, "ver": "1.0",
			}
			if !reflect.DeepEqual(claims, want) {
				t.Errorf("claims =\n%v\nwant\n%v", claims, want)
			}
			c, err := s.verifier.VerifyAccessToken(raw, time.Now())
			if err != nil || c.ObjectID != s.daemon.SPID || c.TenantID != tenantID {
				t.Errorf("VerifyAccessToken: %+v, %v", c, err)
			}
		})
	}
}

func TestOtherResources(t *testing.T) {
	s := newServer(t)
	set, _ := s.jwks(t, tenantID)

	// A v2 resource: the audience is its appId, the client is azp.
	resp, body := s.token(t, tokenCall{form: clientCreds(s.daemon.AppID, secret, "api://orders/.default")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	c := verifyJose(t, set, body["access_token"].(string))
	if c["aud"] != s.orders.AppID || c["ver"] != "2.0" || c["azp"] != s.daemon.AppID || c["azpacr"] != "1" ||
		c["appid"] != nil || !reflect.DeepEqual(c["roles"], []any{"Orders.Read"}) {
		t.Errorf("v2 claims %v", c)
	}

	// A v1 resource with no grants: audience is the URI as registered, no roles.
	resp, body = s.token(t, tokenCall{form: clientCreds(s.daemon.AppID, secret, "HTTPS://legacy.contoso.test//.default")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	c = verifyJose(t, set, body["access_token"].(string))
	if c["aud"] != "https://legacy.contoso.test" || c["ver"] != "1.0" || c["appid"] != s.daemon.AppID {
		t.Errorf("v1 claims %v", c)
	}
	if _, ok := c["roles"]; ok {
		t.Errorf("roles present without grants: %v", c["roles"])
	}

	// An app may ask for a token for itself by appId.
	resp, body = s.token(t, tokenCall{form: clientCreds(s.daemon.AppID, secret, s.daemon.AppID+"/.default")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
}

func TestTokenErrors(t *testing.T) {
	s := newServer(t)
	const corr = "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	good := func() url.Values { return clientCreds(s.daemon.AppID, secret, graphURI+"/.default") }
	with := func(k, v string) url.Values {
		f := good()
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := []struct {
		name     string
		call     tokenCall
		status   int
		oauthErr string
		code     int
		msg      string // prefix of the message, when it matters
	}{
		{"wrong secret", tokenCall{form: with("client_secret", "wrong")}, 401, "invalid_client", 7000215, "Invalid client secret provided."},
		{"wrong secret, basic", tokenCall{form: with("client_secret", ""), basicID: s.daemon.AppID, basicSecret: "wrong"}, 401, "invalid_client", 7000215, ""},
		{"expired secret", tokenCall{form: with("client_secret", "expired-0123456789abcdefghijklmnopqrstuv")}, 401, "invalid_client", 7000222, "The provided client secret keys for app '" + s.daemon.AppID + "' are expired."},
		{"unknown client", tokenCall{form: with("client_id", "0f0e0d0c-0b0a-4908-8706-050403020100")}, 400, "unauthorized_client", 700016, "Application with identifier '0f0e0d0c-0b0a-4908-8706-050403020100' was not found in the directory 'Contoso'."},
		{"disabled client", tokenCall{form: clientCreds(s.disabled.AppID, secret, graphURI+"/.default")}, 400, "unauthorized_client", 7000112, ""},
		{"no credential", tokenCall{form: with("client_secret", "")}, 401, "invalid_client", 7000218, ""},
		{"client assertion", tokenCall{form: func() url.Values {
			f := with("client_secret", "")
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			f.Set("client_assertion", "eyJ.x.y")
			return f
		}()}, 401, "invalid_client", 50012, ""},
		{"basic and form secret", tokenCall{form: good(), basicID: s.daemon.AppID, basicSecret: secret}, 400, "invalid_request", 90023, ""},
		{"basic and other client_id", tokenCall{form: with("client_secret", ""), basicID: s.orders.AppID, basicSecret: secret}, 400, "invalid_request", 90023, ""},
		{"no client_id", tokenCall{form: with("client_id", "")}, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'."},
		{"unknown tenant GUID", tokenCall{tenant: "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d", form: good()}, 400, "invalid_request", 90002, "Tenant '0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d' not found."},
		{"unknown tenant domain", tokenCall{tenant: "fabrikam.test", form: good()}, 400, "invalid_request", 90002, "Tenant 'fabrikam.test' not found."},
		{"common", tokenCall{tenant: "common", form: good()}, 400, "unsupported_grant_type", 9001023, ""},
		{"organizations", tokenCall{tenant: "Organizations", form: good()}, 400, "unsupported_grant_type", 9001023, ""},
		{"consumers", tokenCall{tenant: "consumers", form: good()}, 400, "unsupported_grant_type", 9001023, ""},
		{"scope without .default", tokenCall{form: with("scope", graphURI+"/User.Read.All")}, 400, "invalid_scope", 1002012, "The provided value for scope https://graph.microsoft.com/User.Read.All is not valid."},
		{"bare Graph scope", tokenCall{form: with("scope", "User.Read")}, 400, "invalid_scope", 1002012, ""},
		{"only OIDC scopes", tokenCall{form: with("scope", "openid profile")}, 400, "invalid_scope", 1002012, ""},
		{"two resources", tokenCall{form: with("scope", graphURI+"/.default api://orders/.default")}, 400, "invalid_scope", 700022, ""},
		{"bare .default", tokenCall{form: with("scope", "/.default")}, 400, "invalid_scope", 70011, ""},
		{"no scope", tokenCall{form: with("scope", "")}, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'."},
		{"unknown resource", tokenCall{form: with("scope", "api://nothing/.default")}, 400, "invalid_resource", 500011, "The resource principal named api://nothing was not found in the tenant named Contoso."},
		{"token for itself by URI", tokenCall{form: with("scope", "api://daemon/.default")}, 400, "invalid_request", 90009, ""},
		{"no grant_type", tokenCall{form: with("grant_type", "")}, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."},
		{"unsupported grant", tokenCall{form: with("grant_type", "urn:ietf:params:oauth:grant-type:saml2-bearer")}, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type 'urn:ietf:params:oauth:grant-type:saml2-bearer'."},
		{"v1 resource parameter", tokenCall{form: with("resource", graphURI)}, 400, "invalid_request", 901002, ""},
		{"JSON body", tokenCall{form: good(), contentType: "application/json"}, 400, "invalid_request", 900144, ""},
		{"repeated parameter", tokenCall{form: func() url.Values { f := good(); f.Add("client_id", s.orders.AppID); return f }()}, 400, "invalid_request", 9002313, ""},
		{"body too large", tokenCall{form: with("claims", strings.Repeat("x", 70<<10))}, 400, "invalid_request", 9002313, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.call.header == nil {
				tc.call.header = http.Header{}
			}
			tc.call.header.Set("client-request-id", corr)
			resp, body := s.token(t, tc.call)
			msg := checkError(t, resp, body, tc.status, tc.oauthErr, tc.code)
			if !strings.HasPrefix(msg, tc.msg) {
				t.Errorf("message %q, want prefix %q", msg, tc.msg)
			}
			if body["correlation_id"] != corr {
				t.Errorf("correlation_id %v, want the client-request-id", body["correlation_id"])
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != "" {
				t.Error("a 401 with WWW-Authenticate reads as a challenge to openid-client")
			}
		})
	}

	// GET on the token endpoint.
	resp, body := s.get(t, "/"+tenantID+"/oauth2/v2.0/token")
	checkError(t, resp, body, 400, "invalid_request", 900561)
}

// TestRotation: a token signed before a rotation still verifies after it,
// and the JWKS then lists three keys.
func TestRotation(t *testing.T) {
	s := newServer(t)
	resp, body := s.token(t, tokenCall{form: clientCreds(s.daemon.AppID, secret, graphURI+"/.default")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	raw := body["access_token"].(string)
	if err := s.keys.Rotate(context.Background(), time.Now().Add(31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	set, keys := s.jwks(t, tenantID)
	if len(keys) != 3 {
		t.Fatalf("JWKS has %d keys after rotation, want previous, current and next", len(keys))
	}
	verifyJose(t, set, raw)
	if _, err := s.verifier.VerifyAccessToken(raw, time.Now()); err != nil {
		t.Fatalf("token from the previous key: %v", err)
	}
	resp, body = s.token(t, tokenCall{form: clientCreds(s.daemon.AppID, secret, graphURI+"/.default")})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
	newRaw := body["access_token"].(string)
	verifyJose(t, set, newRaw)
	if strings.SplitN(raw, ".", 2)[0] == strings.SplitN(newRaw, ".", 2)[0] {
		t.Error("the new token has the old header (kid): no rotation happened")
	}
}
