package rbac

import (
	"slices"

	"github.com/ostiary/ostiary/internal/errs"
)

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
	r := &role{def: def, matrix: sensitiveMatrix().columns(def.ID)}
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
	if s.byID.ref(a.ID) != noRef {
		DeleteAssignment{ID: a.ID}.apply(s) //nolint:errcheck // never fails
	}
	p := s.acquire(a.PrincipalID)
	x := assignment{idScope: a.ID + a.DirectoryScopeID, n: int32(len(a.ID)), role: ri, scope: noRef, kind: kind}
	if kind != scopeTenant {
		x.scope = s.acquire(scopeID)
	}
	var w schedule
	if !a.Start.IsZero() {
		w.start = a.Start.UnixNano()
	}
	if !a.End.IsZero() {
		w.end = a.End.UnixNano()
	}
	if w != (schedule{}) {
		x.timed, s.schedules[a.ID] = true, w
	}
	s.byID.set(a.ID, p)
	o := &s.objs[p]
	o.assignments = append(o.assignments, x)
	s.uses[ri]++
	return nil
}

func (c DeleteAssignment) apply(s *Snapshot) error {
	p := s.byID.ref(c.ID)
	if p == noRef {
		return nil
	}
	s.byID.delete(c.ID)
	o := &s.objs[p]
	k := slices.IndexFunc(o.assignments, func(x assignment) bool { return x.id() == c.ID })
	x := o.assignments[k]
	o.assignments = slices.Delete(o.assignments, k, k+1)
	if x.timed {
		delete(s.schedules, c.ID)
	}
	if s.uses[x.role]--; s.uses[x.role] <= 0 {
		delete(s.uses, x.role)
	}
	s.release(p)
	if x.scope != noRef {
		s.release(x.scope)
	}
	return nil
}

// Memberships are edges from an object to a group or unit; each edge holds
// both ends' references.

func groupsOf(o *object) *refList { return &o.groups }
func unitsOf(o *object) *refList  { return &o.units }

func (c AddGroupMember) apply(s *Snapshot) error {
	return s.addEdge(c.MemberID, c.GroupID, groupsOf)
}

func (c RemoveGroupMember) apply(s *Snapshot) error {
	s.removeEdge(c.MemberID, c.GroupID, groupsOf)
	return nil
}

func (c AddUnitMember) apply(s *Snapshot) error {
	return s.addEdge(c.ObjectID, c.UnitID, unitsOf)
}

func (c RemoveUnitMember) apply(s *Snapshot) error {
	s.removeEdge(c.ObjectID, c.UnitID, unitsOf)
	return nil
}

func (c SetMemberships) apply(s *Snapshot) error {
	if c.ObjectID == "" {
		return errs.E(errs.Invalid, "Memberships need an object id.")
	}
	from := s.acquire(c.ObjectID) // held while the lists change hands
	groups, units := s.acquireAll(from, c.Groups), s.acquireAll(from, c.Units)
	o := &s.objs[from]
	old := [2][]ref{slices.Clone(o.groups.items()), slices.Clone(o.units.items())}
	o.groups.set(groups)
	o.units.set(units)
	for _, l := range old {
		for _, to := range l {
			s.release(from)
			s.release(to)
		}
	}
	s.release(from)
	return nil
}

// acquireAll interns the ends of edges from an object; duplicates stay, as
// the caller gave them.
func (s *Snapshot) acquireAll(from ref, ids []string) []ref {
	if ids == nil {
		return nil
	}
	out := make([]ref, len(ids))
	for i, id := range ids {
		out[i] = s.acquire(id)
		s.hold(from)
	}
	return out
}

func (s *Snapshot) addEdge(from, to string, list func(*object) *refList) error {
	if from == "" || to == "" {
		return errs.E(errs.Invalid, "A membership needs both ids.")
	}
	f, t := s.acquire(from), s.acquire(to)
	l := list(&s.objs[f])
	if slices.Contains(l.items(), t) {
		s.release(f)
		s.release(t)
		return nil
	}
	l.add(t)
	return nil
}

func (s *Snapshot) removeEdge(from, to string, list func(*object) *refList) {
	f, t := s.ids.ref(from), s.ids.ref(to)
	if f == noRef || t == noRef {
		return
	}
	for range list(&s.objs[f]).remove(t) {
		s.release(f)
		s.release(t)
	}
}
