package oauth2

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE methods (RFC 7636 §4.2).
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// Lengths of a code verifier (RFC 7636 §4.1), and of a code challenge: an
// S256 challenge is 43 characters, a plain one is the verifier itself.
const (
	MinVerifierLen = 43
	MaxVerifierLen = 128
)

// unreserved reports whether c is in RFC 7636's verifier alphabet:
// ALPHA / DIGIT / "-" / "." / "_" / "~".
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// ValidVerifier reports whether v is a well-formed code verifier: 43 to 128
// characters of the unreserved alphabet.
func ValidVerifier(v string) bool {
	if len(v) < MinVerifierLen || len(v) > MaxVerifierLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

// ValidChallenge reports whether c is a well-formed challenge for method:
// for S256 the unpadded base64url of a SHA-256 (43 characters), for plain
// a verifier.
func ValidChallenge(method, c string) bool {
	switch method {
	case MethodS256:
		if len(c) != 43 {
			return false
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(c)
		return err == nil && len(b) == sha256.Size
	case MethodPlain:
		return ValidVerifier(c)
	}
	return false
}

// S256Challenge returns the S256 challenge of verifier.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE reports whether verifier answers challenge under method. A
// malformed verifier never does. The comparison is constant-time.
func VerifyPKCE(method, challenge, verifier string) bool {
	if !ValidVerifier(verifier) {
		return false
	}
	var got string
	switch method {
	case MethodS256:
		got = S256Challenge(verifier)
	case MethodPlain:
		got = verifier
	default:
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
