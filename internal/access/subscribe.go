package access

import (
	"context"

	"github.com/ostiary/ostiary/internal/store"
)

// Other caches ride on this replica's one reader of the change feed rather
// than each polling it: the token service keeps clients, tenants and app
// role assignments in memory and drops them when the feed names a change.

// Subscribe adds fn to the functions called with every feed entry this
// replica reads, in any tenant, loaded here or not. An entry with an empty
// TenantID means that entries may have been missed (the feed was not read
// for too long): everything cached must go. fn runs while the feed is being
// read, so it must be quick and must not call back into Tenants.
// Subscribe before the server starts serving.
func (ts *Tenants) Subscribe(fn func(store.Change)) {
	ts.subsMu.Lock()
	defer ts.subsMu.Unlock()
	ts.subs = append(ts.subs, fn)
}

func (ts *Tenants) notify(c store.Change) {
	ts.subsMu.RLock()
	defer ts.subsMu.RUnlock()
	for _, fn := range ts.subs {
		fn(c)
	}
}

// Current returns once every write this replica has committed has been
// read from the feed (and so passed to the subscribers), reading it now if
// need be. It costs two atomic loads when nothing is pending.
func (ts *Tenants) Current(ctx context.Context) error {
	if ts.writes.Load() != ts.synced.Load() || !ts.feed.isStarted() {
		return ts.Sync(ctx)
	}
	return nil
}
