package tokens

import (
	"crypto/rand"
	"encoding/base64"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// Entra's default access token lifetime: a random value between 60 and 90
// minutes, so that a fleet of clients does not come back all at once.
const (
	minDefaultLifetime = 60 * time.Minute
	maxDefaultLifetime = 90 * time.Minute
)

// ClientAuth is how the client proved its identity; it becomes appidacr
// (v1) or azpacr (v2).
type ClientAuth int

const (
	// ClientAuthNone is a public client ("0").
	ClientAuthNone ClientAuth = iota
	// ClientAuthSecret is a client secret ("1").
	ClientAuthSecret
	// ClientAuthCertificate is a certificate or other signed assertion ("2").
	ClientAuthCertificate
)

func (a ClientAuth) claim() string {
	switch a {
	case ClientAuthSecret:
		return "1"
	case ClientAuthCertificate:
		return "2"
	default:
		return "0"
	}
}

// Resource is the API a token is for; it decides the token's shape
// (TOKENS.md §5.2).
type Resource struct {
	// AppID is the resource application's appId.
	AppID string
	// Identifier is the resource identifier as the client named it (an
	// identifier URI, or the appId), in its registered spelling. It is the
	// audience of v1 tokens.
	Identifier string
	// AccessTokenVersion is the resource app's api.requestedAccessTokenVersion
	// (0 or 1 mean v1, 2 means v2). Microsoft Graph always gets v1.
	AccessTokenVersion int
}

// AppTokenRequest describes an app-only access token (client credentials).
type AppTokenRequest struct {
	TenantID string
	// ClientAppID is the client application's appId.
	ClientAppID string
	// ClientServicePrincipalID is the client's service principal object id
	// in TenantID; it is both oid and sub.
	ClientServicePrincipalID string
	ClientAuth               ClientAuth
	Resource                 Resource
	// Roles are the app role values granted to the client on the resource.
	Roles []string
	Now   time.Time
}

// Token is an issued token.
type Token struct {
	Raw       string
	ExpiresAt time.Time
	// ExpiresIn is the lifetime in whole seconds, for expires_in.
	ExpiresIn int
}

// IssuerConfig configures an Issuer.
type IssuerConfig struct {
	// PublicURL is the server's public origin ("https://login.example.com"),
	// the base of every issuer.
	PublicURL string
	// AccessTokenLifetime fixes the access token lifetime. Zero gives
	// Entra's default, a random 60 to 90 minutes.
	AccessTokenLifetime time.Duration
}

// Issuer signs tokens with the current key.
type Issuer struct {
	keys      *Keys
	publicURL string
	lifetime  time.Duration
}

// NewIssuer returns an issuer. The longest lifetime it may issue must fit
// inside the keys' overlap, or a token could outlive its key's publication.
func NewIssuer(keys *Keys, cfg IssuerConfig) (*Issuer, error) {
	pub, err := normalizePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.AccessTokenLifetime < 0 {
		return nil, errs.E(errs.Invalid, "tokens: the access token lifetime must be positive")
	}
	longest := cfg.AccessTokenLifetime
	if longest == 0 {
		longest = maxDefaultLifetime
	}
	if longest+ClockSkew > keys.Overlap() {
		return nil, errs.E(errs.Invalid, "tokens: access tokens may live %v, longer than a retired signing key stays published (%v) minus the clock skew", longest, keys.Overlap())
	}
	return &Issuer{keys: keys, publicURL: pub, lifetime: cfg.AccessTokenLifetime}, nil
}

// normalizePublicURL checks the public URL is an absolute http(s) origin
// (a path prefix is allowed) and drops any trailing slash.
func normalizePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errs.E(errs.Invalid, "tokens: the public URL %q must be an absolute http(s) URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// IssuerFor returns the issuer of tokens for a tenant. Every token carries
// the v2.0 issuer for now, v1-shaped ones included: the foundation issue
// serves only the v2.0 discovery document. The full token-service issue
// adds the v1 document (/{tenant}/.well-known/openid-configuration) and may
// then switch v1 tokens to "<publicURL>/<tid>/", as Entra's sts.windows.net
// issuer is for v1.
func IssuerFor(publicURL, tenantID string) string {
	return publicURL + "/" + tenantID + "/v2.0"
}

// appClaims is an app-only access token. Field order follows Entra's
// tokens; empty fields are left out so each shape carries only its claims.
type appClaims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	AppID    string   `json:"appid,omitempty"`
	AppIDACR string   `json:"appidacr,omitempty"`
	Azp      string   `json:"azp,omitempty"`
	AzpACR   string   `json:"azpacr,omitempty"`
	IDTyp    string   `json:"idtyp"`
	OID      string   `json:"oid"`
	Roles    []string `json:"roles,omitempty"`
	Sub      string   `json:"sub"`
	TID      string   `json:"tid"`
	UTI      string   `json:"uti"`
	Ver      string   `json:"ver"`
}

// IssueAppToken signs an app-only access token.
func (i *Issuer) IssueAppToken(req AppTokenRequest) (Token, error) {
	tid, ok := iam.NormalizeGUID(req.TenantID)
	if !ok || req.ClientAppID == "" || req.ClientServicePrincipalID == "" || req.Resource.AppID == "" {
		return Token{}, errs.E(errs.Internal, "tokens: incomplete app token request")
	}
	key := i.keys.set.Load().signer
	if key == nil {
		return Token{}, errs.E(errs.Unavailable, "tokens: no signing key is loaded")
	}
	now := req.Now.Truncate(time.Second)
	exp := now.Add(i.nextLifetime())
	roles := slices.Clone(req.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	uti, err := newUTI()
	if err != nil {
		return Token{}, err
	}
	c := appClaims{
		Iss: IssuerFor(i.publicURL, tid), Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		IDTyp: "app", OID: req.ClientServicePrincipalID, Sub: req.ClientServicePrincipalID,
		Roles: roles, TID: tid, UTI: uti,
	}
	res := req.Resource
	switch {
	case strings.EqualFold(res.AppID, iam.MicrosoftGraphAppID):
		// Graph takes v1 tokens whose audience is its URI, however the
		// client named it.
		c.Aud, c.Ver = iam.MicrosoftGraphResource, "1.0"
		c.AppID, c.AppIDACR = req.ClientAppID, req.ClientAuth.claim()
	case res.AccessTokenVersion == 2:
		c.Aud, c.Ver = res.AppID, "2.0"
		c.Azp, c.AzpACR = req.ClientAppID, req.ClientAuth.claim()
	default:
		c.Aud, c.Ver = res.Identifier, "1.0"
		if c.Aud == "" {
			c.Aud = res.AppID
		}
		c.AppID, c.AppIDACR = req.ClientAppID, req.ClientAuth.claim()
	}
	raw, err := sign(key, c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, ExpiresAt: exp, ExpiresIn: int(exp.Sub(now) / time.Second)}, nil
}

func (i *Issuer) nextLifetime() time.Duration {
	if i.lifetime > 0 {
		return i.lifetime
	}
	spread := int64((maxDefaultLifetime - minDefaultLifetime) / time.Second)
	return minDefaultLifetime + time.Duration(mrand.Int64N(spread+1))*time.Second
}

// newUTI returns a unique token id like Entra's: 16 random bytes, base64url.
func newUTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot read random bytes")
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
