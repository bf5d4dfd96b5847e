package rbac

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Which roles cover an action depends only on the action, the target's
// subtype and whether the target is a role-assignable group, never on who
// asks. The snapshot therefore computes it once per such key, for every
// role at once, and caches it; a decision then costs a cache hit and a walk
// over the principal's few assignments, whatever the number of roles or
// assignments in the tenant. Any role change starts a fresh cache.

type grantKey struct {
	action, subtype string
	roleAssignable  bool
}

// roleGrant holds, for one role, the permission that covers the action
// unconditionally, when the target is the principal itself, and when the
// principal owns the target ("" = none).
type roleGrant struct{ any, self, owner string }

type actionGrants struct {
	err        error // the action is malformed
	create     bool
	usersWrite bool // a write on users: Request.SensitiveAttributes can make it sensitive
	sens       Sensitivity
	byRole     []roleGrant // by position in the role list it was computed for
}

// maxCachedActions bounds the cache: actions come from code, but the explain
// endpoint lets administrators ask about any string.
const maxCachedActions = 4096

// grantCache is read by every decision and written once per new key, so
// readers take no lock (a lock's shared counter is a cache line every core
// writes): writers copy the map and publish the copy.
type grantCache struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[grantKey]*actionGrants]
}

// builtinGrants caches, for the whole process, which built-in roles cover
// each action; every tenant's snapshot shares it.
var builtinGrants grantCache

// grantsFor returns which built-in roles and which of the snapshot's custom
// roles cover k. It is called under s.mu (read or write).
func (s *Snapshot) grantsFor(k grantKey) (*actionGrants, []roleGrant) {
	g := builtinGrants.get(k, s.builtin.roles)
	if g.err != nil || len(s.custom) == 0 {
		return g, nil
	}
	return g, s.grants.Load().get(k, s.custom).byRole
}

// grant returns how the role with index ri covers the evaluation's action.
func (e *evaluation) grant(ri int32) roleGrant {
	n := int32(len(e.g.byRole))
	if ri < n {
		return e.g.byRole[ri]
	}
	if int(ri-n) < len(e.custom) {
		return e.custom[ri-n]
	}
	return roleGrant{}
}

func (c *grantCache) get(k grantKey, roles []*role) *actionGrants {
	if m := c.m.Load(); m != nil {
		if g, ok := (*m)[k]; ok {
			return g
		}
	}
	g := computeGrants(roles, k)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[grantKey]*actionGrants{}
	if old := c.m.Load(); old != nil {
		if len(*old) >= maxCachedActions {
			return g
		}
		m = maps.Clone(*old)
	}
	m[k] = g
	c.m.Store(&m)
	return g
}

func computeGrants(roles []*role, k grantKey) *actionGrants {
	a, err := parseAction(k.action)
	if err != nil {
		return &actionGrants{err: err}
	}
	want := effectivePath(a, k.subtype, k.roleAssignable)
	g := &actionGrants{
		create:     isCreate(a.verb()),
		usersWrite: a.ns+"/" == dir && a.path[0] == "users" && !isRead(a.verb()),
		sens:       classify(a),
		byRole:     make([]roleGrant, len(roles)),
	}
	for i, r := range roles {
		if r == nil {
			continue
		}
		rg := &g.byRole[i]
		for _, p := range r.perms {
			if !covers(p.a, a.ns, want) {
				continue
			}
			switch p.cond {
			case Unconditional:
				if rg.any == "" {
					rg.any = p.raw
				}
			case ResourceIsSelf:
				if rg.self == "" {
					rg.self = p.raw
				}
			case SubjectIsOwner:
				if rg.owner == "" {
					rg.owner = p.raw
				}
			}
		}
	}
	return g
}
