package authn

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// AuthCodeLifetime is Entra's: about ten minutes.
const AuthCodeLifetime = 10 * time.Minute

// AuthCode is what an authorization code stands for: who signed in, for
// which client, and what the token request must repeat or prove.
type AuthCode struct {
	TenantID    string
	ClientAppID string
	UserID      string
	// RedirectURI is the redirect_uri of the authorize request; the token
	// request must send the same value.
	RedirectURI string
	Scope       string
	Nonce       string
	// CodeChallenge and CodeChallengeMethod are the PKCE challenge, if any.
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	AMR                 []string
	// AuthTimeClaim records that the authorize request sent max_age: the
	// ID token must then carry auth_time (OpenID Connect Core §3.1.2.1).
	AuthTimeClaim bool
	// SessionID is the browser session's sid (its session_state), for the
	// ID token and front-channel logout.
	SessionID string
	// SPA records that the redirect URI is of the spa platform: the refresh
	// tokens of the code get a fixed lifetime (SPARefreshTokenLifetime).
	SPA bool
	// FamilyID names the refresh token family the code's redemption
	// starts, so a second redemption can revoke it.
	FamilyID  string
	ExpiresAt time.Time
}

type authCodeDoc struct {
	ClientID        string    `json:"clientId"`
	UserID          string    `json:"userId"`
	RedirectURI     string    `json:"redirectUri"`
	Scope           string    `json:"scope"`
	Nonce           string    `json:"nonce,omitempty"`
	Challenge       string    `json:"codeChallenge,omitempty"`
	ChallengeMethod string    `json:"codeChallengeMethod,omitempty"`
	AuthTime        time.Time `json:"authDateTime"`
	AMR             []string  `json:"amr"`
	AuthTimeClaim   bool      `json:"authTimeClaim,omitempty"`
	SessionID       string    `json:"sid,omitempty"`
	SPA             bool      `json:"spa,omitempty"`
	FamilyID        string    `json:"familyId"`
	ExpiresAt       time.Time `json:"expiresDateTime"`
	Used            bool      `json:"used"`
}

// IssueAuthCode stores a code for c (its FamilyID and ExpiresAt are set
// here) and returns the code value.
func (s *Service) IssueAuthCode(ctx context.Context, c AuthCode, now time.Time) (string, error) {
	raw, hash, err := newBearerValue(authCodePrefix, c.TenantID)
	if err != nil {
		return "", err
	}
	d := authCodeDoc{ClientID: strings.ToLower(c.ClientAppID), UserID: c.UserID, RedirectURI: c.RedirectURI, Scope: c.Scope,
		Nonce: c.Nonce, Challenge: c.CodeChallenge, ChallengeMethod: c.CodeChallengeMethod, AuthTime: c.AuthTime.UTC(),
		AMR: c.AMR, AuthTimeClaim: c.AuthTimeClaim, SessionID: c.SessionID, SPA: c.SPA, FamilyID: iam.NewID(),
		ExpiresAt: now.Add(AuthCodeLifetime).UTC()}
	data, err := json.Marshal(d)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "authn: encode authorization code")
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindAuthCode, ID: hash, CreatedAt: now, Data: data})
	})
	return raw, err
}

// AuthCodeTenant returns the tenant a code value belongs to, or false if
// the value is not shaped like one of ours.
func AuthCodeTenant(raw string) (string, bool) { return bearerTenant(authCodePrefix, raw) }

func invalidCode() error {
	return aadsts(errs.Unauthenticated, 70000, "The provided value for the 'code' parameter is not valid.")
}

// RedeemAuthCode uses a code up and returns what it stands for. Every
// presentation uses the code, even one the caller then refuses (a wrong
// PKCE verifier or redirect_uri), so a code can never be tried twice.
// tenantID is the tenant of the URL, or "" on /common and /organizations:
// a code of another tenant is AADSTS700005. An unknown code is 70000, an
// expired one 70008, and a second redemption 54005, which also revokes
// the refresh tokens the first one issued.
func (s *Service) RedeemAuthCode(ctx context.Context, tenantID, raw string, now time.Time) (*AuthCode, error) {
	tid, ok := AuthCodeTenant(raw)
	if !ok {
		return nil, invalidCode()
	}
	if tenantID != "" && tid != tenantID {
		return nil, aadsts(errs.Unauthenticated, 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	}
	hash := bearerHash(raw)
	var (
		d      authCodeDoc
		reused bool
	)
	err := s.st.Write(ctx, func(w store.Writer) error {
		reused = false
		o, err := w.Get(tid, iam.KindAuthCode, hash)
		if errs.Is(err, errs.NotFound) {
			return invalidCode()
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable authorization code")
		}
		if d.Used {
			reused = true
			f, err := w.Get(tid, iam.KindRefreshTokenFamily, d.FamilyID)
			if errs.Is(err, errs.NotFound) {
				return nil
			} else if err != nil {
				return err
			}
			var fam familyDoc
			if err := json.Unmarshal(f.Data, &fam); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token family")
			}
			return markRevoked(w, f, fam, "authorization code redeemed twice")
		}
		d.Used = true
		if o.Data, err = json.Marshal(d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode authorization code")
		}
		return w.Update(o)
	})
	if err != nil {
		return nil, err
	}
	if reused {
		return nil, aadsts(errs.Unauthenticated, 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	}
	if !now.Before(d.ExpiresAt) {
		return nil, aadsts(errs.Unauthenticated, 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	}
	return &AuthCode{TenantID: tid, ClientAppID: d.ClientID, UserID: d.UserID, RedirectURI: d.RedirectURI, Scope: d.Scope,
		Nonce: d.Nonce, CodeChallenge: d.Challenge, CodeChallengeMethod: d.ChallengeMethod, AuthTime: d.AuthTime,
		AMR: d.AMR, AuthTimeClaim: d.AuthTimeClaim, SessionID: d.SessionID, SPA: d.SPA, FamilyID: d.FamilyID,
		ExpiresAt: d.ExpiresAt}, nil
}
