package authn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Refresh tokens are opaque: "0." and the unpadded base64url of the tenant
// id (16 bytes) followed by 32 random bytes (256 bits). The tenant prefix
// lets /common and /organizations find the tenant; the random part is the
// secret. Only the SHA-256 of the whole value is stored, as the id of an
// object of kind refreshToken, so a database leak yields no usable token.
//
// Every token belongs to a family, the chain of rotations that began with
// one sign-in (an object of kind refreshTokenFamily that names its current
// token). Each use rotates: the presented token is marked used and a new
// one becomes current. Presenting a token that is not current means it
// was copied, so the whole family is revoked and every token of it stops
// working, the newest included.

// refreshPrefix marks refresh token values; the rest is the shape shared
// with sessions and codes (newBearerValue).
const refreshPrefix = "0."

// SPARefreshTokenLifetime is the fixed lifetime of a family begun by a
// single-page app (a code issued to a spa redirect URI), as Entra gives
// it: a browser keeps its tokens where any script of the page can read
// them, so rotation does not extend it, and the SPA must sign the user in
// again (AADSTS700084) once it is over.
const SPARefreshTokenLifetime = 24 * time.Hour

// RefreshToken is a refresh token's stored grant.
type RefreshToken struct {
	TenantID    string
	FamilyID    string
	UserID      string
	ClientAppID string
	// Scopes are the scope values asked for at sign-in, used when a
	// refresh request names none.
	Scopes []string
	// IssuedAt is when this token (not the family) was issued.
	IssuedAt time.Time
	// Confidential records that the client proved its identity with a
	// credential (secret or certificate) when the family began: every
	// refresh must then authenticate the client too.
	Confidential bool
	// SPA marks a family begun by a single-page app: it ends
	// SPARefreshTokenLifetime after it began, whatever its rotations.
	SPA bool
	// AMR is how the user authenticated when the family began; every
	// token the family issues carries it.
	AMR  []string
	hash string
	// user is the token's user as read with it, in the same transaction,
	// for RefreshUser; nil if it could not be read then.
	user *iam.User
}

type refreshDoc struct {
	FamilyID  string    `json:"familyId"`
	UserID    string    `json:"userId"`
	ClientID  string    `json:"clientId"`
	Scopes    []string  `json:"scopes"`
	IssuedAt  time.Time `json:"issuedDateTime"`
	ExpiresAt time.Time `json:"expiresDateTime"`
	// Used was set on rotation until rotation stopped rewriting the
	// presented token (the family's current hash decides); tokens stored
	// with it still count as used.
	Used bool `json:"used"`
	// Confidential: the client authenticated with a credential.
	Confidential bool `json:"confidential,omitempty"`
}

type familyDoc struct {
	UserID        string    `json:"userId"`
	ClientID      string    `json:"clientId"`
	Current       string    `json:"current"`
	Revoked       bool      `json:"revoked"`
	RevokedReason string    `json:"revokedReason,omitempty"`
	Created       time.Time `json:"createdDateTime"`
	// FixedExpires ends a single-page app's family, rotations or not; zero
	// for other families, whose tokens slide.
	FixedExpires time.Time `json:"fixedExpiresDateTime,omitzero"`
	AMR          []string  `json:"amr,omitempty"`
}

// expiry is when a token of the family issued at now expires: the sliding
// lifetime, cut at the family's fixed end if it has one.
func (f *familyDoc) expiry(now time.Time, lifetime time.Duration) time.Time {
	exp := now.Add(lifetime).UTC()
	if !f.FixedExpires.IsZero() && f.FixedExpires.Before(exp) {
		exp = f.FixedExpires
	}
	return exp
}

// errReuse marks the failure of a reused (rotated) refresh token.
var errReuse = errors.New("refresh token reuse: the token family was revoked")

// IsRefreshReuse reports whether err is the refusal of a reused refresh
// token, whose family was revoked because of it.
func IsRefreshReuse(err error) bool { return errors.Is(err, errReuse) }

func invalidGrant(cause error, format string, args ...any) error {
	e := aadsts(errs.Unauthenticated, 70000, format, args...)
	e.Cause = cause
	return e
}

// newRefreshValue returns a new token value for tenantID and its hash.
// RefreshTokenTenant returns the tenant a refresh token value belongs to,
// or false if the value is not shaped like one of ours.
func RefreshTokenTenant(raw string) (string, bool) { return bearerTenant(refreshPrefix, raw) }

// IssueRefreshToken starts a new family for rt (a fresh sign-in) and
// returns the token value. The family's id is rt.FamilyID when set (the
// authorization code grant names it after its code), else a new one.
func (s *Service) IssueRefreshToken(ctx context.Context, rt RefreshToken, now time.Time) (string, error) {
	raw, hash, err := newBearerValue(refreshPrefix, rt.TenantID)
	if err != nil {
		return "", err
	}
	family := rt.FamilyID // an authorization code names its family, to revoke it on reuse
	if family == "" {
		family = iam.NewID()
	}
	fam := familyDoc{UserID: rt.UserID, ClientID: rt.ClientAppID, Current: hash, Created: now.UTC(), AMR: rt.AMR}
	if rt.SPA {
		fam.FixedExpires = now.Add(SPARefreshTokenLifetime).UTC()
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		fd, _ := json.Marshal(fam)
		if err := w.Insert(store.Object{TenantID: rt.TenantID, Kind: iam.KindRefreshTokenFamily, ID: family, CreatedAt: now, Data: fd}); err != nil {
			return err
		}
		return s.insertRefresh(w, rt.TenantID, hash, refreshDoc{FamilyID: family, UserID: rt.UserID, ClientID: rt.ClientAppID,
			Scopes: rt.Scopes, IssuedAt: now.UTC(), Confidential: rt.Confidential, ExpiresAt: fam.expiry(now, s.cfg.RefreshTokenLifetime)}, now)
	})
	return raw, err
}

// insertRefresh stores a token whose document d carries its expiry.
func (s *Service) insertRefresh(w store.Writer, tenantID, hash string, d refreshDoc, now time.Time) error {
	if d.Scopes == nil {
		d.Scopes = []string{}
	}
	data, err := json.Marshal(d)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "authn: encode refresh token")
	}
	return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindRefreshToken, ID: hash, CreatedAt: now, Data: data})
}

// CheckRefreshToken validates a presented refresh token for clientAppID
// without using it up: rotation comes last (RotateRefreshToken), once the
// rest of the request has succeeded, so a request refused for another
// reason leaves the token usable. tenantID is the tenant of the URL, or ""
// on /common and /organizations. Failures: unknown, revoked or reused
// tokens and another client's are AADSTS70000; an expired one 700082. A
// reused token revokes its family before the error is returned.
func (s *Service) CheckRefreshToken(ctx context.Context, tenantID, clientAppID, raw string, now time.Time) (*RefreshToken, error) {
	tid, ok := RefreshTokenTenant(raw)
	if !ok || tenantID != "" && tid != tenantID {
		return nil, invalidGrant(nil, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.")
	}
	hash := bearerHash(raw)
	var (
		d    refreshDoc
		fam  familyDoc
		user *iam.User
	)
	err := s.st.Read(ctx, func(r store.Reader) error {
		o, err := r.Get(tid, iam.KindRefreshToken, hash)
		if errs.Is(err, errs.NotFound) {
			return invalidGrant(nil, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.")
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token")
		}
		f, err := r.Get(tid, iam.KindRefreshTokenFamily, d.FamilyID)
		if errs.Is(err, errs.NotFound) {
			return invalidGrant(nil, "The refresh token has been revoked.")
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(f.Data, &fam); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token family")
		}
		// The user is read here too, saving RefreshUser a transaction;
		// what is wrong with them is its to report.
		if u, err := readUser(r, tid, d.UserID); err == nil {
			user = &u
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rt := &RefreshToken{TenantID: tid, FamilyID: d.FamilyID, UserID: d.UserID, ClientAppID: d.ClientID,
		Scopes: d.Scopes, IssuedAt: d.IssuedAt, Confidential: d.Confidential, SPA: !fam.FixedExpires.IsZero(), AMR: fam.AMR, hash: hash, user: user}
	switch {
	case !strings.EqualFold(d.ClientID, clientAppID):
		return nil, invalidGrant(nil, "The refresh token was issued to a different client ('%s') than the one presenting it.", d.ClientID)
	case fam.Revoked:
		return nil, invalidGrant(nil, "The refresh token has been revoked.")
	case d.Used || fam.Current != hash:
		if err := s.revokeFamily(ctx, tid, d.FamilyID, "reuse of a rotated refresh token"); err != nil {
			return nil, err
		}
		return rt, invalidGrant(errReuse, "The refresh token has already been used; every refresh token issued with it has been revoked. Sign in again.")
	case rt.SPA && !now.Before(fam.FixedExpires):
		return nil, aadsts(errs.Unauthenticated, 700084, "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of %s, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on %s.",
			SPARefreshTokenLifetime, fam.Created.Format(time.RFC3339))
	case !now.Before(d.ExpiresAt):
		return nil, aadsts(errs.Unauthenticated, 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			d.IssuedAt.Format(time.RFC3339), s.cfg.RefreshTokenLifetime)
	}
	return rt, nil
}

// RotateRefreshToken uses rt up and returns its successor in the same
// family. If rt stopped being current since it was checked (a concurrent
// use), that is reuse too: the family is revoked.
func (s *Service) RotateRefreshToken(ctx context.Context, rt *RefreshToken, scopes []string, now time.Time) (string, error) {
	raw, hash, err := newBearerValue(refreshPrefix, rt.TenantID)
	if err != nil {
		return "", err
	}
	reused := false
	err = s.st.Write(ctx, func(w store.Writer) error {
		reused = false
		f, err := w.Get(rt.TenantID, iam.KindRefreshTokenFamily, rt.FamilyID)
		if err != nil {
			return err
		}
		var fam familyDoc
		if err := json.Unmarshal(f.Data, &fam); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token family")
		}
		if fam.Revoked || fam.Current != rt.hash {
			reused = true
			return markRevoked(w, f, fam, "concurrent reuse of a refresh token")
		}
		// The presented token is used up by no longer being the family's
		// current one (CheckRefreshToken refuses any other as reuse), so
		// it is not rewritten; its successor copies what the check read.
		if scopes == nil {
			scopes = rt.Scopes
		}
		if err := s.insertRefresh(w, rt.TenantID, hash, refreshDoc{FamilyID: rt.FamilyID, UserID: rt.UserID, ClientID: rt.ClientAppID,
			Scopes: scopes, IssuedAt: now.UTC(), Confidential: rt.Confidential, ExpiresAt: fam.expiry(now, s.cfg.RefreshTokenLifetime)}, now); err != nil {
			return err
		}
		fam.Current = hash
		if f.Data, err = json.Marshal(fam); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode refresh token family")
		}
		return w.Update(f)
	})
	if err != nil {
		return "", err
	}
	if reused {
		return "", invalidGrant(errReuse, "The refresh token has already been used; every refresh token issued with it has been revoked. Sign in again.")
	}
	return raw, nil
}

func (s *Service) revokeFamily(ctx context.Context, tenantID, familyID, reason string) error {
	return s.st.Write(ctx, func(w store.Writer) error {
		f, err := w.Get(tenantID, iam.KindRefreshTokenFamily, familyID)
		if errs.Is(err, errs.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
		var fam familyDoc
		if err := json.Unmarshal(f.Data, &fam); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token family")
		}
		return markRevoked(w, f, fam, reason)
	})
}

func markRevoked(w store.Writer, f store.Object, fam familyDoc, reason string) error {
	if fam.Revoked {
		return nil
	}
	fam.Revoked, fam.RevokedReason = true, reason
	data, err := json.Marshal(fam)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "authn: encode refresh token family")
	}
	f.Data = data
	return w.Update(f)
}
