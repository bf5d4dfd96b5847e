package authmethods

import (
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// FuzzNormaliseCode: what people type for a TOTP code either becomes six
// ASCII digits or is refused; it never matches with anything else.
func FuzzNormaliseCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", " 123456 ", "12345", "1234567", "12a456", "１２３４５６", "\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := normaliseCode(in)
		if !ok {
			if out != "" {
				t.Fatalf("refused %q but returned %q", in, out)
			}
			return
		}
		if len(out) != 6 {
			t.Fatalf("%q normalised to %q", in, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] < '0' || out[i] > '9' {
				t.Fatalf("%q normalised to %q", in, out)
			}
		}
		// A normalised code matches only its own steps.
		if _, ok := matchTOTP("JBSWY3DPEHPK3PXP", in, time.Unix(1_700_000_000, 0), 0); ok {
			if _, want := matchTOTP("JBSWY3DPEHPK3PXP", out, time.Unix(1_700_000_000, 0), 0); !want {
				t.Fatalf("%q matched but its normal form %q did not", in, out)
			}
		}
	})
}

// FuzzParseResponses: a browser's WebAuthn answer, whatever it is, is
// decoded or refused as Invalid; it never panics.
func FuzzParseResponses(f *testing.F) {
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Add([]byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA","userHandle":"AA"}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"response":{"attestationObject":"v2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YUA"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseCreationResponse(b); err != nil && errs.KindOf(err) != errs.Invalid {
			t.Fatalf("creation: %v", err)
		}
		if _, err := ParseAssertionResponse(b); err != nil && errs.KindOf(err) != errs.Invalid {
			t.Fatalf("assertion: %v", err)
		}
		_ = validHandle(string(b))
	})
}

// FuzzOpenLoginToken: a passkey sign-in handle comes back from a browser,
// so the opener parses untrusted input. Whatever it is given, it never
// panics, refuses with the one Invalid error, and opens only the exact
// handles the server sealed (the encoding is canonical, the seal
// authenticated), never a variant of one.
func FuzzOpenLoginToken(f *testing.F) {
	s := tokenService(f)
	named := mustSeal(f, s, tokenTenant, validToken())
	d := validToken()
	d.UserID, d.Session.UserID, d.Session.AllowedCredentialIDs = "", nil, nil
	discoverable := mustSeal(f, s, tokenTenant, d)
	valid := map[string]bool{named: true, discoverable: true}
	f.Add(named)
	f.Add(discoverable)
	f.Add(named[:len(named)-1])
	f.Add(named + "A")
	f.Add(named + "=")
	f.Add("AM1." + named[len(loginTokenPrefix):])
	f.Add(loginTokenPrefix)
	f.Add(loginTokenPrefix + "AAAA")
	f.Add("")
	f.Add(loginTokenPrefix + "\x00\xff")
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := s.openLoginToken(tokenTenant, h, tokenNow)
		if err != nil {
			if errs.KindOf(err) != errs.Invalid || errs.As(err).Message != stepGone().Message {
				t.Fatalf("refused %q as %v", h, err)
			}
			return
		}
		if !valid[h] {
			t.Fatalf("opened a handle the server never sealed: %q (%+v)", h, tok)
		}
	})
}
