// Package webdriver drives a real headless Chromium for tests of the
// sign-in pages, through chromedriver's W3C WebDriver HTTP API.
//
// It is a small client written here rather than a dependency: the tests
// need a dozen REST calls (navigate, find, type, click, read, screenshot,
// the console log, a virtual WebAuthn authenticator), while the Go
// libraries for the Chrome DevTools Protocol pull in a large generated
// protocol tree. It imports no project package.
//
// Tests are gated like the PostgreSQL suites: New reads chromedriver's
// path from OSTIARY_TEST_CHROMEDRIVER (and Chromium's from
// OSTIARY_TEST_CHROMIUM, default /usr/bin/chromium). Without it the test
// is skipped on a developer machine but fails when CI is set, so a
// pipeline cannot pass by silently skipping the browser tests.
//
// Every method fails the test (t.Fatal) on an error, so call them from the
// test's goroutine only.
package webdriver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables that enable the browser tests.
const (
	// DriverEnv names the chromedriver executable.
	DriverEnv = "OSTIARY_TEST_CHROMEDRIVER"
	// ChromiumEnv names the Chromium executable (default DefaultChromium).
	ChromiumEnv = "OSTIARY_TEST_CHROMIUM"
	// ScreenshotsEnv names a directory Capture writes screenshots to.
	ScreenshotsEnv = "OSTIARY_TEST_SCREENSHOTS"
	// DefaultChromium is Chromium's path when ChromiumEnv is unset.
	DefaultChromium = "/usr/bin/chromium"
)

// Flags are Chromium's command-line flags: headless, as root (no
// sandbox), on a closed network (no background requests, updates or
// sync), with a fixed window size so screenshots compare.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--window-size=1000,1300",
}

// elementKey is the W3C web element identifier's key.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"

// Timeout bounds a wait (Find, Wait) and a page load.
const Timeout = 20 * time.Second

// Browser is one WebDriver session: a Chromium with a fresh profile,
// driven by its own chromedriver, both ended when the test ends.
type Browser struct {
	t       testing.TB
	base    string // chromedriver's URL, http://127.0.0.1:port
	session string
	hc      *http.Client
	shots   int
	// soft: inside a poll, a failed command ends the attempt (a page may
	// be between two documents) instead of the test.
	soft bool
}

// Element is an element of the current page.
type Element struct {
	b  *Browser
	id string
	// css is the selector that found it, for messages.
	css string
}

// LogEntry is a message of the browser's console (JavaScript errors,
// Content-Security-Policy violations, failed loads, console.*).
type LogEntry struct {
	Level     string `json:"level"` // SEVERE, WARNING, INFO, DEBUG
	Message   string `json:"message"`
	Source    string `json:"source"`
	Timestamp int64  `json:"timestamp"`
}

func (e LogEntry) String() string { return e.Level + " " + e.Source + ": " + e.Message }

// New starts chromedriver and a headless Chromium session for the test,
// both stopped when it ends. It skips the test when DriverEnv is unset,
// or fails it when CI is set.
func New(t testing.TB) *Browser {
	t.Helper()
	driver := os.Getenv(DriverEnv)
	if driver == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set; CI must run the browser tests (apt-get install chromium chromium-driver)", DriverEnv)
		}
		t.Skipf("%s is not set; skipping the headless Chromium tests (set it to chromedriver's path, e.g. /usr/bin/chromedriver)", DriverEnv)
	}
	chromium := os.Getenv(ChromiumEnv)
	if chromium == "" {
		chromium = DefaultChromium
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium (%s): %v", ChromiumEnv, err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(driver, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1", "--log-level=WARNING")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromedriver (%s): %v", DriverEnv, err)
	}
	b := &Browser{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port), hc: &http.Client{Timeout: 2 * Timeout}}
	profile, err := os.MkdirTemp("", "ostiary-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b.session != "" {
			_, _ = b.call("DELETE", "/session/"+b.session, nil) // closes Chromium
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(profile) // Chromium may still be flushing: best effort
	})
	if err := b.waitReady(); err != nil {
		t.Fatalf("chromedriver did not start: %v\n%s", err, out.String())
	}
	caps := map[string]any{
		"browserName":         "chrome",
		"acceptInsecureCerts": true, // the test servers' self-signed certificates
		"pageLoadStrategy":    "normal",
		"timeouts":            map[string]int{"implicit": 0, "pageLoad": int(Timeout / time.Millisecond), "script": int(Timeout / time.Millisecond)},
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args":   append(append([]string{}, Flags...), "--user-data-dir="+profile),
		},
		"goog:loggingPrefs":              map[string]string{"browser": "ALL"},
		"webauthn:virtualAuthenticators": true,
	}
	v, err := b.call("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": caps}})
	if err != nil {
		t.Fatalf("Chromium did not start: %v\n%s", err, out.String())
	}
	var s struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(v, &s); err != nil || s.SessionID == "" {
		t.Fatalf("new session: %v %s", err, v)
	}
	b.session = s.SessionID
	return b
}

// freePort is a TCP port free on the loopback address just now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (b *Browser) waitReady() error {
	deadline := time.Now().Add(Timeout)
	for {
		v, err := b.call("GET", "/status", nil)
		if err == nil {
			var st struct {
				Ready bool `json:"ready"`
			}
			if json.Unmarshal(v, &st) == nil && st.Ready {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v", Timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wdError is a WebDriver error response.
type wdError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *wdError) Error() string {
	msg, _, _ := strings.Cut(e.Message, "\n  (Session info") // chromedriver's suffix
	return fmt.Sprintf("webdriver %d %s: %s", e.Status, e.Code, msg)
}

// call sends a WebDriver command and returns its "value".
func (b *Browser) call(method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("webdriver %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK {
		e := &wdError{Status: resp.StatusCode}
		_ = json.Unmarshal(env.Value, e)
		return nil, e
	}
	return env.Value, nil
}

// do is call in the session, failing the test on an error (or, in a
// poll, the attempt).
func (b *Browser) do(method, path string, body any) json.RawMessage {
	b.t.Helper()
	v, err := b.call(method, "/session/"+b.session+path, body)
	if err != nil {
		if b.soft {
			panic(softError{fmt.Errorf("%s %s: %w", method, path, err)})
		}
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return v
}

// softError is a command's error inside a poll.
type softError struct{ err error }

// doInto is do, decoding the value into out.
func (b *Browser) doInto(method, path string, body, out any) {
	b.t.Helper()
	v := b.do(method, path, body)
	if err := json.Unmarshal(v, out); err != nil {
		b.t.Fatalf("%s %s: %v: %s", method, path, err, v)
	}
}

// Navigate loads u and waits for the page to load.
func (b *Browser) Navigate(u string) {
	b.t.Helper()
	b.do("POST", "/url", map[string]string{"url": u})
}

// URL is the current page's URL.
func (b *Browser) URL() string {
	b.t.Helper()
	return b.getString("/url")
}

// Title is the current page's title.
func (b *Browser) Title() string {
	b.t.Helper()
	return b.getString("/title")
}

// Source is the current page's HTML, as the browser serializes its DOM.
func (b *Browser) Source() string {
	b.t.Helper()
	return b.getString("/source")
}

// getString is a GET of the session's path whose value is a string.
func (b *Browser) getString(path string) string {
	b.t.Helper()
	var s string
	b.doInto("GET", path, nil, &s)
	return s
}

// Text is the rendered text of the page's body (what a user reads:
// hidden elements are left out).
func (b *Browser) Text() string {
	b.t.Helper()
	return b.Find("body").Text()
}

// Find waits up to Timeout for an element matching the CSS selector.
func (b *Browser) Find(css string) *Element {
	b.t.Helper()
	var found []*Element
	if err := b.poll(func() bool { found = b.FindAll(css); return len(found) > 0 }); err != nil {
		b.t.Fatalf("no element %q on %s: %v\n%s", css, b.URL(), err, b.Source())
	}
	return found[0]
}

// FindAll returns the elements matching the CSS selector now, without
// waiting.
func (b *Browser) FindAll(css string) []*Element {
	b.t.Helper()
	var refs []map[string]string
	b.doInto("POST", "/elements", map[string]string{"using": "css selector", "value": css}, &refs)
	out := make([]*Element, 0, len(refs))
	for _, r := range refs {
		out = append(out, &Element{b: b, id: r[elementKey], css: css})
	}
	return out
}

// Wait polls cond until it holds, failing the test after Timeout. A
// command of the browser that fails within cond (an element of a page
// that was just replaced, say) counts as "not yet".
func (b *Browser) Wait(what string, cond func() bool) {
	b.t.Helper()
	if err := b.poll(cond); err != nil {
		b.t.Fatalf("waiting for %s: %v; at %s:\n%s", what, err, b.URL(), b.Source())
	}
}

// poll runs cond until it holds or Timeout passes.
func (b *Browser) poll(cond func() bool) error {
	deadline := time.Now().Add(Timeout)
	for {
		ok, err := b.attempt(cond)
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("timed out after %s", Timeout)
			}
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// attempt runs cond once, turning a failed command into an error.
func (b *Browser) attempt(cond func() bool) (ok bool, err error) {
	prev := b.soft
	b.soft = true
	defer func() {
		b.soft = prev
		if r := recover(); r != nil {
			s, isSoft := r.(softError)
			if !isSoft {
				panic(r)
			}
			ok, err = false, s.err
		}
	}()
	return cond(), nil
}

// WaitURL waits until the current URL starts with prefix and returns it.
func (b *Browser) WaitURL(prefix string) string {
	b.t.Helper()
	var u string
	b.Wait("a page at "+prefix, func() bool { u = b.URL(); return strings.HasPrefix(u, prefix) })
	return u
}

// Execute runs a synchronous script in the page and returns its result
// (JSON-decoded). Use it to inspect the page, not to drive it: a test
// should act as a user does (Click, SendKeys).
func (b *Browser) Execute(script string, args ...any) any {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	for i, a := range args {
		if e, ok := a.(*Element); ok {
			args[i] = map[string]string{elementKey: e.id}
		}
	}
	var out any
	b.doInto("POST", "/execute/sync", map[string]any{"script": script, "args": args}, &out)
	return out
}

// Screenshot is a PNG of the viewport.
func (b *Browser) Screenshot() []byte {
	b.t.Helper()
	var s string
	b.doInto("GET", "/screenshot", nil, &s)
	png, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		b.t.Fatalf("screenshot is not a PNG: %v", err)
	}
	return png
}

// Capture takes a screenshot and, when ScreenshotsEnv names a directory,
// writes it there as <test>-<nn>-<name>.png.
func (b *Browser) Capture(name string) []byte {
	b.t.Helper()
	png := b.Screenshot()
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		return png
	}
	b.shots++
	file := fmt.Sprintf("%s-%02d-%s.png", sanitize(b.t.Name()), b.shots, sanitize(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return png
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// Log returns the browser console's messages since the last call (the
// driver clears what it returns).
func (b *Browser) Log() []LogEntry {
	b.t.Helper()
	var out []LogEntry
	b.doInto("POST", "/se/log", map[string]string{"type": "browser"}, &out)
	return out
}

// DeleteCookies deletes the cookies of the current page's site, as a new
// browser would have none.
func (b *Browser) DeleteCookies() {
	b.t.Helper()
	b.do("DELETE", "/cookie", nil)
}

// AddVirtualAuthenticator attaches a WebAuthn platform authenticator
// (CTAP2, internal transport) that keeps discoverable credentials and
// verifies the user without asking, and returns its id. The page's own
// script then creates and uses passkeys with it through
// navigator.credentials, as with a real one.
func (b *Browser) AddVirtualAuthenticator() string {
	b.t.Helper()
	var id string
	b.doInto("POST", "/webauthn/authenticator", map[string]any{
		"protocol": "ctap2", "transport": "internal",
		"hasResidentKey": true, "hasUserVerification": true,
		"isUserConsenting": true, "isUserVerified": true,
	}, &id)
	return id
}

// Credential is a credential of a virtual authenticator.
type Credential struct {
	CredentialID         string `json:"credentialId"`
	IsResidentCredential bool   `json:"isResidentCredential"`
	RPID                 string `json:"rpId"`
	UserHandle           string `json:"userHandle"`
	SignCount            int    `json:"signCount"`
}

// Credentials lists the credentials a virtual authenticator holds.
func (b *Browser) Credentials(authenticatorID string) []Credential {
	b.t.Helper()
	var out []Credential
	b.doInto("GET", "/webauthn/authenticator/"+authenticatorID+"/credentials", nil, &out)
	return out
}

// SendKeys types text into the element (WebDriver key codes such as
// Enter, "\ue007", included).
func (e *Element) SendKeys(text string) {
	e.b.t.Helper()
	e.b.do("POST", "/element/"+e.id+"/value", map[string]string{"text": text})
}

// Enter is the WebDriver key code of the Enter key.
const Enter = "\ue007"

// Clear empties an input.
func (e *Element) Clear() {
	e.b.t.Helper()
	e.b.do("POST", "/element/"+e.id+"/clear", map[string]any{})
}

// Click clicks the element as a user would (scrolled into view, and
// refused if another element covers it or it is hidden). A click that
// starts a navigation waits for it.
func (e *Element) Click() {
	e.b.t.Helper()
	e.b.do("POST", "/element/"+e.id+"/click", map[string]any{})
}

// Submit submits the element's form as a user does: Enter in the field.
func (e *Element) Submit() {
	e.b.t.Helper()
	e.SendKeys(Enter)
}

// Text is the element's rendered text.
func (e *Element) Text() string {
	e.b.t.Helper()
	var s string
	e.b.doInto("GET", "/element/"+e.id+"/text", nil, &s)
	return s
}

// Attribute is an attribute's value, and whether the element has it.
func (e *Element) Attribute(name string) (string, bool) {
	e.b.t.Helper()
	var s *string
	e.b.doInto("GET", "/element/"+e.id+"/attribute/"+name, nil, &s)
	if s == nil {
		return "", false
	}
	return *s, true
}

// Property is a DOM property's value (an input's current value, say).
func (e *Element) Property(name string) any {
	e.b.t.Helper()
	var v any
	e.b.doInto("GET", "/element/"+e.id+"/property/"+name, nil, &v)
	return v
}

// Displayed reports whether the element is shown.
func (e *Element) Displayed() bool {
	e.b.t.Helper()
	var v bool
	e.b.doInto("GET", "/element/"+e.id+"/displayed", nil, &v)
	return v
}

// Enabled reports whether the element (a button, an input) is enabled.
func (e *Element) Enabled() bool {
	e.b.t.Helper()
	var v bool
	e.b.doInto("GET", "/element/"+e.id+"/enabled", nil, &v)
	return v
}

// syncBuffer collects chromedriver's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
