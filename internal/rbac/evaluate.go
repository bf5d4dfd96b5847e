package rbac

import (
	"fmt"
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
// one id lookup, and which roles cover the action is computed once per
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
		e.look()
	}
	if o := s.object(e.principal); o != nil {
		for i := range o.assignments {
			a := &o.assignments[i]
			if d, ok := e.try(candidate{Direct, a, a.role, noRef}); ok {
				return d, true
			}
		}
		for _, g := range o.groups.items() {
			h := &s.objs[g]
			for i := range h.assignments {
				a := &h.assignments[i]
				if d, ok := e.try(candidate{ByGroup, a, a.role, g}); ok {
					return d, true
				}
			}
		}
	}
	if p.DefaultRoleID != "" {
		if ri, ok := s.defaultRole(p.DefaultRoleID); ok {
			return e.try(candidate{Default, nil, ri, noRef})
		}
	}
	return Decision{}, false
}

// look finds the principal's and the target's entries, and the target's
// units. On a cold snapshot each step is a trip to memory; the two chains
// do not depend on each other, so taking them side by side lets the CPU
// overlap them instead of waiting for one, then the other. The target is
// looked up whether or not a candidate turns out to need it: on a warm
// snapshot that costs a lookup, on a cold one almost nothing.
func (e *evaluation) look() {
	s := e.s
	e.looked, e.principal = true, s.ids.ref(e.r.Principal.ID)
	if e.targetRef() != noRef {
		e.units = s.objs[e.target].units.items()
	}
}

func newEvaluation(s *Snapshot, r Request, now time.Time) (evaluation, bool) {
	g, custom := s.grantsFor(grantKey{action: r.Action, subtype: r.Target.Subtype,
		roleAssignable: r.Target.RoleAssignable && r.Target.Kind == iam.KindGroup})
	e := evaluation{s: s, r: r, g: g, custom: custom, now: now.UnixNano(), sens: g.sens, principal: noRef, target: noRef}
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
	// the principal's and the target's references, looked up once
	principal, target    ref
	looked, targetLooked bool
	units                []ref // the target's, from the snapshot (see look)
}

// candidates counts the reasons a denial has, one per candidate, so that
// explaining it allocates once and exactly.
func (e *evaluation) candidates() int {
	n := 0
	if o := e.s.object(e.principal); o != nil {
		n += len(o.assignments)
		for _, g := range o.groups.items() {
			n += len(e.s.objs[g].assignments)
		}
	}
	if id := e.r.Principal.DefaultRoleID; id != "" {
		if _, ok := e.s.defaultRole(id); ok {
			n++
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
