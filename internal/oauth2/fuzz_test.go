package oauth2

import (
	"strings"
	"testing"
)

// FuzzRedirectMatch: matching never panics, an exact registered URI always
// matches, and a loopback match only ever differs from a registered URI by
// its port.
func FuzzRedirectMatch(f *testing.F) {
	for _, s := range []string{"http://localhost", "http://localhost:1234/cb", "http://127.0.0.1:0", "http://[::1]:80/",
		"https://app/cb", "myapp://x", "http://localhost:99999999999", "http://%zz", "http://localhost:1/../cb", ""} {
		f.Add(s, "http://localhost:5555")
		f.Add("http://localhost/cb", s)
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		s := RedirectSet{Public: []string{registered}}
		p, ok := s.Match(requested)
		if ok && p != PlatformPublic {
			t.Fatalf("platform %v", p)
		}
		if registered != "" && len(registered) <= maxRedirectURILen {
			if _, ok := s.Match(registered); !ok {
				t.Fatalf("exact URI %q does not match itself", registered)
			}
		}
		if ok && registered != requested {
			if !strings.HasPrefix(requested, "http://") {
				t.Fatalf("non-http loopback match %q ~ %q", registered, requested)
			}
		}
		if _, ok := (RedirectSet{Web: []string{registered}}).Match(requested); ok && registered != requested {
			t.Fatalf("web URIs must match exactly: %q ~ %q", registered, requested)
		}
		_ = Origin(requested)
	})
}

// FuzzPKCE: validation and verification never panic; a verifier that
// verifies is well formed, and a valid verifier always answers its own
// S256 challenge.
func FuzzPKCE(f *testing.F) {
	f.Add("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
	f.Add("", "")
	f.Add(strings.Repeat("~", 128), "x")
	f.Fuzz(func(t *testing.T, verifier, challenge string) {
		for _, m := range []string{MethodS256, MethodPlain, ""} {
			if VerifyPKCE(m, challenge, verifier) && !ValidVerifier(verifier) {
				t.Fatalf("malformed verifier %q verified", verifier)
			}
			_ = ValidChallenge(m, challenge)
		}
		if ValidVerifier(verifier) {
			if l := len(verifier); l < 43 || l > 128 {
				t.Fatalf("length %d accepted", l)
			}
			c := S256Challenge(verifier)
			if !ValidChallenge(MethodS256, c) || !VerifyPKCE(MethodS256, c, verifier) {
				t.Fatalf("own challenge of %q", verifier)
			}
		}
	})
}
