package passwords

import (
	"runtime"
	"syscall"
	"testing"
)

// The worker threads' priority is lowered for that thread alone.
func TestLowerThreadPriority(t *testing.T) {
	got := make(chan int, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		lowerThreadPriority(hashNice)
		// The raw syscall answers 20 - nice.
		p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			got <- -100
			return
		}
		got <- 20 - p
	}()
	if n := <-got; n != hashNice {
		t.Fatalf("worker thread nice = %d, want %d", n, hashNice)
	}
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err == nil && 20-p == hashNice {
		t.Fatal("another thread's priority was lowered too")
	}
}

// Hashers reserve Ps for their workers once, by the largest concurrency.
func TestReserveProcs(t *testing.T) {
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 3, 0)
	if _, err := h.Hash(t.Context(), "pw"); err != nil {
		t.Fatal(err)
	}
	want := Cores() + max(procs.extra, 3)
	h2 := NewHasher(Params{Memory: 64, Time: 1, Threads: 1}, 1, 0)
	if _, err := h2.Hash(t.Context(), "pw"); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("GOMAXPROCS = %d, want %d", got, want)
	}
}
