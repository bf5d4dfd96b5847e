package oidc_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// discoveryFields are the fields of Entra's tenant document
// (reference/entra/data/discovery_samples.json).
var discoveryFields = []string{
	"token_endpoint", "token_endpoint_auth_methods_supported", "jwks_uri", "response_modes_supported",
	"subject_types_supported", "id_token_signing_alg_values_supported", "response_types_supported",
	"scopes_supported", "issuer", "request_uri_parameter_supported", "userinfo_endpoint",
	"authorization_endpoint", "device_authorization_endpoint", "http_logout_supported",
	"frontchannel_logout_supported", "end_session_endpoint", "claims_supported", "kerberos_endpoint",
	"tenant_region_scope", "cloud_instance_name", "cloud_graph_host_name", "msgraph_host", "rbac_url",
}

func TestOpenIDConfiguration(t *testing.T) {
	s := newServer(t)
	host := strings.TrimPrefix(s.url, "https://")
	for _, seg := range []string{tenantID, strings.ToUpper(tenantID), domain, "Contoso.Ostiary.Test"} {
		t.Run(seg, func(t *testing.T) {
			// MSAL Go appends a bare "?" when there is no query.
			resp, doc := s.get(t, "/"+seg+"/v2.0/.well-known/openid-configuration?")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %v", resp.StatusCode, doc)
			}
			if got := resp.Header.Get("Cache-Control"); got != "max-age=86400, private" {
				t.Errorf("Cache-Control %q", got)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("headers %v", resp.Header)
			}
			if len(doc) != len(discoveryFields) {
				t.Errorf("document has %d fields, want %d", len(doc), len(discoveryFields))
			}
			for _, f := range discoveryFields {
				if _, ok := doc[f]; !ok {
					t.Errorf("missing %s", f)
				}
			}
			base := s.url + "/" + tenantID
			want := map[string]any{
				"issuer":                                base + "/v2.0",
				"token_endpoint":                        base + "/oauth2/v2.0/token",
				"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
				"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
				"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
				"jwks_uri":                              base + "/discovery/v2.0/keys",
				"userinfo_endpoint":                     s.url + "/oidc/userinfo",
				"msgraph_host":                          host,
				"tenant_region_scope":                   "WW",
				"request_uri_parameter_supported":       false,
				"id_token_signing_alg_values_supported": []any{"RS256"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			}
			for k, v := range want {
				if !reflect.DeepEqual(doc[k], v) {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
			// MSAL Go derives the device code URL by replacing every "token".
			if strings.Count(doc["token_endpoint"].(string), "token") != 1 {
				t.Errorf("token_endpoint %v contains \"token\" more than once", doc["token_endpoint"])
			}
		})
	}
}

func TestOpenIDConfigurationAliases(t *testing.T) {
	s := newServer(t)
	for _, alias := range []string{"common", "organizations", "COMMON"} {
		resp, doc := s.get(t, "/"+alias+"/v2.0/.well-known/openid-configuration")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", alias, resp.StatusCode)
		}
		seg := strings.ToLower(alias)
		if doc["issuer"] != s.url+"/{tenantid}/v2.0" || doc["token_endpoint"] != s.url+"/"+seg+"/oauth2/v2.0/token" ||
			doc["tenant_region_scope"] != nil {
			t.Errorf("%s: issuer %v token_endpoint %v region %v", alias, doc["issuer"], doc["token_endpoint"], doc["tenant_region_scope"])
		}
	}
	for _, seg := range []string{"consumers", "fabrikam.test", "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d"} {
		resp, body := s.get(t, "/"+seg+"/v2.0/.well-known/openid-configuration")
		checkError(t, resp, body, 400, "invalid_tenant", 90002)
	}
}

func TestJWKS(t *testing.T) {
	s := newServer(t)
	set, keys := s.jwks(t, domain)
	if len(keys) != 2 || len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want current and next", len(keys))
	}
	published := s.keys.PublishedKeys()
	for i, k := range keys {
		if k["kty"] != "RSA" || k["use"] != "sig" || k["kid"] != published[i].KID || k["x5t"] != k["kid"] ||
			k["e"] != "AQAB" || k["issuer"] != s.url+"/"+tenantID+"/v2.0" || k["cloud_instance_name"] == "" {
			t.Errorf("key %d = %v", i, k)
		}
		if len(k) != 9 {
			t.Errorf("key %d has fields %v", i, keysOf(k))
		}
	}
	_, common := s.jwks(t, "common")
	if common[0]["issuer"] != s.url+"/{tenantid}/v2.0" {
		t.Errorf("common key issuer %v", common[0]["issuer"])
	}
	resp, body := s.get(t, "/fabrikam.test/discovery/v2.0/keys")
	checkError(t, resp, body, 400, "invalid_tenant", 90002)
}

func TestInstanceDiscovery(t *testing.T) {
	s := newServer(t)
	host := strings.TrimPrefix(s.url, "https://")
	q := url.Values{"api-version": {"1.1"}, "authorization_endpoint": {s.url + "/" + domain + "/oauth2/v2.0/authorize"}}
	resp, body := s.get(t, "/common/discovery/instance?"+q.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %v", resp.StatusCode, body)
	}
	want := map[string]any{
		"tenant_discovery_endpoint": s.url + "/" + domain + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []any{host}}},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %v\nwant %v", body, want)
	}
	q.Set("authorization_endpoint", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
	resp, body = s.get(t, "/common/discovery/instance?"+q.Encode())
	checkError(t, resp, body, 400, "invalid_instance", 50049)
}
