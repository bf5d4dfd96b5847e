// Package access keeps, for every tenant this replica serves, the state the
// authorizer decides from: the tenant's rbac.Snapshot (role definitions,
// assignments, memberships of role-assignable groups and administrative
// units), which users are guests, and the tenant's authorization policy.
//
// A tenant's state is built from the store the first time a request needs
// it, then kept current from the store's change feed (store.Change): every
// replica reads the feed a few times a second and re-reads what an entry
// names, so a change made through any replica is enforced by all of them
// within a poll interval. A replica's own writes are seen at once: the
// store handed to the services is wrapped (Watch) so that the next decision
// after a committed change reads the feed first. Updates are incremental:
// one entry costs a read of the objects it names, never a rebuild.
package access

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

// Tenant is one tenant's access state. Its methods are safe for concurrent use.
type Tenant struct {
	id    string
	Roles *rbac.Snapshot

	mu     sync.RWMutex
	guests map[string]bool
	policy iam.AuthorizationPolicy
	// securityDefaults: the tenant's identitySecurityDefaultsEnforcementPolicy.
	securityDefaults bool

	// refresh serialises re-reads, so that of two refreshes of one object
	// the later read is the one applied last.
	refresh sync.Mutex
}

// DefaultRole returns the system-assigned role a user holds: Guest User
// (or the policy's guestUserRoleId) for guests, User for members.
func (t *Tenant) DefaultRole(userID string) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.guests[userID] {
		if t.policy.GuestUserRoleID != "" {
			return t.policy.GuestUserRoleID
		}
		return rbac.GuestUser
	}
	return rbac.DefaultUser
}

// SecurityDefaults reports whether the tenant's security defaults are on.
func (t *Tenant) SecurityDefaults() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.securityDefaults
}

// Policy returns the tenant's default user permissions.
func (t *Tenant) Policy() iam.DefaultUserRolePermissions {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.policy.DefaultUserRolePermissions
}

// Tenants is the access state of every tenant this replica has served.
type Tenants struct {
	st  store.Store
	log *slog.Logger

	mu      sync.RWMutex
	tenants map[string]*Tenant
	loading map[string]*loadCall

	feed feed
	// writes counts this replica's committed writes of fed kinds (see
	// Watch); synced is its value when the feed was last read.
	writes, synced atomic.Uint64

	subsMu sync.RWMutex
	subs   []func(store.Change)
}

type loadCall struct {
	done chan struct{}
	t    *Tenant
	err  error
}

// New returns an empty cache over st. Call Run to follow the feed.
func New(st store.Store, log *slog.Logger) *Tenants {
	return &Tenants{st: st, log: log, tenants: map[string]*Tenant{}, loading: map[string]*loadCall{}}
}

// Tenant returns a tenant's state, current with every write this replica
// has committed, building it on first use.
func (ts *Tenants) Tenant(ctx context.Context, tenantID string) (*Tenant, error) {
	if err := ts.Current(ctx); err != nil {
		return nil, err
	}
	ts.mu.RLock()
	t := ts.tenants[tenantID]
	ts.mu.RUnlock()
	if t != nil {
		return t, nil
	}
	ts.mu.Lock()
	if t := ts.tenants[tenantID]; t != nil {
		ts.mu.Unlock()
		return t, nil
	}
	if c := ts.loading[tenantID]; c != nil {
		ts.mu.Unlock()
		select {
		case <-c.done:
			return c.t, c.err
		case <-ctx.Done():
			return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "The request ended while access state was loading.")
		}
	}
	c := &loadCall{done: make(chan struct{})}
	ts.loading[tenantID] = c
	ts.mu.Unlock()

	// Entries committed while the build reads are applied again after it:
	// re-reading is idempotent, and nothing in between is lost.
	from := ts.feed.position()
	c.t, c.err = ts.build(ctx, tenantID)
	ts.mu.Lock()
	delete(ts.loading, tenantID)
	if c.err == nil {
		ts.tenants[tenantID] = c.t
	}
	ts.mu.Unlock()
	close(c.done)
	if c.err == nil {
		c.err = ts.replay(ctx, c.t, from)
	}
	return c.t, c.err
}

// Forget drops a tenant's state; the next request builds it again.
func (ts *Tenants) Forget(tenantID string) {
	ts.mu.Lock()
	delete(ts.tenants, tenantID)
	ts.mu.Unlock()
}

func (ts *Tenants) loaded(tenantID string) *Tenant {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	return ts.tenants[tenantID]
}

// build reads a tenant's state from the store in one read transaction.
func (ts *Tenants) build(ctx context.Context, tenantID string) (*Tenant, error) {
	t := &Tenant{id: tenantID, Roles: rbac.NewSnapshot(), guests: map[string]bool{}, policy: iam.DefaultAuthorizationPolicy()}
	var changes []rbac.Change
	err := ts.st.Read(ctx, func(r store.Reader) error {
		changes = changes[:0]
		clear(t.guests)
		if err := each(r, tenantID, iam.KindRoleDefinition, nil, func(o store.Object) error {
			def, err := roleDefinition(o)
			if err != nil {
				return err
			}
			changes = append(changes, rbac.PutRole{Role: def})
			return nil
		}); err != nil {
			return err
		}
		if err := each(r, tenantID, iam.KindRoleAssignment, nil, func(o store.Object) error {
			a, err := assignment(o)
			if err != nil {
				return err
			}
			changes = append(changes, rbac.PutAssignment{Assignment: a})
			return nil
		}); err != nil {
			return err
		}
		if err := each(r, tenantID, iam.KindUser, guestFilter, func(o store.Object) error {
			t.guests[o.ID] = true
			return nil
		}); err != nil {
			return err
		}
		p, err := readPolicy(r, tenantID)
		if err != nil {
			return err
		}
		t.policy = p
		if t.securityDefaults, err = readSecurityDefaults(r, tenantID); err != nil {
			return err
		}
		// Memberships: every member of a role-assignable group or of an
		// administrative unit.
		groups, units := map[string][]string{}, map[string][]string{}
		collect := func(into map[string][]string) func(o store.Object) error {
			return func(o store.Object) error {
				ls, err := r.Links(tenantID, iam.RelMember, o.ID, "")
				if err != nil {
					return err
				}
				for _, l := range ls {
					into[l.TargetID] = append(into[l.TargetID], o.ID)
				}
				return nil
			}
		}
		if err := each(r, tenantID, iam.KindGroup, roleAssignableFilter, collect(groups)); err != nil {
			return err
		}
		if err := each(r, tenantID, iam.KindAdministrativeUnit, nil, collect(units)); err != nil {
			return err
		}
		for id := range groups {
			changes = append(changes, rbac.SetMemberships{ObjectID: id, Groups: groups[id], Units: units[id]})
		}
		for id := range units {
			if _, done := groups[id]; !done {
				changes = append(changes, rbac.SetMemberships{ObjectID: id, Units: units[id]})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Role definitions first: assignments refer to them.
	slices.SortStableFunc(changes, func(a, b rbac.Change) int { return changeOrder(a) - changeOrder(b) })
	if err := t.Roles.Apply(changes...); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "access: tenant %s: the stored roles do not load", tenantID)
	}
	return t, nil
}

func changeOrder(c rbac.Change) int {
	switch c.(type) {
	case rbac.PutRole:
		return 0
	case rbac.PutAssignment:
		return 1
	}
	return 2
}

// TenantWideRoles returns the built-in roles a principal holds at scope "/"
// now, directly or through a role-assignable group: the wids claim.
func (ts *Tenants) TenantWideRoles(ctx context.Context, tenantID, principalID string) ([]string, error) {
	t, err := ts.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return t.Roles.TenantWideRoles(principalID, time.Now()), nil
}
