// Package tokens issues and verifies Ostiary's JWTs and owns the signing
// keys behind them.
//
// Keys. Entra signs with RSA keys that are shared by every tenant and
// published with a self-signed certificate; kid and x5t are both the
// base64url SHA-1 thumbprint of that certificate. Ostiary does the same so
// that validators written for Entra (which look keys up by kid, or by x5t in
// v1 tokens) work unchanged. A key moves through three states: next (published
// but not yet signing, so validators that cache the key set already know it
// when it starts signing), current (signing) and previous (no longer signing,
// published until every token it signed has expired). Keys live in the store
// as server-wide objects (TenantID ""), the private key sealed with the
// master key; every replica keeps an immutable parsed copy in memory, so
// verifying a token never touches the store.
//
// Tokens. Issuer signs access tokens with RS256; Verifier checks them with
// at most one RSA verification and returns typed claims. The JOSE work is
// go-jose's (github.com/go-jose/go-jose/v4): it builds and signs the compact
// JWS, parses tokens refusing every algorithm but RS256 (so alg "none" and
// HMAC keyed with the public key fail before any verification), and checks
// the signature with the key it is handed. This package adds what go-jose
// leaves to its caller: the key is chosen by kid from the in-memory set,
// never taken from the token (jwk, x5c); tokens over MaxTokenSize are
// refused before parsing; a token is accepted only in its one canonical
// spelling (go-jose's base64 decoding skips newlines and ignores stray
// bits); a crit header is refused; exp and nbf are checked within ClockSkew
// and the issuer against the token's own tenant; and every failure is
// Graph's (Unauthenticated, InvalidAuthenticationToken, Graph's messages).
// Claims are Entra's and are decoded into fixed structs with encoding/json
// rather than go-jose/jwt, whose Expected cannot express an issuer that
// depends on the token's tid.
package tokens

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is defined as a SHA-1 thumbprint (RFC 7515 §4.1.7); it names a key, it does not protect it.
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// KeyState is where a signing key is in its life.
type KeyState string

const (
	// StateNext keys are published ahead of use.
	StateNext KeyState = "next"
	// StateCurrent is the one key that signs new tokens.
	StateCurrent KeyState = "current"
	// StatePrevious keys no longer sign; they stay published until the
	// tokens they signed have expired.
	StatePrevious KeyState = "previous"
)

// rsaBits is the key size Entra uses for its token signing keys.
const rsaBits = 2048

// certValidity is how long a signing certificate claims to be valid. The
// certificate only carries the public key to validators (x5c); nothing
// checks its dates against the key's actual life, which rotation bounds.
const certValidity = 5 * 365 * 24 * time.Hour

// PublicKey is a published signing key, as the JWKS endpoint shows it.
type PublicKey struct {
	// KID is the key id and also its x5t: base64url(SHA-1(certificate DER)).
	KID   string
	State KeyState
	Key   *rsa.PublicKey
	// Certificate is the DER of the self-signed certificate (x5c).
	Certificate []byte
}

// keyDoc is the stored, public part of a signing key (Object.Data). The
// private key is in Object.Secret, PKCS#8 sealed with the kid as associated
// data so a sealed key copied onto another row does not open.
type keyDoc struct {
	KID         string   `json:"kid"`
	State       KeyState `json:"state"`
	Certificate []byte   `json:"certificate"`
	// CreatedDateTime is when the key was generated (and first published).
	CreatedDateTime time.Time `json:"createdDateTime"`
	// ActivatedDateTime is when the key became current.
	ActivatedDateTime *time.Time `json:"activatedDateTime,omitempty"`
	// RetiredDateTime is when the key stopped being current.
	RetiredDateTime *time.Time `json:"retiredDateTime,omitempty"`
}

// storedKey is a key document with the id of the object holding it.
type storedKey struct {
	id     string
	doc    keyDoc
	secret []byte
}

// newKey is a generated key ready to be stored.
type newKey struct {
	kid     string
	certDER []byte
	sealed  []byte
}

// Sealer encrypts private keys at rest (package secretbox implements it).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// thumbprint is Entra's kid / x5t for a certificate.
func thumbprint(certDER []byte) string {
	sum := sha1.Sum(certDER) //nolint:gosec // see import comment
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// generateKey makes an RSA key and its self-signed certificate and seals the
// private key. It is slow (tens to hundreds of milliseconds), so callers run
// it outside store transactions.
func generateKey(box Sealer, now time.Time) (newKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return newKey{}, errs.Wrap(errs.Internal, err, "tokens: cannot generate a signing key")
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return newKey{}, errs.Wrap(errs.Internal, err, "tokens: cannot generate a serial number")
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Ostiary token signing"},
		NotBefore:             now.Add(-time.Hour).UTC(),
		NotAfter:              now.Add(certValidity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return newKey{}, errs.Wrap(errs.Internal, err, "tokens: cannot create the signing certificate")
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return newKey{}, errs.Wrap(errs.Internal, err, "tokens: cannot encode the signing key")
	}
	kid := thumbprint(der)
	sealed, err := box.Seal(pk, []byte(kid))
	if err != nil {
		return newKey{}, errs.Wrap(errs.Internal, err, "tokens: cannot seal the signing key")
	}
	return newKey{kid: kid, certDER: der, sealed: sealed}, nil
}

// object is the stored form of a new key in the given state.
func (k newKey) object(state KeyState, now time.Time) (store.Object, keyDoc, error) {
	doc := keyDoc{KID: k.kid, State: state, Certificate: k.certDER, CreatedDateTime: now.UTC()}
	if state == StateCurrent {
		t := now.UTC()
		doc.ActivatedDateTime = &t
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return store.Object{}, keyDoc{}, errs.Wrap(errs.Internal, err, "tokens: cannot encode a key document")
	}
	return store.Object{
		TenantID:    "",
		Kind:        iam.KindSigningKey,
		ID:          iam.NewID(),
		DisplayName: "Token signing key " + k.kid,
		CreatedAt:   now.UTC(),
		Data:        data,
		Secret:      k.sealed,
	}, doc, nil
}

// parsedKey is a key ready for use: the public half always, the private
// half only for the current key.
type parsedKey struct {
	PublicKey
	created   time.Time
	activated time.Time
	private   *rsa.PrivateKey
	// joseSigner signs with private (nil when private is); go-jose signers
	// are safe for concurrent use, so one is made per key and shared.
	joseSigner jose.Signer
}

// parseStored turns a stored key into a usable one. withPrivate opens the
// sealed private key and checks that it matches the certificate.
func parseStored(box Sealer, sk storedKey, withPrivate bool) (*parsedKey, error) {
	cert, err := x509.ParseCertificate(sk.doc.Certificate)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "tokens: signing key %s has an unreadable certificate", sk.id)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < rsaBits {
		return nil, errs.E(errs.Internal, "tokens: signing key %s is not RSA-%d", sk.id, rsaBits)
	}
	if got := thumbprint(sk.doc.Certificate); got != sk.doc.KID {
		return nil, errs.E(errs.Internal, "tokens: signing key %s has kid %q but its certificate thumbprint is %q", sk.id, sk.doc.KID, got)
	}
	pk := &parsedKey{
		PublicKey: PublicKey{KID: sk.doc.KID, State: sk.doc.State, Key: pub, Certificate: sk.doc.Certificate},
		created:   sk.doc.CreatedDateTime,
	}
	if sk.doc.ActivatedDateTime != nil {
		pk.activated = *sk.doc.ActivatedDateTime
	}
	if !withPrivate {
		return pk, nil
	}
	plain, err := box.Open(sk.secret, []byte(sk.doc.KID))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "tokens: cannot open signing key %s (is the master key right?)", sk.id)
	}
	key, err := x509.ParsePKCS8PrivateKey(plain)
	clear(plain)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "tokens: signing key %s has an unreadable private key", sk.id)
	}
	priv, ok := key.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(pub) {
		return nil, errs.E(errs.Internal, "tokens: signing key %s does not match its certificate", sk.id)
	}
	signer, err := newSigner(sk.doc.KID, priv)
	if err != nil {
		return nil, err
	}
	pk.private, pk.joseSigner = priv, signer
	return pk, nil
}

// keySet is an immutable snapshot of the published keys. Replaced whole on
// reload, read without locks.
type keySet struct {
	byKID     map[string]*parsedKey
	signer    *parsedKey  // the current key; nil before EnsureKeys
	published []PublicKey // previous keys oldest first, then current, then next
}

func buildKeySet(box Sealer, stored []storedKey) (*keySet, error) {
	// The current key is the most recently activated one in state current;
	// should a failed write ever leave two, the other still verifies.
	var cur *storedKey
	for i := range stored {
		sk := &stored[i]
		if sk.doc.State == StateCurrent && (cur == nil || activatedAt(sk).After(activatedAt(cur))) {
			cur = sk
		}
	}
	set := &keySet{byKID: make(map[string]*parsedKey, len(stored))}
	order := map[KeyState]int{StatePrevious: 0, StateCurrent: 1, StateNext: 2}
	var keys []*parsedKey
	for i := range stored {
		sk := &stored[i]
		if _, known := order[sk.doc.State]; !known {
			continue
		}
		pk, err := parseStored(box, *sk, sk == cur)
		if err != nil {
			return nil, err
		}
		if sk == cur {
			set.signer = pk
		}
		set.byKID[pk.KID] = pk
		keys = append(keys, pk)
	}
	// List keys in the order they were (or will be) used.
	slices.SortStableFunc(keys, func(a, b *parsedKey) int {
		if c := cmp.Compare(order[a.State], order[b.State]); c != 0 {
			return c
		}
		return a.created.Compare(b.created)
	})
	for _, k := range keys {
		set.published = append(set.published, k.PublicKey)
	}
	return set, nil
}

func activatedAt(sk *storedKey) time.Time {
	if sk.doc.ActivatedDateTime != nil {
		return *sk.doc.ActivatedDateTime
	}
	return time.Time{}
}

// decodeStored reads a stored object into a storedKey.
func decodeStored(o store.Object) (storedKey, error) {
	var doc keyDoc
	if err := json.Unmarshal(o.Data, &doc); err != nil {
		return storedKey{}, errs.Wrap(errs.Internal, err, "tokens: signing key %s has an unreadable document", o.ID)
	}
	if doc.KID == "" {
		return storedKey{}, errs.Wrap(errs.Internal, fmt.Errorf("empty kid"), "tokens: signing key %s has an unreadable document", o.ID)
	}
	return storedKey{id: o.ID, doc: doc, secret: o.Secret}, nil
}
