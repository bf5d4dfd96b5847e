package rbac

import (
	"cmp"
	"slices"
)

// candidate is one role a principal might act through: an assignment of
// its own or of one of its groups, or its default role (a nil assignment).
type candidate struct {
	src   Source
	a     *assignment
	role  int32
	group ref // the role-assignable group it came through
}

// try checks one candidate. On success it returns the decision; on failure
// it records why in e.denials when explaining. Nothing here builds a
// Reason unless one is wanted, so Allowed reads no assignment's text.
func (e *evaluation) try(c candidate) (Decision, bool) {
	r := e.s.role(c.role)
	kind, scope := scopeTenant, noRef
	if c.a != nil {
		kind, scope = c.a.kind, c.a.scope
	}
	t := &e.r.Target
	if c.a != nil && !e.s.activeAt(c.a, e.now) {
		if x := e.deny(&c, NotActive, "the assignment is not active at the time of the request"); x != nil {
			w := e.s.schedule(c.a)
			x.ActiveFrom, x.ActiveUntil = unixTime(w.start), unixTime(w.end)
		}
		return Decision{}, false
	}
	if !r.def.IsEnabled {
		e.deny(&c, RoleDisabled, "the role is disabled")
		return Decision{}, false
	}
	rg := e.grant(c.role)
	if rg.any == "" && rg.self == "" && rg.owner == "" {
		e.deny(&c, RoleLacksAction, "no permission of the role covers the action")
		return Decision{}, false
	}
	if kind != scopeTenant && e.g.create {
		e.deny(&c, CreateNeedsTenantScope, "create permissions only work when the role is assigned at scope /")
		return Decision{}, false
	}
	if e.r.AnyTarget {
		return e.allow(&c, cmp.Or(rg.any, rg.self, rg.owner), Unconditional)
	}
	switch kind {
	case scopeUnit:
		why := ""
		switch {
		case t.ID == "" || e.targetRef() == scope:
			why = "an administrative-unit scope covers the objects the unit contains, not the unit itself or the tenant"
		case !e.inUnit(scope):
			why = "the target is not a member of the administrative unit"
		}
		if why != "" {
			if x := e.deny(&c, ScopeMismatch, why); x != nil {
				x.Subject = c.a.subject()
			}
			return Decision{}, false
		}
	case scopeObject:
		if e.targetRef() != scope {
			if x := e.deny(&c, ScopeMismatch, "an object scope covers that object only"); x != nil {
				x.Subject = c.a.subject()
			}
			return Decision{}, false
		}
	}
	var perm string
	var cond Condition
	switch {
	case rg.any != "":
		perm = rg.any
	case rg.self != "" && t.ID != "" && t.ID == e.r.Principal.ID:
		perm, cond = rg.self, ResourceIsSelf
	case rg.owner != "" && t.OwnedByPrincipal:
		perm, cond = rg.owner, SubjectIsOwner
	default:
		if x := e.deny(&c, ConditionNotMet, "the role grants the action only under a condition the request does not meet"); x != nil {
			x.Permission, x.Condition = rg.self, ResourceIsSelf
			if rg.self == "" {
				x.Permission, x.Condition = rg.owner, SubjectIsOwner
			}
		}
		return Decision{}, false
	}
	if e.sens != NotSensitive && t.ID != "" && cond != ResourceIsSelf {
		if why, subject := e.protected(r, kind); why != "" {
			if x := e.deny(&c, TargetProtected, why); x != nil {
				x.Permission, x.Condition, x.Subject = perm, cond, subject
			}
			return Decision{}, false
		}
	}
	return e.allow(&c, perm, cond)
}

// describe fills in what a reason says about its candidate: assignment,
// role, group and scope. Reasons are written in place, never copied: a
// Reason is 224 bytes of mostly pointers.
func (e *evaluation) describe(x *Reason, c *candidate) {
	r := e.s.role(c.role)
	x.Source, x.RoleID, x.RoleName, x.Scope = c.src, r.def.ID, r.def.DisplayName, "/"
	if c.group != noRef {
		x.GroupID = e.s.objs[c.group].id
	}
	if c.a != nil {
		x.AssignmentID, x.Scope = c.a.id(), c.a.scopeText()
	}
}

func (e *evaluation) allow(c *candidate, perm string, cond Condition) (Decision, bool) {
	if e.quiet {
		return Decision{Allowed: true}, true
	}
	d := Decision{Allowed: true, Reasons: newReasons(1)}
	x := &d.Reasons[0]
	e.describe(x, c)
	x.Code, x.Permission, x.Condition = Granted, perm, cond
	return d, true
}

// deny records why a candidate did not apply, when explaining, and returns
// the reason for the caller to add specifics to; nil otherwise.
func (e *evaluation) deny(c *candidate, code Code, detail string) *Reason {
	if !e.explain {
		return nil
	}
	if e.denials == nil {
		e.denials = newReasons(e.candidates())[:0]
	}
	e.denials = e.denials[:len(e.denials)+1]
	x := &e.denials[len(e.denials)-1]
	e.describe(x, c)
	x.Code, x.Detail = code, detail
	return x
}

// targetRef looks the target up in the snapshot, once per evaluation.
func (e *evaluation) targetRef() ref {
	if !e.targetLooked {
		e.targetLooked = true
		if e.r.Target.ID != "" {
			e.target = e.s.ids.ref(e.r.Target.ID)
		}
	}
	return e.target
}

// inUnit reports whether the target is in an administrative unit: as the
// caller says, or else as the snapshot knows.
func (e *evaluation) inUnit(unit ref) bool {
	if units := e.r.Target.AdministrativeUnits; units != nil {
		return slices.Contains(units, e.s.objs[unit].id)
	}
	return slices.Contains(e.units, unit) // read by look, which run calls first
}

// targetFacts is what the sensitive-actions matrix needs to know about a
// target user; computed at most once per evaluation.
type targetFacts struct {
	held            []string // role ids, system-assigned roles excluded
	protectedMember bool
	restricted      bool
}

func (e *evaluation) targetFacts() *targetFacts {
	f := &e.facts
	if e.factsOK {
		return f
	}
	e.factsOK = true
	t := &e.r.Target
	*f = targetFacts{held: slices.Clone(t.Roles), protectedMember: t.ProtectedMember, restricted: t.Restricted}
	add := func(o *object) {
		for i := range o.assignments {
			a := &o.assignments[i]
			if r := e.s.role(a.role); r != nil && e.s.activeAt(a, e.now) && !r.def.systemAssigned() && !slices.Contains(f.held, r.def.ID) {
				f.held = append(f.held, r.def.ID)
			}
		}
	}
	if o := e.s.object(e.targetRef()); o != nil {
		add(o)
		for _, g := range o.groups.items() {
			f.protectedMember = true
			add(&e.s.objs[g])
		}
	}
	return f
}

// protected applies the matrix to an actor role at an assignment scope and
// returns why the target is out of reach and which fact or role protects
// it, or "" if it is not protected. A target holding several roles needs an
// actor role allowed for every one of them; the check is per granting role,
// not the union of the actor's roles, so two partial roles never add up to
// a right neither has alone.
func (e *evaluation) protected(actor *role, kind scopeKind) (why, subject string) {
	f := e.targetFacts()
	col := actor.rows(e.sens)
	unprotected := len(f.held) == 0 && !f.protectedMember && !f.restricted
	switch {
	case unprotected && (kind != scopeTenant || !col.actor || col.noAdmin):
		return "", ""
	case unprotected:
		return "the role may not perform this sensitive action on users", ""
	case kind != scopeTenant:
		return "a scoped assignment may perform sensitive actions only on users who hold no admin role", ""
	case !col.actor:
		return "the role is not an actor in Entra's sensitive-actions matrix, so it may act only on users who hold no admin role", ""
	case f.protectedMember && !col.protectedMember:
		return "the target is a member or owner of a role-assignable group", ""
	case f.restricted && !col.restricted:
		return "the target is in a restricted-management administrative unit", ""
	}
	t := sensitiveMatrix().table(e.sens)
	for _, h := range f.held {
		if !t.allowedOn(actor.def.ID, h) {
			name := h
			if i, ok := e.s.index(h); ok && e.s.role(i) != nil {
				name = e.s.role(i).def.DisplayName
			}
			return "the target holds a role this role may not act on for this sensitive action", name
		}
	}
	return "", ""
}
