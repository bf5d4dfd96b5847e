package passwords

import (
	"github.com/ostiary/ostiary/internal/errs"
)

const (
	minPasswordLen = 8
	maxPasswordLen = 256
)

// CheckComplexity applies Entra ID's default password policy for cloud
// users: 8 to 256 characters, at least three of lower case, upper case,
// digits and symbols, and only the characters Entra accepts (printable
// ASCII, space included; Entra rejects other Unicode characters, which also
// spares users passwords that normalize differently on each device). The
// error carries Graph's code and message so clients see what Entra says.
func CheckComplexity(pw string) error {
	if len(pw) < minPasswordLen || len(pw) > maxPasswordLen {
		return errComplexity()
	}
	var lower, upper, digit, symbol int
	for i := 0; i < len(pw); i++ {
		switch c := pw[i]; {
		case 'a' <= c && c <= 'z':
			lower = 1
		case 'A' <= c && c <= 'Z':
			upper = 1
		case '0' <= c && c <= '9':
			digit = 1
		case ' ' <= c && c <= '~':
			symbol = 1
		default: // control characters and any byte of a non-ASCII rune
			return errComplexity()
		}
	}
	if lower+upper+digit+symbol < 3 {
		return errComplexity()
	}
	return nil
}

// CheckLength is the rule left when a user's passwordPolicies contain
// DisableStrongPassword: Entra then drops the character-class requirement
// but keeps the length limits and the character set.
func CheckLength(pw string) error {
	if len(pw) < minPasswordLen || len(pw) > maxPasswordLen {
		return errComplexity()
	}
	for i := 0; i < len(pw); i++ {
		if c := pw[i]; c < ' ' || c > '~' {
			return errComplexity()
		}
	}
	return nil
}

func errComplexity() error {
	return errs.E(errs.Invalid, "The specified password does not comply with password complexity requirements. Please provide a different password.").
		WithCode("Request_BadRequest")
}

const (
	generatedLen = 20
	letters      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	digits       = "0123456789"
	// Symbols that need no quoting in a POSIX shell or a JSON string.
	safeSymbols = "-_.~+=@%^:"
)

// Generate returns a random 20-character password containing all four
// character classes, for bootstrap admins and recovery, where a person will
// copy it once and then change it. It starts with a letter and avoids
// symbols that need quoting, so it survives being pasted into a shell.
// Candidates missing a class are discarded and redrawn, which keeps every
// acceptable password equally likely (about 120 bits of entropy).
func Generate() (string, error) {
	const alphabet = letters + digits + safeSymbols
	for {
		first, err := randomString(letters, 1)
		if err != nil {
			return "", err
		}
		rest, err := randomString(alphabet, generatedLen-1)
		if err != nil {
			return "", err
		}
		pw := first + rest
		if hasAllClasses(pw) {
			return pw, nil
		}
	}
}

func hasAllClasses(s string) bool {
	var lower, upper, digit, symbol bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case '0' <= c && c <= '9':
			digit = true
		default:
			symbol = true
		}
	}
	return lower && upper && digit && symbol
}
