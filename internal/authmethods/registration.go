package authmethods

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// The userRegistrationDetails report (CONTRACT.md D.15): one row per user,
// computed when read from the users and their methods, so it is never
// stale. Its filters are on computed values, so they are evaluated here,
// one page of users at a time in id order; the cursor is the id of the
// last user examined.

// RegistrationDetails is Graph's userRegistrationDetails.
type RegistrationDetails struct {
	ID                    string  `json:"id"`
	UserPrincipalName     string  `json:"userPrincipalName"`
	UserDisplayName       *string `json:"userDisplayName"`
	UserType              string  `json:"userType"`
	IsAdmin               bool    `json:"isAdmin"`
	IsSsprRegistered      bool    `json:"isSsprRegistered"`
	IsSsprEnabled         bool    `json:"isSsprEnabled"`
	IsSsprCapable         bool    `json:"isSsprCapable"`
	IsMfaRegistered       bool    `json:"isMfaRegistered"`
	IsMfaCapable          bool    `json:"isMfaCapable"`
	IsPasswordlessCapable bool    `json:"isPasswordlessCapable"`
	// Ostiary has no system-preferred MFA: the user's own choice applies.
	IsSystemPreferredAuthenticationMethodEnabled bool     `json:"isSystemPreferredAuthenticationMethodEnabled"`
	MethodsRegistered                            []string `json:"methodsRegistered"`
	SystemPreferredAuthenticationMethods         []string `json:"systemPreferredAuthenticationMethods"`
	// UserPreferredMethodForSecondaryAuthentication is "oath" with a
	// TOTP app, else "none" (the enum has no value for passkeys).
	UserPreferredMethodForSecondaryAuthentication string `json:"userPreferredMethodForSecondaryAuthentication"`
	// DefaultMfaMethod is beta's property, kept for the tools that read it:
	// "softwareOneTimePasscode" or "none".
	DefaultMfaMethod    string    `json:"defaultMfaMethod"`
	LastUpdatedDateTime time.Time `json:"lastUpdatedDateTime"`
}

// RegistrationPage is one page of the report.
type RegistrationPage struct {
	Items []RegistrationDetails
	Next  *query.Cursor
}

// ListRegistrationDetails lists the report's rows that match q.Filter.
// It takes Entra's sign-in report right (Reports Reader, Security Reader,
// Security Operator, Security Administrator, Global Reader) or
// AuditLog.Read.All, as Graph does.
func (s *Service) ListRegistrationDetails(ctx context.Context, c *iam.Caller, q query.List) (RegistrationPage, error) {
	if err := s.authorizeReport(ctx, c); err != nil {
		return RegistrationPage{}, err
	}
	want := q.PageSize()
	out := RegistrationPage{Items: []RegistrationDetails{}}
	uq := query.List{Top: min(max(want, 50), query.MaxTop), After: q.After}
	for {
		var page store.Page
		rows := map[string]RegistrationDetails{}
		err := s.st.Read(ctx, func(r store.Reader) error {
			var err error
			page, err = r.List(c.TenantID, iam.KindUser, store.Live, uq)
			if err != nil {
				return err
			}
			for _, u := range page.Items {
				d, err := s.details(r, c.TenantID, u)
				if err != nil {
					return err
				}
				rows[u.ID] = d
			}
			return nil
		})
		if err != nil {
			return RegistrationPage{}, err
		}
		for i, u := range page.Items {
			d := rows[u.ID]
			if d.IsAdmin, err = s.isAdmin(ctx, c.TenantID, u.ID); err != nil {
				return RegistrationPage{}, err
			}
			if !Match(q.Filter, d) {
				continue
			}
			out.Items = append(out.Items, d)
			if len(out.Items) == want {
				if i < len(page.Items)-1 || page.Next != nil {
					out.Next = &query.Cursor{ID: u.ID}
				}
				return out, nil
			}
		}
		if page.Next == nil {
			return out, nil
		}
		uq.After = page.Next
	}
}

// GetRegistrationDetails returns one user's row.
func (s *Service) GetRegistrationDetails(ctx context.Context, c *iam.Caller, userID string) (RegistrationDetails, error) {
	if err := s.authorizeReport(ctx, c); err != nil {
		return RegistrationDetails{}, err
	}
	var d RegistrationDetails
	err := s.st.Read(ctx, func(r store.Reader) error {
		u, err := liveUser(r, c.TenantID, userID)
		if err != nil {
			return err
		}
		d, err = s.details(r, c.TenantID, u)
		return err
	})
	if err != nil {
		return d, err
	}
	d.IsAdmin, err = s.isAdmin(ctx, c.TenantID, d.ID)
	return d, err
}

// isAdmin reports whether the user holds a built-in directory role
// tenant-wide (directly or through a role-assignable group): the roles
// the wids claim carries. Custom and unit-scoped roles do not count.
// It runs outside any store transaction: the access cache may read the
// store to build the tenant's snapshot.
func (s *Service) isAdmin(ctx context.Context, tenantID, userID string) (bool, error) {
	if s.cfg.Roles == nil {
		return false, nil
	}
	roles, err := s.cfg.Roles.TenantWideRoles(ctx, tenantID, userID)
	return len(roles) > 0, err
}

// MFAUnregistered lists the tenant's users who cannot do multifactor
// authentication yet (no TOTP app, no passkey): what `ostiary mfa
// unregistered` prints. It is an offline tool's read, not authorized.
func (s *Service) MFAUnregistered(ctx context.Context, tenantID string) ([]RegistrationDetails, error) {
	var out []RegistrationDetails
	q := query.List{Top: query.MaxTop, Filter: query.Cmp{Field: query.Field{Path: "isMfaCapable", Type: query.Bool},
		Op: query.Eq, Value: query.Value{Type: query.Bool, Bool: false}}}
	for {
		p, err := s.ListRegistrationDetails(ctx, iam.System(tenantID), q)
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

func (s *Service) authorizeReport(ctx context.Context, c *iam.Caller) error {
	if err := s.authz.Authorize(ctx, c, authz.Request{Action: authz.AuthMethodsReportRead}); err != nil {
		s.log.Info("access denied", "tenant", c.TenantID, "caller", c.ObjectID, "action", authz.AuthMethodsReportRead, "reason", err)
		return err
	}
	return nil
}

// details computes one user's row but isAdmin.
func (s *Service) details(r store.Reader, tenantID string, u store.Object) (RegistrationDetails, error) {
	f, err := factsOf(u)
	if err != nil {
		return RegistrationDetails{}, err
	}
	ms, err := userMethods(r, tenantID, u.ID, "")
	if err != nil {
		return RegistrationDetails{}, err
	}
	st := summarize(hasPassword(u), ms, s.now())
	d := RegistrationDetails{ID: u.ID, UserPrincipalName: f.UserPrincipalName, UserDisplayName: f.DisplayName, UserType: "member",
		IsMfaRegistered: st.IsMfaCapable, IsMfaCapable: st.IsMfaCapable, IsPasswordlessCapable: st.IsPasswordlessCapable,
		MethodsRegistered: st.Registered, SystemPreferredAuthenticationMethods: []string{},
		UserPreferredMethodForSecondaryAuthentication: "none", DefaultMfaMethod: "none", LastUpdatedDateTime: st.LastUpdated}
	if f.isGuest() {
		d.UserType = "guest"
	}
	if st.HasTOTP {
		d.UserPreferredMethodForSecondaryAuthentication = "oath"
		d.DefaultMfaMethod = regTOTP
	}
	if d.LastUpdatedDateTime.IsZero() {
		d.LastUpdatedDateTime = u.CreatedAt.UTC().Truncate(time.Second)
	}
	return d, nil
}

// Match evaluates a report filter on a row: eq and in on the scalar
// properties, startsWith on the names, any() with eq on the collections,
// and and, or, not. Anything else matches nothing (the schema in
// graphapi/odata admits only these).
func Match(e query.Expr, d RegistrationDetails) bool {
	switch x := e.(type) {
	case nil:
		return true
	case query.Cmp:
		v, ok := d.field(x.Field.Path)
		eq := ok && equal(v, x.Value)
		switch x.Op {
		case query.Eq:
			return eq
		case query.Ne:
			return ok && !eq
		}
		return false
	case query.In:
		v, ok := d.field(x.Field.Path)
		return ok && slices.ContainsFunc(x.Values, func(val query.Value) bool { return equal(v, val) })
	case query.StartsWith:
		v, ok := d.field(x.Field.Path)
		str, isStr := v.(string)
		return ok && isStr && strings.HasPrefix(strings.ToLower(str), strings.ToLower(x.Prefix))
	case query.And:
		for _, t := range x {
			if !Match(t, d) {
				return false
			}
		}
		return true
	case query.Or:
		for _, t := range x {
			if Match(t, d) {
				return true
			}
		}
		return false
	case query.Not:
		return !Match(x.X, d)
	case query.Any:
		v, _ := d.field(x.Field.Path)
		list, _ := v.([]string)
		return slices.ContainsFunc(list, func(el string) bool { return matchElem(x.Pred, el) })
	}
	return false
}

// matchElem evaluates an any() predicate on one element of a string
// collection (the element is the field with path "").
func matchElem(e query.Expr, el string) bool {
	switch x := e.(type) {
	case query.Cmp:
		eq := x.Field.Path == "" && equal(el, x.Value)
		return (x.Op == query.Eq && eq) || (x.Op == query.Ne && x.Field.Path == "" && !eq)
	case query.In:
		return x.Field.Path == "" && slices.ContainsFunc(x.Values, func(v query.Value) bool { return equal(el, v) })
	case query.StartsWith:
		return x.Field.Path == "" && strings.HasPrefix(strings.ToLower(el), strings.ToLower(x.Prefix))
	case query.And:
		for _, t := range x {
			if !matchElem(t, el) {
				return false
			}
		}
		return true
	case query.Or:
		for _, t := range x {
			if matchElem(t, el) {
				return true
			}
		}
		return false
	case query.Not:
		return !matchElem(x.X, el)
	}
	return false
}

// field returns a property of the row by its Graph name.
func (d RegistrationDetails) field(path string) (any, bool) {
	switch path {
	case "id":
		return d.ID, true
	case "userPrincipalName":
		return d.UserPrincipalName, true
	case "userDisplayName":
		if d.UserDisplayName == nil {
			return nil, true
		}
		return *d.UserDisplayName, true
	case "userType":
		return d.UserType, true
	case "isAdmin":
		return d.IsAdmin, true
	case "isSsprRegistered":
		return d.IsSsprRegistered, true
	case "isSsprEnabled":
		return d.IsSsprEnabled, true
	case "isSsprCapable":
		return d.IsSsprCapable, true
	case "isMfaRegistered":
		return d.IsMfaRegistered, true
	case "isMfaCapable":
		return d.IsMfaCapable, true
	case "isPasswordlessCapable":
		return d.IsPasswordlessCapable, true
	case "isSystemPreferredAuthenticationMethodEnabled":
		return d.IsSystemPreferredAuthenticationMethodEnabled, true
	case "methodsRegistered":
		return d.MethodsRegistered, true
	case "systemPreferredAuthenticationMethods":
		return d.SystemPreferredAuthenticationMethods, true
	case "userPreferredMethodForSecondaryAuthentication":
		return d.UserPreferredMethodForSecondaryAuthentication, true
	case "defaultMfaMethod":
		return d.DefaultMfaMethod, true
	}
	return nil, false
}

// equal compares a row value with a literal: booleans exactly, strings
// and GUIDs case-insensitively, null only with null.
func equal(v any, lit query.Value) bool {
	switch t := v.(type) {
	case nil:
		return lit.Null
	case bool:
		return !lit.Null && lit.Type == query.Bool && t == lit.Bool
	case string:
		return !lit.Null && (lit.Type == query.String || lit.Type == query.GUID) && strings.EqualFold(t, lit.Str)
	}
	return false
}
