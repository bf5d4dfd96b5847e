package oidc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ostiary/ostiary/internal/errs"
)

func TestParseUserScope(t *testing.T) {
	cases := []struct {
		in       string
		resource string
		values   []string
		all      bool
		code     int
	}{
		{"User.Read openid profile offline_access", "https://graph.microsoft.com", []string{"User.Read"}, false, 0},
		{"https://graph.microsoft.com/User.Read User.Read mail.read", "https://graph.microsoft.com", []string{"User.Read", "mail.read"}, false, 0},
		{"00000003-0000-0000-c000-000000000000/User.Read User.Read", "00000003-0000-0000-c000-000000000000", []string{"User.Read"}, false, 0},
		{"api://orders/.default", "api://orders", nil, true, 0},
		{"openid profile", "https://graph.microsoft.com", nil, true, 0},
		{"api://orders/Read User.Read", "", nil, false, 700022},
		{"/User.Read", "", nil, false, 70011},
		{"api://orders/", "", nil, false, 70011},
		{"", "", nil, false, 900144},
	}
	for _, c := range cases {
		us, err := parseUserScope(c.in)
		if c.code != 0 {
			if err == nil || asOAuth(err).code != c.code {
				t.Errorf("%q: err %v, want AADSTS%d", c.in, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if us.resource != c.resource || strings.Join(us.values, " ") != strings.Join(c.values, " ") || us.all != c.all {
			t.Errorf("%q: got %q %v %v", c.in, us.resource, us.values, us.all)
		}
	}
}

// TestGrantedNeverWidens: whatever was asked, scp holds only granted
// values, and a scope asked for but not granted refuses the request.
func TestGrantedNeverWidens(t *testing.T) {
	grantedList := []string{"User.Read"}
	lookup := func(v string) (string, bool) {
		if strings.EqualFold(v, "User.Read") {
			return "User.Read", true
		}
		return "", false
	}
	us, _ := parseUserScope("User.Read Mail.Read openid")
	if _, _, ok := us.granted(lookup, grantedList, "https://graph.microsoft.com"); ok {
		t.Errorf("Mail.Read is not granted")
	}
	us, _ = parseUserScope("https://graph.microsoft.com/.default user.read openid")
	scp, echo, ok := us.granted(lookup, grantedList, "https://graph.microsoft.com")
	if !ok || strings.Join(scp, " ") != "User.Read" || strings.Join(echo, " ") != "user.read https://graph.microsoft.com/.default openid" {
		t.Errorf("granted: %v %v %v", scp, echo, ok)
	}
}

// FuzzParseUserScope: the scope parser never panics, and what it accepts
// names one resource and bounded values.
func FuzzParseUserScope(f *testing.F) {
	for _, s := range []string{"User.Read openid", "api://x/.default", "a/b c/d", "/ // ///", "https://graph.microsoft.com//User.Read",
		"00000003-0000-0000-C000-000000000000/.default offline_access", strings.Repeat("x ", 200), "\x00/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, err := parseUserScope(s)
		if err != nil {
			return
		}
		if us.resource == "" || len(us.values) > maxScopeValues {
			t.Fatalf("%q: %+v", s, us)
		}
		_, _, _ = us.granted(func(v string) (string, bool) { return v, true }, []string{"A"}, us.resource)
		_ = us.requested()
	})
}

// TestBusyHasherIs429: a saturated password hasher becomes 429, which
// writeError sends with Retry-After.
func TestBusyHasherIs429(t *testing.T) {
	busy := errs.E(errs.Unavailable, "Too many requests are being processed.").WithCode("TooManyRequests")
	if oe := asOAuth(busy); oe.status != http.StatusTooManyRequests || oe.oauth != "temporarily_unavailable" {
		t.Errorf("busy hasher: %+v", oe)
	}
}
