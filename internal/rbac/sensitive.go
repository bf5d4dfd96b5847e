package rbac

import (
	_ "embed"
	"encoding/json"
	"sync"

	"github.com/ostiary/ostiary/internal/iam"
)

// Sensitive actions on users (password reset, authentication methods,
// sensitive attribute writes) are where privilege escalation happens: a
// Helpdesk Administrator who could reset a Global Administrator's password
// would be a Global Administrator. Entra's answer is a matrix of which actor
// role may act on which target role; this file loads it from
// sensitive_actions_matrix.json and applies it per granting assignment.

//go:embed data/sensitive_actions_matrix.json
var matrixJSON []byte

// Sensitivity classifies an action for the matrix.
type Sensitivity uint8

const (
	// NotSensitive actions need no target protection check.
	NotSensitive Sensitivity = iota
	// PasswordReset: reset password, invalidate refresh tokens, read or
	// change authentication methods (the "reset password" table).
	PasswordReset
	// SensitiveAttributes: accountEnabled, phones, otherMails,
	// onPremisesImmutableId, passwordProfile, userPrincipalName, delete and
	// restore (the "sensitive actions" table).
	SensitiveAttributes
)

func (s Sensitivity) String() string {
	switch s {
	case PasswordReset:
		return "password reset"
	case SensitiveAttributes:
		return "sensitive attribute write"
	}
	return "not sensitive"
}

// classify returns the table that protects a users action. Writes of
// ordinary properties are classified by the caller (Request.SensitiveAttributes),
// because one action (users/basic/update) covers both kinds of property.
func classify(a action) Sensitivity {
	if a.ns+"/" != dir {
		return NotSensitive
	}
	p := a.path
	switch p[0] {
	case "users":
	case "deletedItems.users":
		return SensitiveAttributes
	default:
		return NotSensitive
	}
	if len(p) >= 2 && p[1] == "authenticationMethods" {
		return PasswordReset
	}
	switch p[len(p)-1] {
	case "invalidateAllRefreshTokens":
		return PasswordReset
	case "delete", "restore", "enable", "disable":
		if len(p) == 2 {
			return SensitiveAttributes
		}
	}
	if len(p) == 3 && p[2] == "update" {
		switch p[1] {
		case "password":
			return PasswordReset
		case "userPrincipalName":
			return SensitiveAttributes
		}
	}
	return NotSensitive
}

// table is one matrix: target role id → the actor role ids allowed on it.
type table struct {
	actors map[string]bool            // the matrix's columns
	rows   map[string]map[string]bool // target role template id → allowed actors
	// special rows, by the docs' own labels
	noAdmin, protectedMember, restricted, other map[string]bool
}

// allowedOn reports whether an actor role may act on a holder of target role.
func (t *table) allowedOn(actor, target string) bool {
	if row, ok := t.rows[target]; ok {
		return row[actor]
	}
	return t.other[actor]
}

type matrices struct{ reset, attrs table }

var sensitiveMatrix = sync.OnceValue(func() *matrices {
	type row struct {
		TargetRole              string   `json:"targetRole"`
		TargetRoleTemplateID    *string  `json:"targetRoleTemplateId"`
		AllowedActorTemplateIDs []string `json:"allowedActorTemplateIds"`
		AllowedActors           []string `json:"allowedActors"`
	}
	type actor struct {
		Name       string `json:"name"`
		TemplateID string `json:"templateId"`
	}
	type tab struct {
		Actors []actor `json:"actors"`
		Rows   []row   `json:"rows"`
	}
	var doc struct {
		PasswordReset    tab `json:"passwordReset"`
		SensitiveActions tab `json:"sensitiveActions"`
	}
	if err := json.Unmarshal(matrixJSON, &doc); err != nil {
		panic("rbac: embedded sensitive_actions_matrix.json: " + err.Error())
	}
	build := func(src tab) table {
		names := map[string]string{}
		t := table{actors: map[string]bool{}, rows: map[string]map[string]bool{}}
		for _, a := range src.Actors {
			names[a.Name] = a.TemplateID
			t.actors[a.TemplateID] = true
		}
		for _, r := range src.Rows {
			set := map[string]bool{}
			// The sensitive-actions table lists actors by name only.
			for _, id := range r.AllowedActorTemplateIDs {
				set[id] = true
			}
			for _, n := range r.AllowedActors {
				if id, ok := names[n]; ok {
					set[id] = true
				}
			}
			switch {
			case r.TargetRoleTemplateID != nil:
				t.rows[*r.TargetRoleTemplateID] = set
			case r.TargetRole == "<no admin role>":
				t.noAdmin = set
			case r.TargetRole == "<no admin role, but member or owner of a role-assignable group>":
				t.protectedMember = set
			case r.TargetRole == "<user holding a role scoped to a restricted-management AU>":
				t.restricted = set
			case r.TargetRole == "<any other built-in or custom role>":
				t.other = set
			default:
				panic("rbac: sensitive matrix: unknown row " + r.TargetRole)
			}
		}
		if t.noAdmin == nil || t.protectedMember == nil || t.restricted == nil || t.other == nil {
			panic("rbac: sensitive matrix: a special row is missing")
		}
		return t
	}
	return &matrices{reset: build(doc.PasswordReset), attrs: build(doc.SensitiveActions)}
})

func (m *matrices) table(s Sensitivity) *table {
	if s == PasswordReset {
		return &m.reset
	}
	return &m.attrs
}

// actorRows is one actor role's column of a table: whether the role is an
// actor of the table at all and whether each special row allows it. Roles
// carry theirs (role.matrix), so a decision on an ordinary user hashes no
// role id.
type actorRows struct{ actor, noAdmin, protectedMember, restricted bool }

// columns returns a role's column in both tables: password reset first,
// then sensitive attributes (see rows).
func (m *matrices) columns(roleID string) [2]actorRows {
	col := func(t *table) actorRows {
		return actorRows{actor: t.actors[roleID], noAdmin: t.noAdmin[roleID],
			protectedMember: t.protectedMember[roleID], restricted: t.restricted[roleID]}
	}
	return [2]actorRows{col(&m.reset), col(&m.attrs)}
}

// rows returns a role's column for a sensitive action's table.
func (r *role) rows(s Sensitivity) *actorRows {
	if s == PasswordReset {
		return &r.matrix[0]
	}
	return &r.matrix[1]
}

// Sensitive reports whether the matrix applies to an action on a user (with
// attrs: a write that touches sensitive attributes).
func Sensitive(act string, attrs bool) bool {
	a, err := parseAction(act)
	if err != nil {
		return false
	}
	s := classify(a)
	return s != NotSensitive || (attrs && a.ns+"/" == dir && a.path[0] == "users" && !isRead(a.verb()))
}

// FactsCanDeny reports whether what a caller knows about a target beyond
// its id can turn an allowed decision into a denial: the matrix for
// sensitive user actions, and role-assignability for writes to groups
// (they become groupsAssignableToRoles actions). Otherwise such facts
// (subtype, ownership, unit membership) can only add grants, so a decision
// already allowed without them stands, and a caller may skip loading them.
func FactsCanDeny(act string, kind iam.Kind, attrs bool) bool {
	a, err := parseAction(act)
	if err != nil {
		return true
	}
	if Sensitive(act, attrs) {
		return true
	}
	return kind == iam.KindGroup && !isRead(a.verb())
}

// IsRead reports whether an action only reads.
func IsRead(act string) bool {
	a, err := parseAction(act)
	return err == nil && isRead(a.verb())
}
