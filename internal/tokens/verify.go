package tokens

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// AccessClaims are the verified claims of an access token.
type AccessClaims struct {
	Audience string
	Issuer   string
	TenantID string
	// ObjectID is the caller: the user, or the client's service principal
	// for app-only tokens.
	ObjectID string
	Subject  string
	// AppID is the client application's appId (appid in v1, azp in v2).
	AppID string
	// AppAuth is how the client authenticated: "0" public, "1" secret,
	// "2" certificate (appidacr / azpacr).
	AppAuth string
	// IDType is "app" for app-only tokens and "user" for delegated ones.
	IDType string
	// Version is "1.0" or "2.0".
	Version string
	Roles   []string
	Scopes  []string
	// AMR lists how the user authenticated (delegated tokens): "pwd",
	// "mfa", "otp"…
	AMR []string
	// UserPrincipalName and Name describe the user of delegated tokens.
	UserPrincipalName string
	Name              string
	TokenID           string
	// KeyID is the kid that signed the token.
	KeyID     string
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
}

// IsApp reports whether the token is app-only (client credentials).
func (c *AccessClaims) IsApp() bool { return c.IDType == "app" }

// Caller returns the claims as the principal services receive. Display
// names are not in app-only tokens; the Graph layer fills them if it needs.
func (c *AccessClaims) Caller() *iam.Caller {
	t := iam.CallerUser
	if c.IsApp() {
		t = iam.CallerApp
	}
	caller := &iam.Caller{Type: t, TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: c.AppID, Roles: c.Roles, Scopes: c.Scopes,
		UserPrincipalName: c.UserPrincipalName, UserDisplayName: c.Name, AMR: c.AMR}
	if c.IsApp() {
		caller.ServicePrincipalID = c.ObjectID
	}
	return caller
}

// wireClaims is every claim the verifier reads from either token version.
type wireClaims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	AppID    string   `json:"appid"`
	AppIDACR string   `json:"appidacr"`
	Azp      string   `json:"azp"`
	AzpACR   string   `json:"azpacr"`
	IDTyp    string   `json:"idtyp"`
	OID      string   `json:"oid"`
	Roles    []string `json:"roles"`
	Scp      string   `json:"scp"`
	Sub      string   `json:"sub"`
	TID      string   `json:"tid"`
	UTI      string   `json:"uti"`
	Ver      string   `json:"ver"`
	UPN      string   `json:"upn"`
	PrefUser string   `json:"preferred_username"`
	Name     string   `json:"name"`
	AMR      []string `json:"amr"`
}

// Verifier checks access tokens against the in-memory key set.
type Verifier struct {
	keys      *Keys
	publicURL string
	cache     *verifiedCache
}

// NewVerifier returns a verifier for tokens this server issued at publicURL.
func NewVerifier(keys *Keys, publicURL string) (*Verifier, error) {
	pub, err := normalizePublicURL(publicURL)
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: keys, publicURL: pub, cache: newVerifiedCache(verifiedCacheSize)}, nil
}

// VerifyAccessToken checks a bearer token: RS256 signature by a published
// key, times within ClockSkew, and this server's issuer for the token's
// tenant. It does not check the audience; each resource checks its own. It
// costs at most one RSA verification per token (see verifiedCache) and
// never reads the store. The claims returned are shared between callers and
// must not be modified. Errors are errs.Unauthenticated with Graph's
// messages and code CodeInvalidToken.
func (v *Verifier) VerifyAccessToken(raw string, now time.Time) (*AccessClaims, error) {
	if len(raw) > MaxTokenSize {
		return v.verify(raw, now)
	}
	key := sha256.Sum256([]byte(raw))
	if c, ok := v.cache.get(key, now); ok {
		return c, nil
	}
	c, err := v.verify(raw, now)
	if err == nil {
		v.cache.put(key, c, now)
	}
	return c, err
}

// verify is the full check of one token.
func (v *Verifier) verify(raw string, now time.Time) (*AccessClaims, error) {
	payload, key, err := verifyCompact(v.keys.set.Load(), raw)
	if err != nil {
		return nil, err
	}
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, tokenError(msgMalformed)
	}
	if w.Exp == 0 || now.After(time.Unix(w.Exp, 0).Add(ClockSkew)) ||
		(w.Nbf != 0 && now.Add(ClockSkew).Before(time.Unix(w.Nbf, 0))) {
		return nil, tokenError(msgTime)
	}
	tid, ok := iam.NormalizeGUID(w.TID)
	if !ok || w.TID != tid || w.Iss != IssuerFor(v.publicURL, tid) {
		return nil, tokenError(msgIssuer)
	}
	c := &AccessClaims{
		Audience: w.Aud, Issuer: w.Iss, TenantID: tid, ObjectID: w.OID, Subject: w.Sub,
		AppID: w.AppID, AppAuth: w.AppIDACR, IDType: w.IDTyp, Version: w.Ver,
		Roles: w.Roles, Scopes: strings.Fields(w.Scp), AMR: w.AMR, UserPrincipalName: w.UPN, Name: w.Name, TokenID: w.UTI, KeyID: key.KID,
		IssuedAt: time.Unix(w.Iat, 0), NotBefore: time.Unix(w.Nbf, 0), Expiry: time.Unix(w.Exp, 0),
	}
	if w.Ver == "2.0" {
		c.AppID, c.AppAuth = w.Azp, w.AzpACR
		c.UserPrincipalName = w.PrefUser
	}
	return c, nil
}

// IsOutsideTimeRange reports whether err is VerifyAccessToken's refusal of
// a token that has expired or is not valid yet.
func IsOutsideTimeRange(err error) bool {
	e := errs.As(err)
	return e.Code == CodeInvalidToken && e.Message == msgTime
}
