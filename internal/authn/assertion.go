package authn

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Certificate credentials (private_key_jwt, RFC 7523 §2.2): the client signs
// a short JWT with the private key of a certificate registered in its
// application's keyCredentials and names the certificate by thumbprint.
// MSAL Go and azidentity send PS256 with x5t#S256; older clients RS256
// with x5t (TOKENS.md §4.1, CLIENTS.md §3.1).
//
// Each assertion is single-use: its jti is stored, as an object of kind
// assertionJti keyed by the SHA-256 of client|jti in the application's home
// tenant, until the assertion expires. The home tenant is the one place
// every use of the client shares: the request's tenant would not do, since
// on /common and /organizations it is the tenant of the credential (a
// refresh token, a code, the user's token), so one assertion whose aud is
// the /common token endpoint could be replayed once in every tenant that
// has the app. The insert is the replay
// check (a Conflict means the jti was seen), so two concurrent uses cannot
// both pass. The object's CreatedAt is the end of the replay window, so
// expired ones are found through the (tenant, kind, created_at) index and
// purged in batches, at most once a minute per tenant per replica, by the
// request that finds the purge due (in a transaction of its own).

// ClientAssertionType is the client_assertion_type of a JWT assertion.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	// AssertionSkew is the clock skew allowed on exp and nbf.
	AssertionSkew = 5 * time.Minute
	// MaxAssertionLifetime bounds exp beyond now, so a leaked assertion
	// is not a long-lived credential and its jti need not be kept long.
	// MSAL signs for 10 minutes.
	MaxAssertionLifetime = time.Hour
	// maxAssertionLen bounds the input the parser sees; an assertion with
	// a certificate chain (x5c) is a few kilobytes.
	maxAssertionLen = 32 << 10
	// maxJTILen bounds the jti; Entra's clients send a GUID.
	maxJTILen = 256

	jtiPurgeEvery   = time.Minute
	jtiPurgeBatch   = 500
	jtiPurgeBatches = 5
)

// assertionAlgs are the signature algorithms accepted (RSA keys only: a
// keyCredential is an RSA certificate).
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256}

// ClientAssertion is a private_key_jwt client authentication request.
type ClientAssertion struct {
	TenantID string
	// ClientID is the client_id parameter (an appId).
	ClientID string
	// Assertion is the client_assertion JWT.
	Assertion string
	// Audiences are the aud values accepted: this tenant's token endpoint
	// URL, as named by GUID and by the path segment the client used.
	Audiences []string
	Now       time.Time
}

// assertionClaims are the claims read from a client assertion.
type assertionClaims struct {
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Aud audience     `json:"aud"`
	Exp *numericDate `json:"exp"`
	Nbf *numericDate `json:"nbf"`
	Iat *numericDate `json:"iat"`
	JTI string       `json:"jti"`
}

// audience is the aud claim: a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// numericDate is a JWT NumericDate: seconds, possibly fractional.
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	// Past year 5000 or before 1970 is not a date a client means.
	if f < 0 || f > 95617584000 || math.IsNaN(f) {
		return errs.E(errs.Invalid, "numeric date out of range")
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

// parsedAssertion is a client assertion parsed but not yet verified.
type parsedAssertion struct {
	jws *jose.JSONWebSignature
	// sha1 and sha256 are the certificate thumbprints the header names
	// (x5t, x5t#S256); nil when absent.
	sha1, sha256 []byte
	// thumbprint is the thumbprint as sent, for messages.
	thumbprint string
	claims     assertionClaims
}

func assertionError(code int, format string, args ...any) *errs.Error {
	return aadsts(errs.Unauthenticated, code, format, args...)
}

func malformedAssertion(format string, args ...any) *errs.Error {
	return assertionError(50012, "The client assertion is not valid: "+format, args...)
}

// parseClientAssertion parses a compact JWS with an RS256 or PS256
// signature and reads its thumbprint headers and claims. It verifies
// nothing; every failure is AADSTS50012. It never panics (fuzzed).
func parseClientAssertion(raw string) (*parsedAssertion, error) {
	if raw == "" || len(raw) > maxAssertionLen {
		return nil, malformedAssertion("it is empty or too long.")
	}
	jws, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil {
		return nil, malformedAssertion("it must be a JWT signed with RS256 or PS256.")
	}
	if len(jws.Signatures) != 1 {
		return nil, malformedAssertion("it must carry exactly one signature.")
	}
	p := &parsedAssertion{jws: jws}
	h := jws.Signatures[0].Header
	if v, ok := h.ExtraHeaders["x5t#S256"]; ok {
		s, _ := v.(string)
		if p.sha256 = decodeThumbprint(s, sha256.Size); p.sha256 == nil {
			return nil, malformedAssertion("the x5t#S256 header is not a SHA-256 thumbprint.")
		}
		p.thumbprint = s
	}
	if v, ok := h.ExtraHeaders["x5t"]; ok {
		s, _ := v.(string)
		if p.sha1 = decodeThumbprint(s, sha1.Size); p.sha1 == nil {
			return nil, malformedAssertion("the x5t header is not a SHA-1 thumbprint.")
		}
		if p.thumbprint == "" {
			p.thumbprint = s
		}
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &p.claims); err != nil {
		return nil, malformedAssertion("its payload is not a JSON object of valid claims.")
	}
	return p, nil
}

// decodeThumbprint reads a thumbprint of size bytes: base64url as RFC 7515
// says, or standard base64 (MSAL Go's x5t#S256) or hex, which some clients
// send. It returns nil if no encoding gives size bytes.
func decodeThumbprint(s string, size int) []byte {
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == size {
			return b
		}
	}
	return nil
}

// assertionKey is a certificate credential matching an assertion's
// thumbprint.
type assertionKey struct {
	cred iam.KeyCredential
	pub  *rsa.PublicKey
}

// findAssertionKey returns the Verify certificate of creds whose thumbprint
// the assertion names. A match outside its validity dates, or whose key is
// not RSA, is an error; no match is AADSTS700027 as in Entra.
func findAssertionKey(p *parsedAssertion, creds []iam.KeyCredential, appID string, now time.Time) (*assertionKey, error) {
	if p.sha1 == nil && p.sha256 == nil {
		return nil, assertionError(700027, "Client assertion contains an invalid signature. [Reason - The key was not found: the assertion header names no certificate thumbprint (x5t or x5t#S256).]")
	}
	for _, cred := range creds {
		if cred.Key == nil || cred.Usage != "Verify" || cred.Type != "AsymmetricX509Cert" {
			continue
		}
		der, err := base64.StdEncoding.DecodeString(*cred.Key)
		if err != nil {
			continue
		}
		if s1 := sha1.Sum(der); p.sha1 != nil && !bytes.Equal(s1[:], p.sha1) { //nolint:gosec // thumbprint
			continue
		}
		if s256 := sha256.Sum256(der); p.sha256 != nil && !bytes.Equal(s256[:], p.sha256) {
			continue
		}
		if cred.StartDateTime != nil && now.Before(*cred.StartDateTime) ||
			cred.EndDateTime != nil && !now.Before(*cred.EndDateTime) {
			return nil, assertionError(700027, "Client assertion contains an invalid signature. [Reason - The key used is expired or not yet valid., Thumbprint of key used by client: '%s', Found key 'Start=%s, End=%s']",
				p.thumbprint, fmtTime(cred.StartDateTime), fmtTime(cred.EndDateTime))
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, assertionError(700027, "Client assertion contains an invalid signature. [Reason - The key of the certificate with thumbprint '%s' is not an RSA key.]", p.thumbprint)
		}
		return &assertionKey{cred: cred, pub: pub}, nil
	}
	return nil, assertionError(700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", p.thumbprint, appID)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("01/02/2006 15:04:05")
}

// checkAssertionClaims checks the claims of a verified assertion: iss and
// sub name the client, aud is one of audiences, the time range holds now
// (exp required, within MaxAssertionLifetime), and jti is present. It
// returns the end of the assertion's replay window.
func checkAssertionClaims(c *assertionClaims, appID string, audiences []string, now time.Time) (time.Time, error) {
	if !strings.EqualFold(c.Iss, appID) || !strings.EqualFold(c.Sub, appID) {
		return time.Time{}, assertionError(50012, "The client assertion's issuer and subject must be the client id '%s'; they are '%s' and '%s'.", appID, c.Iss, c.Sub)
	}
	if !audienceMatches(c.Aud, audiences) {
		want := ""
		if len(audiences) > 0 {
			want = audiences[0]
		}
		return time.Time{}, assertionError(50012, "The audience claim of the client assertion (%s) does not match the token endpoint '%s'.", strings.Join(c.Aud, ", "), want)
	}
	if c.Exp == nil {
		return time.Time{}, assertionError(700024, "Client assertion is not within its valid time range: it has no expiry (exp).")
	}
	exp := c.Exp.t
	nbf := time.Time{}
	if c.Nbf != nil {
		nbf = c.Nbf.t
	}
	ts := now.UTC().Format(time.RFC3339)
	switch {
	case !now.Before(exp.Add(AssertionSkew)), !nbf.IsZero() && now.Add(AssertionSkew).Before(nbf):
		return time.Time{}, assertionError(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			ts, fmtTime(&nbf), fmtTime(&exp))
	case exp.After(now.Add(MaxAssertionLifetime + AssertionSkew)):
		return time.Time{}, assertionError(700024, "Client assertion is not within its valid time range: its expiry time %s is more than %s after the current time %s.",
			exp.Format(time.RFC3339), MaxAssertionLifetime, ts)
	}
	if c.JTI == "" || len(c.JTI) > maxJTILen {
		return time.Time{}, assertionError(50012, "The client assertion must carry a unique identifier (jti) of at most %d characters.", maxJTILen)
	}
	return exp.Add(AssertionSkew), nil
}

// audienceMatches reports whether one of aud is one of the accepted
// audiences (case and a trailing slash ignored).
func audienceMatches(aud, accepted []string) bool {
	for _, a := range aud {
		a = strings.TrimRight(a, "/")
		for _, b := range accepted {
			if a != "" && strings.EqualFold(a, strings.TrimRight(b, "/")) {
				return true
			}
		}
	}
	return false
}

// AuthenticateClientAssertion authenticates a client by a certificate
// assertion (private_key_jwt). The order of checks follows Entra's: the
// client (700016), the key its header names (700027: unknown, expired or
// not valid yet), the signature (700027), the claims (iss/sub, aud and jti
// 50012; times 700024), a disabled service principal (7000112), and last
// the jti, which is recorded so the assertion cannot be used again (a
// replay is 50012).
func (s *Service) AuthenticateClientAssertion(ctx context.Context, req ClientAssertion) (*Client, error) {
	p, err := parseClientAssertion(req.Assertion)
	if err != nil {
		return nil, err
	}
	appID, _ := iam.NormalizeGUID(req.ClientID)
	c, _, fromCache, err := s.findClient(ctx, req.TenantID, req.ClientID, false)
	if err != nil {
		return nil, err
	}
	key, err := findAssertionKey(p, c.Application.KeyCredentials, appID, req.Now)
	if err != nil && fromCache {
		// A certificate added on another replica in the last moments is
		// not in the cache yet: the store decides.
		if c, _, _, err = s.findClient(ctx, req.TenantID, req.ClientID, true); err != nil {
			return nil, err
		}
		key, err = findAssertionKey(p, c.Application.KeyCredentials, appID, req.Now)
	}
	if err != nil {
		return nil, err
	}
	if _, err := p.jws.Verify(key.pub); err != nil {
		return nil, assertionError(700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s']", p.thumbprint)
	}
	until, err := checkAssertionClaims(&p.claims, appID, req.Audiences, req.Now)
	if err != nil {
		return nil, err
	}
	if e := c.ServicePrincipal.AccountEnabled; e != nil && !*e {
		return nil, aadsts(errs.Denied, 7000112, "Application '%s'(%s) is disabled.", appID, deref(c.ServicePrincipal.DisplayName))
	}
	if err := s.recordJTI(ctx, c.HomeTenantID, appID, p.claims.JTI, until, req.Now); err != nil {
		return nil, err
	}
	c.CredentialKeyID = key.cred.KeyID
	return c, nil
}

// jtiDoc is the document of an assertionJti object.
type jtiDoc struct {
	ClientID string    `json:"clientId"`
	Expires  time.Time `json:"expiresDateTime"`
}

// jtiID is the object id of a client's jti: the hash bounds its length and
// keeps the client's value out of indexes.
func jtiID(appID, jti string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(appID) + "|" + jti))
	return hex.EncodeToString(sum[:])
}

// recordJTI stores the jti of an accepted assertion in the application's
// home tenant until until; an existing one is a replay.
func (s *Service) recordJTI(ctx context.Context, tenantID, appID, jti string, until, now time.Time) error {
	data, err := json.Marshal(jtiDoc{ClientID: appID, Expires: until.UTC()})
	if err != nil {
		return errs.Wrap(errs.Internal, err, "authn: encode assertion jti")
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindAssertionJTI, ID: jtiID(appID, jti), CreatedAt: until, Data: data})
	})
	if errs.Is(err, errs.Conflict) {
		return assertionError(50012, "The client assertion was already used: its identifier (jti) '%s' was presented before. Sign a new assertion for every request.", jti)
	}
	if err != nil {
		return err
	}
	s.maybePurgeJTIs(ctx, tenantID, now)
	return nil
}

var jtiCreated = query.Field{Path: "createdDateTime", Type: query.Time}

// maybePurgeJTIs deletes tenantID's expired jti records, a few batches at
// most, when its purge is due. It is best effort: a failure leaves them for
// the next.
func (s *Service) maybePurgeJTIs(ctx context.Context, tenantID string, now time.Time) {
	if !s.jtiPurge.Due(tenantID, now, jtiPurgeEvery) {
		return
	}
	for range jtiPurgeBatches {
		if n, err := s.PurgeExpiredAssertions(ctx, tenantID, now); err != nil || n < jtiPurgeBatch {
			return
		}
	}
}

// PurgeExpiredAssertions deletes up to one batch of the jti records of
// tenantID whose replay window ended before now, and returns how many.
func (s *Service) PurgeExpiredAssertions(ctx context.Context, tenantID string, now time.Time) (int, error) {
	n := 0
	err := s.st.Write(ctx, func(w store.Writer) error {
		n = 0
		p, err := w.List(tenantID, iam.KindAssertionJTI, store.Live, query.List{
			Filter: query.Cmp{Field: jtiCreated, Op: query.Lt, Value: query.Value{Type: query.Time, Time: now}},
			Top:    jtiPurgeBatch,
		})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			if err := w.Delete(tenantID, iam.KindAssertionJTI, o.ID); err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
