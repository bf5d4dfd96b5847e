package authmethods

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Passkey sign-in challenges are stateless until answered. The sign-in
// page is shown to anyone and offers a passkey, so beginning a sign-in
// must not write: a crawler, or anyone fetching the page in a loop, would
// otherwise make the server write (on SQLite, its one writer) and fill
// the store until the next purge. Instead the challenge (go-webauthn's
// SessionData) goes to the browser and comes back sealed in the handle,
// and only an answer that verifies is written down.
//
// The handle is "AMP1." and the base64url (unpadded, canonical) of a
// value sealed with the service's challenge sealer (AES-256-GCM; the
// server's is under a key derived from the master key for this purpose
// alone). The associated data names the purpose, the ceremony type and the
// tenant, so a handle opens only for a passkey sign-in in the tenant that
// issued it. Inside are the expiry (ceremonyLifetime), the user a named
// sign-in is for ("" for a discoverable one) and the session data. The
// browser can read nothing of it (the options it is given already say all
// it needs) and change nothing in it.
//
// Single use: the write that accepts an assertion (advanceCounter) first
// inserts an object of kind iam.KindAuthMethodCeremony whose id is the
// SHA-256 of the challenge. A second answer to the same challenge
// conflicts on that insert and is refused, so two racing posts cannot
// both pass, even with an authenticator that keeps no signature counter.
// The record is keyed by the challenge, not by the handle's text, so
// another encoding of the same handle is the same challenge. Its
// CreatedAt is its expiry: the token's plus usedChallengeMargin (replicas'
// clocks may differ), after which the token is refused anyway; it is
// purged with the expired ceremonies. An answer that fails verification
// writes nothing and leaves the challenge open until it expires: only the
// holder of the passkey can answer it.

const (
	loginTokenPrefix = "AMP1."
	// maxLoginToken bounds what the opener decodes. A named sign-in's
	// token lists the user's passkeys (at most maxPerType credential ids,
	// which WebAuthn bounds at 1023 bytes): about 19 KB at the very
	// worst, a few hundred bytes for real passkeys.
	maxLoginToken = 24 << 10
	// usedChallengeMargin keeps an answered challenge's record this long
	// after its token expires.
	usedChallengeMargin = ceremonyLifetime
	// challengePurgeEvery paces the purge of expired records after
	// accepted sign-ins, per tenant and replica.
	challengePurgeEvery = time.Minute
	// ceremonyPasskeyAnswered is the type of an answered challenge's record.
	ceremonyPasskeyAnswered = "passkeyLoginAnswered"
)

// loginToken is what a passkey sign-in's handle carries, sealed.
type loginToken struct {
	// UserID is the user a named sign-in is for; "" lets the
	// authenticator name any user of the tenant.
	UserID string `json:"uid,omitempty"`
	// Expires is the end of the ceremony, in Unix seconds.
	Expires int64                `json:"exp"`
	Session webauthn.SessionData `json:"sd"`
}

func (t loginToken) expires() time.Time { return time.Unix(t.Expires, 0).UTC() }

// loginTokenAD binds a sealed token to its purpose, type and tenant.
func loginTokenAD(tenantID string) []byte {
	return []byte("authmethods.challenge\x00" + ceremonyPasskeyLogin + "\x00" + tenantID)
}

var tokenEncoding = base64.RawURLEncoding.Strict()

// sealLoginToken seals t for tenantID into a handle.
func (s *Service) sealLoginToken(tenantID string, t loginToken) (string, error) {
	plain, err := json.Marshal(t)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "encode WebAuthn session")
	}
	sealed, err := s.challenges.Seal(plain, loginTokenAD(tenantID))
	if err != nil {
		return "", err
	}
	h := loginTokenPrefix + tokenEncoding.EncodeToString(sealed)
	if len(h) > maxLoginToken {
		return "", errs.E(errs.Internal, "a passkey sign-in handle of %d bytes", len(h))
	}
	return h, nil
}

// openLoginToken opens a handle that came back from a browser for a
// passkey sign-in in tenantID at now. Whatever is wrong with it (its
// shape, its seal, its tenant, its type, its expiry) is stepGone; a
// cause, when there is one, is kept for the log.
func (s *Service) openLoginToken(tenantID, handle string, now time.Time) (loginToken, error) {
	rest, ok := strings.CutPrefix(handle, loginTokenPrefix)
	if !ok || tenantID == "" || len(handle) > maxLoginToken {
		return loginToken{}, stepGone()
	}
	sealed, err := tokenEncoding.DecodeString(rest)
	if err != nil {
		return loginToken{}, stepGone()
	}
	plain, err := s.challenges.Open(sealed, loginTokenAD(tenantID))
	if err != nil {
		e := stepGone()
		e.Cause = err
		return loginToken{}, e
	}
	var t loginToken
	if err := json.Unmarshal(plain, &t); err != nil {
		e := stepGone()
		e.Cause = err
		return loginToken{}, e
	}
	exp := t.expires()
	switch {
	case t.Expires <= 0 || !now.Before(exp) || exp.After(now.Add(2*ceremonyLifetime)):
		return loginToken{}, stepGone()
	case t.Session.Challenge == "" || t.Session.UserVerification != protocol.VerificationRequired:
		return loginToken{}, stepGone()
	case t.UserID == "" && len(t.Session.UserID) != 0,
		t.UserID != "" && !bytes.Equal(t.Session.UserID, userHandle(t.UserID)):
		return loginToken{}, stepGone()
	}
	return t, nil
}

// challengeID is the id of an answered challenge's record.
func challengeID(challenge string) string {
	sum := sha256.Sum256([]byte(ceremonyPasskeyLogin + "|" + challenge))
	return hex.EncodeToString(sum[:])
}

// spendChallenge records t's challenge as answered, by userID, in the
// write that accepts the answer; a challenge answered before is
// stepGone, and the write fails with it.
func spendChallenge(w store.Writer, tenantID string, t loginToken, userID string) error {
	until := wholeSecond(t.expires().Add(usedChallengeMargin))
	data, err := json.Marshal(ceremony{Type: ceremonyPasskeyAnswered, UserID: userID, ExpiresDateTime: until})
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode ceremony")
	}
	err = w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindAuthMethodCeremony, ID: challengeID(t.Session.Challenge),
		DisplayName: userID, CreatedAt: until, Data: data})
	if errs.KindOf(err) == errs.Conflict {
		return stepGone()
	}
	return err
}

// maybePurgeCeremonies purges a batch of the tenant's expired ceremonies
// (answered challenges among them) when due, in a transaction of its own
// so concurrent sign-ins do not contend over the same rows. It is best
// effort: what it leaves, the next one takes.
func (s *Service) maybePurgeCeremonies(ctx context.Context, tenantID string) {
	now := s.now()
	if !s.purges.Due(tenantID, now, challengePurgeEvery) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for range purgeBatches {
		n := 0
		err := s.st.Write(ctx, func(w store.Writer) (err error) {
			n, err = purgeCeremonies(w, tenantID, now, bigPurgeBatch)
			return err
		})
		if err != nil {
			s.log.Warn("could not purge expired authentication method ceremonies", "tenant", tenantID, "err", err)
			return
		}
		if n < bigPurgeBatch {
			return
		}
	}
}
