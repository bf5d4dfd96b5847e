package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/app/apptest"
	"github.com/ostiary/ostiary/internal/config"
	"github.com/ostiary/ostiary/internal/passwords"
)

// signInClientsPerCore is how many concurrent password sign-in clients
// BenchmarkTokenPassword runs per core (b.SetParallelism), unless
// OSTIARY_BENCH_SIGNIN_CLIENTS_PER_CORE says otherwise.
const signInClientsPerCore = 64

// BenchmarkTokenPassword is password sign-in (the ROPC grant, with MSAL's
// scopes "User.Read openid profile offline_access": an access token, an ID
// token and a new refresh token family) under overload, on the production
// argon2id parameters (passwords.DefaultParams). Far more clients than
// cores (signInClientsPerCore per core), each signing in as its own user
// and honouring Retry-After on 429 as azcore does, keep the hasher's queue
// full. It reports:
//   - sign-ins/s: successful sign-ins per second;
//   - hash-bound: the ceiling cores / (time of one hash), the hash timed in
//     this benchmark with a passwords.Hasher at the same parameters;
//   - ratio: sign-ins/s over hash-bound (goal ≥ 0.8);
//   - hashes/s-parallel: what the cores actually hash with one hasher per
//     core and nothing else running (argon2id is memory-bound: two at once
//     run slower than one alone), and ratio-parallel, sign-ins/s over it;
//   - p99-hashes: p99 latency of successful sign-ins in units of one hash
//     (goal < 4);
//   - share-429: the share of requests refused with 429;
//   - rss-MiB: the process's resident memory after the run (server and
//     clients; rss-before-MiB before it), to hold against cores ×
//     argon2 memory;
//   - sched-p99-ms: the p99 of the Go scheduler's latency over the run
//     (runtime/metrics), the time runnable goroutines, clients' and
//     server's, waited for a core while argon2 held both.
//
// "overload" runs the clients in this process; "external" runs the same
// load from a process of its own (loadgen_test.go), so the latencies are
// the server's and not also the in-process clients' waits for a core.
func BenchmarkTokenPassword(b *testing.B) {
	params := passwords.DefaultParams()
	srv := apptest.New(b, func(c *config.Config) {
		c.Argon2MemoryKiB, c.Argon2Time, c.Argon2Threads = params.Memory, params.Time, params.Threads
	})
	tok := adminToken(b, srv)
	client := publicClient(b, srv, tok, "Bench ROPC")
	consent(b, srv, tok, client.SPID, "User.Read")

	perCore := benchEnvInt(b, "OSTIARY_BENCH_SIGNIN_CLIENTS_PER_CORE", signInClientsPerCore)
	clients := perCore * runtime.GOMAXPROCS(0)
	start := time.Now()
	users := make([]string, clients)
	for i := range users {
		users[i] = fmt.Sprintf("signin%03d@%s", i, srv.Creds.Domain)
		body := newUser(users[i], "Sign-in "+strconv.Itoa(i))
		body["passwordProfile"] = map[string]any{"password": userPassword, "forceChangePasswordNextSignIn": false}
		call(b, srv, "POST", "/v1.0/users", tok, body, 201)
	}
	b.Logf("created %d users in %v", clients, time.Since(start).Round(time.Millisecond))

	// One keep-alive connection per client: a connection closed for lack
	// of idle slots would cost a TLS handshake per request.
	tr := srv.Client.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = clients
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	spec := loadgenSpec{Endpoint: srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token", CAFile: srv.CAFile,
		ClientID: client.AppID, Password: userPassword, Users: users}
	signIn := func(user string) (int, time.Duration, error) { return postSignIn(hc, spec, user) }
	for _, u := range users { // warm every connection (and check every user signs in)
		if st, _, err := signIn(u); err != nil || st != http.StatusOK {
			b.Fatalf("warm-up sign-in of %s: %d %v", u, st, err)
		}
	}

	oneHash := timeOneHash(b, params)
	cores := runtime.GOMAXPROCS(0)
	bound := float64(cores) / oneHash.Seconds()
	parallelRate := parallelHashRate(b, params, cores)
	b.Logf("one argon2id hash (m=%d KiB, t=%d, p=%d): %v; hash bound on %d cores: %.1f sign-ins/s; %d hashers at once: %.1f hashes/s",
		params.Memory, params.Time, params.Threads, oneHash.Round(time.Microsecond), cores, bound, cores, parallelRate)

	b.Run("overload", func(b *testing.B) {
		var (
			next      atomic.Int64
			mu        sync.Mutex
			latencies []time.Duration
			done      = make(chan struct{})
			closeOnce sync.Once
		)
		setClients(b, clients)
		sched0 := schedLatencies()
		rss0 := rssMiB()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			user := users[int(next.Add(1)-1)%len(users)]
			mine, err := signInClient(pb.Next, func() (int, time.Duration, error) { return signIn(user) }, done)
			closeOnce.Do(func() { close(done) })
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
			if err != nil {
				b.Error(err)
			}
		})
		ok := int64(len(latencies))
		elapsed := b.Elapsed()
		b.StopTimer()
		reportSignIns(b, ok, int64(b.N)-ok, elapsed, latencies, oneHash, bound, parallelRate)
		b.ReportMetric(schedP99(sched0, schedLatencies()).Seconds()*1000, "sched-p99-ms")
		if rss0 > 0 {
			b.ReportMetric(rss0, "rss-before-MiB")
			b.ReportMetric(rssMiB(), "rss-MiB")
		}
	})

	// The same load from a client process of its own (loadgen_test.go):
	// the latencies are the server's, not the in-process clients' waits
	// for a core.
	b.Run("external", func(b *testing.B) {
		spec.Requests = b.N
		sched0 := schedLatencies()
		b.ResetTimer()
		res := runLoadgenProcess(b, spec)
		b.StopTimer()
		reportSignIns(b, res.OK, res.Busy, res.Elapsed, res.Latencies, oneHash, bound, parallelRate)
		b.ReportMetric(schedP99(sched0, schedLatencies()).Seconds()*1000, "server-sched-p99-ms")
	})
}

// reportSignIns reports a run's rate, its ratios to the hash bounds and
// its latency percentiles in lone hashes.
func reportSignIns(b *testing.B, ok, busy int64, elapsed time.Duration, latencies []time.Duration, oneHash time.Duration, bound, parallelRate float64) {
	rate := float64(ok) / elapsed.Seconds()
	b.ReportMetric(rate, "sign-ins/s")
	b.ReportMetric(bound, "hash-bound")
	b.ReportMetric(rate/bound, "ratio")
	b.ReportMetric(parallelRate, "hashes/s-parallel")
	b.ReportMetric(rate/parallelRate, "ratio-parallel")
	if n := len(latencies); n > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[n*99/100])/float64(oneHash), "p99-hashes")
		b.ReportMetric(float64(latencies[n/2])/float64(oneHash), "p50-hashes")
	}
	if total := ok + busy; total > 0 {
		b.ReportMetric(float64(busy)/float64(total), "share-429")
	}
}

// timeOneHash is the median time of one argon2id hash at p, on a hasher of
// its own with nothing else running in the benchmark.
func timeOneHash(b *testing.B, p passwords.Params) time.Duration {
	b.Helper()
	h := passwords.NewHasher(p, 1, 0)
	ds := make([]time.Duration, 15)
	for i := range ds {
		t0 := time.Now()
		if _, err := h.Hash(context.Background(), userPassword); err != nil {
			b.Fatal(err)
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// rssMiB is this process's resident set (VmRSS) in MiB, or 0 where
// /proc/self/status cannot tell.
func rssMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0
			}
			return float64(kb) / 1024
		}
	}
	return 0
}

// schedLatencies reads the Go scheduler's latency histogram.
func schedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// schedP99 is the p99 of the scheduling latencies recorded between two
// readings (the upper bound of its histogram bucket).
func schedP99(before, after *metrics.Float64Histogram) time.Duration {
	var total uint64
	for i := range after.Counts {
		total += after.Counts[i] - before.Counts[i]
	}
	var seen uint64
	for i := range after.Counts {
		if seen += after.Counts[i] - before.Counts[i]; total > 0 && seen >= total*99/100 {
			return time.Duration(after.Buckets[i+1] * float64(time.Second))
		}
	}
	return 0
}

// parallelHashRate is how many argon2id hashes at p the cores complete per
// second with one hasher per core busy, nothing else running.
func parallelHashRate(b *testing.B, p passwords.Params, cores int) float64 {
	b.Helper()
	h := passwords.NewHasher(p, cores, 0)
	run := func(each int) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for range cores {
			wg.Go(func() {
				for range each {
					if _, err := h.Hash(context.Background(), userPassword); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	run(2) // the heap grows to hold cores hashes at once
	const each = 10
	return float64(cores*each) / run(each).Seconds()
}

// BenchmarkTokenRefresh is the refresh token grant with rotation: a public
// client presents its refresh token and gets a new access token and the
// next refresh token of the family (the presented one is used up). Each
// goroutine keeps its own chain, as a client does, so no request is a
// reuse. The chain began with scope "User.Read offline_access", which
// refreshes reuse: one signature (the access token) per refresh, as for
// client credentials. The token-service issue asks 1,000 refreshes/s on 2
// cores (parallel: tokenClientsPerCore clients per core).
func BenchmarkTokenRefresh(b *testing.B) {
	srv := apptest.New(b)
	tok := adminToken(b, srv)
	client := publicClient(b, srv, tok, "Bench refresh")
	consent(b, srv, tok, client.SPID, "User.Read")
	upn := "refresh@" + srv.Creds.Domain
	body := newUser(upn, "Refresh")
	body["passwordProfile"] = map[string]any{"password": userPassword, "forceChangePasswordNextSignIn": false}
	call(b, srv, "POST", "/v1.0/users", tok, body, 201)
	endpoint := srv.URL + "/" + srv.Creds.TenantID + "/oauth2/v2.0/token"

	post := func(form url.Values) (string, error) {
		resp, err := srv.Client.PostForm(endpoint, form)
		if err != nil {
			return "", err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		var m struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &m) != nil || m.AccessToken == "" || m.RefreshToken == "" {
			return "", fmt.Errorf("token: %d %s", resp.StatusCode, raw)
		}
		return m.RefreshToken, nil
	}
	// A chain is one sign-in's refresh token; refresh rotates it.
	newChain := func() string {
		rt, err := post(url.Values{"grant_type": {"password"}, "client_id": {client.AppID}, "username": {upn},
			"password": {userPassword}, "scope": {"User.Read offline_access"}})
		if err != nil {
			b.Fatal(err)
		}
		return rt
	}
	refresh := func(rt string) (string, error) {
		return post(url.Values{"grant_type": {"refresh_token"}, "client_id": {client.AppID}, "refresh_token": {rt}})
	}
	chains := make(chan string, 64)
	for range cap(chains) {
		chains <- newChain()
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		rt := <-chains
		defer func() { chains <- rt }()
		for b.Loop() {
			var err error
			if rt, err = refresh(rt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		setClients(b, tokenClientsPerCore*runtime.GOMAXPROCS(0))
		cpu := processCPU()
		b.RunParallel(func(pb *testing.PB) {
			rt := <-chains
			defer func() { chains <- rt }()
			for pb.Next() {
				next, err := refresh(rt)
				if err != nil {
					b.Error(err)
					return
				}
				rt = next
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/refresh")
	})
}
