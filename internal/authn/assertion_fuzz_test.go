package authn

import (
	"strings"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

// FuzzParseClientAssertion: the client assertion parser, the key lookup and
// the claim checks never panic on any input, and whatever they refuse is
// refused with an AADSTS code.
func FuzzParseClientAssertion(f *testing.F) {
	for _, s := range []string{
		"",
		"a.b.c",
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
		// PS256 with x5t#S256 and claims, bad signature.
		"eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCIsIng1dCNTMjU2IjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQT0ifQ." +
			"eyJhdWQiOlsiaHR0cHM6Ly94L3Rva2VuIl0sImV4cCI6MS41ZTksImlzcyI6ImEiLCJqdGkiOiJqIiwibmJmIjoxNzAwMDAwMDAwLCJzdWIiOiJhIn0.AAAA",
		// RS256 with x5t and an exp of the wrong type.
		"eyJhbGciOiJSUzI1NiIsIng1dCI6IkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQSJ9.eyJleHAiOiJzb29uIn0.AAAA",
	} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseClientAssertion(raw)
		if err != nil {
			if !hasAADSTS(err) {
				t.Fatalf("error without an AADSTS code: %v", err)
			}
			return
		}
		key := "MAo="
		_, err = findAssertionKey(p, []iam.KeyCredential{{KeyID: "k", Type: "AsymmetricX509Cert", Usage: "Verify", Key: &key}}, "a", now)
		if err == nil || !hasAADSTS(err) {
			t.Fatalf("a key matched a junk certificate: %v", err)
		}
		if _, err := checkAssertionClaims(&p.claims, "a", []string{"https://x/token"}, now); err != nil && !hasAADSTS(err) {
			t.Fatalf("error without an AADSTS code: %v", err)
		}
	})
}

func hasAADSTS(err error) bool { return strings.HasPrefix(errs.As(err).Code, "AADSTS") }
