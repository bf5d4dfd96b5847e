package authn

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUserLocks: one holder per key at a time, other keys never wait, a
// cancelled waiter gives up, and no entry outlives its last user.
func TestUserLocks(t *testing.T) {
	var l userLocks
	ctx := context.Background()
	unlockA, err := l.lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := l.lock(ctx, "b") // another user does not wait
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(cctx, "a"); err == nil {
		t.Fatal("a second holder of the same key")
	}

	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			unlock, err := l.lock(ctx, "a")
			if err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			unlock()
		})
	}
	unlockA()
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders at once", most.Load())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.locks) != 0 {
		t.Errorf("%d entries left", len(l.locks))
	}
}
