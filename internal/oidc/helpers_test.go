package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/authn/authntest"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/oidc"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/secretbox"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
	"github.com/ostiary/ostiary/internal/tokens"
)

const (
	tenantID = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	domain   = "contoso.ostiary.test"
	secret   = "Zq7~daemon.secret_value-0123456789abcdef"
	graphURI = "https://graph.microsoft.com"
)

// server is a token service on HTTPS loopback over a real SQLite store.
type server struct {
	mux      *http.ServeMux
	url      string
	http     *http.Client
	st       store.Store
	keys     *tokens.Keys
	verifier *tokens.Verifier
	graphSP  string
	// daemon holds User.Read.All and Group.Read.All on Graph and
	// Orders.Read on the orders API.
	daemon, orders, legacy, disabled authntest.App
}

func newServer(t testing.TB) *server { return newServerWith(t, nil) }

// newServerWith is newServer with a chance to change the handler's
// dependencies before it is built (a test double at a true boundary).
func newServerWith(t testing.TB, adjust func(*oidc.Deps)) *server {
	t.Helper()
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
	verifier, err := tokens.NewVerifier(keys, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	hasher := passwords.NewHasher(passwords.Params{Memory: 8 * 1024, Time: 1, Threads: 1}, 2, 8)
	svc := authn.NewWith(db, authn.Config{Hasher: hasher})
	deps := oidc.Deps{Tenants: svc, Clients: svc, Tokens: issuer, Keys: keys, SignIns: svc, Users: svc, UserTokens: issuer}
	if adjust != nil {
		adjust(&deps)
	}
	h, err := oidc.New(oidc.Config{PublicURL: ts.URL}, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.Register(mux)

	s := &server{mux: mux, url: ts.URL, http: ts.Client(), st: db, keys: keys, verifier: verifier}
	authntest.Tenant(t, db, tenantID, "Contoso", domain)
	s.graphSP = authntest.Graph(t, db, tenantID)
	past, future := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	longAgo := time.Now().Add(-72 * time.Hour)
	s.daemon = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Daemon", IdentifierURIs: []string{"api://daemon"},
		Secrets: []authntest.Secret{
			{Value: secret, Start: &past, End: &future},
			{Value: "expired-0123456789abcdefghijklmnopqrstuv", Start: &longAgo, End: &past},
		},
	})
	ordersRead := authntest.Role("Orders.Read")
	s.orders = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2,
		AppRoles: []iam.AppRole{ordersRead, authntest.Role("Orders.Write")},
	})
	s.legacy = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Legacy API", IdentifierURIs: []string{"https://legacy.contoso.test"},
	})
	s.disabled = authntest.Application(t, db, tenantID, authntest.AppSpec{
		DisplayName: "Disabled", Disabled: true, Secrets: []authntest.Secret{{Value: secret}},
	})
	for _, v := range []string{"User.Read.All", "Group.Read.All"} {
		authntest.Assign(t, db, tenantID, s.daemon.SPID, s.graphSP, authntest.GraphRoleID(t, v))
	}
	authntest.Assign(t, db, tenantID, s.daemon.SPID, s.orders.SPID, ordersRead.ID)
	return s
}

// tokenCall is one request to the token endpoint.
type tokenCall struct {
	tenant string
	form   url.Values
	// basicID and basicSecret, when set, go in an Authorization header,
	// form-encoded first as RFC 6749 §2.3.1 says.
	basicID, basicSecret string
	contentType          string
	header               http.Header
}

func (s *server) token(t testing.TB, c tokenCall) (*http.Response, map[string]any) {
	t.Helper()
	if c.tenant == "" {
		c.tenant = tenantID
	}
	req, err := http.NewRequest(http.MethodPost, s.url+"/"+c.tenant+"/oauth2/v2.0/token", strings.NewReader(c.form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if c.contentType != "" {
		req.Header.Set("Content-Type", c.contentType)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.basicID != "" {
		req.SetBasicAuth(formEncode(c.basicID), formEncode(c.basicSecret))
	}
	return s.do(t, req)
}

// formEncode encodes like openid-client's ClientSecretBasic, which escapes
// even '-', '.', '_' and '~'.
func formEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex2(c)))
		}
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

func (s *server) get(t testing.TB, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}

func (s *server) do(t testing.TB, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: status %d, body %q is not JSON: %v", req.Method, req.URL, resp.StatusCode, b, err)
	}
	return resp, m
}

// jwks fetches the published keys over HTTP into go-jose, which also checks
// that each x5t matches its x5c certificate and n/e match the certificate.
func (s *server) jwks(t testing.TB, tenant string) (jose.JSONWebKeySet, []map[string]any) {
	t.Helper()
	resp, err := s.http.Get(s.url + "/" + tenant + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("go-jose cannot read the JWKS: %v\n%s", err, b)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return set, raw.Keys
}

// verifyJose checks a token with go-jose against the JWKS and returns all
// its claims.
func verifyJose(t testing.TB, set jose.JSONWebKeySet, raw string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Headers) != 1 || len(set.Key(tok.Headers[0].KeyID)) != 1 {
		t.Fatalf("kid %q is not in the JWKS", tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(set.Key(tok.Headers[0].KeyID)[0].Key, &claims); err != nil {
		t.Fatalf("go-jose rejects the signature: %v", err)
	}
	return claims
}

var (
	guidRE   = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	tsRE     = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`
	errDescR = regexp.MustCompile(`^AADSTS(\d+): (.+)\r\nTrace ID: (` + guidRE + `)\r\nCorrelation ID: (` + guidRE + `)\r\nTimestamp: (` + tsRE + `)$`)
)

// checkError checks an error response has Entra's exact shape and returns
// the message after "AADSTSnnnn: ".
func checkError(t testing.TB, resp *http.Response, body map[string]any, status int, oauthErr string, code int) string {
	t.Helper()
	if resp.StatusCode != status || body["error"] != oauthErr {
		t.Fatalf("status %d error %v, want %d %s: %v", resp.StatusCode, body["error"], status, oauthErr, body["error_description"])
	}
	desc, _ := body["error_description"].(string)
	m := errDescR.FindStringSubmatch(desc)
	if m == nil {
		t.Fatalf("error_description %q does not have Entra's shape", desc)
	}
	if m[1] != itoa(code) {
		t.Fatalf("AADSTS%s, want %d: %s", m[1], code, desc)
	}
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 || codes[0] != float64(code) {
		t.Errorf("error_codes = %v", body["error_codes"])
	}
	if body["trace_id"] != m[3] || body["correlation_id"] != m[4] || body["timestamp"] != m[5] {
		t.Errorf("trace/correlation/timestamp fields disagree with the description: %v", body)
	}
	if body["error_uri"] != "" && !strings.HasSuffix(body["error_uri"].(string), "/error?code="+m[1]) {
		t.Errorf("error_uri = %v", body["error_uri"])
	}
	if len(body) != 7 {
		t.Errorf("error body has fields %v, want Entra's seven", keysOf(body))
	}
	if resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return m[2]
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func clientCreds(id, secret, scope string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	if id != "" {
		v.Set("client_id", id)
	}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	return v
}
