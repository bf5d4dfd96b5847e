package oauth2

import (
	"strings"
	"testing"
)

func TestPKCE(t *testing.T) {
	// RFC 7636 Appendix B.
	v := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	c := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if S256Challenge(v) != c || !VerifyPKCE(MethodS256, c, v) {
		t.Fatal("RFC 7636 example")
	}
	if VerifyPKCE(MethodS256, c, v[:42]+"x") || VerifyPKCE("", c, v) || VerifyPKCE(MethodS256, c, v[:42]) {
		t.Error("wrong verifiers accepted")
	}
	if !VerifyPKCE(MethodPlain, v, v) || VerifyPKCE(MethodPlain, v, v+"a") {
		t.Error("plain")
	}
	for _, bad := range []string{"", strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "+", strings.Repeat("é", 30)} {
		if ValidVerifier(bad) {
			t.Errorf("ValidVerifier(%q)", bad)
		}
	}
	if !ValidVerifier(strings.Repeat("~", 128)) || !ValidChallenge(MethodS256, c) || ValidChallenge(MethodS256, c+"A") || ValidChallenge("S512", c) {
		t.Error("ValidChallenge / ValidVerifier bounds")
	}
}

func TestRedirectMatch(t *testing.T) {
	s := RedirectSet{
		Web:    []string{"https://app.example.com/cb"},
		SPA:    []string{"https://spa.example.com/"},
		Public: []string{"http://localhost", "http://127.0.0.1:5000/cb", "myapp://auth"},
	}
	cases := []struct {
		uri  string
		want Platform
	}{
		{"https://app.example.com/cb", PlatformWeb},
		{"https://spa.example.com/", PlatformSPA},
		{"http://localhost", PlatformPublic},
		{"http://localhost:53123", PlatformPublic},
		{"http://localhost:53123/", PlatformPublic},
		{"http://127.0.0.1:9/cb", PlatformPublic},
		{"myapp://auth", PlatformPublic},
		{"https://app.example.com/cb/", 0},
		{"https://APP.example.com/cb", 0},
		{"https://app.example.com/CB", 0},
		{"http://localhost:53123/other", 0},
		{"http://127.0.0.1:9/cb?x=1", 0},
		{"http://localhost.evil.com:80", 0},
		{"https://localhost:443", 0},
		{"http://user@localhost:1", 0},
		{"http://127.0.0.1:5000/cb#frag", 0},
		{"http://localhost:abc", 0},
		{"", 0},
	}
	for _, c := range cases {
		got, ok := s.Match(c.uri)
		if ok != (c.want != 0) || got != c.want {
			t.Errorf("Match(%q) = %v %v, want %v", c.uri, got, ok, c.want)
		}
	}
	if Origin("http://localhost:5000/cb?x") != "http://localhost:5000" || Origin("myapp://auth") != "" || Origin("https://a b/") != "" {
		t.Error("Origin")
	}
}
