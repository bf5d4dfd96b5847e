package passwords

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"runtime"

	"github.com/ostiary/ostiary/internal/errs"
)

// Hasher hashes and verifies user passwords with argon2id in a bounded
// pool. At most concurrency hashes run at once (each holds Params.Memory of
// RAM), at most queue more callers wait for a slot, and any caller beyond
// that is refused at once with errs.Unavailable (code "TooManyRequests")
// so the transport can answer 429 with Retry-After rather than letting
// memory and latency grow without bound. It is safe for concurrent use.
type Hasher struct {
	params Params
	slots  chan struct{} // a send holds one of concurrency running slots
	queue  chan struct{} // a send holds one of queue waiting places
}

// NewHasher returns a Hasher writing new hashes with p. Zero fields of p
// take DefaultParams values, and p is clamped to the limits Verify accepts
// so every hash written can be read back. concurrency <= 0 means
// runtime.NumCPU(); queue < 0 means 0.
func NewHasher(p Params, concurrency int, queue int) *Hasher {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	p.Memory, p.Time = min(p.Memory, maxMemory), min(p.Time, maxTime)
	p.Threads = min(p.Threads, maxThreads)
	p.Memory = max(p.Memory, 8*uint32(p.Threads))
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, concurrency),
		queue:  make(chan struct{}, max(queue, 0)),
	}
}

// Params returns the parameters new hashes are written with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password under a fresh random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.Wrap(errs.Internal, err, "passwords: cannot read random salt")
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	key := idKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	return phc{params: h.params, salt: salt, key: key}.encode(), nil
}

// Verify reports whether password matches the PHC string encoded. The cost
// parameters come from encoded, so hashes written under older parameters
// keep working. A malformed hash, or one asking for more than the accepted
// maxima, is an Internal error; a wrong password is (false, nil).
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok bool, err error) {
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	key := idKey([]byte(password), stored.salt, stored.params.Time, stored.params.Memory, stored.params.Threads, uint32(len(stored.key)))
	return subtle.ConstantTimeCompare(key, stored.key) == 1, nil
}

// NeedsRehash reports whether encoded was written with other parameters
// (or salt or key length) than this Hasher uses, or does not parse. Callers
// rehash right after a successful Verify, while they hold the plaintext,
// so raising Params upgrades users as they sign in.
func (h *Hasher) NeedsRehash(encoded string) bool {
	stored, err := parsePHC(encoded)
	return err != nil || stored.params != h.params || len(stored.salt) != saltLen || len(stored.key) != keyLen
}

// acquire waits for a running slot. It never waits when the queue is full,
// and stops waiting when ctx ends. Waiting senders on a channel are served
// in order, so a freed slot goes to the longest waiter.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "The request was cancelled.")
	}
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		return release, nil
	default:
	}
	select {
	case h.queue <- struct{}{}:
	default:
		return nil, errBusy()
	}
	defer func() { <-h.queue }()
	select {
	case h.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "The request was cancelled.")
	}
}

// errBusy is the error for a full queue; "TooManyRequests" is the code
// Microsoft Graph uses in its 429 responses.
func errBusy() error {
	return errs.E(errs.Unavailable, "Too many requests are being processed. Please retry later.").WithCode("TooManyRequests")
}
