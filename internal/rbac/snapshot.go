package rbac

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
)

// Assignment is Graph's unifiedRoleAssignment with an optional schedule.
// A zero Start or End leaves that side open; PIM activations set both.
type Assignment struct {
	ID               string
	PrincipalID      string // a user, a service principal or a role-assignable group
	RoleDefinitionID string
	DirectoryScopeID string // "/", "/administrativeUnits/{id}" or "/{objectId}"
	Start, End       time.Time
}

type scopeKind uint8

const (
	scopeTenant scopeKind = iota // "/": the whole tenant
	scopeUnit                    // "/administrativeUnits/{id}": the objects the unit contains
	scopeObject                  // "/{id}": that object only
)

// parseScope splits a directoryScopeId into its kind and object id.
func parseScope(s string) (scopeKind, string, error) {
	if s == "/" {
		return scopeTenant, "", nil
	}
	if id, ok := strings.CutPrefix(s, "/administrativeUnits/"); ok && id != "" && !strings.Contains(id, "/") {
		return scopeUnit, id, nil
	}
	if id, ok := strings.CutPrefix(s, "/"); ok && id != "" && !strings.Contains(id, "/") {
		return scopeObject, id, nil
	}
	return 0, "", errs.E(errs.Invalid, "The directoryScopeId '%s' is not '/', '/administrativeUnits/{id}' or '/{objectId}'.", s).WithCode("Request_BadRequest")
}

// assignment is the evaluator's compact form of an Assignment, stored by
// value in its principal's entry.
type assignment struct {
	id, scope, scopeID string
	role               int32
	kind               scopeKind
	start, end         int64 // Unix nanoseconds; 0 = open
}

func (a *assignment) activeAt(now int64) bool {
	return (a.start == 0 || now >= a.start) && (a.end == 0 || now < a.end)
}

// perm is one effective permission of a role, parsed once.
type perm struct {
	raw  string
	a    action
	cond Condition
}

// role is a definition with its permissions flattened (own plus inherited).
// Built-in roles are parsed once per process and shared by every tenant's
// snapshot (see builtinSet); a role is never changed after it is built.
type role struct {
	def   RoleDefinition
	perms []perm
}

// builtinSet is the built-in roles, parsed once. They take role indexes
// 0..len-1 in every snapshot; custom roles follow.
type builtinSet struct {
	roles []*role
	idx   map[string]int32
}

var builtins = sync.OnceValue(func() *builtinSet {
	b := &builtinSet{idx: map[string]int32{}}
	for _, def := range builtinRoles() {
		b.idx[def.ID] = int32(len(b.roles))
		b.roles = append(b.roles, newRole(def))
	}
	return b
})

// Snapshot is the in-memory state the evaluator decides from: role
// definitions, assignments indexed by principal, direct memberships of
// role-assignable groups and administrative-unit memberships. One Snapshot
// serves concurrent Evaluate calls; Apply patches it in place under a write
// lock, so a change feed keeps it current without rebuilding it.
//
// Everything the evaluator needs about one directory object sits in one
// entry (its assignments, its role-assignable groups, its units), so a
// decision costs a handful of map lookups: at a million assignments the
// maps do not fit in the CPU cache and every lookup is a memory round trip.
//
// A tenant without custom roles or assignments costs a few empty maps: the
// built-in roles and which of them cover each action are shared by all
// snapshots of the process.
type Snapshot struct {
	mu sync.RWMutex
	// custom holds the custom roles, role index len(builtins().roles)+i;
	// nil once deleted, so indexes stay stable.
	custom    []*role
	customIdx map[string]int32
	uses      map[int32]int // assignments per role index; a used custom role cannot be deleted
	objects   map[string]*object
	byID      map[string]string          // assignment id → principal id
	grants    atomic.Pointer[grantCache] // which custom roles cover an action
}

// role returns the role with index i, nil if deleted.
func (s *Snapshot) role(i int32) *role {
	b := builtins()
	if int(i) < len(b.roles) {
		return b.roles[i]
	}
	return s.custom[int(i)-len(b.roles)]
}

// index finds a role by id.
func (s *Snapshot) index(id string) (int32, bool) {
	if i, ok := builtins().idx[id]; ok {
		return i, true
	}
	i, ok := s.customIdx[id]
	return i, ok
}

// object is what the snapshot knows about one user, group or service
// principal, as a principal and as a target.
type object struct {
	assignments []assignment // held as principal
	groups      []string     // role-assignable groups it is a direct member of (they cannot nest)
	units       []string     // administrative units containing it
}

func (o *object) empty() bool {
	return len(o.assignments) == 0 && len(o.groups) == 0 && len(o.units) == 0
}

// entry returns the object's entry, creating it.
func (s *Snapshot) entry(id string) *object {
	o := s.objects[id]
	if o == nil {
		o = &object{}
		s.objects[id] = o
	}
	return o
}

// prune drops an entry that holds nothing any more.
func (s *Snapshot) prune(id string, o *object) {
	if o.empty() {
		delete(s.objects, id)
	}
}

// NewSnapshot returns a snapshot holding the built-in roles and nothing else.
func NewSnapshot() *Snapshot {
	s := &Snapshot{
		customIdx: map[string]int32{},
		uses:      map[int32]int{},
		objects:   map[string]*object{},
		byID:      map[string]string{},
	}
	s.grants.Store(&grantCache{})
	return s
}

// Change is one patch to a Snapshot, as read from the store's change feed.
type Change interface{ apply(*Snapshot) error }

type (
	// PutRole adds or replaces a custom role definition.
	PutRole struct{ Role RoleDefinition }
	// DeleteRole removes an unused custom role definition.
	DeleteRole struct{ ID string }
	// PutAssignment adds or replaces a role assignment.
	PutAssignment struct{ Assignment Assignment }
	// DeleteAssignment removes a role assignment; a missing one is no error,
	// so replaying the feed is harmless.
	DeleteAssignment struct{ ID string }
	// AddGroupMember records a direct member of a role-assignable group.
	AddGroupMember struct{ GroupID, MemberID string }
	// RemoveGroupMember forgets one.
	RemoveGroupMember struct{ GroupID, MemberID string }
	// AddUnitMember records that an administrative unit contains an object.
	AddUnitMember struct{ UnitID, ObjectID string }
	// RemoveUnitMember forgets it.
	RemoveUnitMember struct{ UnitID, ObjectID string }
	// SetMemberships replaces what the snapshot knows of an object's
	// memberships: the role-assignable groups it is a direct member of and
	// the administrative units containing it. A feed reader that re-reads an
	// object's memberships from the store applies this, whatever changed.
	SetMemberships struct {
		ObjectID      string
		Groups, Units []string
	}
)

// Apply patches the snapshot with changes, in order, atomically with
// respect to Evaluate. It stops at the first invalid change; the changes
// before it stay applied, and the caller should rebuild from the store,
// since the snapshot no longer mirrors it.
func (s *Snapshot) Apply(changes ...Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		if err := c.apply(s); err != nil {
			return err
		}
	}
	return nil
}

func (c PutRole) apply(s *Snapshot) error {
	if i, ok := builtins().idx[c.Role.ID]; ok {
		return errs.E(errs.Invalid, "Built-in role '%s' cannot be changed.", builtins().roles[i].def.DisplayName).WithCode("Request_BadRequest")
	}
	if c.Role.ID == "" {
		return errs.E(errs.Invalid, "A role definition needs an id.")
	}
	if err := ValidateCustomRole(c.Role); err != nil {
		return err
	}
	s.putRole(c.Role.clone())
	return nil
}

func (c DeleteRole) apply(s *Snapshot) error {
	i, ok := s.index(c.ID)
	if !ok {
		return errs.E(errs.NotFound, "Role definition '%s' does not exist.", c.ID)
	}
	r := s.role(i)
	if r.def.IsBuiltIn {
		return errs.E(errs.Invalid, "Built-in role '%s' cannot be deleted.", r.def.DisplayName).WithCode("Request_BadRequest")
	}
	if n := s.uses[i]; n > 0 {
		return errs.E(errs.Conflict, "Role definition '%s' is assigned %d time(s); remove its assignments first.", r.def.DisplayName, n)
	}
	s.custom[int(i)-len(builtins().roles)] = nil
	delete(s.customIdx, c.ID)
	s.grants.Store(&grantCache{})
	return nil
}

// putRole stores a custom definition with its permissions flattened.
func (s *Snapshot) putRole(def RoleDefinition) {
	r := newRole(def)
	if i, ok := s.customIdx[def.ID]; ok {
		s.custom[int(i)-len(builtins().roles)] = r
	} else {
		s.customIdx[def.ID] = int32(len(builtins().roles) + len(s.custom))
		s.custom = append(s.custom, r)
	}
	s.grants.Store(&grantCache{})
}

// newRole flattens a definition's permissions. Only built-in roles inherit
// (from built-in roles: the inherited permissions are resolved from the
// embedded data), so a custom role change never recomputes another role.
func newRole(def RoleDefinition) *role {
	r := &role{def: def}
	add := func(ps []RolePermission) {
		for _, p := range ps {
			for _, raw := range p.AllowedResourceActions {
				if a, err := parseAction(raw); err == nil {
					r.perms = append(r.perms, perm{raw: raw, a: a, cond: p.Condition})
				}
			}
		}
	}
	add(def.RolePermissions)
	for _, parent := range def.InheritsPermissionsFrom {
		for _, p := range builtinRoles() {
			if p.ID == parent {
				add(p.RolePermissions)
			}
		}
	}
	return r
}

func (c PutAssignment) apply(s *Snapshot) error {
	a := c.Assignment
	if a.ID == "" || a.PrincipalID == "" {
		return errs.E(errs.Invalid, "A role assignment needs an id and a principalId.")
	}
	ri, ok := s.index(a.RoleDefinitionID)
	if !ok {
		return errs.E(errs.Invalid, "Role definition '%s' does not exist.", a.RoleDefinitionID).WithCode("Request_BadRequest")
	}
	if r := s.role(ri); r.def.systemAssigned() {
		return errs.E(errs.Invalid, "Role '%s' is assigned by the system and cannot be assigned.", r.def.DisplayName).WithCode("Request_BadRequest")
	}
	kind, scopeID, err := parseScope(a.DirectoryScopeID)
	if err != nil {
		return err
	}
	if !a.Start.IsZero() && !a.End.IsZero() && !a.End.After(a.Start) {
		return errs.E(errs.Invalid, "The assignment ends before it starts.")
	}
	if _, ok := s.byID[a.ID]; ok {
		DeleteAssignment{ID: a.ID}.apply(s) //nolint:errcheck // never fails
	}
	x := assignment{id: a.ID, scope: a.DirectoryScopeID, scopeID: scopeID, role: ri, kind: kind}
	if !a.Start.IsZero() {
		x.start = a.Start.UnixNano()
	}
	if !a.End.IsZero() {
		x.end = a.End.UnixNano()
	}
	s.byID[a.ID] = a.PrincipalID
	o := s.entry(a.PrincipalID)
	o.assignments = append(o.assignments, x)
	s.uses[ri]++
	return nil
}

func (c DeleteAssignment) apply(s *Snapshot) error {
	principal, ok := s.byID[c.ID]
	if !ok {
		return nil
	}
	delete(s.byID, c.ID)
	o := s.objects[principal]
	o.assignments = slices.DeleteFunc(o.assignments, func(x assignment) bool {
		if x.id != c.ID {
			return false
		}
		if s.uses[x.role]--; s.uses[x.role] <= 0 {
			delete(s.uses, x.role)
		}
		return true
	})
	s.prune(principal, o)
	return nil
}

func (c AddGroupMember) apply(s *Snapshot) error {
	return addEdge(s, c.MemberID, c.GroupID, func(o *object) *[]string { return &o.groups })
}

func (c RemoveGroupMember) apply(s *Snapshot) error {
	removeEdge(s, c.MemberID, c.GroupID, func(o *object) *[]string { return &o.groups })
	return nil
}

func (c AddUnitMember) apply(s *Snapshot) error {
	return addEdge(s, c.ObjectID, c.UnitID, func(o *object) *[]string { return &o.units })
}

func (c RemoveUnitMember) apply(s *Snapshot) error {
	removeEdge(s, c.ObjectID, c.UnitID, func(o *object) *[]string { return &o.units })
	return nil
}

func (c SetMemberships) apply(s *Snapshot) error {
	if c.ObjectID == "" {
		return errs.E(errs.Invalid, "Memberships need an object id.")
	}
	o := s.entry(c.ObjectID)
	o.groups, o.units = slices.Clone(c.Groups), slices.Clone(c.Units)
	s.prune(c.ObjectID, o)
	return nil
}

// Memberships returns what the snapshot knows of an object's memberships.
func (s *Snapshot) Memberships(objectID string) (groups, units []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if o := s.objects[objectID]; o != nil {
		return slices.Clone(o.groups), slices.Clone(o.units)
	}
	return nil, nil
}

// Assignments returns the ids of a principal's own assignments (not those
// it holds through groups).
func (s *Snapshot) Assignments(principalID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.objects[principalID]
	if o == nil {
		return nil
	}
	out := make([]string, len(o.assignments))
	for i, a := range o.assignments {
		out[i] = a.id
	}
	return out
}

// TenantWideRoles returns the ids of the built-in roles a principal holds
// at scope "/" at time now, directly or through a role-assignable group,
// sorted: what Entra puts in the wids claim. Custom roles and scoped
// assignments are left out, as Entra leaves them out.
func (s *Snapshot) TenantWideRoles(principalID string, now time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	t := now.UnixNano()
	add := func(o *object) {
		if o == nil {
			return
		}
		for i := range o.assignments {
			a := &o.assignments[i]
			if a.kind != scopeTenant || !a.activeAt(t) || int(a.role) >= len(builtins().roles) {
				continue
			}
			out = append(out, builtins().roles[a.role].def.ID)
		}
	}
	if o := s.objects[principalID]; o != nil {
		add(o)
		for _, g := range o.groups {
			add(s.objects[g])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func addEdge(s *Snapshot, from, to string, list func(*object) *[]string) error {
	if from == "" || to == "" {
		return errs.E(errs.Invalid, "A membership needs both ids.")
	}
	l := list(s.entry(from))
	if !slices.Contains(*l, to) {
		*l = append(*l, to)
	}
	return nil
}

func removeEdge(s *Snapshot, from, to string, list func(*object) *[]string) {
	o := s.objects[from]
	if o == nil {
		return
	}
	l := list(o)
	*l = slices.DeleteFunc(*l, func(x string) bool { return x == to })
	s.prune(from, o)
}

// Role returns a role definition by id, built-in or custom.
func (s *Snapshot) Role(id string) (RoleDefinition, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i, ok := s.index(id); ok {
		if r := s.role(i); r != nil {
			return r.def.clone(), true
		}
	}
	return RoleDefinition{}, false
}

// Len reports how many assignments the snapshot holds.
func (s *Snapshot) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

// Holders returns the objects the snapshot records as members of a group or
// an administrative unit. It walks every entry: it serves the rare update
// after a container is purged, never a decision.
func (s *Snapshot) Holders(containerID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for id, o := range s.objects {
		if slices.Contains(o.groups, containerID) || slices.Contains(o.units, containerID) {
			out = append(out, id)
		}
	}
	return out
}
