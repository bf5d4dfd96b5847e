package rbac

import (
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
)

// Entra resource actions read microsoft.directory/{entity}[.subtype]/{propertySet}/{verb},
// where the property set is optional ("users/delete") and some entities are
// paths of their own ("crossTenantAccessPolicy/partners/…"). This file
// decides whether a granted action covers a requested one, the way Entra does:
//
//   - {prefix}/allProperties/allTasks covers every action under {prefix};
//   - {prefix}/allProperties/{verb} covers every {verb} under {prefix}, so
//     allProperties/read covers standard/read, members/read and any …/read;
//   - {prefix}/{propertySet}/allTasks covers every verb of that property set;
//   - otherwise the grant must equal the action, segment by segment;
//   - a segment with a subtype ("applications.myOrganization") only matches
//     the same subtype or a narrower one ("groups.security" matches
//     "groups.security.assignedMembership"); a segment without a subtype
//     matches every subtype;
//   - other namespaces (microsoft.office365.*, microsoft.azure.*) belong to
//     other services: they match only themselves, never a directory action.
//
// Requests name the entity without a subtype ("applications/basic/update");
// the target's subtype is appended before matching (effectivePath), which is
// how a granted subtype narrows by object kind.

// action is a parsed resource action.
type action struct {
	ns   string   // "microsoft.directory"
	path []string // entity, optional sub-entities and property set, verb
}

func parseAction(s string) (action, error) {
	segs := strings.Split(s, "/")
	if len(segs) < 3 {
		return action{}, errs.E(errs.Invalid, "The resource action '%s' is malformed: expected namespace/entity/[propertySet/]verb.", s)
	}
	for _, seg := range segs {
		if seg == "" {
			return action{}, errs.E(errs.Invalid, "The resource action '%s' has an empty segment.", s)
		}
	}
	return action{ns: segs[0], path: segs[1:]}, nil
}

func (a action) verb() string { return a.path[len(a.path)-1] }

// isRead reports whether a verb only reads: read, limitedRead, restrictedRead.
func isRead(verb string) bool { return verb == "read" || strings.HasSuffix(verb, "Read") }

// isCreate reports whether a verb creates objects; such grants only work at
// tenant scope.
func isCreate(verb string) bool { return verb == "create" || verb == "createAsOwner" }

// segMatch: a granted segment matches the same segment or a narrower subtype.
func segMatch(grant, want string) bool {
	return grant == want || (len(want) > len(grant) && want[len(grant)] == '.' && strings.HasPrefix(want, grant))
}

// covers reports whether the granted action covers the wanted one, whose
// path already carries the target's subtype.
func covers(grant action, wantNS string, want []string) bool {
	if grant.ns != wantNS {
		return false
	}
	g := grant.path
	if wantNS+"/" != dir {
		return strings.Join(g, "/") == strings.Join(want, "/")
	}
	n := len(g)
	var prefix []string
	var verb string
	switch {
	case n >= 3 && g[n-2] == "allProperties":
		prefix, verb = g[:n-2], g[n-1]
	case n >= 2 && g[n-1] == "allTasks":
		prefix, verb = g[:n-1], "allTasks"
	default:
		if n != len(want) {
			return false
		}
		for i := range g {
			if !segMatch(g[i], want[i]) {
				return false
			}
		}
		return true
	}
	if len(want) <= len(prefix) {
		return false
	}
	for i := range prefix {
		if !segMatch(prefix[i], want[i]) {
			return false
		}
	}
	return verb == "allTasks" || want[len(want)-1] == verb
}

// effectivePath is the requested action's path as matched against grants:
//
//   - writes on a role-assignable group are writes on the entity
//     groupsAssignableToRoles, which only Privileged Role Administrator and
//     Global Administrator hold. Groups Administrator, custom group
//     permissions and group owners ($SubjectIsOwner) therefore cannot change
//     such a group, which is what keeps its members' roles out of reach
//     (issue 4; Entra's docs let owners manage members, Ostiary is stricter);
//   - otherwise the target's subtype is appended to an un-subtyped entity.
func effectivePath(a action, subtype string, roleAssignable bool) []string {
	p := append([]string(nil), a.path...)
	if a.ns+"/" != dir {
		return p
	}
	if roleAssignable && !isRead(a.verb()) && (segMatch("groups", p[0]) || p[0] == "deletedItems.groups") {
		p[0] = "groupsAssignableToRoles"
		return p
	}
	if subtype != "" && !strings.Contains(p[0], ".") {
		p[0] += "." + subtype
	}
	return p
}
