package passwords

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

const (
	clientSecretLen = 40
	// 64 URL-safe characters, so each one carries exactly 6 bits: the
	// letters and digits minus the look-alikes 'O' and 'l', plus ~ . _ -
	// which Entra's secrets also use.
	secretAlphabet = "ABCDEFGHIJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789~._-"
	// First and last characters are alphanumeric so a secret is never
	// taken for a command-line flag and keeps its final character when a
	// chat client or terminal treats trailing punctuation as prose.
	secretEdgeAlphabet = "ABCDEFGHIJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"

	clientSecretPrefix = "sha256$"
)

// NewClientSecret returns a new 40-character client secret in the shape of
// Entra's (letters, digits and ~ . _ -). It carries about 239 bits of
// entropy (38 characters of 6 bits and two of log2(60)), far above the 128
// bits that make a single fast hash safe to store (see HashClientSecret).
func NewClientSecret() (string, error) {
	first, err := randomString(secretEdgeAlphabet, 1)
	if err != nil {
		return "", err
	}
	middle, err := randomString(secretAlphabet, clientSecretLen-2)
	if err != nil {
		return "", err
	}
	last, err := randomString(secretEdgeAlphabet, 1)
	if err != nil {
		return "", err
	}
	return first + middle + last, nil
}

// HashClientSecret returns "sha256$" and the unpadded base64 SHA-256 of
// secret. No salt is needed: salts stop precomputed tables and shared
// guesses across users, and neither helps against a uniformly random
// 239-bit value that no table can cover. A fast hash keeps client
// credential grants cheap. The "sha256$" prefix leaves room for another
// scheme later (e.g. a keyed hash) next to this one.
func HashClientSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return clientSecretPrefix + base64.RawStdEncoding.EncodeToString(sum[:])
}

// VerifyClientSecret reports whether secret matches hash, comparing the
// digests in constant time. A malformed or unknown-scheme hash never
// matches.
func VerifyClientSecret(hash, secret string) bool {
	enc, ok := strings.CutPrefix(hash, clientSecretPrefix)
	// The length check also rejects the \r and \n that base64 would skip.
	if !ok || len(enc) != base64.RawStdEncoding.EncodedLen(sha256.Size) {
		return false
	}
	want, err := base64.RawStdEncoding.Strict().DecodeString(enc)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
