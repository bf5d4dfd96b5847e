package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
)

// PrincipalType is the kind of principal a decision is about. Groups hold
// assignments but never act themselves.
type PrincipalType string

const (
	User             PrincipalType = "user"
	ServicePrincipal PrincipalType = "servicePrincipal"
)

// Principal is who acts.
type Principal struct {
	ID   string
	Type PrincipalType
	// DefaultRoleID is the system-assigned role the principal holds without
	// an assignment: DefaultUser for members, GuestUser or
	// RestrictedGuestUser for guests (the authorization policy's
	// guestUserRoleId), "" for service principals.
	DefaultRoleID string
}

// Target is the object acted on. Creates and tenant settings have no ID.
type Target struct {
	ID   string
	Kind iam.Kind
	// Subtype narrows the kind as Entra's action subtypes do, most specific
	// last: "myOrganization" for a single-tenant app registration,
	// "security.assignedMembership" or "unified" for groups.
	Subtype string
	// RoleAssignable marks a group created with isAssignableToRole.
	RoleAssignable bool
	// AdministrativeUnits the target belongs to; nil means "ask the
	// snapshot". A caller that just loaded the object may pass fresher facts.
	AdministrativeUnits []string
	// OwnedByPrincipal: the principal is an owner of the target ($SubjectIsOwner).
	OwnedByPrincipal bool
	// Roles, ProtectedMember and Restricted add to what the snapshot knows
	// about the target for the sensitive-actions matrix (they can only make
	// the target better protected): role definition ids the target holds
	// (for instance PIM roles not in the snapshot), membership or
	// ownership of a role-assignable group, and membership of a
	// restricted-management administrative unit.
	Roles           []string
	ProtectedMember bool
	Restricted      bool
}

// Request asks whether Principal may perform Action on Target.
type Request struct {
	Principal Principal
	Action    string // e.g. "microsoft.directory/users/password/update"
	Target    Target
	// AnyTarget asks whether the principal may perform the action on some
	// target of Target.Kind, ignoring Target's id: scopes, conditions and
	// the sensitive-actions matrix are not checked. A caller uses it to
	// tell "not found" from "denied" without confirming that an object the
	// principal could never touch exists.
	AnyTarget bool
	// SensitiveAttributes marks a users write that touches accountEnabled,
	// businessPhones, mobilePhone, otherMails, onPremisesImmutableId,
	// passwordProfile or userPrincipalName: the matrix then applies to an
	// action (such as users/basic/update) that is not sensitive by name.
	SensitiveAttributes bool
}

// Code says what a Reason records.
type Code string

const (
	Granted                Code = "granted"
	NoAssignments          Code = "noAssignments"
	InvalidAction          Code = "invalidAction"
	NotActive              Code = "notActive"
	RoleDisabled           Code = "roleDisabled"
	RoleLacksAction        Code = "roleLacksAction"
	ScopeMismatch          Code = "scopeMismatch"
	CreateNeedsTenantScope Code = "createNeedsTenantScope"
	ConditionNotMet        Code = "conditionNotMet"
	TargetProtected        Code = "targetProtected"
)

// Source says where a role came from.
type Source string

const (
	Direct  Source = "direct"  // assigned to the principal
	ByGroup Source = "group"   // assigned to a role-assignable group the principal belongs to
	Default Source = "default" // the principal's system-assigned default role
)

// Reason explains one step of a decision: the assignment that granted it,
// or why one candidate did not apply, or why there was no candidate at all.
type Reason struct {
	Code         Code
	Source       Source
	AssignmentID string // "" for the default role
	RoleID       string
	RoleName     string
	GroupID      string // the role-assignable group it came through
	Scope        string // directoryScopeId
	Permission   string // the role's action that covers the request
	Condition    Condition
	// Detail says why not, for people (denials only). It is a fixed
	// sentence and the specifics sit in fields, so that explaining a denial
	// costs no formatting on the request path.
	Detail string
	// Subject is what a denial is about: the administrative unit or object
	// the target is not covered by, the role the target holds that the
	// actor's role may not touch, the principal without assignments.
	Subject string
	// ActiveFrom and ActiveUntil are an inactive assignment's schedule.
	ActiveFrom, ActiveUntil time.Time
}

func (r Reason) String() string {
	var b strings.Builder
	b.WriteString(string(r.Code))
	if r.RoleID != "" {
		if r.AssignmentID != "" {
			fmt.Fprintf(&b, ": assignment %s of role %q at scope %s", r.AssignmentID, r.RoleName, r.Scope)
		} else {
			fmt.Fprintf(&b, ": default role %q", r.RoleName)
		}
		if r.GroupID != "" {
			fmt.Fprintf(&b, " through group %s", r.GroupID)
		}
	}
	if r.Permission != "" {
		fmt.Fprintf(&b, " grants %s", r.Permission)
		if r.Condition != Unconditional {
			fmt.Fprintf(&b, " when %s", r.Condition)
		}
	}
	if r.Detail != "" {
		b.WriteString(": ")
		b.WriteString(r.Detail)
	}
	if r.Subject != "" {
		fmt.Fprintf(&b, " (%s)", r.Subject)
	}
	if r.Code == NotActive {
		fmt.Fprintf(&b, " (active from %s until %s)", fmtTime(r.ActiveFrom), fmtTime(r.ActiveUntil))
	}
	return b.String()
}

// Decision is the answer. Allowed decisions carry the granting reason;
// denials carry one reason per candidate assignment, or one saying that
// nothing applied.
type Decision struct {
	Allowed bool
	Reasons []Reason
}

// Allowed is Evaluate without the reasons: the same decision, with no
// allocation, for the request path. Call Evaluate when the reasons are
// wanted (to log a denial, for the explain endpoint).
func Allowed(s *Snapshot, r Request, now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := newEvaluation(s, r, now)
	if !ok {
		return false
	}
	e.quiet = true
	d, _ := e.run()
	return d.Allowed
}

// Evaluate decides r against s at time now (default deny). It takes the
// snapshot's read lock; the principal's assignments and groups come from
// one map lookup, and which roles cover the action is computed once per
// (action, subtype, role-assignable) and cached.
func Evaluate(s *Snapshot, r Request, now time.Time) Decision {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := newEvaluation(s, r, now)
	if !ok {
		return Decision{Reasons: []Reason{{Code: InvalidAction, Detail: e.g.err.Error()}}}
	}
	if d, ok := e.run(); ok {
		return d
	}
	// Denied: walk the candidates again, this time recording why each one
	// failed. Keeping the first pass free of bookkeeping keeps the common
	// case free of allocations, which matters more than it seems: with a
	// million assignments in the heap, every allocation buys garbage
	// collector work proportional to the snapshot.
	e.explain = true
	e.run()
	if len(e.denials) == 0 {
		e.denials = append(e.denials, Reason{Code: NoAssignments, Subject: r.Principal.ID,
			Detail: "the principal has no role assignments, direct or through a role-assignable group, and no default role"})
	}
	return Decision{Reasons: e.denials}
}

// run tries the principal's candidate roles in a fixed order: direct
// assignments, then those of its role-assignable groups, then its default
// role, and returns the first grant.
func (e *evaluation) run() (Decision, bool) {
	s, p := e.s, &e.r.Principal
	if !e.looked {
		e.looked, e.principal = true, s.objects[p.ID]
	}
	if o := e.principal; o != nil {
		for i := range o.assignments {
			a := &o.assignments[i]
			if d, ok := e.try(Direct, a, a.role, ""); ok {
				return d, true
			}
		}
		for _, gid := range o.groups {
			g := s.objects[gid]
			if g == nil {
				continue
			}
			for i := range g.assignments {
				a := &g.assignments[i]
				if d, ok := e.try(ByGroup, a, a.role, gid); ok {
					return d, true
				}
			}
		}
	}
	if p.DefaultRoleID != "" {
		if ri, ok := s.index(p.DefaultRoleID); ok && s.role(ri).def.systemAssigned() {
			return e.try(Default, nil, ri, "")
		}
	}
	return Decision{}, false
}

func newEvaluation(s *Snapshot, r Request, now time.Time) (evaluation, bool) {
	g, custom := s.grantsFor(grantKey{action: r.Action, subtype: r.Target.Subtype,
		roleAssignable: r.Target.RoleAssignable && r.Target.Kind == iam.KindGroup})
	e := evaluation{s: s, r: r, g: g, custom: custom, now: now.UnixNano(), sens: g.sens}
	if g.err != nil {
		return e, false
	}
	if e.sens == NotSensitive && r.SensitiveAttributes && g.usersWrite {
		e.sens = SensitiveAttributes
	}
	return e, true
}

// evaluation is the state of one Evaluate call.
type evaluation struct {
	s       *Snapshot
	r       Request
	g       *actionGrants // built-in roles
	custom  []roleGrant   // custom roles, by index after the built-ins
	now     int64
	sens    Sensitivity
	explain bool // record why candidates fail (second pass only)
	quiet   bool // Allowed: no reasons at all
	denials []Reason
	facts   targetFacts
	factsOK bool
	// the principal's and the target's entries, looked up once
	principal, target    *object
	looked, targetLooked bool
}

// try checks one candidate role (from an assignment, or the default role
// when a is nil). On success it returns the decision; on failure it records
// why in e.denials.
func (e *evaluation) try(src Source, a *assignment, ri int32, group string) (Decision, bool) {
	r := e.s.role(ri)
	reason := Reason{Source: src, RoleID: r.def.ID, RoleName: r.def.DisplayName, GroupID: group, Scope: "/"}
	kind, scopeID := scopeTenant, ""
	if a != nil {
		reason.AssignmentID, reason.Scope = a.id, a.scope
		kind, scopeID = a.kind, a.scopeID
	}
	t := &e.r.Target
	if a != nil && !a.activeAt(e.now) {
		reason.ActiveFrom, reason.ActiveUntil = unixTime(a.start), unixTime(a.end)
		return e.deny(reason, NotActive, "the assignment is not active at the time of the request", "")
	}
	if !r.def.IsEnabled {
		return e.deny(reason, RoleDisabled, "the role is disabled", "")
	}
	rg := e.grant(ri)
	if rg.any == "" && rg.self == "" && rg.owner == "" {
		return e.deny(reason, RoleLacksAction, "no permission of the role covers the action", "")
	}
	if kind != scopeTenant && e.g.create {
		return e.deny(reason, CreateNeedsTenantScope, "create permissions only work when the role is assigned at scope /", "")
	}
	if e.r.AnyTarget {
		reason.Permission = cmp.Or(rg.any, rg.self, rg.owner)
		return e.allow(reason)
	}
	switch kind {
	case scopeUnit:
		if t.ID == "" || t.ID == scopeID {
			return e.deny(reason, ScopeMismatch, "an administrative-unit scope covers the objects the unit contains, not the unit itself or the tenant", scopeID)
		}
		units := t.AdministrativeUnits
		if units == nil {
			if o := e.targetObject(); o != nil {
				units = o.units
			}
		}
		if !slices.Contains(units, scopeID) {
			return e.deny(reason, ScopeMismatch, "the target is not a member of the administrative unit", scopeID)
		}
	case scopeObject:
		if t.ID != scopeID {
			return e.deny(reason, ScopeMismatch, "an object scope covers that object only", scopeID)
		}
	}
	switch {
	case rg.any != "":
		reason.Permission = rg.any
	case rg.self != "" && t.ID != "" && t.ID == e.r.Principal.ID:
		reason.Permission, reason.Condition = rg.self, ResourceIsSelf
	case rg.owner != "" && t.OwnedByPrincipal:
		reason.Permission, reason.Condition = rg.owner, SubjectIsOwner
	default:
		reason.Permission, reason.Condition = rg.self, ResourceIsSelf
		if rg.self == "" {
			reason.Permission, reason.Condition = rg.owner, SubjectIsOwner
		}
		return e.deny(reason, ConditionNotMet, "the role grants the action only under a condition the request does not meet", "")
	}
	if e.sens != NotSensitive && t.ID != "" && reason.Condition != ResourceIsSelf {
		if why, subject := e.protected(r.def.ID, kind); why != "" {
			return e.deny(reason, TargetProtected, why, subject)
		}
	}
	return e.allow(reason)
}

func (e *evaluation) allow(reason Reason) (Decision, bool) {
	if e.quiet {
		return Decision{Allowed: true}, true
	}
	reason.Code = Granted
	return Decision{Allowed: true, Reasons: []Reason{reason}}, true
}

// deny records why a candidate did not apply.
func (e *evaluation) deny(reason Reason, c Code, detail, subject string) (Decision, bool) {
	if !e.explain {
		return Decision{}, false
	}
	reason.Code, reason.Detail, reason.Subject = c, detail, subject
	if e.denials == nil {
		e.denials = make([]Reason, 0, e.candidates())
	}
	e.denials = append(e.denials, reason)
	return Decision{}, false
}

// candidates counts the reasons a denial can have, so that explaining it
// allocates once.
func (e *evaluation) candidates() int {
	n := 1
	if o := e.principal; o != nil {
		n += len(o.assignments)
		for _, g := range o.groups {
			if g := e.s.objects[g]; g != nil {
				n += len(g.assignments)
			}
		}
	}
	return n
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(open)"
	}
	return t.Format(time.RFC3339)
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
		if o == nil {
			return
		}
		for i := range o.assignments {
			a := &o.assignments[i]
			if r := e.s.role(a.role); r != nil && a.activeAt(e.now) && !r.def.systemAssigned() && !slices.Contains(f.held, r.def.ID) {
				f.held = append(f.held, r.def.ID)
			}
		}
	}
	if o := e.targetObject(); o != nil {
		add(o)
		for _, g := range o.groups {
			f.protectedMember = true
			add(e.s.objects[g])
		}
	}
	return f
}

// targetObject looks the target up in the snapshot, once per evaluation.
func (e *evaluation) targetObject() *object {
	if !e.targetLooked {
		e.targetLooked = true
		if e.r.Target.ID != "" {
			e.target = e.s.objects[e.r.Target.ID]
		}
	}
	return e.target
}

// protected applies the matrix to an actor role at an assignment scope and
// returns why the target is out of reach and which fact or role protects
// it, or "" if it is not protected. A target holding several roles needs an
// actor role allowed for every one of them; the check is per granting role,
// not the union of the actor's roles, so two partial roles never add up to
// a right neither has alone.
func (e *evaluation) protected(actor string, kind scopeKind) (why, subject string) {
	f := e.targetFacts()
	t := sensitiveMatrix().table(e.sens)
	unprotected := len(f.held) == 0 && !f.protectedMember && !f.restricted
	switch {
	case unprotected && (kind != scopeTenant || !t.actors[actor] || t.noAdmin[actor]):
		return "", ""
	case unprotected:
		return "the role may not perform this sensitive action on users", ""
	case kind != scopeTenant:
		return "a scoped assignment may perform sensitive actions only on users who hold no admin role", ""
	case !t.actors[actor]:
		return "the role is not an actor in Entra's sensitive-actions matrix, so it may act only on users who hold no admin role", ""
	case f.protectedMember && !t.protectedMember[actor]:
		return "the target is a member or owner of a role-assignable group", ""
	case f.restricted && !t.restricted[actor]:
		return "the target is in a restricted-management administrative unit", ""
	}
	for _, h := range f.held {
		if !t.allowedOn(actor, h) {
			name := h
			if i, ok := e.s.index(h); ok && e.s.role(i) != nil {
				name = e.s.role(i).def.DisplayName
			}
			return "the target holds a role this role may not act on for this sensitive action", name
		}
	}
	return "", ""
}

// Protected reports whether the sensitive-actions matrix shields r's
// target from r's action whoever acts: the action is sensitive and the
// target holds a role other than the default ones, belongs to or owns a
// role-assignable group, or sits in a restricted-management unit. A caller
// that is not subject to role-based decisions (an application acting by a
// Graph permission) uses it to find the targets it must not touch without
// a role the matrix allows.
func Protected(s *Snapshot, r Request, now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := newEvaluation(s, r, now)
	if !ok || e.sens == NotSensitive || r.Target.ID == "" {
		return false
	}
	f := e.targetFacts()
	return len(f.held) > 0 || f.protectedMember || f.restricted
}
