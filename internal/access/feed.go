package access

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

// gapTimeout is how long a missing sequence number is waited for. On
// PostgreSQL a number is taken at insert and becomes visible at commit, so
// a reader can see 12 before 11; 11 either commits soon or belongs to a
// transaction that rolled back and never will. Entries after a gap are
// applied at once (order does not matter, see store.Change); the gap only
// holds the cursor back so that 11 is read when it appears.
const gapTimeout = 10 * time.Second

// batch is how many entries one read of the feed returns.
const batch = 1000

// feed is this replica's position in the change feed.
type feed struct {
	mu sync.Mutex // one reader at a time
	// cursor: every entry up to it has been applied or given up on.
	cursor int64
	// seen holds entries above the cursor already applied; gaps the
	// missing numbers below the highest seen, with when they were noticed.
	seen map[int64]bool
	gaps map[int64]time.Time
	// started is false until the first read, which starts at the end of
	// the feed: state built afterwards reads the store directly.
	started atomic.Bool
	last    time.Time // last successful read
}

// isStarted is read on every decision, so it takes no lock.
func (f *feed) isStarted() bool { return f.started.Load() }

func (f *feed) position() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor
}

// Sync reads the feed now and applies what it names to the loaded tenants.
func (ts *Tenants) Sync(ctx context.Context) error {
	f := &ts.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	w := ts.writes.Load()
	if !f.started.Load() {
		if err := ts.start(ctx); err != nil {
			return err
		}
	} else if time.Since(f.last) > Retention/2 {
		// Entries may have been pruned while this replica was not reading:
		// nothing loaded can be trusted.
		ts.log.Warn("access: the change feed was not read for too long; dropping cached access state", "since", f.last)
		ts.mu.Lock()
		clear(ts.tenants)
		ts.mu.Unlock()
		ts.notify(store.Change{})
		if err := ts.start(ctx); err != nil {
			return err
		}
	}
	after := f.cursor
	for {
		cs, err := ts.st.Changes(ctx, after, batch)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.Seq <= f.cursor || f.seen[c.Seq] {
				continue
			}
			ts.apply(ctx, c)
			ts.notify(c)
			f.seen[c.Seq] = true
		}
		if len(cs) < batch {
			break
		}
		after = cs[len(cs)-1].Seq
	}
	f.advance(time.Now())
	f.last = time.Now()
	ts.synced.Store(w)
	return nil
}

// start places the cursor at the end of the feed.
func (ts *Tenants) start(ctx context.Context) error {
	f := &ts.feed
	f.seen, f.gaps = map[int64]bool{}, map[int64]time.Time{}
	after := f.cursor
	for {
		cs, err := ts.st.Changes(ctx, after, batch)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			break
		}
		after = cs[len(cs)-1].Seq
	}
	f.cursor, f.last = after, time.Now()
	f.started.Store(true)
	return nil
}

// advance moves the cursor over applied entries and expired gaps, and
// records the numbers still missing.
func (f *feed) advance(now time.Time) {
	var top int64
	for s := range f.seen {
		top = max(top, s)
	}
	for s := f.cursor + 1; s <= top; s++ {
		if !f.seen[s] {
			if _, ok := f.gaps[s]; !ok {
				f.gaps[s] = now
			}
		}
	}
	for {
		next := f.cursor + 1
		if f.seen[next] {
			delete(f.seen, next)
			delete(f.gaps, next)
			f.cursor = next
			continue
		}
		if since, ok := f.gaps[next]; ok && now.Sub(since) > gapTimeout {
			delete(f.gaps, next)
			f.cursor = next
			continue
		}
		return
	}
}

// replay applies the feed entries of one tenant from position from on:
// those committed while its state was being built.
func (ts *Tenants) replay(ctx context.Context, t *Tenant, from int64) error {
	after := from
	for {
		cs, err := ts.st.Changes(ctx, after, batch)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.TenantID == t.id {
				ts.applyTo(ctx, t, c)
			}
		}
		if len(cs) < batch {
			return nil
		}
		after = cs[len(cs)-1].Seq
	}
}

// apply re-reads what one entry names, if its tenant is loaded.
func (ts *Tenants) apply(ctx context.Context, c store.Change) {
	if t := ts.loaded(c.TenantID); t != nil {
		ts.applyTo(ctx, t, c)
	}
}

// applyTo re-reads what c names into t. Should anything fail, the tenant's
// state is dropped and built again on next use: it must never be left
// behind the store.
func (ts *Tenants) applyTo(ctx context.Context, t *Tenant, c store.Change) {
	t.refresh.Lock()
	defer t.refresh.Unlock()
	err := ts.st.Read(ctx, func(r store.Reader) error { return t.reread(r, c) })
	if err != nil {
		ts.log.Warn("access: dropping a tenant's cached state after a failed update", "tenant", t.id, "change", c.Seq, "err", err)
		ts.Forget(t.id)
	}
}

// reread applies the current state of what c names.
func (t *Tenant) reread(r store.Reader, c store.Change) error {
	switch c.Kind {
	case "":
		if c.Rel == iam.RelMember { // re-read the member
			return t.rereadMemberships(r, c.TargetID)
		}
		return nil // app role assignments: for the token service (Subscribe)
	case iam.KindApplication, iam.KindDomain, iam.KindOAuth2PermissionGrant:
		return nil // for the token service's caches (Subscribe)
	}
	o, err := r.Get(t.id, c.Kind, c.ID)
	gone := errs.KindOf(err) == errs.NotFound || (err == nil && o.Deleted())
	if err != nil && !gone {
		return err
	}
	switch c.Kind {
	case iam.KindRoleDefinition:
		if gone {
			if _, ok := t.Roles.Role(c.ID); !ok {
				return nil
			}
			return t.Roles.Apply(rbac.DeleteRole{ID: c.ID})
		}
		def, err := roleDefinition(o)
		if err != nil {
			return err
		}
		return t.Roles.Apply(rbac.PutRole{Role: def})
	case iam.KindRoleAssignment:
		if gone {
			return t.Roles.Apply(rbac.DeleteAssignment{ID: c.ID})
		}
		a, err := assignment(o)
		if err != nil {
			return err
		}
		return t.Roles.Apply(rbac.PutAssignment{Assignment: a})
	case iam.KindAuthorizationPolicy:
		p, err := readPolicy(r, t.id)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.policy = p
		t.mu.Unlock()
		return nil
	case iam.KindSecurityDefaultsPolicy:
		on, err := readSecurityDefaults(r, t.id)
		if err != nil {
			return err
		}
		t.mu.Lock()
		t.securityDefaults = on
		t.mu.Unlock()
		return nil
	case iam.KindUser:
		t.mu.Lock()
		if !gone && isGuest(o) {
			t.guests[c.ID] = true
		} else {
			delete(t.guests, c.ID)
		}
		t.mu.Unlock()
		return t.rereadMemberships(r, c.ID)
	case iam.KindGroup, iam.KindAdministrativeUnit:
		// The container itself may sit in units; its members gain or lose
		// it when it is deleted or restored. Members are those the store
		// links now and those the snapshot knew (a purge removed the links).
		if err := t.rereadMemberships(r, c.ID); err != nil {
			return err
		}
		ids := t.Roles.Holders(c.ID)
		ls, err := r.Links(t.id, iam.RelMember, c.ID, "")
		if err != nil {
			return err
		}
		for _, l := range ls {
			ids = append(ids, l.TargetID)
		}
		for _, id := range ids {
			if err := t.rereadMemberships(r, id); err != nil {
				return err
			}
		}
		return nil
	default: // service principals: memberships only
		return t.rereadMemberships(r, c.ID)
	}
}

func (t *Tenant) rereadMemberships(r store.Reader, id string) error {
	m, err := memberships(r, t.id, id)
	if err != nil {
		return err
	}
	return t.Roles.Apply(m)
}

// Retention is how long feed entries are kept. A replica that has not read
// the feed for half of it drops its cached state rather than trust it.
const Retention = 10 * time.Minute

// Run follows the feed every interval until ctx ends, and prunes entries
// older than Retention every minute. Every replica may prune: deleting old
// entries twice is harmless.
func (ts *Tenants) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := ts.Sync(ctx); err != nil && ctx.Err() == nil {
			ts.log.Warn("access: reading the change feed failed", "err", err)
		}
		if time.Since(lastPrune) > time.Minute {
			lastPrune = time.Now()
			if err := ts.st.PruneChanges(ctx, time.Now().Add(-Retention)); err != nil && ctx.Err() == nil {
				ts.log.Warn("access: pruning the change feed failed", "err", err)
			}
		}
	}
}
