package authn

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
	"github.com/ostiary/ostiary/internal/store/backendtest"
)

const logTenant = "3c1f2a4b-5d6e-4f70-8192-a3b4c5d6e7f8"

func signInRec(id string) iam.SignIn {
	return iam.SignIn{ID: id, CreatedDateTime: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
}

func stored(t *testing.T, st store.Store, id string) bool {
	t.Helper()
	err := st.Read(context.Background(), func(r store.Reader) error {
		_, err := r.Get(logTenant, iam.KindSignIn, id)
		return err
	})
	return err == nil
}

// Many requests logging at once: every call returns only once its record
// is committed, and every record is there.
func TestLogSignInGroupCommit(t *testing.T) {
	db := backendtest.Open(t)
	svc := New(db)
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			id := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
			if err := svc.LogSignIn(context.Background(), logTenant, signInRec(id)); err != nil {
				errc <- err
				return
			}
			if !stored(t, db, id) {
				errc <- fmt.Errorf("LogSignIn returned before %s was committed", id)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if svc.signIns.busy || len(svc.signIns.queue) != 0 {
		t.Errorf("writer left busy=%v with %d queued", svc.signIns.busy, len(svc.signIns.queue))
	}
}

// A batch with one record that cannot be written (its id is taken) fails
// that record alone.
func TestCommitSignInsIsolatesABadRecord(t *testing.T) {
	db := backendtest.Open(t)
	taken := "00000000-0000-0000-0000-00000000000b"
	commitSignIns(context.Background(), db, []*pendingSignIn{{tenantID: logTenant, rec: signInRec(taken), done: make(chan error, 1)}})
	batch := []*pendingSignIn{
		{tenantID: logTenant, rec: signInRec("00000000-0000-0000-0000-00000000000a"), done: make(chan error, 1)},
		{tenantID: logTenant, rec: signInRec(taken), done: make(chan error, 1)},
		{tenantID: logTenant, rec: signInRec("00000000-0000-0000-0000-00000000000c"), done: make(chan error, 1)},
	}
	commitSignIns(context.Background(), db, batch)
	for i, want := range []bool{true, false, true} {
		if err := <-batch[i].done; (err == nil) != want {
			t.Errorf("record %d: err %v", i, err)
		}
	}
	for _, id := range []string{"00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000c"} {
		if !stored(t, db, id) {
			t.Errorf("%s was lost with the bad record", id)
		}
	}
}

// countingStore counts write transactions.
type countingStore struct {
	store.Store
	writes atomic.Int32
}

func (c *countingStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	c.writes.Add(1)
	return c.Store.Write(ctx, fn)
}

// With other token requests in flight, a leader waits for their records
// and commits them together; a lone request commits at once.
func TestLogSignInLingersForSiblings(t *testing.T) {
	defer func(d time.Duration) { linger = d }(linger)
	linger = 5 * time.Second // far longer than the test: only arrivals end the wait
	cs := &countingStore{Store: backendtest.Open(t)}
	svc := New(cs)

	start := time.Now()
	done := svc.TokenRequest()
	if err := svc.LogSignIn(context.Background(), logTenant, signInRec("00000000-0000-0000-0000-0000000000a1")); err != nil {
		t.Fatal(err)
	}
	done()
	if time.Since(start) > time.Second || cs.writes.Load() != 1 {
		t.Fatalf("a lone request waited %v (%d writes)", time.Since(start), cs.writes.Load())
	}

	doneA, doneB := svc.TokenRequest(), svc.TokenRequest()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer doneA()
		if err := svc.LogSignIn(context.Background(), logTenant, signInRec("00000000-0000-0000-0000-0000000000a2")); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(20 * time.Millisecond) // the first leads and waits for the second
	wg.Go(func() {
		defer doneB()
		if err := svc.LogSignIn(context.Background(), logTenant, signInRec("00000000-0000-0000-0000-0000000000a3")); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if got := cs.writes.Load(); got != 2 {
		t.Fatalf("two requests in flight took %d commits, want them in one", got-1)
	}
	for _, id := range []string{"00000000-0000-0000-0000-0000000000a2", "00000000-0000-0000-0000-0000000000a3"} {
		if !stored(t, cs, id) {
			t.Errorf("%s was not committed", id)
		}
	}
}
