package passwords

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Hashes run on worker threads of their own, below the rest of the server
// in the operating system's eyes. One argon2id call computes for tens of
// milliseconds without yielding; when the hashers held every P, each other
// goroutine (token requests, Graph calls, the sign-ins' own handlers) waited
// for the Go scheduler to preempt a hash, 10 ms at a time, and a sign-in's
// tail latency was several hashes long. Now:
//
//   - each worker locks its goroutine to an OS thread and lowers that
//     thread's priority (nice 10, Linux; elsewhere nothing), so a handler
//     that wakes up gets a core at once and hashing takes what is left;
//   - GOMAXPROCS is raised by the number of workers (reserveProcs), so the
//     hashers never hold the Ps the handlers need.
//
// Throughput is unchanged: the hashers still get every cycle nobody else
// wants. A worker whose thread sits idle for workerIdle exits, and its
// thread with it (a locked goroutine that returns takes its thread along),
// so an idle server or a test that made many hashers keeps no threads.

// workerIdle is how long an idle worker waits for work before it exits.
const workerIdle = 30 * time.Second

// hashNice is the worker threads' nice value (0 normal, 19 lowest).
const hashNice = 10

type hashJob struct {
	password, salt []byte
	time, memory   uint32
	threads        uint8
	keyLen         uint32
	out            chan []byte
}

// workers hands argon2id computations to worker threads.
type workers struct {
	jobs chan hashJob // unbuffered: a send succeeds only to an idle worker
	once sync.Once
	n    int // workers wanted at once: the hasher's concurrency
}

// key computes argon2id on a worker and returns the key, or nil if the
// computation failed.
func (w *workers) key(password, salt []byte, t, m uint32, p uint8, keyLen uint32) []byte {
	w.once.Do(func() { reserveProcs(w.n) })
	j := hashJob{password: password, salt: salt, time: t, memory: m, threads: p, keyLen: keyLen, out: make(chan []byte, 1)}
	select {
	case w.jobs <- j:
	default: // every worker is busy (the hasher's slots bound how many)
		go w.work(j)
	}
	return <-j.out
}

func (w *workers) work(j hashJob) {
	runtime.LockOSThread() // never unlocked: the thread ends with the worker
	lowerThreadPriority(hashNice)
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		j.out <- derive(j)
		idle.Reset(workerIdle)
		select {
		case j = <-w.jobs:
		case <-idle.C:
			return
		}
	}
}

// derive runs one argon2id computation. The parameters were checked when
// they were parsed or set, so argon2 should never panic; should it all the
// same, the caller gets no key (an internal error) rather than the process
// ending, since no handler's recover reaches this goroutine.
func derive(j hashJob) (key []byte) {
	defer func() {
		if recover() != nil {
			key = nil
		}
	}()
	return argon2.IDKey(j.password, j.salt, j.time, j.memory, j.threads, j.keyLen)
}

// cores is GOMAXPROCS as the program started: the CPUs it may use (Go
// sets it from the machine and any container limit, or the GOMAXPROCS
// variable), before any hasher reserved Ps.
var cores = runtime.GOMAXPROCS(0)

// Cores returns the CPUs the program may use, not counting the Ps hashers
// reserved: what a hasher's concurrency and a benchmark's bound are sized
// by. runtime.GOMAXPROCS(0) counts the reserved ones too.
func Cores() int { return cores }

// procs is the reservation made so far.
var procs struct {
	sync.Mutex
	extra int
}

// reserveProcs raises GOMAXPROCS to Cores() + n, once for the largest n
// asked: hashers of several servers in one process (tests) share the
// reservation.
func reserveProcs(n int) {
	procs.Lock()
	defer procs.Unlock()
	if n > procs.extra {
		procs.extra = n
		runtime.GOMAXPROCS(cores + n)
	}
}
