package tokens

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// UserInfo is what tokens say about the signed-in user.
type UserInfo struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	GivenName         string
	Surname           string
	// Mail is the email claim of ID tokens (with the email scope).
	Mail string
}

// UserTokenRequest describes a delegated access token: a client acting for
// a signed-in user on one resource.
type UserTokenRequest struct {
	TenantID    string
	ClientAppID string
	ClientAuth  ClientAuth
	Resource    Resource
	User        UserInfo
	// Scopes are the granted delegated scope values (scp); never one that
	// was not granted.
	Scopes []string
	// Wids are the template ids of the user's tenant-wide directory roles.
	Wids []string
	// AMR lists the authentication methods ("pwd").
	AMR []string
	// Groups are the group claims the resource app asked for
	// (groupMembershipClaims); GroupsOverage replaces them with Entra's
	// overage indicator when there were too many.
	Groups        []string
	GroupsOverage bool
	Now           time.Time
}

// IDTokenRequest describes an ID token (always v2.0).
type IDTokenRequest struct {
	TenantID    string
	ClientAppID string
	User        UserInfo
	// Email adds the email claim (the email scope was asked for).
	Email bool
	Nonce string
	// AuthTime, when set, is the auth_time claim: when the user last
	// entered a credential. OpenID Connect requires it when the authorize
	// request sent max_age.
	AuthTime time.Time
	// SessionID, when set, is the sid claim: the browser session the token
	// came from, which front-channel logout names.
	SessionID string
	// Groups and GroupsOverage: the client app's group claims, as in
	// UserTokenRequest.
	Groups        []string
	GroupsOverage bool
	Now           time.Time
}

// idTokenLifetime is Entra's ID token lifetime.
const idTokenLifetime = time.Hour

// PairwiseSubject is the sub claim of a user's tokens for one application:
// stable for the (app, user) pair and different for each app, so two apps
// cannot correlate users by sub (TOKENS.md §7.1). It is the unpadded
// base64url SHA-256 of appId|oid, 43 characters like Entra's.
func PairwiseSubject(clientAppID, userID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(clientAppID) + "|" + strings.ToLower(userID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// userClaims is a delegated access token, v1 (Graph) or v2 shaped.
type userClaims struct {
	Aud        string   `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	Acr        string   `json:"acr,omitempty"`
	AMR        []string `json:"amr,omitempty"`
	AppID      string   `json:"appid,omitempty"`
	AppIDACR   string   `json:"appidacr,omitempty"`
	Azp        string   `json:"azp,omitempty"`
	AzpACR     string   `json:"azpacr,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	IDTyp      string   `json:"idtyp"`
	Name       string   `json:"name,omitempty"`
	OID        string   `json:"oid"`
	PrefUser   string   `json:"preferred_username,omitempty"`
	Scp        string   `json:"scp"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	UniqueName string   `json:"unique_name,omitempty"`
	UPN        string   `json:"upn,omitempty"`
	UTI        string   `json:"uti"`
	Ver        string   `json:"ver"`
	Wids       []string `json:"wids,omitempty"`
	groupClaims
}

// groupClaims are the groups claim or, past the limit, Entra's overage
// indicator: _claim_names points the groups claim at a source whose
// endpoint lists them (Graph's getMemberObjects for the user).
type groupClaims struct {
	Groups       []string               `json:"groups,omitempty"`
	ClaimNames   map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources map[string]claimSource `json:"_claim_sources,omitempty"`
}

type claimSource struct {
	Endpoint string `json:"endpoint"`
}

func newGroupClaims(userID string, groups []string, overage bool) groupClaims {
	if overage {
		return groupClaims{ClaimNames: map[string]string{"groups": "src1"},
			ClaimSources: map[string]claimSource{"src1": {Endpoint: iam.MicrosoftGraphResource + "/v1.0/users/" + userID + "/getMemberObjects"}}}
	}
	return groupClaims{Groups: groups}
}

// IssueUserToken signs a delegated access token. Microsoft Graph gets
// Entra's v1 shape (appid, appidacr, upn, unique_name, amr, wids); other
// resources get the shape their requestedAccessTokenVersion asks for.
func (i *Issuer) IssueUserToken(req UserTokenRequest) (Token, error) {
	tid, ok := iam.NormalizeGUID(req.TenantID)
	if !ok || req.ClientAppID == "" || req.User.ID == "" || req.Resource.AppID == "" {
		return Token{}, errs.E(errs.Internal, "tokens: incomplete user token request")
	}
	key := i.keys.set.Load().signer
	if key == nil {
		return Token{}, errs.E(errs.Unavailable, "tokens: no signing key is loaded")
	}
	now := req.Now.Truncate(time.Second)
	exp := now.Add(i.nextLifetime())
	uti, err := newUTI()
	if err != nil {
		return Token{}, err
	}
	wids := slices.Clone(req.Wids)
	slices.Sort(wids)
	c := userClaims{
		Iss: IssuerFor(i.publicURL, tid), Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		IDTyp: "user", Name: req.User.DisplayName, OID: req.User.ID, Scp: strings.Join(req.Scopes, " "),
		Sub: PairwiseSubject(req.ClientAppID, req.User.ID), TID: tid, UTI: uti, Wids: slices.Compact(wids),
		groupClaims: newGroupClaims(req.User.ID, req.Groups, req.GroupsOverage),
	}
	res := req.Resource
	if res.AccessTokenVersion == 2 && !strings.EqualFold(res.AppID, iam.MicrosoftGraphAppID) {
		c.Aud, c.Ver = res.AppID, "2.0"
		c.Azp, c.AzpACR = req.ClientAppID, req.ClientAuth.claim()
		c.PrefUser = req.User.UserPrincipalName
	} else {
		c.Aud, c.Ver = res.Identifier, "1.0"
		if strings.EqualFold(res.AppID, iam.MicrosoftGraphAppID) {
			c.Aud = iam.MicrosoftGraphResource
		} else if c.Aud == "" {
			c.Aud = res.AppID
		}
		c.Acr, c.AMR = "1", req.AMR
		c.AppID, c.AppIDACR = req.ClientAppID, req.ClientAuth.claim()
		c.FamilyName, c.GivenName = req.User.Surname, req.User.GivenName
		c.UniqueName, c.UPN = req.User.UserPrincipalName, req.User.UserPrincipalName
	}
	raw, err := sign(key, c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, ExpiresAt: exp, ExpiresIn: int(exp.Sub(now) / time.Second)}, nil
}

// idClaims is a v2.0 ID token.
type idClaims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Email    string `json:"email,omitempty"`
	Name     string `json:"name,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	OID      string `json:"oid"`
	PrefUser string `json:"preferred_username"`
	SID      string `json:"sid,omitempty"`
	Sub      string `json:"sub"`
	TID      string `json:"tid"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
	groupClaims
}

// IssueIDToken signs a v2.0 ID token for the client.
func (i *Issuer) IssueIDToken(req IDTokenRequest) (Token, error) {
	tid, ok := iam.NormalizeGUID(req.TenantID)
	if !ok || req.ClientAppID == "" || req.User.ID == "" {
		return Token{}, errs.E(errs.Internal, "tokens: incomplete ID token request")
	}
	key := i.keys.set.Load().signer
	if key == nil {
		return Token{}, errs.E(errs.Unavailable, "tokens: no signing key is loaded")
	}
	now := req.Now.Truncate(time.Second)
	exp := now.Add(idTokenLifetime)
	uti, err := newUTI()
	if err != nil {
		return Token{}, err
	}
	c := idClaims{
		Aud: strings.ToLower(req.ClientAppID), Iss: IssuerFor(i.publicURL, tid), Iat: now.Unix(), Nbf: now.Unix(), Exp: exp.Unix(),
		Name: req.User.DisplayName, Nonce: req.Nonce, OID: req.User.ID, PrefUser: req.User.UserPrincipalName,
		Sub: PairwiseSubject(req.ClientAppID, req.User.ID), TID: tid, UTI: uti, Ver: "2.0",
		groupClaims: newGroupClaims(req.User.ID, req.Groups, req.GroupsOverage),
	}
	if req.Email {
		c.Email = req.User.Mail
	}
	if !req.AuthTime.IsZero() {
		c.AuthTime = req.AuthTime.Unix()
	}
	c.SID = req.SessionID
	raw, err := sign(key, c)
	if err != nil {
		return Token{}, err
	}
	return Token{Raw: raw, ExpiresAt: exp, ExpiresIn: int(exp.Sub(now) / time.Second)}, nil
}
