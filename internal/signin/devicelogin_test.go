package signin

import (
	"bytes"
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
