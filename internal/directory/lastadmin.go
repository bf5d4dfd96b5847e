package directory

import (
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// A tenant keeps at least one Global Administrator who is a person.
//
// Without one nobody can consent for the tenant in a browser, reset an
// administrator's password or undo a mistaken role change: the tenant can
// only be recovered offline (`ostiary admin recover`). Entra guards the
// same edge (its portals refuse to remove the last Global Administrator),
// so the directory refuses, with Request_BadRequest, the two changes that
// most often cross it: deleting a role assignment and deleting a user.
//
// Who counts, Ostiary's choice: live, enabled users who hold Global
// Administrator at the tenant scope ("/"), directly or as members of a
// role-assignable group that holds it (such groups cannot nest, so direct
// members are all). A service principal holding Global Administrator does
// not count: it cannot sign in to a page, its credentials expire, and an
// automation token is not how an organisation should get its own tenant
// back. Disabled and soft-deleted users do not count either, as they
// cannot sign in. When no person holds the role (a tenant run by an
// application), nothing is refused: no change can make that worse.
//
// Not covered here: disabling the last such user, removing them from the
// group, or deleting the group (each leaves the same state and would use
// keepsGlobalAdmin the same way).

// errLastGlobalAdmin names the reason, so an operator knows what to do.
func errLastGlobalAdmin() error {
	return badRequest("The last Global Administrator cannot be removed: the tenant needs at least one enabled user holding the Global Administrator role at the tenant scope. Assign the role to another user first.")
}

// keepsGlobalAdmin refuses deleting the role assignment ra (when it grants
// Global Administrator at "/") or, when userID is set, the user userID, if
// that would leave no person holding the role (see above).
func keepsGlobalAdmin(r store.Reader, tenantID string, ra iam.RoleAssignment, userID string) error {
	if userID == "" && (!strings.EqualFold(ra.RoleDefinitionID, iam.GlobalAdministratorRoleID) || ra.DirectoryScopeID != "/") {
		return nil
	}
	holders, err := globalAdminHolders(r, tenantID)
	if err != nil || len(holders) == 0 {
		return err
	}
	for user, via := range holders {
		if user == userID {
			continue
		}
		for _, a := range via {
			if a != ra.ID {
				return nil
			}
		}
	}
	return errLastGlobalAdmin()
}

// globalAdminHolders maps each live, enabled user holding Global
// Administrator at the tenant scope to the ids of the assignments through
// which they hold it (their own, or their role-assignable group's).
func globalAdminHolders(r store.Reader, tenantID string) (map[string][]string, error) {
	var assignments []iam.RoleAssignment
	q := query.List{Top: query.MaxTop, Filter: query.And{guidEq("roleDefinitionId", iam.GlobalAdministratorRoleID), scopeEq("/")}}
	for {
		p, err := r.List(tenantID, iam.KindRoleAssignment, store.Live, q)
		if err != nil {
			return nil, err
		}
		for _, o := range p.Items {
			ra, err := decode[iam.RoleAssignment](o)
			if err != nil {
				return nil, err
			}
			assignments = append(assignments, ra)
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	holders := map[string][]string{}
	for _, ra := range assignments {
		p, err := get(r, tenantID, "", ra.PrincipalID)
		if errs.Is(err, errs.NotFound) {
			continue // a deleted principal holds nothing
		} else if err != nil {
			return nil, err
		}
		switch p.Kind {
		case iam.KindUser:
			if enabled, err := enabledUser(p); err != nil {
				return nil, err
			} else if enabled {
				holders[p.ID] = append(holders[p.ID], ra.ID)
			}
		case iam.KindGroup:
			members, err := groupUsers(r, tenantID, p.ID)
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				if enabled, err := enabledUser(m); err != nil {
					return nil, err
				} else if enabled {
					holders[m.ID] = append(holders[m.ID], ra.ID)
				}
			}
		}
	}
	return holders, nil
}

// enabledUser reports whether a user object may sign in (accountEnabled is
// not false).
func enabledUser(o store.Object) (bool, error) {
	u, err := decode[iam.User](o)
	return err == nil && (u.AccountEnabled == nil || *u.AccountEnabled), err
}

// groupUsers lists a group's live direct user members.
func groupUsers(r store.Reader, tenantID, groupID string) ([]store.Object, error) {
	var out []store.Object
	q := query.List{Top: query.MaxTop}
	for {
		p, err := r.ListLinked(tenantID, iam.RelMember, store.Targets, groupID, []iam.Kind{iam.KindUser}, q)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == nil {
			return out, nil
		}
		q.After = p.Next
	}
}
