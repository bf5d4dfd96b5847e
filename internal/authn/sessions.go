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
}

// CreateSignInSession stores a session for a user who just signed in,
// valid until now+lifetime, and returns the cookie value.
func (s *Service) CreateSignInSession(ctx context.Context, tenantID, userID string, amr []string, lifetime time.Duration, now time.Time) (string, *SignInSession, error) {
	raw, hash, err := newBearerValue(sessionPrefix, tenantID)
	if err != nil {
		return "", nil, err
	}
	ss := &SignInSession{TenantID: tenantID, UserID: userID, AuthTime: now.UTC(), AMR: amr, SessionState: iam.NewID(),
		ExpiresAt: now.Add(lifetime).UTC(), hash: hash}
	data, err := json.Marshal(sessionDoc{UserID: userID, AuthTime: ss.AuthTime, AMR: amr, SessionState: ss.SessionState, ExpiresAt: ss.ExpiresAt})
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
func (s *Service) SignInSessionFromCookie(ctx context.Context, raw string, now time.Time) (*SignInSession, *SignedInUser, error) {
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
		ExpiresAt: d.ExpiresAt, Apps: d.Apps, hash: bearerHash(raw)}, u, nil
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
	err := s.st.Write(ctx, func(w store.Writer) error {
		o, err := w.Get(ss.TenantID, iam.KindSignInSession, ss.hash)
		if err != nil {
			return err
		}
		var d sessionDoc
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable session")
		}
		if slices.Contains(d.Apps, appID) {
			return nil
		}
		d.Apps = append(d.Apps, appID)
		if len(d.Apps) > maxSessionApps {
			d.Apps = d.Apps[len(d.Apps)-maxSessionApps:]
		}
		if o.Data, err = json.Marshal(d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode session")
		}
		return w.Update(o)
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
