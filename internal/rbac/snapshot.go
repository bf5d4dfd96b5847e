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
type role struct {
	def   RoleDefinition
	perms []perm
	uses  int // assignments that reference it; a used custom role cannot be deleted
}

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
type Snapshot struct {
	mu      sync.RWMutex
	roles   []*role // by index; nil once deleted, so indexes stay stable
	roleIdx map[string]int32
	objects map[string]*object
	byID    map[string]string // assignment id → principal id
	grants  atomic.Pointer[grantCache]
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
		roleIdx: map[string]int32{},
		objects: map[string]*object{},
		byID:    map[string]string{},
	}
	for _, r := range builtinRoles() {
		s.putRole(r)
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
	if i, ok := s.roleIdx[c.Role.ID]; ok && s.roles[i].def.IsBuiltIn {
		return errs.E(errs.Invalid, "Built-in role '%s' cannot be changed.", s.roles[i].def.DisplayName).WithCode("Request_BadRequest")
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
	i, ok := s.roleIdx[c.ID]
	if !ok {
		return errs.E(errs.NotFound, "Role definition '%s' does not exist.", c.ID)
	}
	r := s.roles[i]
	if r.def.IsBuiltIn {
		return errs.E(errs.Invalid, "Built-in role '%s' cannot be deleted.", r.def.DisplayName).WithCode("Request_BadRequest")
	}
	if r.uses > 0 {
		return errs.E(errs.Conflict, "Role definition '%s' is assigned %d time(s); remove its assignments first.", r.def.DisplayName, r.uses)
	}
	s.roles[i] = nil
	delete(s.roleIdx, c.ID)
	s.grants.Store(&grantCache{})
	return nil
}

// putRole stores a definition with its permissions flattened. Only built-in
// roles inherit (from built-in roles, loaded before them or after: the
// inherited permissions are resolved from the embedded data), so a custom
// role change never has to recompute another role.
func (s *Snapshot) putRole(def RoleDefinition) {
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
		if p, ok := BuiltinRole(parent); ok {
			add(p.RolePermissions)
		}
	}
	if i, ok := s.roleIdx[def.ID]; ok {
		r.uses = s.roles[i].uses
		s.roles[i] = r
	} else {
		s.roleIdx[def.ID] = int32(len(s.roles))
		s.roles = append(s.roles, r)
	}
	if c := s.grants.Load(); c != nil {
		s.grants.Store(&grantCache{})
	}
}

func (c PutAssignment) apply(s *Snapshot) error {
	a := c.Assignment
	if a.ID == "" || a.PrincipalID == "" {
		return errs.E(errs.Invalid, "A role assignment needs an id and a principalId.")
	}
	ri, ok := s.roleIdx[a.RoleDefinitionID]
	if !ok {
		return errs.E(errs.Invalid, "Role definition '%s' does not exist.", a.RoleDefinitionID).WithCode("Request_BadRequest")
	}
	if s.roles[ri].def.systemAssigned() {
		return errs.E(errs.Invalid, "Role '%s' is assigned by the system and cannot be assigned.", s.roles[ri].def.DisplayName).WithCode("Request_BadRequest")
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
	s.roles[ri].uses++
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
		if r := s.roles[x.role]; r != nil {
			r.uses--
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
	if i, ok := s.roleIdx[id]; ok {
		return s.roles[i].def.clone(), true
	}
	return RoleDefinition{}, false
}

// Len reports how many assignments the snapshot holds.
func (s *Snapshot) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}
