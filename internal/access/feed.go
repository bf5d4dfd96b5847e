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
		fresh := cs[:0:0]
		for _, c := range cs {
			if c.Seq <= f.cursor || f.seen[c.Seq] {
				continue
			}
			fresh = append(fresh, c)
		}
		ts.apply(ctx, fresh)
		for _, c := range fresh {
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
		var mine []store.Change
		for _, c := range cs {
			if c.TenantID == t.id {
				mine = append(mine, c)
			}
		}
		ts.applyTo(ctx, t, mine)
		if len(cs) < batch {
			return nil
		}
		after = cs[len(cs)-1].Seq
	}
}

// apply re-reads what a batch of entries names, in the loaded tenants.
func (ts *Tenants) apply(ctx context.Context, cs []store.Change) {
	byTenant := map[string][]store.Change{}
	var order []string
	for _, c := range cs {
		if _, ok := byTenant[c.TenantID]; !ok {
			order = append(order, c.TenantID)
		}
		byTenant[c.TenantID] = append(byTenant[c.TenantID], c)
	}
	for _, id := range order {
		if t := ts.loaded(id); t != nil {
			ts.applyTo(ctx, t, byTenant[id])
		}
	}
}

// applyTo re-reads what cs name into t, in one read transaction. A batch
// names the same principal many times when a group gains many members or
// a principal joins many groups (a bulk import); the principals'
// memberships are re-read once each, after the rest, so applying a batch
// costs what it names, not that times its size. Should anything fail, the
// tenant's state is dropped and built again on next use: it must never be
// left behind the store.
func (ts *Tenants) applyTo(ctx context.Context, t *Tenant, cs []store.Change) {
	if len(cs) == 0 {
		return
	}
	t.refresh.Lock()
	defer t.refresh.Unlock()
	err := ts.st.Read(ctx, func(r store.Reader) error {
		members := map[string]bool{}
		for _, c := range cs {
			if err := t.reread(r, c, members); err != nil {
				return err
			}
		}
		for id := range members {
			if err := t.rereadMemberships(r, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		ts.log.Warn("access: dropping a tenant's cached state after a failed update", "tenant", t.id, "changes", len(cs), "from", cs[0].Seq, "err", err)
		ts.Forget(t.id)
	}
}

// reread applies the current state of what c names, adding to members
// the principals whose memberships the caller must re-read.
func (t *Tenant) reread(r store.Reader, c store.Change, members map[string]bool) error {
	switch c.Kind {
	case "":
		if c.Rel == iam.RelMember { // re-read the member
			members[c.TargetID] = true
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
		members[c.ID] = true
		return nil
	case iam.KindGroup, iam.KindAdministrativeUnit:
		// The container itself may sit in units; its members gain or lose
		// it when it is deleted or restored. Members are those the store
		// links now and those the snapshot knew (a purge removed the links).
		members[c.ID] = true
		for _, id := range t.Roles.Holders(c.ID) {
			members[id] = true
		}
		ls, err := r.Links(t.id, iam.RelMember, c.ID, "")
		if err != nil {
			return err
		}
		for _, l := range ls {
			members[l.TargetID] = true
		}
		return nil
	default: // service principals: memberships only
		members[c.ID] = true
		return nil
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
