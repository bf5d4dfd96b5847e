package authn

import (
	"strings"
	"testing"
)

// FuzzNormalizeUserCode: the user code normaliser never panics; what it
// accepts is eight letters of the alphabet, stable under normalising its
// own output and its display form, and it accepts exactly the inputs that
// are such a code after removing case, hyphens and blanks.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"", "BCDF-GHJK", "bcdfghjk", " WDJB MJHT ", "WDJB-MJHTX", "AEIO-UY01", "ＢCDF-GHJK", "bcdf\tghjk", strings.Repeat("-", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := NormalizeUserCode(s)
		stripped := strings.Map(func(r rune) rune {
			if r == '-' || r == ' ' || r == '\t' {
				return -1
			}
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, s)
		want := len(s) <= maxUserCodeInput && len(stripped) == userCodeLen && strings.Trim(stripped, UserCodeAlphabet) == ""
		if ok != want {
			t.Fatalf("NormalizeUserCode(%q) = %q, %v; want ok=%v", s, got, ok, want)
		}
		if !ok {
			if got != "" {
				t.Fatalf("refused input returned %q", got)
			}
			return
		}
		if got != stripped {
			t.Fatalf("NormalizeUserCode(%q) = %q, want %q", s, got, stripped)
		}
		if again, ok := NormalizeUserCode(FormatUserCode(got)); !ok || again != got {
			t.Fatalf("display form %q does not normalise back: %q %v", FormatUserCode(got), again, ok)
		}
	})
}

// TestNewUserCode: user codes are eight letters of the alphabet, in
// display form they normalise back, and every letter turns up.
func TestNewUserCode(t *testing.T) {
	seen := map[rune]bool{}
	for range 200 {
		c, err := newUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := NormalizeUserCode(FormatUserCode(c)); !ok || n != c {
			t.Fatalf("user code %q", c)
		}
		for _, r := range c {
			seen[r] = true
		}
	}
	if len(seen) != len(UserCodeAlphabet) {
		t.Errorf("only %d letters of %d in 1600 draws", len(seen), len(UserCodeAlphabet))
	}
}
