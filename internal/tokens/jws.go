package tokens

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
)

// b64 is unpadded base64url in strict mode: a token with non-canonical
// encoding (stray trailing bits) is rejected, so one signed token has exactly
// one accepted spelling.
var b64 = base64.RawURLEncoding.Strict()

// MaxTokenSize bounds the tokens the verifier will look at. Entra's largest
// tokens (many groups or roles) stay well below it; anything larger is
// rejected before any decoding work.
const MaxTokenSize = 16 << 10

// jwsHeader is the protected header Ostiary writes: Entra's field order,
// with x5t beside kid as in Entra's v1 tokens.
type jwsHeader struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	X5t string `json:"x5t"`
	Kid string `json:"kid"`
}

// encodeHeader returns the encoded header for a key; computed once per key.
func encodeHeader(kid string) string {
	h, _ := json.Marshal(jwsHeader{Typ: "JWT", Alg: "RS256", X5t: kid, Kid: kid})
	return b64.EncodeToString(h)
}

// sign returns the compact RS256 JWS of claims under key.
func sign(key *parsedKey, claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot encode claims")
	}
	sigLen := b64.EncodedLen(key.private.Size())
	buf := make([]byte, 0, len(key.header)+2+b64.EncodedLen(len(payload))+sigLen)
	buf = append(buf, key.header...)
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key.private, crypto.SHA256, digest[:])
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "tokens: cannot sign")
	}
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf), nil
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

// verifyHeader is what the verifier reads from a header. Crit is decoded
// only to refuse it: no extension is understood, so none may be critical.
type verifyHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// verifyCompact checks a compact JWS against the key set and returns its
// decoded payload. It performs at most one RSA verification: the key is
// chosen by kid from the set, never taken from the token, and only RS256 is
// accepted, so alg "none", HMAC with the public key as secret, and embedded
// keys (jwk, x5c) cannot be used.
func verifyCompact(set *keySet, raw string) ([]byte, *parsedKey, error) {
	if raw == "" {
		return nil, nil, tokenError(msgEmpty)
	}
	if len(raw) > MaxTokenSize {
		return nil, nil, tokenError(msgMalformed)
	}
	dot1 := strings.IndexByte(raw, '.')
	dot2 := strings.LastIndexByte(raw, '.')
	if dot1 <= 0 || dot1 == dot2 || strings.IndexByte(raw[dot1+1:dot2], '.') >= 0 {
		return nil, nil, tokenError(msgMalformed)
	}
	hdrJSON, err := b64.DecodeString(raw[:dot1])
	if err != nil {
		return nil, nil, tokenError(msgMalformed)
	}
	var hdr verifyHeader
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, nil, tokenError(msgMalformed)
	}
	if hdr.Alg != "RS256" || hdr.Crit != nil {
		return nil, nil, tokenError(msgSignature)
	}
	key := set.byKID[hdr.Kid]
	if key == nil {
		return nil, nil, tokenError(msgSignature)
	}
	sig, err := b64.DecodeString(raw[dot2+1:])
	if err != nil {
		return nil, nil, tokenError(msgMalformed)
	}
	if len(sig) != key.Key.Size() {
		return nil, nil, tokenError(msgSignature)
	}
	h := sha256.New()
	_, _ = h.Write([]byte(raw[:dot2]))
	if err := rsa.VerifyPKCS1v15(key.Key, crypto.SHA256, h.Sum(nil), sig); err != nil {
		return nil, nil, tokenError(msgSignature)
	}
	payload, err := b64.DecodeString(raw[dot1+1 : dot2])
	if err != nil {
		return nil, nil, tokenError(msgMalformed)
	}
	return payload, key, nil
}
