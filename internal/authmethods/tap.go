package authmethods

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Temporary Access Passes: a time-limited pass an administrator issues so
// a user can sign in to register methods, or recover. The pass is shown
// once, in the create answer, and stored as a salted SHA-256: it is 16
// characters of a 54-character alphabet (about 92 bits, where Entra's
// default is 8 characters), so a fast hash is enough, as for client
// secrets. A user has at most one pass that is still usable or not yet
// valid; expired and used ones are replaced by a new issue.

const (
	tapLength = 16
	// tapAlphabet leaves out characters people confuse (0 O 1 l I).
	tapAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	// The lifetime range is what Entra's Temporary Access Pass policy can
	// be set to (10 minutes to 30 days); the default is its default.
	tapMinLifetime     = 10 * time.Minute
	tapMaxLifetime     = 30 * 24 * time.Hour
	tapDefaultLifetime = time.Hour
	// tapPastStart tolerates a client's clock a little behind.
	tapPastStart = 5 * time.Minute
)

// IssueTAP issues a Temporary Access Pass for the user, valid from start
// (now when zero) for lifetime (an hour when zero), once or until it
// expires. It returns the method, whose Data carries the pass this one
// time, and the pass. Users cannot issue themselves a pass: it would turn
// a stolen session into a lasting credential (Graph refuses it as well).
func (s *Service) IssueTAP(ctx context.Context, c *iam.Caller, userID string, lifetime time.Duration, usableOnce bool, start time.Time) (Method, string, error) {
	now := s.now()
	if lifetime == 0 {
		lifetime = tapDefaultLifetime
	}
	if lifetime < tapMinLifetime || lifetime > tapMaxLifetime || lifetime%time.Minute != 0 {
		return Method{}, "", errs.E(errs.Invalid, "lifetimeInMinutes must be a whole number of minutes between %d and %d.",
			int(tapMinLifetime/time.Minute), int(tapMaxLifetime/time.Minute)).WithCode("badRequest")
	}
	if start.IsZero() {
		start = now
	}
	if start.Before(now.Add(-tapPastStart)) {
		return Method{}, "", errs.E(errs.Invalid, "startDateTime cannot be in the past.").WithCode("badRequest")
	}
	if c.Type == iam.CallerUser && authz.IsSelf(c, userID) {
		return Method{}, "", authz.Denied("users cannot issue themselves a Temporary Access Pass")
	}
	if err := s.authorize(ctx, c, authz.AuthMethodsCreate, userID); err != nil {
		return Method{}, "", err
	}
	pass, err := newPass()
	if err != nil {
		return Method{}, "", err
	}
	var out Method
	err = s.st.Write(ctx, func(w store.Writer) error {
		u, err := liveUser(w, c.TenantID, userID)
		if err != nil {
			return err
		}
		if c.Type == iam.CallerUser && c.ObjectID == u.ID {
			return authz.Denied("users cannot issue themselves a Temporary Access Pass")
		}
		old, err := userMethods(w, c.TenantID, u.ID, TypeTAP)
		if err != nil {
			return err
		}
		for _, m := range old {
			if _, reason := m.rec.tapState(now); reason == "EnabledByPolicy" || reason == "NotYetValid" {
				return errs.E(errs.Invalid, "The user already has a Temporary Access Pass. Delete it before creating another.").WithCode("badRequest")
			}
			if err := w.Delete(c.TenantID, iam.KindAuthenticationMethod, m.obj.ID); err != nil {
				return err
			}
		}
		rec := record{ODataType: TypeTAP.ODataType(), ID: iam.NewID(), UserID: u.ID, CreatedDateTime: ptr(wholeSecond(now)),
			StartDateTime: ptr(wholeSecond(start)), LifetimeInMinutes: ptr(int(lifetime / time.Minute)), IsUsableOnce: ptr(usableOnce)}
		obj, err := newObject(c.TenantID, rec, "", passHash(c.TenantID, rec.ID, pass), now)
		if err != nil {
			return err
		}
		if err := w.Insert(obj); err != nil {
			return err
		}
		f, err := factsOf(u)
		if err != nil {
			return err
		}
		if err := recordChange(w, c, now, f, "Add", TypeTAP, rec.ID); err != nil {
			return err
		}
		doc := rec.graph(now)
		doc["temporaryAccessPass"] = pass
		data, err := json.Marshal(doc)
		out = Method{ID: rec.ID, Type: TypeTAP, UserID: u.ID, Data: data}
		return err
	})
	if err != nil {
		return Method{}, "", err
	}
	return out, pass, nil
}

// VerifyTAP checks a pass for the user at now. A one-time pass is marked
// used in the same write that accepts it, so it works once even when two
// requests race. Wrong passes count towards the same lockout as TOTP
// codes.
func (s *Service) VerifyTAP(ctx context.Context, tenantID, userID, pass string, now time.Time) error {
	pass = strings.TrimSpace(pass)
	return s.verifyLimited(ctx, tenantID, userID, TypeTAP, now, nil, func(w store.Writer, ms []stored) (bool, error) {
		for _, m := range ms {
			if len(pass) > 64 || subtle.ConstantTimeCompare(m.obj.Secret, passHash(tenantID, m.obj.ID, pass)) != 1 {
				continue
			}
			if usable, _ := m.rec.tapState(now); !usable {
				return false, nil // counted as a failure: an old pass is no better than a guess
			}
			m.rec.LastUsedDateTime = ptr(wholeSecond(now))
			if m.rec.IsUsableOnce != nil && *m.rec.IsUsableOnce {
				m.rec.UsedDateTime = ptr(wholeSecond(now))
			}
			return true, save(w, m)
		}
		return false, nil
	})
}

func newPass() (string, error) {
	b := make([]byte, tapLength)
	n := big.NewInt(int64(len(tapAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", errs.Wrap(errs.Internal, err, "random pass")
		}
		b[i] = tapAlphabet[k.Int64()]
	}
	return string(b), nil
}

// passHash is the stored form of a pass, salted with its row.
func passHash(tenantID, id, pass string) []byte {
	sum := sha256.Sum256([]byte("tap|" + tenantID + "|" + id + "|" + pass))
	return sum[:]
}
