// Package authmethods keeps users' authentication methods: the password
// (which the directory owns; it only shows here), TOTP authenticator apps
// (RFC 6238), passkeys (WebAuthn) and Temporary Access Passes. It serves
// them to Graph (/users/{id}/authentication/…, the
// userRegistrationDetails report) and offers the sign-in flow the checks
// of each second factor.
//
// Storage. Each method is one object of kind iam.KindAuthenticationMethod:
// Data is the method's Graph document (its "@odata.type" included) with a
// "userId" and a few "x_" state properties no response shows; the indexed
// display name column holds the user's id, so a user's methods are one
// index range; Secret holds what must not leak, sealed with the server's
// master key (a TOTP seed, a passkey's credential record) or hashed (a
// Temporary Access Pass). Steps in progress of a signed-in user (a TOTP
// enrollment waiting for its first code, a passkey registration) are
// single-use objects of kind iam.KindAuthMethodCeremony that expire within
// minutes. A passkey sign-in's challenge is not stored until it is
// answered: it travels sealed in its handle (logintoken.go), and the
// answer that is accepted records it, as an object of the same kind, so it
// is answered once. Failed second-factor attempts are counted per user in
// an object of kind iam.KindStrongAuthState.
//
// Every check that must not race (a TOTP code used twice, a one-time pass
// used twice, a passkey's signature counter, the failure count) reads and
// writes in one store.Write, which both backends serialise.
package authmethods

import (
	"context"
	"github.com/ostiary/ostiary/internal/pace"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/store"
)

// Sealer encrypts secrets at rest (package secretbox implements it).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// Roles tells which built-in roles a user holds tenant-wide (package
// access implements it); the registration report's isAdmin comes from it.
type Roles interface {
	TenantWideRoles(ctx context.Context, tenantID, principalID string) ([]string, error)
}

// Config adjusts the service.
type Config struct {
	// PublicURL is the server's public origin. Passkeys are bound to it:
	// its host is the WebAuthn relying party id, the URL the only origin.
	// A host that is an IP address cannot be a relying party id, so such
	// a server offers no passkeys (the other methods work).
	PublicURL string
	// Issuer names the TOTP account in authenticator apps when the tenant
	// has no display name; "Ostiary" if empty.
	Issuer string
	// Roles answers isAdmin; without it nobody is an admin in the report.
	Roles Roles
	// Lockout limits wrong second-factor attempts; zero fields take the
	// defaults of DefaultLockout.
	Lockout LockoutPolicy
	// ChallengeSealer seals the passkey sign-in challenges handed to
	// browsers (logintoken.go); nil uses the service's sealer. Anyone can
	// have one sealed, by viewing a sign-in page, so the server gives
	// them a key of their own (secretbox.DeriveKey): they never spend the
	// nonce budget of the key that protects secrets at rest.
	ChallengeSealer Sealer
	Now             func() time.Time
	Log             *slog.Logger
}

// Service is the authentication methods service.
type Service struct {
	st  store.Store
	box Sealer
	// challenges seals passkey sign-in challenges (Config.ChallengeSealer).
	challenges Sealer
	// purges paces the purge of spent challenges (logintoken.go).
	purges pace.PerKey
	authz  authz.Authorizer
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	// wa is nil when the public URL cannot host passkeys; waErr says why.
	wa    *webauthn.WebAuthn
	waErr error
}

// New returns the service over st, sealing with box and authorizing
// Graph callers with a.
func New(st store.Store, box Sealer, a authz.Authorizer, cfg Config) (*Service, error) {
	if st == nil || box == nil || a == nil {
		return nil, errs.E(errs.Internal, "authmethods: a store, a sealer and an authorizer are required")
	}
	s := &Service{st: st, box: box, challenges: cfg.ChallengeSealer, authz: a, cfg: cfg, now: cfg.Now, log: cfg.Log}
	if s.challenges == nil {
		s.challenges = box
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.cfg.Issuer == "" {
		s.cfg.Issuer = "Ostiary"
	}
	s.cfg.Lockout = s.cfg.Lockout.withDefaults()
	s.wa, s.waErr = newRelyingParty(cfg.PublicURL)
	return s, nil
}

// newRelyingParty configures WebAuthn for the public URL: user
// verification required (a passkey is a whole second factor only if the
// authenticator checked a PIN or biometric), a discoverable credential
// (so sign-in can start without a user name), platform or roaming
// authenticators alike, and no attestation (Ostiary keeps no metadata of
// authenticator models to judge it by).
func newRelyingParty(publicURL string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return nil, errs.E(errs.Unavailable, "Passkeys need the server's public URL.")
	}
	host := u.Hostname()
	if err := protocol.ValidateRPID(host); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "Passkeys need a public URL whose host is a domain name, not %q.", host)
	}
	requireKey := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: host,
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &requireKey,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyLifetime, TimeoutUVD: ceremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyLifetime, TimeoutUVD: ceremonyLifetime},
		},
	})
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "Passkeys are not available on this server.")
	}
	return wa, nil
}
