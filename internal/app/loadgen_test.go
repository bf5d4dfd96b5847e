package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A load generator in a process of its own, for BenchmarkTokenPassword's
// "external" run: the test binary runs itself with loadgenEnv set, and
// TestMain then runs the clients instead of the tests. In-process clients
// share the server's Ps, so their own scheduling delays land in the
// latencies measured; a client process is what a real load generator (or
// a fleet of real clients) is.

// loadgenEnv holds the JSON loadgenSpec for a load generator process.
const loadgenEnv = "OSTIARY_BENCH_LOADGEN"

func TestMain(m *testing.M) {
	if spec := os.Getenv(loadgenEnv); spec != "" {
		os.Exit(runLoadgen(spec, os.Stdout))
	}
	os.Exit(m.Run())
}

// loadgenSpec is what the load generator is told to do: Requests password
// sign-ins in all, from one client per user, each on a keep-alive
// connection and honouring Retry-After on 429.
type loadgenSpec struct {
	Endpoint string   `json:"endpoint"`
	CAFile   string   `json:"caFile"`
	ClientID string   `json:"clientId"`
	Password string   `json:"password"`
	Users    []string `json:"users"`
	Requests int      `json:"requests"`
}

// loadgenResult is what it reports on standard output.
type loadgenResult struct {
	OK        int64           `json:"ok"`
	Busy      int64           `json:"busy"`
	Elapsed   time.Duration   `json:"elapsed"`
	Latencies []time.Duration `json:"latencies"` // of successes
	Error     string          `json:"error,omitempty"`
}

func runLoadgen(specJSON string, out io.Writer) int {
	var spec loadgenSpec
	res := loadgenResult{}
	defer func() { _ = json.NewEncoder(out).Encode(res) }()
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		res.Error = err.Error()
		return 1
	}
	pemBytes, err := os.ReadFile(spec.CAFile)
	pool := x509.NewCertPool()
	if err != nil || !pool.AppendCertsFromPEM(pemBytes) {
		res.Error = fmt.Sprintf("CA %s: %v", spec.CAFile, err)
		return 1
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: len(spec.Users)}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	var (
		left      atomic.Int64
		mu        sync.Mutex
		firstErr  error
		wg        sync.WaitGroup
		done      = make(chan struct{})
		closeOnce sync.Once
	)
	left.Store(int64(spec.Requests))
	start := time.Now()
	for _, user := range spec.Users {
		wg.Go(func() {
			mine, err := signInClient(func() bool { return left.Add(-1) >= 0 },
				func() (int, time.Duration, error) { return postSignIn(hc, spec, user) }, done)
			closeOnce.Do(func() { close(done) })
			mu.Lock()
			res.Latencies = append(res.Latencies, mine...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.OK = int64(len(res.Latencies))
	res.Busy = int64(spec.Requests) - res.OK
	if firstErr != nil {
		res.Error = firstErr.Error()
		return 1
	}
	return 0
}

// postSignIn is one ROPC sign-in with MSAL's scopes. A 429 must come with
// Retry-After and Entra's error shape.
func postSignIn(hc *http.Client, spec loadgenSpec, user string) (status int, retryAfter time.Duration, err error) {
	form := url.Values{"grant_type": {"password"}, "client_id": {spec.ClientID}, "username": {user},
		"password": {spec.Password}, "scope": {"User.Read openid profile offline_access"}, "client_info": {"1"}}.Encode()
	resp, err := hc.Post(spec.Endpoint, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if !strings.Contains(string(body), `"refresh_token"`) {
			return 0, 0, fmt.Errorf("sign-in: no refresh token: %s", body)
		}
	case http.StatusTooManyRequests:
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || secs < 1 || !strings.Contains(string(body), `"temporarily_unavailable"`) {
			return 0, 0, fmt.Errorf("429 without Retry-After or Entra's shape: %q %s", resp.Header.Get("Retry-After"), body)
		}
		retryAfter = time.Duration(secs) * time.Second
	default:
		return 0, 0, fmt.Errorf("sign-in: %d %s", resp.StatusCode, body)
	}
	return resp.StatusCode, retryAfter, nil
}

// signInClient is one client of a sign-in load: it signs in while more
// allows, waits the Retry-After of a 429 (but not past done, which the
// first client to finish closes) and returns the latencies of its
// successes. It stops at the first error.
func signInClient(more func() bool, signIn func() (int, time.Duration, error), done <-chan struct{}) ([]time.Duration, error) {
	var mine []time.Duration
	for more() {
		t0 := time.Now()
		st, wait, err := signIn()
		if err != nil {
			return mine, err
		}
		if st == http.StatusOK {
			mine = append(mine, time.Since(t0))
			continue
		}
		select {
		case <-time.After(wait):
		case <-done:
		}
	}
	return mine, nil
}

// runLoadgenProcess runs spec in a child process of this test binary and
// returns its result.
func runLoadgenProcess(b *testing.B, spec loadgenSpec) loadgenResult {
	b.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loadgenEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	outBytes, err := cmd.Output()
	var res loadgenResult
	if jerr := json.Unmarshal(outBytes, &res); jerr != nil {
		b.Fatalf("load generator: %v %v: %s", err, jerr, outBytes)
	}
	if res.Error != "" || err != nil {
		b.Fatalf("load generator: %v %s", err, res.Error)
	}
	return res
}
