package tlsboot

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ensure(t *testing.T, dir string, hosts []string, now time.Time) Files {
	t.Helper()
	f, err := Ensure(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// snapshot reads all four files so runs can be compared byte for byte.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, n := range []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = b
	}
	return m
}

func leaf(t *testing.T, f Files) *x509.Certificate {
	t.Helper()
	c, err := readCert(f.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFirstRunCreatesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "tls")
	f := ensure(t, dir, []string{"id.example.com", "192.0.2.10", "[2001:db8::1]"}, t0)

	if f.CAFile != filepath.Join(dir, "ca.pem") || f.CertFile != filepath.Join(dir, "server.pem") || f.KeyFile != filepath.Join(dir, "server-key.pem") {
		t.Fatalf("unexpected paths %+v", f)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{
			dir:                                  0o700,
			filepath.Join(dir, "ca-key.pem"):     0o600,
			filepath.Join(dir, "server-key.pem"): 0o600,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", path, got, want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 4 {
		t.Errorf("dir holds %d entries, want the 4 PEM files", len(entries))
	}

	ca, err := readCert(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Subject.CommonName != "Ostiary Local CA" || !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.MaxPathLen != 0 || !ca.MaxPathLenZero {
		t.Errorf("CA: CN %q, IsCA %v, usage %v, path len %d", ca.Subject.CommonName, ca.IsCA, ca.KeyUsage, ca.MaxPathLen)
	}
	if pub, ok := ca.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", ca.PublicKey)
	}
	if got := ca.NotAfter.Sub(t0); got < 10*365*24*time.Hour-time.Minute || got > 10*366*24*time.Hour {
		t.Errorf("CA valid for %v after now, want 10 years", got)
	}

	srv := leaf(t, f)
	if srv.IsCA || !slices.Contains(srv.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("server cert: IsCA %v, ext usage %v", srv.IsCA, srv.ExtKeyUsage)
	}
	if got := srv.NotAfter.Sub(t0); got != 365*24*time.Hour {
		t.Errorf("server cert valid for %v after now, want a year", got)
	}
	if !slices.Equal(srv.DNSNames, []string{"id.example.com", "localhost"}) {
		t.Errorf("DNS SANs %v", srv.DNSNames)
	}
	var ips []string
	for _, ip := range srv.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"192.0.2.10", "2001:db8::1", "127.0.0.1", "::1"}) {
		t.Errorf("IP SANs %v", ips)
	}
	if srv.Subject.CommonName != "id.example.com" {
		t.Errorf("CN %q", srv.Subject.CommonName)
	}
}

func TestHandshakeTrustedWithCA(t *testing.T) {
	f := ensure(t, filepath.Join(t.TempDir(), "tls"), nil, time.Now())
	pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes below
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	caPEM, err := os.ReadFile(f.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	client := func(roots *x509.CertPool) *http.Client {
		// Every name dials the test listener, so "localhost" and "[::1]"
		// need no resolver or IPv6 stack; verification still uses the
		// name in the URL.
		addr := srv.Listener.Addr().String()
		return &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
	}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	trusted := client(pool)
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		resp, err := trusted.Get("https://" + host + ":" + port + "/")
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Errorf("%s: body %q", host, body)
		}
	}
	if _, err := trusted.Get("https://other.example:" + port + "/"); err == nil {
		t.Error("a name outside the SANs was trusted")
	}
	if _, err := client(x509.NewCertPool()).Get("https://localhost:" + port + "/"); err == nil {
		t.Error("a client without the CA trusted the server")
	}
}

func TestSecondRunReuses(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"id.example.com", "10.0.0.5"}
	ensure(t, dir, hosts, t0)
	before := snapshot(t, dir)
	ensure(t, dir, hosts, t0.Add(24*time.Hour))
	// Same names in another spelling and order, and a subset of them,
	// are still covered.
	ensure(t, dir, []string{"10.0.0.5", "ID.Example.com.", "localhost"}, t0.Add(48*time.Hour))
	ensure(t, dir, []string{"id.example.com"}, t0.Add(72*time.Hour))
	after := snapshot(t, dir)
	for n := range before {
		if !bytes.Equal(before[n], after[n]) {
			t.Errorf("%s changed on a later run", n)
		}
	}
}

func TestHostChangeReissuesServerCertOnly(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, []string{"id.example.com"}, t0)
	before := snapshot(t, dir)
	f := ensure(t, dir, []string{"id.example.com", "login.example.org", "10.1.2.3"}, t0.Add(time.Hour))
	after := snapshot(t, dir)

	for _, n := range []string{"ca.pem", "ca-key.pem"} {
		if !bytes.Equal(before[n], after[n]) {
			t.Errorf("%s changed", n)
		}
	}
	for _, n := range []string{"server.pem", "server-key.pem"} {
		if bytes.Equal(before[n], after[n]) {
			t.Errorf("%s was not re-issued", n)
		}
	}
	srv := leaf(t, f)
	if err := srv.VerifyHostname("login.example.org"); err != nil {
		t.Error(err)
	}
	if err := srv.VerifyHostname("10.1.2.3"); err != nil {
		t.Error(err)
	}
	ca, _ := readCert(f.CAFile)
	if err := srv.CheckSignatureFrom(ca); err != nil {
		t.Errorf("new server cert not signed by the kept CA: %v", err)
	}
}

func TestExpiringServerCertReissued(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, nil, t0)
	before := snapshot(t, dir)

	// 65 days of validity left: kept.
	ensure(t, dir, nil, t0.Add(300*24*time.Hour))
	if !bytes.Equal(snapshot(t, dir)["server.pem"], before["server.pem"]) {
		t.Fatal("server cert re-issued with 65 days left")
	}

	// 29 days left: re-issued under the same CA, valid a year from then.
	later := t0.Add(336 * 24 * time.Hour)
	f := ensure(t, dir, nil, later)
	after := snapshot(t, dir)
	if bytes.Equal(after["server.pem"], before["server.pem"]) {
		t.Fatal("server cert not re-issued with 29 days left")
	}
	if !bytes.Equal(after["ca.pem"], before["ca.pem"]) || !bytes.Equal(after["ca-key.pem"], before["ca-key.pem"]) {
		t.Fatal("CA changed")
	}
	if got := leaf(t, f).NotAfter; !got.Equal(later.Add(365 * 24 * time.Hour)) {
		t.Fatalf("new cert expires %v", got)
	}

	// Long after expiry: re-issued again.
	ensure(t, dir, nil, later.Add(2*365*24*time.Hour))
	if bytes.Equal(snapshot(t, dir)["server.pem"], after["server.pem"]) {
		t.Fatal("expired server cert kept")
	}
}

func TestExpiringCAReplaced(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, nil, t0)
	before := snapshot(t, dir)
	f := ensure(t, dir, nil, t0.Add(10*365*24*time.Hour-10*24*time.Hour))
	after := snapshot(t, dir)
	if bytes.Equal(before["ca.pem"], after["ca.pem"]) {
		t.Fatal("CA with 10 days left was kept")
	}
	ca, _ := readCert(f.CAFile)
	if err := leaf(t, f).CheckSignatureFrom(ca); err != nil {
		t.Fatalf("server cert not signed by the new CA: %v", err)
	}
}

func TestServerCertNeverOutlivesCA(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, nil, t0)
	// 100 days before the CA expires the server cert is cut short.
	now := t0.Add(10*365*24*time.Hour - 100*24*time.Hour)
	os.Remove(filepath.Join(dir, "server.pem"))
	f := ensure(t, dir, nil, now)
	ca, _ := readCert(f.CAFile)
	if got := leaf(t, f).NotAfter; !got.Equal(ca.NotAfter) {
		t.Fatalf("server cert expires %v, CA %v", got, ca.NotAfter)
	}
}

func TestBrokenServerFilesReissued(t *testing.T) {
	dir := t.TempDir()
	ensure(t, dir, nil, t0)
	ca := snapshot(t, dir)["ca.pem"]
	for name, damage := range map[string]func(){
		"garbage cert":    func() { os.WriteFile(filepath.Join(dir, "server.pem"), []byte("junk"), 0o644) },
		"missing key":     func() { os.Remove(filepath.Join(dir, "server-key.pem")) },
		"mismatched pair": func() { copyFile(t, filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "server-key.pem")) },
		"CA as server": func() {
			copyFile(t, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"))
			copyFile(t, filepath.Join(dir, "ca-key.pem"), filepath.Join(dir, "server-key.pem"))
		},
	} {
		damage()
		f, err := Ensure(dir, nil, t0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil || pair.Leaf.IsCA {
			t.Fatalf("%s: not repaired: %v", name, err)
		}
		if !bytes.Equal(snapshot(t, dir)["ca.pem"], ca) {
			t.Fatalf("%s: CA changed", name)
		}
	}
}

func TestBrokenCARefused(t *testing.T) {
	t.Run("missing CA key", func(t *testing.T) {
		dir := t.TempDir()
		ensure(t, dir, nil, t0)
		os.Remove(filepath.Join(dir, "ca-key.pem"))
		if _, err := Ensure(dir, nil, t0); err == nil {
			t.Fatal("a CA without its key was accepted or silently replaced")
		}
	})
	t.Run("corrupt CA cert", func(t *testing.T) {
		dir := t.TempDir()
		ensure(t, dir, nil, t0)
		os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("junk"), 0o644)
		if _, err := Ensure(dir, nil, t0); err == nil {
			t.Fatal("a corrupt ca.pem was silently replaced")
		}
	})
	t.Run("CA key of another CA", func(t *testing.T) {
		dir, other := t.TempDir(), t.TempDir()
		ensure(t, dir, nil, t0)
		ensure(t, other, nil, t0)
		copyFile(t, filepath.Join(other, "ca-key.pem"), filepath.Join(dir, "ca-key.pem"))
		if _, err := Ensure(dir, nil, t0); err == nil {
			t.Fatal("a mismatched CA key was accepted")
		}
	})
	t.Run("leftover key without cert", func(t *testing.T) {
		dir := t.TempDir()
		ensure(t, dir, nil, t0)
		os.Remove(filepath.Join(dir, "ca.pem"))
		key, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
		f := ensure(t, dir, nil, t0)
		if bytes.Equal(snapshot(t, dir)["ca-key.pem"], key) {
			t.Fatal("CA key reused without its certificate")
		}
		ca, _ := readCert(f.CAFile)
		if err := leaf(t, f).CheckSignatureFrom(ca); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseHosts(t *testing.T) {
	in := []string{" ID.Example.COM. ", "", "*.apps.example.com", "[fe80::1]", "192.0.2.1", "id.example.com", "::ffff:192.0.2.1", "LOCALHOST"}
	orig := slices.Clone(in)
	s, err := parseHosts(in[:3:8])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, orig) {
		t.Fatal("parseHosts modified the caller's slice")
	}
	if s, err = parseHosts(in); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.dns, []string{"id.example.com", "*.apps.example.com", "localhost"}) {
		t.Errorf("dns = %v", s.dns)
	}
	var ips []string
	for _, ip := range s.ips {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"fe80::1", "192.0.2.1", "127.0.0.1", "::1"}) {
		t.Errorf("ips = %v", ips)
	}
	for _, bad := range []string{"id.example.com:8443", "a b", "-bad.example", "bad-.example", "a..b", "*", "ex*ample.com", "münchen.de", "fe80::1%eth0"} {
		if _, err := parseHosts([]string{bad}); !errs.Is(err, errs.Invalid) {
			t.Errorf("parseHosts(%q): err = %v, want Invalid", bad, err)
		}
	}
	if _, err := Ensure(t.TempDir(), []string{"a b"}, t0); err == nil {
		t.Error("Ensure accepted an invalid host")
	}
}

func TestDirModeTightened(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX modes")
	}
	dir := filepath.Join(t.TempDir(), "tls")
	os.Mkdir(dir, 0o755)
	ensure(t, dir, nil, t0)
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %04o, want 0700", fi.Mode().Perm())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
