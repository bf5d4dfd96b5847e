package authn

import (
	"context"
	"sync"

	"github.com/ostiary/ostiary/internal/errs"
)

// userLocks serialises password checks per user: one lock per user name
// with a check in progress, and none shared between users. (Striped locks
// made unrelated users wait for each other's argon2 hash, outside the
// hasher's bounded queue: BenchmarkTokenPassword lost a sixth of its
// sign-ins and doubled its median latency to them.) An entry lives only
// while someone holds or awaits it. The zero value is ready to use.
type userLocks struct {
	mu    sync.Mutex
	locks map[string]*userLock
}

type userLock struct {
	held chan struct{} // holds one value while locked
	refs int           // holders and waiters, under userLocks.mu
}

// lock waits for key's lock, or until ctx ends, and returns its release.
func (l *userLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*userLock{}
	}
	u := l.locks[key]
	if u == nil {
		u = &userLock{held: make(chan struct{}, 1)}
		l.locks[key] = u
	}
	u.refs++
	l.mu.Unlock()
	select {
	case u.held <- struct{}{}:
		return func() {
			<-u.held
			l.forget(key, u)
		}, nil
	case <-ctx.Done():
		l.forget(key, u)
		return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "The request was cancelled.")
	}
}

// forget drops one reference to u, and u itself with the last one.
func (l *userLocks) forget(key string, u *userLock) {
	l.mu.Lock()
	if u.refs--; u.refs == 0 {
		delete(l.locks, key)
	}
	l.mu.Unlock()
}
