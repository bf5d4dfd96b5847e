package authmethods

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Ceremonies are the steps between a Begin and its Finish that belong to a
// signed-in user: a TOTP enrollment whose first code has not come yet, a
// passkey registration. They are kept server-side and handed to the pages
// as an opaque handle ("AM1." and 256 random bits, stored only as its
// SHA-256), so a browser can neither alter one nor use one twice: Finish
// deletes the ceremony in the same transaction that reads it. Only a user
// with a session (or a pending one, past the password) can begin one.
//
// A passkey sign-in, which anyone may begin from the sign-in page, stores
// nothing until it is answered (logintoken.go); the challenge it answered
// is then kept as an object of this kind too, so it cannot be answered
// again.
//
// CreatedAt is the expiry, so the expired ones are one index range,
// purged a batch at a time by each new ceremony and, paced, after
// accepted passkey sign-ins.

const (
	ceremonyLifetime = 5 * time.Minute
	// enrollmentLifetime leaves time to install an app and scan the code.
	enrollmentLifetime = 15 * time.Minute
	handlePrefix       = "AM1."
	// purgeBatch is what each new ceremony purges; sign-ins purge up to
	// purgeBatches of bigPurgeBatch when due (maybePurgeCeremonies).
	purgeBatch    = 20
	bigPurgeBatch = 500
	purgeBatches  = 5
)

// Ceremony types.
const (
	ceremonyTOTP          = "totpEnrollment"
	ceremonyPasskeyCreate = "passkeyRegistration"
	// ceremonyPasskeyLogin is a passkey sign-in: never stored itself,
	// it names the type sealed into its handle (logintoken.go).
	ceremonyPasskeyLogin = "passkeyLogin"
)

// ceremony is the document of a ceremony object.
type ceremony struct {
	Type            string    `json:"type"`
	UserID          string    `json:"userId"`
	ExpiresDateTime time.Time `json:"expiresDateTime"`
}

// stepGone is the one error of a handle that is spent, expired, forged or
// another tenant's: it reveals nothing about which.
func stepGone() *errs.Error {
	return errs.E(errs.Invalid, "The registration or sign-in step expired or was already used. Start again.")
}

// newHandle returns a fresh handle and the id it is stored under.
func newHandle() (handle, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", errs.Wrap(errs.Internal, err, "random ceremony handle")
	}
	handle = handlePrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return handle, handleID(handle), nil
}

func handleID(handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return hex.EncodeToString(sum[:])
}

// validHandle checks the shape of a handle that came back from a browser.
func validHandle(h string) bool {
	rest, ok := strings.CutPrefix(h, handlePrefix)
	return ok && len(rest) == 43 && !strings.ContainsFunc(rest, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

// putCeremony stores a ceremony under id with its plaintext secret sealed,
// and purges a batch of expired ones of the tenant.
func (s *Service) putCeremony(w store.Writer, tenantID, id string, c ceremony, secret []byte, now time.Time) error {
	if _, err := purgeCeremonies(w, tenantID, now, purgeBatch); err != nil {
		return err
	}
	sealed, err := s.box.Seal(secret, secretAD(tenantID, iam.KindAuthMethodCeremony, id))
	if err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode ceremony")
	}
	return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindAuthMethodCeremony, ID: id, DisplayName: c.UserID,
		CreatedAt: c.ExpiresDateTime, Data: data, Secret: sealed})
}

// getCeremony reads a live ceremony of type typ and opens its secret. A
// missing, expired or mistyped one is the same error, so a handle reveals
// nothing.
func (s *Service) getCeremony(r store.Reader, tenantID, id, typ string, now time.Time) (store.Object, ceremony, []byte, error) {
	gone := stepGone()
	o, err := r.Get(tenantID, iam.KindAuthMethodCeremony, id)
	if errs.KindOf(err) == errs.NotFound {
		return o, ceremony{}, nil, gone
	}
	if err != nil {
		return o, ceremony{}, nil, err
	}
	var c ceremony
	if err := json.Unmarshal(o.Data, &c); err != nil {
		return o, c, nil, errs.Wrap(errs.Internal, err, "decode ceremony")
	}
	if c.Type != typ || !now.Before(c.ExpiresDateTime) {
		return o, c, nil, gone
	}
	secret, err := s.box.Open(o.Secret, secretAD(tenantID, iam.KindAuthMethodCeremony, id))
	return o, c, secret, err
}

// takeCeremony consumes a ceremony: it is deleted whether or not what
// follows succeeds, in its own transaction, before the caller verifies
// anything, so a challenge is answered at most once.
func (s *Service) takeCeremony(ctx context.Context, tenantID, handle, typ string) (ceremony, []byte, error) {
	if !validHandle(handle) {
		return ceremony{}, nil, stepGone()
	}
	id := handleID(handle)
	var (
		c      ceremony
		secret []byte
	)
	err := s.st.Write(ctx, func(w store.Writer) error {
		o, cc, sec, err := s.getCeremony(w, tenantID, id, typ, s.now())
		if err != nil {
			return err
		}
		c, secret = cc, sec
		return w.Delete(tenantID, iam.KindAuthMethodCeremony, o.ID)
	})
	return c, secret, err
}

// purgeCeremonies deletes up to limit of the tenant's expired ceremonies
// and returns how many it found.
func purgeCeremonies(w store.Writer, tenantID string, now time.Time, limit int) (int, error) {
	p, err := w.List(tenantID, iam.KindAuthMethodCeremony, store.Live, query.List{Top: limit,
		Filter: query.Cmp{Field: query.Field{Path: "createdDateTime", Type: query.Time}, Op: query.Lt,
			Value: query.Value{Type: query.Time, Time: now}}})
	if err != nil {
		return 0, err
	}
	for _, o := range p.Items {
		if err := w.Delete(tenantID, iam.KindAuthMethodCeremony, o.ID); err != nil && errs.KindOf(err) != errs.NotFound {
			return 0, err
		}
	}
	return len(p.Items), nil
}
