package tokens

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/go-jose/go-jose/v4"

	"github.com/ostiary/ostiary/internal/errs"
)

// b64 is unpadded base64url in strict mode: it rejects a final character
// with stray trailing bits, the one leniency canonical() has to rule out.
var b64 = base64.RawURLEncoding.Strict()

// MaxTokenSize bounds the tokens the verifier will look at. Entra's largest
// tokens (many groups or roles) stay well below it; anything larger is
// rejected before any decoding work.
const MaxTokenSize = 16 << 10

// rs256 is the only algorithm accepted, passed to go-jose at parse time.
var rs256 = []jose.SignatureAlgorithm{jose.RS256}

// headerCrit is the "crit" header parameter (RFC 7515 §4.1.11).
const headerCrit jose.HeaderKey = "crit"

// newSigner returns the RS256 signer for a key. Its protected header carries
// typ, kid and x5t beside alg, x5t being the kid as in Entra's v1 tokens.
func newSigner(kid string, priv *rsa.PrivateKey) (jose.Signer, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid).WithHeader("x5t", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv}, opts)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "tokens: cannot make a signer for key %s", kid)
	}
	return s, nil
}

// sign returns the compact RS256 JWS of claims under key, which must hold a
// private key.
func sign(key *parsedKey, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot encode claims")
	}
	jws, err := key.joseSigner.Sign(payload)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot sign")
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot serialize a token")
	}
	return raw, nil
}

// The messages Microsoft Graph returns for a bad bearer token; the Graph
// layer shows them as they are, with the error code below.
const (
	msgEmpty     = "Access token is empty."
	msgMalformed = "CompactToken parsing failed with error code: 80049217"
	msgSignature = "Invalid signature."
	msgTime      = "Access token has expired or is not yet valid."
	msgIssuer    = "Access token validation failure. Invalid issuer."
	// CodeInvalidToken is Graph's error code for every bearer token failure.
	CodeInvalidToken = "InvalidAuthenticationToken"
)

func tokenError(msg string) error {
	return errs.E(errs.Unauthenticated, "%s", msg).WithCode(CodeInvalidToken)
}

// verifyCompact checks a compact JWS against the key set and returns its
// verified payload. go-jose parses it and accepts only RS256, so alg "none"
// and HMAC with the public key as secret fail at parse time; the key is
// chosen by kid from the set, never taken from the token (jwk, x5c), and
// at most one RSA verification is made. Around go-jose it adds the size
// cap, the one-spelling check, the refusal of crit, and Graph's errors.
func verifyCompact(set *keySet, raw string) ([]byte, *parsedKey, error) {
	if raw == "" {
		return nil, nil, tokenError(msgEmpty)
	}
	if len(raw) > MaxTokenSize || !canonical(raw) {
		return nil, nil, tokenError(msgMalformed)
	}
	jws, err := jose.ParseSignedCompact(raw, rs256)
	if err != nil {
		if _, badAlg := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); badAlg {
			return nil, nil, tokenError(msgSignature)
		}
		return nil, nil, tokenError(msgMalformed)
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, tokenError(msgMalformed)
	}
	// Compact serialization has no unprotected header: every field read
	// here is covered by the signature.
	hdr := jws.Signatures[0].Protected
	// No extension is understood, so none may be critical. go-jose would
	// honour crit ["b64"] (RFC 7797); Ostiary never signs one.
	if _, crit := hdr.ExtraHeaders[headerCrit]; crit {
		return nil, nil, tokenError(msgSignature)
	}
	key := set.byKID[hdr.KeyID]
	if key == nil {
		return nil, nil, tokenError(msgSignature)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, nil, tokenError(msgSignature)
	}
	return payload, key, nil
}

// canonical reports whether raw is spelt the one way a signer writes it:
// only base64url characters and dots, and no segment ending in a character
// with stray trailing bits. go-jose decodes with Go's lenient decoder, which
// skips CR and LF and ignores trailing bits, and it checks the signature
// over re-encoded segments, so without this check one signed token would be
// accepted in many spellings (a token id is then no longer one string).
func canonical(raw string) bool {
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '.' {
			seg := raw[start:i]
			// Only the last, partial quantum can carry stray bits.
			if tail := seg[len(seg)&^3:]; tail != "" {
				var buf [3]byte
				if _, err := b64.Decode(buf[:], []byte(tail)); err != nil {
					return false
				}
			}
			start = i + 1
			continue
		}
		switch c := raw[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
