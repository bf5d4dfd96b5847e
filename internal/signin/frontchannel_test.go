package signin

import "testing"

// TestFrontChannelURL: a registered logout URL is framed with iss and sid
// (its own query kept, any fragment dropped) only when it is https, or
// http on a loopback address; never with credentials in it.
func TestFrontChannelURL(t *testing.T) {
	const iss, sid = "https://login.example/t/v2.0", "s-1"
	cases := map[string]string{
		"https://app.example/logout":         "https://app.example/logout?iss=https%3A%2F%2Flogin.example%2Ft%2Fv2.0&sid=s-1",
		"https://app.example/logout?a=1#top": "https://app.example/logout?a=1&iss=https%3A%2F%2Flogin.example%2Ft%2Fv2.0&sid=s-1",
		"https://app.example/l?sid=forged":   "https://app.example/l?iss=https%3A%2F%2Flogin.example%2Ft%2Fv2.0&sid=s-1",
		"http://localhost:3000/logout":       "http://localhost:3000/logout?iss=https%3A%2F%2Flogin.example%2Ft%2Fv2.0&sid=s-1",
		"http://127.0.0.1/logout":            "http://127.0.0.1/logout?iss=https%3A%2F%2Flogin.example%2Ft%2Fv2.0&sid=s-1",
		"http://app.example/logout":          "",
		"https://user:pw@app.example/logout": "",
		"javascript:alert(1)":                "",
		"myapp://logout":                     "",
		"/relative":                          "",
		"":                                   "",
	}
	for in, want := range cases {
		if got := frontChannelURL(in, iss, sid); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestParseMaxAge: whole non-negative seconds; anything else is
// AADSTS90023.
func TestParseMaxAge(t *testing.T) {
	if d, ok, err := parseMaxAge("3600"); err != nil || !ok || d.Seconds() != 3600 {
		t.Errorf("3600: %v %v %v", d, ok, err)
	}
	if _, ok, err := parseMaxAge(""); err != nil || ok {
		t.Errorf("absent: %v %v", ok, err)
	}
	for _, bad := range []string{"-1", "1.5", "soon", "99999999999999999999"} {
		if _, _, err := parseMaxAge(bad); err == nil || fromErr(err).code != 90023 {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
