package authn_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/authn"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// testCert is a self-signed RSA certificate and its key.
type testCert struct {
	der []byte
	key *rsa.PrivateKey
}

func newTestCert(t testing.TB, notBefore, notAfter time.Time) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "client"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{der: der, key: key}
}

func (c testCert) x5t() string {
	s := sha1.Sum(c.der) //nolint:gosec // thumbprint
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func (c testCert) x5tS256() string {
	s := sha256.Sum256(c.der)
	return base64.StdEncoding.EncodeToString(s[:]) // as MSAL Go sends it
}

// addKeyCredential appends a Verify certificate to the application's
// keyCredentials, as the directory stores it.
func addKeyCredential(t *testing.T, st store.Store, appObjectID string, c testCert, start, end time.Time) string {
	t.Helper()
	keyID := iam.NewID()
	err := st.Write(context.Background(), func(w store.Writer) error {
		o, err := w.Get(tenantID, iam.KindApplication, appObjectID)
		if err != nil {
			return err
		}
		var doc map[string]any
		if err := json.Unmarshal(o.Data, &doc); err != nil {
			return err
		}
		keys, _ := doc["keyCredentials"].([]any)
		doc["keyCredentials"] = append(keys, map[string]any{"keyId": keyID, "type": "AsymmetricX509Cert", "usage": "Verify",
			"key": base64.StdEncoding.EncodeToString(c.der), "startDateTime": start.UTC(), "endDateTime": end.UTC()})
		if o.Data, err = json.Marshal(doc); err != nil {
			return err
		}
		return w.Update(o)
	})
	if err != nil {
		t.Fatal(err)
	}
	return keyID
}

// sign signs claims with key, with the given algorithm and extra headers.
func sign(t testing.TB, key *rsa.PrivateKey, alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: headers}
	opts.WithType("JWT")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

const tokenEndpoint = "https://login.ostiary.test/" + tenantID + "/oauth2/v2.0/token"

func assertionClaims(appID string) map[string]any {
	return map[string]any{"aud": tokenEndpoint, "iss": appID, "sub": appID, "jti": iam.NewID(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

func TestAuthenticateClientAssertion(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	cert := newTestCert(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	keyID := addKeyCredential(t, w.st, w.client.ObjectID, cert, now.Add(-time.Hour), now.Add(24*time.Hour))
	old := newTestCert(t, now.Add(-48*time.Hour), now.Add(-time.Hour))
	addKeyCredential(t, w.st, w.client.ObjectID, old, now.Add(-48*time.Hour), now.Add(-time.Hour))
	other := newTestCert(t, now.Add(-time.Hour), now.Add(time.Hour))

	req := func(raw string) authn.ClientAssertion {
		return authn.ClientAssertion{TenantID: tenantID, ClientID: w.client.AppID, Assertion: raw,
			Audiences: []string{tokenEndpoint, "https://login.ostiary.test/" + domain + "/oauth2/v2.0/token"}, Now: now}
	}
	ps256 := map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256()}
	rs256 := map[jose.HeaderKey]any{"x5t": cert.x5t()}

	// MSAL Go's shape, then the older RS256 + x5t one.
	first := sign(t, cert.key, jose.PS256, ps256, assertionClaims(w.client.AppID))
	c, err := w.svc.AuthenticateClientAssertion(ctx, req(first))
	if err != nil {
		t.Fatalf("PS256 + x5t#S256: %v", err)
	}
	if c.Application.AppID != w.client.AppID || c.ServicePrincipal.ID != w.client.SPID || c.CredentialKeyID != keyID {
		t.Errorf("client = %s %s %s", c.Application.AppID, c.ServicePrincipal.ID, c.CredentialKeyID)
	}
	if _, err := w.svc.AuthenticateClientAssertion(ctx, req(sign(t, cert.key, jose.RS256, rs256, assertionClaims(w.client.AppID)))); err != nil {
		t.Fatalf("RS256 + x5t: %v", err)
	}
	// aud by the domain segment, as an array; fractional times.
	cl := assertionClaims(w.client.AppID)
	cl["aud"] = []string{"https://login.ostiary.test/" + strings.ToUpper(domain) + "/oauth2/v2.0/token/"}
	cl["exp"] = float64(now.Add(5*time.Minute).Unix()) + 0.5
	if _, err := w.svc.AuthenticateClientAssertion(ctx, req(sign(t, cert.key, jose.PS256, ps256, cl))); err != nil {
		t.Fatalf("aud by domain: %v", err)
	}

	with := func(edit func(map[string]any)) map[string]any {
		c := assertionClaims(w.client.AppID)
		edit(c)
		return c
	}
	cases := []struct {
		name string
		raw  string
		code string
	}{
		{"replay", first, "AADSTS50012"},
		{"wrong audience", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["aud"] = "https://login.ostiary.test/other/oauth2/v2.0/token" })), "AADSTS50012"},
		{"issuer is not the client", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["iss"] = iam.NewID() })), "AADSTS50012"},
		{"subject is not the client", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["sub"] = "someone" })), "AADSTS50012"},
		{"no jti", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { delete(c, "jti") })), "AADSTS50012"},
		{"expired", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["exp"] = now.Add(-6 * time.Minute).Unix() })), "AADSTS700024"},
		{"no exp", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { delete(c, "exp") })), "AADSTS700024"},
		{"not yet valid", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["nbf"] = now.Add(6 * time.Minute).Unix() })), "AADSTS700024"},
		{"lives too long", sign(t, cert.key, jose.PS256, ps256, with(func(c map[string]any) { c["exp"] = now.Add(3 * time.Hour).Unix() })), "AADSTS700024"},
		{"signed by another key", sign(t, other.key, jose.PS256, ps256, assertionClaims(w.client.AppID)), "AADSTS700027"},
		{"unknown thumbprint", sign(t, other.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": other.x5tS256()}, assertionClaims(w.client.AppID)), "AADSTS700027"},
		{"no thumbprint", sign(t, cert.key, jose.PS256, nil, assertionClaims(w.client.AppID)), "AADSTS700027"},
		{"expired certificate credential", sign(t, old.key, jose.RS256, map[jose.HeaderKey]any{"x5t": old.x5t()}, assertionClaims(w.client.AppID)), "AADSTS700027"},
		{"x5t and x5t#S256 of different certificates", sign(t, cert.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256(), "x5t": old.x5t()}, assertionClaims(w.client.AppID)), "AADSTS700027"},
		{"HS256", "eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo", "AADSTS50012"},
		{"alg none", "eyJhbGciOiJub25lIn0.e30.", "AADSTS50012"},
		{"not a JWT", "hello", "AADSTS50012"},
		{"bad thumbprint", sign(t, cert.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": "abc"}, assertionClaims(w.client.AppID)), "AADSTS50012"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.svc.AuthenticateClientAssertion(ctx, req(tc.raw))
			e := wantCode(t, err, tc.code)
			if e.Kind != errs.Unauthenticated {
				t.Errorf("kind %v", e.Kind)
			}
		})
	}

	// Unknown client, and a disabled one (only after its assertion checks out).
	r := req(sign(t, cert.key, jose.PS256, ps256, assertionClaims(w.client.AppID)))
	r.ClientID = iam.NewID()
	_, err = w.svc.AuthenticateClientAssertion(ctx, r)
	wantCode(t, err, "AADSTS700016")
	dcert := newTestCert(t, now.Add(-time.Hour), now.Add(time.Hour))
	addKeyCredential(t, w.st, w.dis.ObjectID, dcert, now.Add(-time.Hour), now.Add(time.Hour))
	r = req(sign(t, dcert.key, jose.PS256, map[jose.HeaderKey]any{"x5t#S256": dcert.x5tS256()}, assertionClaims(w.dis.AppID)))
	r.ClientID = w.dis.AppID
	_, err = w.svc.AuthenticateClientAssertion(ctx, r)
	wantCode(t, err, "AADSTS7000112")

}

func TestAssertionJTIPurge(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	cert := newTestCert(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	addKeyCredential(t, w.st, w.client.ObjectID, cert, now.Add(-time.Hour), now.Add(24*time.Hour))
	ps256 := map[jose.HeaderKey]any{"x5t#S256": cert.x5tS256()}
	raws := make([]string, 3)
	for i := range raws {
		raws[i] = sign(t, cert.key, jose.PS256, ps256, assertionClaims(w.client.AppID))
		if _, err := w.svc.AuthenticateClientAssertion(ctx, authn.ClientAssertion{TenantID: tenantID, ClientID: w.client.AppID,
			Assertion: raws[i], Audiences: []string{tokenEndpoint}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	// Inside the replay window nothing is purged.
	if n, err := w.svc.PurgeExpiredAssertions(ctx, tenantID, now.Add(10*time.Minute)); err != nil || n != 0 {
		t.Fatalf("purge inside the window: %d %v", n, err)
	}
	// After exp + skew every record goes.
	if n, err := w.svc.PurgeExpiredAssertions(ctx, tenantID, now.Add(10*time.Minute+authn.AssertionSkew+time.Second)); err != nil || n != 3 {
		t.Fatalf("purge after the window: %d %v", n, err)
	}
}
