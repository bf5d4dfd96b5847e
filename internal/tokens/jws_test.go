package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// TestVerifyOneSpelling checks that a signed token is accepted only as it
// was issued: go-jose's decoder alone would skip newlines and ignore the
// stray bits of a final base64 character.
func TestVerifyOneSpelling(t *testing.T) {
	keys := memKeys(t)
	iss, err := NewIssuer(keys, IssuerConfig{PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := NewVerifier(keys, testPublicURL)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.IssueAppToken(graphRequest(t0, "User.Read.All"))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	if _, err := ver.VerifyAccessToken(tok.Raw, now); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Raw, ".")
	var variants []string
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		if sig := parts[2][:len(parts[2])-1] + string(c); sig != parts[2] {
			variants = append(variants, parts[0]+"."+parts[1]+"."+sig)
		}
	}
	variants = append(variants,
		parts[0]+"\n."+parts[1]+"."+parts[2],
		parts[0]+"."+parts[1][:10]+"\r\n"+parts[1][10:]+"."+parts[2],
		tok.Raw[:len(tok.Raw)-4]+"\n"+tok.Raw[len(tok.Raw)-4:],
		tok.Raw+"\n", tok.Raw+"=", " "+tok.Raw,
		`{"protected":"`+parts[0]+`","payload":"`+parts[1]+`","signature":"`+parts[2]+`"}`,
	)
	for _, raw := range variants {
		_, err := ver.VerifyAccessToken(raw, now)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Unauthenticated || e.Code != CodeInvalidToken {
			t.Errorf("%q: err = %v, want Unauthenticated", raw, err)
		}
	}
}
