package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// testConcurrentWriters runs read-modify-write increments from several
// goroutines. A store that lets two transactions read the same value and
// both write value+1 loses updates; the total tells.
func testConcurrentWriters(t *testing.T, s store.Store) {
	const (
		tn         = "tenant-concurrent"
		goroutines = 8
		increments = 25
	)
	counter := obj(tn, iam.KindOrganization, "counter", "Counter", "", map[string]any{"n": 0})
	insert(t, s, counter)

	var wg sync.WaitGroup
	errc := make(chan error, goroutines)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				err := s.Write(context.Background(), func(w store.Writer) error {
					o, err := w.Get(tn, iam.KindOrganization, "counter")
					if err != nil {
						return err
					}
					var doc map[string]any
					if err := json.Unmarshal(o.Data, &doc); err != nil {
						return err
					}
					doc["n"] = doc["n"].(float64) + 1
					o.Data = mustJSON(doc)
					return w.Update(o)
				})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	// Readers run meanwhile and must never see a torn or failing state.
	done := make(chan struct{})
	var readErr error
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			readErr = s.Read(context.Background(), func(r store.Reader) error {
				_, err := r.Get(tn, iam.KindOrganization, "counter")
				return err
			})
			if readErr != nil {
				return
			}
		}
	}()
	wg.Wait()
	<-done
	close(errc)
	for err := range errc {
		t.Fatalf("writer: %v", err)
	}
	if readErr != nil {
		t.Fatalf("reader: %v", readErr)
	}
	o, err := get(t, s, tn, iam.KindOrganization, "counter")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ N int }
	if err := json.Unmarshal(o.Data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.N != goroutines*increments {
		t.Fatalf("counter = %d, want %d: updates were lost", doc.N, goroutines*increments)
	}
}

func testLocks(t *testing.T, s store.Store) {
	ctx := context.Background()
	try := func(name, owner string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.TryLock(ctx, name, owner, ttl)
		if err != nil {
			t.Fatalf("TryLock(%s, %s): %v", name, owner, err)
		}
		return ok
	}
	unlock := func(name, owner string) {
		t.Helper()
		if err := s.Unlock(ctx, name, owner); err != nil {
			t.Fatalf("Unlock(%s, %s): %v", name, owner, err)
		}
	}
	if !try("job", "a", time.Hour) {
		t.Fatal("a could not take a free lock")
	}
	if try("job", "b", time.Hour) {
		t.Fatal("b took a lock a holds")
	}
	if !try("job", "a", time.Hour) {
		t.Fatal("a could not renew its lock")
	}
	if !try("other-job", "b", time.Hour) {
		t.Fatal("locks of different names are not independent")
	}
	unlock("job", "b") // not b's: no effect
	if try("job", "b", time.Hour) {
		t.Fatal("b's Unlock released a's lock")
	}
	unlock("job", "a")
	if !try("job", "b", time.Hour) {
		t.Fatal("b could not take a released lock")
	}

	// Expiry.
	if !try("short", "a", 50*time.Millisecond) {
		t.Fatal("a could not take short")
	}
	if try("short", "b", time.Hour) {
		t.Fatal("b took short before it expired")
	}
	time.Sleep(120 * time.Millisecond)
	if !try("short", "b", time.Hour) {
		t.Fatal("b could not take an expired lock")
	}

	// Many contenders at once: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.TryLock(ctx, "race", string(rune('a'+i)), time.Hour)
			if err != nil {
				t.Errorf("TryLock race: %v", err)
				return
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d contenders won the same lock", wins)
	}
}
