// Package secretbox encrypts secrets that Ostiary must be able to read back
// (signing keys, federated credentials, TOTP seeds) before they reach the
// store, so a copy of the database or a backup alone does not reveal them.
//
// It is AES-256-GCM under one master key with a random 96-bit nonce per
// message. Sealed values start with a version byte so the key or the
// algorithm can be rotated later: a new version can be added beside v1 and
// old rows re-sealed in the background while both are still readable.
//
// The master key is not stored in the database. It comes from a key file in
// the data directory (LoadOrCreateKeyFile) or from configuration
// (OSTIARY_MASTER_KEY, ParseKey). Several replicas sharing one PostgreSQL
// database must all be given the same key, or each will fail to open what
// the others sealed.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/ostiary/ostiary/internal/errs"
)

// KeySize is the length of a master key in bytes (AES-256).
const KeySize = 32

const (
	// version1 marks AES-256-GCM with a 12-byte random nonce:
	// v1 (1 byte) | nonce (12 bytes) | ciphertext and 16-byte tag.
	version1  = 0x01
	nonceSize = 12
	tagSize   = 16
	headerLen = 1 + nonceSize
)

// Box seals and opens values under one master key. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key. The key is copied by the cipher, so
// the caller may wipe its slice afterwards.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, errs.E(errs.Invalid, "secretbox: the master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot create cipher")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot create GCM")
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. associatedData is authenticated but not stored;
// callers pass what the secret belongs to (for example the row's table and
// ID) so a sealed value copied onto another row fails to open.
//
// A random nonce is safe for up to about 2^32 messages per key, far more
// secrets than a directory holds; rotation to a new key resets the count.
func (b *Box) Seal(plaintext, associatedData []byte) ([]byte, error) {
	out := make([]byte, headerLen, headerLen+len(plaintext)+tagSize)
	out[0] = version1
	if _, err := rand.Read(out[1:headerLen]); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot read random nonce")
	}
	return b.aead.Seal(out, out[1:headerLen], plaintext, aad(version1, associatedData)), nil
}

// Open decrypts a value made by Seal with the same associatedData. Any
// tampering, truncation, wrong key or wrong associated data gives an
// Internal error: stored data that does not authenticate is a server-side
// fault, never the caller's.
func (b *Box) Open(sealed, associatedData []byte) ([]byte, error) {
	if len(sealed) < headerLen+tagSize {
		return nil, errs.Wrap(errs.Internal, fmt.Errorf("sealed value too short (%d bytes)", len(sealed)), "secretbox: cannot open sealed value")
	}
	if sealed[0] != version1 {
		return nil, errs.Wrap(errs.Internal, fmt.Errorf("unknown format version %d", sealed[0]), "secretbox: cannot open sealed value")
	}
	pt, err := b.aead.Open(nil, sealed[1:headerLen], sealed[headerLen:], aad(version1, associatedData))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot open sealed value")
	}
	return pt, nil
}

// aad binds the format version into the authenticated data, so a future
// version can never be made to accept a v1 ciphertext or the reverse.
func aad(version byte, associatedData []byte) []byte {
	a := make([]byte, 0, 1+len(associatedData))
	a = append(a, version)
	return append(a, associatedData...)
}

// DeriveKey returns a key of its own for one purpose, derived from the
// master key with HKDF-SHA256: a Box under it opens nothing sealed under
// the master key or under another purpose's key, and the reverse. It is
// for values sealed in volume at anyone's request (challenges handed to
// browsers), which would otherwise spend the master key's budget of
// random nonces (see Seal) and bring values an outsider chooses when to
// make under the key that protects secrets at rest.
func DeriveKey(master []byte, purpose string) ([]byte, error) {
	if len(master) != KeySize {
		return nil, errs.E(errs.Invalid, "secretbox: the master key must be %d bytes, got %d", KeySize, len(master))
	}
	if purpose == "" {
		return nil, errs.E(errs.Internal, "secretbox: a derived key needs a purpose")
	}
	k, err := hkdf.Key(sha256.New, master, nil, "ostiary secretbox v1 derived key: "+purpose, KeySize)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "secretbox: cannot derive a key")
	}
	return k, nil
}
