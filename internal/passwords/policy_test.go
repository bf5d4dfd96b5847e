package passwords

import (
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

func TestCheckComplexity(t *testing.T) {
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{"Passw0rd", true},                        // lower, upper, digit
		{"password1!", true},                      // lower, digit, symbol
		{"PASSWORD1!", true},                      // upper, digit, symbol
		{"Password!", true},                       // lower, upper, symbol
		{"pass word 1", true},                     // space counts as a symbol
		{"Pa1!", false},                           // too short
		{"Pa1!Pa1", false},                        // 7 characters
		{"Pa1!Pa1!", true},                        // exactly 8
		{"password", false},                       // one class
		{"password1", false},                      // two classes
		{"PASSWORD!", false},                      // two classes
		{"12345678!", false},                      // two classes
		{"", false},                               //
		{"Pässword1", false},                      // non-ASCII is not allowed by Entra
		{"Password1\t", false},                    // control character
		{"Password1\x00", false},                  // NUL
		{"Passwörd1!", false},                     // non-ASCII among valid classes
		{"Aa1" + strings.Repeat("x", 253), true},  // 256
		{"Aa1" + strings.Repeat("x", 254), false}, // 257
		{`@#$%^&*-_!+=[]{}|\:',.?/` + "`~\"();<>Aa", true},
	} {
		err := CheckComplexity(c.pw)
		if c.ok {
			if err != nil {
				t.Errorf("CheckComplexity(%q) = %v, want nil", c.pw, err)
			}
			continue
		}
		e := errs.As(err)
		if err == nil || e.Kind != errs.Invalid || e.Code != "Request_BadRequest" ||
			e.Message != "The specified password does not comply with password complexity requirements. Please provide a different password." {
			t.Errorf("CheckComplexity(%q) = %#v", c.pw, err)
		}
	}
}

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		pw, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) < 16 || !hasAllClasses(pw) {
			t.Fatalf("Generate() = %q lacks length or a class", pw)
		}
		if err := CheckComplexity(pw); err != nil {
			t.Fatalf("Generate() = %q fails the policy: %v", pw, err)
		}
		if c := pw[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			t.Fatalf("Generate() = %q does not start with a letter", pw)
		}
		if strings.ContainsAny(pw, " '\"`$\\!&|;<>()*?[]{}#/,") {
			t.Fatalf("Generate() = %q contains a shell-special character", pw)
		}
		if seen[pw] {
			t.Fatalf("Generate() repeated %q", pw)
		}
		seen[pw] = true
	}
}
