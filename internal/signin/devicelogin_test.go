package signin

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDeviceTemplatesHaveNoScript: the device login pages render without
// script or inline style, and escape what they show.
func TestDeviceTemplatesHaveNoScript(t *testing.T) {
	hostile := `"><script>alert(1)</script>`
	views := map[string]any{
		"devicecode.html":    deviceCodeView{Page: newPage("t"), Action: deviceLoginPath, CSRF: "c", Code: hostile, Error: hostile},
		"deviceconfirm.html": deviceConfirmView{Page: newPage("t"), Action: deviceLoginPath, CSRF: "c", AppName: hostile, Username: hostile, UserCode: hostile},
		"devicedone.html":    deviceDoneView{Page: newPage("t"), Heading: hostile, Message: hostile},
	}
	for name, v := range views {
		var buf bytes.Buffer
		if err := pages.ExecuteTemplate(&buf, name, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		low := strings.ToLower(buf.String())
		for _, bad := range []string{"<script", " style=", "<style", " onclick", " onload", "javascript:"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q: %s", name, bad, buf.String())
			}
		}
	}
}

// TestAttemptLimiter: a key is refused after max failures within the
// window and allowed again after it; any refused key refuses the request;
// memory stays bounded.
func TestAttemptLimiter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newAttemptLimiter(3, time.Minute, 4)
	for range 3 {
		if !l.allowed(now, "ip|a", "browser|x") {
			t.Fatal("refused before the limit")
		}
		l.fail(now, "ip|a", "browser|x")
	}
	if l.allowed(now, "ip|a") || l.allowed(now, "ip|b", "browser|x") {
		t.Error("allowed past the limit")
	}
	if !l.allowed(now, "ip|b", "browser|y") {
		t.Error("another key refused")
	}
	if !l.allowed(now.Add(time.Minute), "ip|a", "browser|x") {
		t.Error("refused after the window")
	}
	for i := range 10 {
		l.fail(now, "k"+string(rune('a'+i)))
	}
	if len(l.seen) > 4 {
		t.Errorf("limiter holds %d keys, cap 4", len(l.seen))
	}
	l.fail(now.Add(2*time.Minute), "new")
	if _, ok := l.seen["new"]; !ok {
		t.Error("expired keys were not swept to make room")
	}
}

// TestAttemptLimiterFullTableFailsClosed: once the table is full of live
// entries, a key it cannot track must still be limited. An attacker who
// fills the table (fresh CSRF cookies, many addresses) must not earn
// unlimited user code guesses from every address it has not used yet.
func TestAttemptLimiterFullTableFailsClosed(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newAttemptLimiter(3, time.Minute, 4)
	for i := range 4 {
		l.fail(now, "browser|"+string(rune('a'+i)))
	}
	refused := false
	for range 10 {
		if !l.allowed(now, "ip|attacker") {
			refused = true
			break
		}
		l.fail(now, "ip|attacker")
	}
	if !refused {
		t.Error("an untracked key guessed without limit while the table was full")
	}
	if len(l.seen) > 4 {
		t.Errorf("limiter holds %d keys, cap 4", len(l.seen))
	}
	if !l.allowed(now.Add(time.Minute), "ip|attacker") {
		t.Error("still refused after the window")
	}
}

// TestDeviceLoginLimitKeysIPv6: every address of one IPv6 /64 (what a
// single host or customer is given) shares one failure count; IPv4
// addresses count alone.
func TestDeviceLoginLimitKeysIPv6(t *testing.T) {
	d := &deviceLogin{h: &Handler{}}
	key := func(addr string) string {
		r := httptest.NewRequest("POST", deviceLoginPath, nil)
		r.RemoteAddr = addr
		return d.limitKeys(r)[0]
	}
	if a, b := key("[2001:db8:1:2::1]:4000"), key("[2001:db8:1:2:ffff:1:2:3]:4001"); a != b {
		t.Errorf("two addresses of one /64 are limited apart: %q, %q", a, b)
	}
	if a, b := key("[2001:db8:1:2::1]:4000"), key("[2001:db8:1:3::1]:4000"); a == b {
		t.Errorf("two /64s share a limit: %q", a)
	}
	if a, b := key("192.0.2.1:4000"), key("192.0.2.2:4000"); a == b {
		t.Errorf("two IPv4 addresses share a limit: %q", a)
	}
}
