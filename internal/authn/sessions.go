package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Browser sign-in sessions and authorization codes are bearer values of
// one shape: a version prefix and the unpadded base64url of the tenant id
// (16 bytes) followed by 32 random bytes (256 bits). The tenant prefix
// finds the tenant on /common; only the SHA-256 of the whole value is
// stored, as the object id, so a database leak yields no usable session
// or code.
const (
	sessionPrefix  = "s1."
	authCodePrefix = "1.A"
	bearerRandLen  = 32
)

func newBearerValue(prefix, tenantID string) (raw, hash string, err error) {
	tid, err := hex.DecodeString(strings.ReplaceAll(tenantID, "-", ""))
	if err != nil || len(tid) != 16 {
		return "", "", errs.E(errs.Internal, "authn: tenant id %q is not a GUID", tenantID)
	}
	b := make([]byte, 16+bearerRandLen)
	copy(b, tid)
	if _, err := rand.Read(b[16:]); err != nil {
		return "", "", errs.Wrap(errs.Internal, err, "authn: cannot read random bytes")
	}
	raw = prefix + base64.RawURLEncoding.EncodeToString(b)
	return raw, bearerHash(raw), nil
}

func bearerHash(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// bearerTenant returns the tenant a value of ours names, or false.
func bearerTenant(prefix, raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, prefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(16+bearerRandLen) {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) != 16+bearerRandLen {
		return "", false
	}
	t := b[:16]
	return fmt.Sprintf("%x-%x-%x-%x-%x", t[0:4], t[4:6], t[6:8], t[8:10], t[10:16]), true
}

// SignInSession is a user's browser session at the sign-in pages: the
// single sign-on state a second authorize request reuses.
type SignInSession struct {
	TenantID string
	UserID   string
	// AuthTime is when the user last entered a credential.
	AuthTime time.Time
	// AMR are the methods used ("pwd").
	AMR []string
	// SessionState is the public session_state of authorize responses and
	// the sid of the ID tokens and front-channel logout requests.
	SessionState string
	ExpiresAt    time.Time
	// Apps are the appIds of the applications the session signed in to,
	// oldest first, for front-channel logout.
	Apps []string
	// MFAAt is when the user last passed a second factor in this session
	// (zero: never).
	MFAAt time.Time
	// Pending marks a sign-in that passed its first factor and still owes
	// a second one (or method registration): it signs nobody in.
	Pending bool
	// hash is the session's object id (RecordSessionApp).
	hash string
}

// maxSessionApps bounds the applications a session remembers; the oldest
// is forgotten first (it then gets no front-channel logout call).
const maxSessionApps = 32

type sessionDoc struct {
	UserID       string    `json:"userId"`
	AuthTime     time.Time `json:"authDateTime"`
	AMR          []string  `json:"amr"`
	SessionState string    `json:"sessionState"`
	ExpiresAt    time.Time `json:"expiresDateTime"`
	Apps         []string  `json:"apps,omitempty"`
	MFAAt        time.Time `json:"mfaDateTime,omitzero"`
	Pending      bool      `json:"pending,omitempty"`
}

// PendingSessionLifetime bounds a sign-in waiting for its second factor.
const PendingSessionLifetime = 10 * time.Minute

// CreatePendingSession stores a sign-in that passed its first factor (amr)
// and owes a second one; CompleteSignIn finishes it.
func (s *Service) CreatePendingSession(ctx context.Context, tenantID, userID string, amr []string, now time.Time) (string, *SignInSession, error) {
	return s.createSession(ctx, tenantID, userID, amr, PendingSessionLifetime, true, now)
}

// CreateSignInSession stores a session for a user who just signed in,
// valid until now+lifetime, and returns the cookie value.
func (s *Service) CreateSignInSession(ctx context.Context, tenantID, userID string, amr []string, lifetime time.Duration, now time.Time) (string, *SignInSession, error) {
	return s.createSession(ctx, tenantID, userID, amr, lifetime, false, now)
}

func (s *Service) createSession(ctx context.Context, tenantID, userID string, amr []string, lifetime time.Duration, pending bool, now time.Time) (string, *SignInSession, error) {
	raw, hash, err := newBearerValue(sessionPrefix, tenantID)
	if err != nil {
		return "", nil, err
	}
	ss := &SignInSession{TenantID: tenantID, UserID: userID, AuthTime: now.UTC(), AMR: amr, SessionState: iam.NewID(),
		ExpiresAt: now.Add(lifetime).UTC(), Pending: pending, hash: hash}
	data, err := json.Marshal(sessionDoc{UserID: userID, AuthTime: ss.AuthTime, AMR: amr, SessionState: ss.SessionState,
		ExpiresAt: ss.ExpiresAt, Pending: pending})
	if err != nil {
		return "", nil, errs.Wrap(errs.Internal, err, "authn: encode session")
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindSignInSession, ID: hash, CreatedAt: now, Data: data})
	})
	if err != nil {
		return "", nil, err
	}
	return raw, ss, nil
}

// SignInSessionFromCookie returns the live session a cookie value names
// and its user, or errs.NotFound when there is none: unknown, expired,
// ended, the user gone or disabled, or the user's sessions revoked since
// it began (signInSessionsValidFromDateTime).
//
// A pending sign-in (one still owing its second factor) is no session:
// only PendingSignInFromCookie returns it.
func (s *Service) SignInSessionFromCookie(ctx context.Context, raw string, now time.Time) (*SignInSession, *SignedInUser, error) {
	ss, u, err := s.sessionFromCookie(ctx, raw, now)
	if err == nil && ss.Pending {
		return nil, nil, errs.E(errs.NotFound, "the sign-in is not complete")
	}
	return ss, u, err
}

// PendingSignInFromCookie returns the pending sign-in a cookie value names,
// or errs.NotFound.
func (s *Service) PendingSignInFromCookie(ctx context.Context, raw string, now time.Time) (*SignInSession, *SignedInUser, error) {
	ss, u, err := s.sessionFromCookie(ctx, raw, now)
	if err == nil && !ss.Pending {
		return nil, nil, errs.E(errs.NotFound, "no pending sign-in")
	}
	return ss, u, err
}

func (s *Service) sessionFromCookie(ctx context.Context, raw string, now time.Time) (*SignInSession, *SignedInUser, error) {
	tid, ok := bearerTenant(sessionPrefix, raw)
	if !ok {
		return nil, nil, errs.E(errs.NotFound, "no session")
	}
	var d sessionDoc
	err := s.st.Read(ctx, func(r store.Reader) error {
		o, err := r.Get(tid, iam.KindSignInSession, bearerHash(raw))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable session")
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if !now.Before(d.ExpiresAt) {
		return nil, nil, errs.E(errs.NotFound, "session expired")
	}
	u, err := s.LoadUser(ctx, tid, d.UserID, d.AuthTime)
	if err != nil {
		if e := errs.As(err); e.Code != "" { // a known refusal: the session is over
			return nil, nil, errs.Wrap(errs.NotFound, err, "session no longer valid")
		}
		return nil, nil, err
	}
	return &SignInSession{TenantID: tid, UserID: d.UserID, AuthTime: d.AuthTime, AMR: d.AMR, SessionState: d.SessionState,
		ExpiresAt: d.ExpiresAt, Apps: d.Apps, MFAAt: d.MFAAt, Pending: d.Pending, hash: bearerHash(raw)}, u, nil
}

// RecordSessionApp remembers that the session ss (as CreateSignInSession
// or SignInSessionFromCookie returned it) signed in to the application
// appID, so sign-out can call the app's front-channel logout URL. A
// session that ended meanwhile is left alone.
func (s *Service) RecordSessionApp(ctx context.Context, ss *SignInSession, appID string) error {
	appID = strings.ToLower(appID)
	if ss == nil || ss.hash == "" || slices.Contains(ss.Apps, appID) {
		return nil
	}
	err := s.updateSession(ctx, ss, func(d *sessionDoc) bool {
		if slices.Contains(d.Apps, appID) {
			return false
		}
		d.Apps = append(d.Apps, appID)
		if len(d.Apps) > maxSessionApps {
			d.Apps = d.Apps[len(d.Apps)-maxSessionApps:]
		}
		return true
	})
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err == nil {
		ss.Apps = append(ss.Apps, appID)
	}
	return err
}

// EndSignInSession deletes the session a cookie value names, if any.
func (s *Service) EndSignInSession(ctx context.Context, raw string) error {
	tid, ok := bearerTenant(sessionPrefix, raw)
	if !ok {
		return nil
	}
	return s.st.Write(ctx, func(w store.Writer) error {
		err := w.Delete(tid, iam.KindSignInSession, bearerHash(raw))
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	})
}

// CompleteSignIn records a second factor on a session (pending or not):
// the methods it used join the session's amr with "mfa", MFAAt becomes now,
// and a pending session becomes a full one lasting lifetime from now.
func (s *Service) CompleteSignIn(ctx context.Context, ss *SignInSession, amr []string, lifetime time.Duration, now time.Time) error {
	if ss == nil || ss.hash == "" {
		return errs.E(errs.Invalid, "no session to complete")
	}
	return s.updateSession(ctx, ss, func(d *sessionDoc) bool {
		for _, m := range append(slices.Clone(amr), "mfa") {
			if !slices.Contains(d.AMR, m) {
				d.AMR = append(d.AMR, m)
			}
		}
		d.MFAAt = now.UTC()
		if d.Pending {
			d.Pending, d.ExpiresAt = false, now.Add(lifetime).UTC()
		}
		ss.AMR, ss.MFAAt, ss.Pending, ss.ExpiresAt = d.AMR, d.MFAAt, d.Pending, d.ExpiresAt
		return true
	})
}

// ActivateSession turns a pending sign-in into a full session without a
// second factor: a user who skipped MFA registration within its grace.
func (s *Service) ActivateSession(ctx context.Context, ss *SignInSession, lifetime time.Duration, now time.Time) error {
	if ss == nil || ss.hash == "" || !ss.Pending {
		return errs.E(errs.Invalid, "no pending sign-in to activate")
	}
	return s.updateSession(ctx, ss, func(d *sessionDoc) bool {
		d.Pending, d.ExpiresAt = false, now.Add(lifetime).UTC()
		ss.Pending, ss.ExpiresAt = false, d.ExpiresAt
		return true
	})
}

// updateSession applies change to the stored session of ss in one write;
// change reports whether it changed anything worth writing.
func (s *Service) updateSession(ctx context.Context, ss *SignInSession, change func(*sessionDoc) bool) error {
	return s.st.Write(ctx, func(w store.Writer) error {
		o, err := w.Get(ss.TenantID, iam.KindSignInSession, ss.hash)
		if err != nil {
			return err
		}
		var d sessionDoc
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable session")
		}
		if !change(&d) {
			return nil
		}
		if o.Data, err = json.Marshal(d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode session")
		}
		return w.Update(o)
	})
}
