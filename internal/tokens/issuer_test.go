package tokens

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ostiary/ostiary/internal/errs"
)

func TestGraphTokenClaims(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	tok, err := f.issuer.IssueAppToken(graphRequest(t0, "User.Read.All", "Group.Read.All", "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn < 3600 || tok.ExpiresIn > 5400 {
		t.Errorf("expires_in = %d, want 3600..5400 (Entra's 60-90 minutes)", tok.ExpiresIn)
	}
	hdr := decodeSegment(t, tok.Raw, 0)
	cur := f.keys.set.Load().signer.KID
	wantHdr := map[string]any{"typ": "JWT", "alg": "RS256", "kid": cur, "x5t": cur}
	if !reflect.DeepEqual(hdr, wantHdr) {
		t.Errorf("header = %v, want %v", hdr, wantHdr)
	}
	claims := decodeSegment(t, tok.Raw, 1)
	uti, _ := claims["uti"].(string)
	if len(uti) != 22 {
		t.Errorf("uti = %q, want 22 base64url characters", uti)
	}
	delete(claims, "uti")
	want := map[string]any{
		"aud": "https://graph.microsoft.com", "iss": testPublicURL + "/" + testTenant + "/v2.0",
		"iat": float64(t0.Unix()), "nbf": float64(t0.Unix()), "exp": float64(t0.Unix() + int64(tok.ExpiresIn)),
		"appid": testClientApp, "appidacr": "1", "idtyp": "app",
		"oid": testClientSP, "sub": testClientSP, "tid": testTenant,
		"roles": []any{"Group.Read.All", "User.Read.All"}, "ver": "1.0",
	}
	if !reflect.DeepEqual(claims, want) {
		t.Errorf("claims =\n%v\nwant\n%v", claims, want)
	}

	c, err := f.verify.VerifyAccessToken(tok.Raw, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != testTenant || c.ObjectID != testClientSP || c.AppID != testClientApp || c.AppAuth != "1" ||
		!c.IsApp() || c.Audience != "https://graph.microsoft.com" || c.Version != "1.0" ||
		!slices.Equal(c.Roles, []string{"Group.Read.All", "User.Read.All"}) || c.KeyID != cur ||
		!c.Expiry.Equal(tok.ExpiresAt) || c.TokenID != uti {
		t.Errorf("verified claims = %+v", c)
	}
	if caller := c.Caller(); caller.ServicePrincipalID != testClientSP || !caller.HasRole("User.Read.All") {
		t.Errorf("caller = %+v", caller)
	}
}

func TestTokenShapes(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	const apiApp = "5d6e7f80-91a2-4b3c-8d4e-5f60718293a4"
	cases := []struct {
		name     string
		res      Resource
		roles    []string
		wantAud  string
		wantVer  string
		v2Client bool
	}{
		{"v2 resource", Resource{AppID: apiApp, Identifier: "api://orders", AccessTokenVersion: 2}, []string{"Orders.Read"}, apiApp, "2.0", true},
		{"v1 resource by URI", Resource{AppID: apiApp, Identifier: "api://orders", AccessTokenVersion: 1}, nil, "api://orders", "1.0", false},
		{"unset version is v1", Resource{AppID: apiApp, Identifier: apiApp}, nil, apiApp, "1.0", false},
		{"graph by GUID keeps its URI", Resource{AppID: "00000003-0000-0000-c000-000000000000", Identifier: "00000003-0000-0000-c000-000000000000", AccessTokenVersion: 2}, nil, "https://graph.microsoft.com", "1.0", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := graphRequest(t0, tc.roles...)
			req.Resource = tc.res
			req.ClientAuth = ClientAuthCertificate
			tok, err := f.issuer.IssueAppToken(req)
			if err != nil {
				t.Fatal(err)
			}
			claims := decodeSegment(t, tok.Raw, 1)
			if claims["aud"] != tc.wantAud || claims["ver"] != tc.wantVer {
				t.Errorf("aud, ver = %v, %v; want %v, %v", claims["aud"], claims["ver"], tc.wantAud, tc.wantVer)
			}
			if _, hasRoles := claims["roles"]; hasRoles != (len(tc.roles) > 0) {
				t.Errorf("roles present = %v with %d roles", hasRoles, len(tc.roles))
			}
			if tc.v2Client {
				if claims["azp"] != testClientApp || claims["azpacr"] != "2" || claims["appid"] != nil {
					t.Errorf("v2 client claims: %v", claims)
				}
			} else if claims["appid"] != testClientApp || claims["appidacr"] != "2" || claims["azp"] != nil {
				t.Errorf("v1 client claims: %v", claims)
			}
			c, err := f.verify.VerifyAccessToken(tok.Raw, t0)
			if err != nil {
				t.Fatal(err)
			}
			if c.AppID != testClientApp || c.AppAuth != "2" {
				t.Errorf("verified app = %q/%q", c.AppID, c.AppAuth)
			}
		})
	}
}

func TestFixedLifetime(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	iss, err := NewIssuer(f.keys, IssuerConfig{PublicURL: testPublicURL + "/", AccessTokenLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.IssueAppToken(graphRequest(t0.Add(500 * time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if tok.ExpiresIn != 600 || !tok.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("expires_in %d at %v", tok.ExpiresIn, tok.ExpiresAt)
	}
	if got := decodeSegment(t, tok.Raw, 1)["iss"]; got != testPublicURL+"/"+testTenant+"/v2.0" {
		t.Errorf("iss = %v (trailing slash of the public URL must not leak)", got)
	}
}

func TestIssuerRefusesLifetimeBeyondOverlap(t *testing.T) {
	keys := memKeys(t)
	if _, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL, AccessTokenLifetime: DefaultOverlap}); err == nil {
		t.Fatal("a lifetime equal to the overlap leaves no room for clock skew; want an error")
	}
	if _, err := NewIssuer(keys, IssuerConfig{PublicURL: "login.example.com"}); err == nil {
		t.Fatal("want an error for a public URL without scheme")
	}
}

// TestGoJoseAcceptsToken checks the token with an independent JOSE
// implementation, from the same public key material the JWKS publishes.
func TestGoJoseAcceptsToken(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	tok, err := f.issuer.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	for _, k := range f.keys.PublishedKeys() {
		cert, err := x509.ParseCertificate(k.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KID, Algorithm: "RS256", Use: "sig",
			Certificates: []*x509.Certificate{cert}, CertificateThumbprintSHA1: mustThumb(t, k.KID)})
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var round jose.JSONWebKeySet // checks x5t against x5c on the way in
	if err := json.Unmarshal(b, &round); err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok.Raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := parsed.Claims(round, &claims); err != nil {
		t.Fatal(err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: testPublicURL + "/" + testTenant + "/v2.0",
		AnyAudience: jwt.Audience{"https://graph.microsoft.com"}, Time: t0}, 0); err != nil {
		t.Fatal(err)
	}
}

func mustThumb(t *testing.T, kid string) []byte {
	b, err := b64.DecodeString(kid)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t, KeyConfig{})
	tok, err := f.issuer.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Raw, ".")
	key := f.keys.set.Load().signer
	hdr := func(h string) string { return b64.EncodeToString([]byte(h)) }
	payload := func(mut func(map[string]any)) string {
		m := decodeSegment(t, tok.Raw, 1)
		mut(m)
		b, _ := json.Marshal(m)
		return b64.EncodeToString(b)
	}
	resign := func(h, p string) string {
		d := sha256.Sum256([]byte(h + "." + p))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key.private, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return h + "." + p + "." + b64.EncodeToString(sig)
	}
	// HS256 keyed with the public key: the classic algorithm confusion.
	hsHeader := hdr(`{"typ":"JWT","alg":"HS256","kid":"` + key.KID + `"}`)
	pubDER, _ := x509.MarshalPKIXPublicKey(key.Key)
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(hsHeader + "." + parts[1]))
	other := memKeys(t).set.Load().signer
	otherSigned, err := sign(other, decodeSegment(t, tok.Raw, 1))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, raw string
		now       time.Time
		msg       string
	}{
		{"empty", "", t0, msgEmpty},
		{"one part", "abc", t0, msgMalformed},
		{"two parts", parts[0] + "." + parts[1], t0, msgMalformed},
		{"JWE-like five parts", tok.Raw + ".x.y", t0, msgMalformed},
		{"bad header base64", "!!." + parts[1] + "." + parts[2], t0, msgMalformed},
		{"alg none", hdr(`{"alg":"none","kid":"`+key.KID+`"}`) + "." + parts[1] + ".", t0, msgSignature},
		{"alg none no sig part", hdr(`{"alg":"none"}`) + "." + parts[1], t0, msgMalformed},
		{"HS256 with public key", hsHeader + "." + parts[1] + "." + b64.EncodeToString(mac.Sum(nil)), t0, msgSignature},
		{"PS256 header", resign(hdr(`{"alg":"PS256","kid":"`+key.KID+`"}`), parts[1]), t0, msgSignature},
		{"unknown kid", resign(hdr(`{"alg":"RS256","kid":"nope"}`), parts[1]), t0, msgSignature},
		{"key from another server", otherSigned, t0, msgSignature},
		{"crit header", resign(hdr(`{"alg":"RS256","kid":"`+key.KID+`","crit":["exp"]}`), parts[1]), t0, msgSignature},
		{"tampered payload", parts[0] + "." + payload(func(m map[string]any) { m["roles"] = []string{"Directory.ReadWrite.All"} }) + "." + parts[2], t0, msgSignature},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:40], t0, msgSignature},
		{"expired", tok.Raw, tok.ExpiresAt.Add(ClockSkew + time.Second), msgTime},
		{"not yet valid", tok.Raw, t0.Add(-ClockSkew - time.Second), msgTime},
		{"no exp", resign(parts[0], payload(func(m map[string]any) { delete(m, "exp") })), t0, msgTime},
		{"other issuer", resign(parts[0], payload(func(m map[string]any) { m["iss"] = "https://evil.test/" + testTenant + "/v2.0" })), t0, msgIssuer},
		{"issuer of another tenant", resign(parts[0], payload(func(m map[string]any) { m["tid"] = "11111111-2222-4333-8444-555555555555" })), t0, msgIssuer},
		{"upper-case tid", resign(parts[0], payload(func(m map[string]any) { m["tid"] = strings.ToUpper(testTenant) })), t0, msgIssuer},
		{"payload not JSON", resign(parts[0], b64.EncodeToString([]byte("not json"))), t0, msgMalformed},
		{"oversized", strings.Repeat("a", MaxTokenSize+1), t0, msgMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.verify.VerifyAccessToken(tc.raw, tc.now)
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Unauthenticated || e.Code != CodeInvalidToken || e.Message != tc.msg {
				t.Fatalf("err = %v, want Unauthenticated %q", err, tc.msg)
			}
		})
	}
	// Inside the skew, both edges still verify.
	for _, now := range []time.Time{t0.Add(-ClockSkew + time.Second), tok.ExpiresAt.Add(ClockSkew - time.Second)} {
		if _, err := f.verify.VerifyAccessToken(tok.Raw, now); err != nil {
			t.Errorf("at %v: %v", now, err)
		}
	}
}
