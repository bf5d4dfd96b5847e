package directory

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// checkApplication validates an application document and fills in the
// defaults Graph shows. old is the stored version on update, nil on create.
func checkApplication(app *iam.Application, old *iam.Application) error {
	if !slices.Contains(signInAudiences, deref(app.SignInAudience)) {
		return badRequest("Invalid value specified for property 'signInAudience' of resource 'Application'.")
	}
	if err := checkIdentifierURIs(app.IdentifierURIs); err != nil {
		return err
	}
	if app.API == nil {
		app.API = &iam.APIApplication{}
	}
	if err := checkAppRoles(app.AppRoles); err != nil {
		return err
	}
	if err := checkScopes(app.API.OAuth2PermissionScopes); err != nil {
		return err
	}
	var oldKeys []iam.KeyCredential
	if old != nil {
		oldKeys = old.KeyCredentials
		var oldScopes []iam.PermissionScope
		if old.API != nil {
			oldScopes = old.API.OAuth2PermissionScopes
		}
		if enabledRemoved(old.AppRoles, app.AppRoles, func(r iam.AppRole) (string, bool) { return r.ID, r.IsEnabled }) ||
			enabledRemoved(oldScopes, app.API.OAuth2PermissionScopes, func(p iam.PermissionScope) (string, bool) { return p.ID, p.IsEnabled }) {
			// Entra's rule: holders of an enabled permission would silently
			// lose it; disabling first makes the removal deliberate.
			return errs.E(errs.Invalid, "Permission (scope or role) cannot be deleted or updated unless disabled first.").WithCode("CannotDeleteOrUpdateEnabledEntitlement")
		}
	}
	keys, err := checkKeyCredentials(app.KeyCredentials, oldKeys)
	if err != nil {
		return err
	}
	app.KeyCredentials = keys
	emptyIfNil(&app.IdentifierURIs)
	emptyIfNil(&app.Tags)
	emptyIfNil(&app.API.KnownClientApplications)
	emptyIfNil(&app.AppRoles)
	emptyIfNil(&app.API.OAuth2PermissionScopes)
	emptyIfNil(&app.API.PreAuthorizedApplications)
	emptyIfNil(&app.RequiredResourceAccess)
	if app.Web == nil {
		app.Web = &iam.WebApplication{ImplicitGrantSettings: &iam.ImplicitGrantSettings{}}
	}
	emptyIfNil(&app.Web.RedirectURIs)
	for _, r := range []**iam.RedirectURIs{&app.Spa, &app.PublicClient} {
		if *r == nil {
			*r = &iam.RedirectURIs{}
		}
		emptyIfNil(&(*r).RedirectURIs)
	}
	return nil
}

// emptyIfNil makes a nil list empty: Graph shows [] rather than null.
func emptyIfNil[T any](list *[]T) {
	if *list == nil {
		*list = []T{}
	}
}

func checkIdentifierURIs(uris []string) error {
	seen := map[string]bool{}
	for _, u := range uris {
		p, err := url.Parse(u)
		if u == "" || err != nil || p.Scheme == "" || strings.ContainsAny(u, " *") {
			return badRequest("Invalid value specified for property 'identifierUris' of resource 'Application'.")
		}
		if seen[strings.ToLower(u)] {
			return badRequest("The identifierUris contain the value '%s' more than once.", u)
		}
		seen[strings.ToLower(u)] = true
	}
	return nil
}

// checkAppRoles validates role definitions: a token carries role values and
// assignments carry role ids, so both must identify one role.
func checkAppRoles(roles []iam.AppRole) error {
	ids, values := map[string]bool{}, map[string]bool{}
	for i := range roles {
		r := &roles[i]
		id, ok := iam.NormalizeGUID(r.ID)
		if !ok {
			return badRequest("Invalid value specified for property 'id' of resource 'AppRole'.")
		}
		if ids[id] {
			return badRequest("Request contains a property with duplicate values: appRoles id '%s'.", id)
		}
		ids[id], r.ID = true, id
		if len(r.AllowedMemberTypes) == 0 {
			return badRequest("Invalid value specified for property 'allowedMemberTypes' of resource 'AppRole'.")
		}
		for _, t := range r.AllowedMemberTypes {
			if t != "User" && t != "Application" {
				return badRequest("Invalid value specified for property 'allowedMemberTypes' of resource 'AppRole'.")
			}
		}
		if v := deref(r.Value); v != "" {
			if strings.ContainsAny(v, " \t\r\n") {
				return badRequest("Invalid value specified for property 'value' of resource 'AppRole'.")
			}
			if values[strings.ToLower(v)] {
				return badRequest("Request contains a property with duplicate values: appRoles value '%s'.", v)
			}
			values[strings.ToLower(v)] = true
		}
		if r.Origin == "" {
			r.Origin = "Application"
		}
	}
	return nil
}

// checkScopes validates delegated permission definitions, as checkAppRoles.
func checkScopes(scopes []iam.PermissionScope) error {
	ids, values := map[string]bool{}, map[string]bool{}
	for i := range scopes {
		p := &scopes[i]
		id, ok := iam.NormalizeGUID(p.ID)
		if !ok {
			return badRequest("Invalid value specified for property 'id' of resource 'PermissionScope'.")
		}
		if ids[id] {
			return badRequest("Request contains a property with duplicate values: oauth2PermissionScopes id '%s'.", id)
		}
		ids[id], p.ID = true, id
		if p.Value == "" || strings.ContainsAny(p.Value, " \t\r\n") {
			return badRequest("Invalid value specified for property 'value' of resource 'PermissionScope'.")
		}
		if values[strings.ToLower(p.Value)] {
			return badRequest("Request contains a property with duplicate values: oauth2PermissionScopes value '%s'.", p.Value)
		}
		values[strings.ToLower(p.Value)] = true
		switch p.Type {
		case "":
			p.Type = "User"
		case "User", "Admin":
		default:
			return badRequest("Invalid value specified for property 'type' of resource 'PermissionScope'.")
		}
		if p.Origin == "" {
			p.Origin = "Application"
		}
	}
	return nil
}

// enabledRemoved reports whether an enabled entry of old is absent from new.
func enabledRemoved[T any](old, new []T, idOf func(T) (string, bool)) bool {
	kept := map[string]bool{}
	for _, x := range new {
		id, _ := idOf(x)
		kept[strings.ToLower(id)] = true
	}
	for _, x := range old {
		if id, enabled := idOf(x); enabled && !kept[strings.ToLower(id)] {
			return true
		}
	}
	return false
}

// checkKeyCredentials validates certificate credentials and fills in what
// the certificate determines (thumbprint, validity). A credential sent
// without key keeps the stored certificate of the same keyId, so a client
// can PATCH back the list it read: reads never return key.
func checkKeyCredentials(keys, old []iam.KeyCredential) ([]iam.KeyCredential, error) {
	stored := map[string]iam.KeyCredential{}
	for _, k := range old {
		stored[k.KeyID] = k
	}
	out := make([]iam.KeyCredential, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		if k.KeyID == "" {
			k.KeyID = iam.NewID()
		} else if id, ok := iam.NormalizeGUID(k.KeyID); ok {
			k.KeyID = id
		} else {
			return nil, badRequest("Invalid value specified for property 'keyId' of resource 'KeyCredential'.")
		}
		if seen[k.KeyID] {
			return nil, badRequest("The keyCredentials contain the keyId '%s' more than once.", k.KeyID)
		}
		seen[k.KeyID] = true
		if k.Key == nil || *k.Key == "" {
			prev, ok := stored[k.KeyID]
			if !ok {
				return nil, badRequest("Invalid value specified for property 'key' of resource 'KeyCredential'.")
			}
			if k.DisplayName != nil {
				prev.DisplayName = k.DisplayName
			}
			out = append(out, prev)
			continue
		}
		der, err := base64.StdEncoding.DecodeString(*k.Key)
		if err != nil {
			return nil, badRequest("Invalid value specified for property 'key' of resource 'KeyCredential': it is not base64.")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, badRequest("Invalid value specified for property 'key' of resource 'KeyCredential': it is not an X.509 certificate.")
		}
		switch {
		case k.Type == "":
			k.Type = "AsymmetricX509Cert"
		case k.Type != "AsymmetricX509Cert":
			return nil, badRequest("Invalid value specified for property 'type' of resource 'KeyCredential'.")
		}
		// Signing keys need a private key, which Ostiary does not accept here.
		switch {
		case k.Usage == "":
			k.Usage = "Verify"
		case k.Usage != "Verify":
			return nil, badRequest("Invalid value specified for property 'usage' of resource 'KeyCredential'.")
		}
		thumb := sha1.Sum(der) //nolint:gosec // the certificate thumbprint is SHA-1 by definition
		k.CustomKeyIdentifier = str(strings.ToUpper(hex.EncodeToString(thumb[:])))
		k.Key = str(base64.StdEncoding.EncodeToString(der))
		k.StartDateTime = utcOr(k.StartDateTime, cert.NotBefore)
		k.EndDateTime = utcOr(k.EndDateTime, cert.NotAfter)
		if !k.EndDateTime.After(*k.StartDateTime) {
			return nil, badRequest("Invalid value specified for property 'endDateTime' of resource 'KeyCredential': it must be after 'startDateTime'.")
		}
		out = append(out, k)
	}
	return out, nil
}

func utcOr(t *time.Time, def time.Time) *time.Time {
	v := def
	if t != nil {
		v = *t
	}
	v = v.UTC().Truncate(time.Second)
	return &v
}

// principalTypes are the kinds that can hold app roles, by Graph's name.
var principalTypes = map[iam.Kind]string{
	iam.KindUser:             "User",
	iam.KindGroup:            "Group",
	iam.KindServicePrincipal: "ServicePrincipal",
}

// assignmentReaders is the action that reads the assignments of an object:
// reading the object's own kind, as Graph's /users/{id}/appRoleAssignments
// needs User.Read.All.
var assignmentReaders = map[iam.Kind]string{
	iam.KindUser:             authz.UsersRead,
	iam.KindGroup:            authz.GroupsRead,
	iam.KindServicePrincipal: authz.SPsRead,
}

// AssignAppRole grants the app role appRoleID of the resource service
// principal to a user, group or service principal. This is how an
// application receives Graph application permissions: the token service
// turns the assignments to Microsoft Graph into the token's roles.
func (s *Service) AssignAppRole(ctx context.Context, c *iam.Caller, principalID, resourceID, appRoleID string) (iam.AppRoleAssignment, error) {
	if err := s.authorize(ctx, c, authz.SPsAppRoleAssign, iam.KindServicePrincipal, resourceID); err != nil {
		return iam.AppRoleAssignment{}, err
	}
	roleID, ok := iam.NormalizeGUID(appRoleID)
	if !ok {
		return iam.AppRoleAssignment{}, badRequest("Invalid value specified for property 'appRoleId' of resource 'AppRoleAssignment'.")
	}
	now := s.clock()
	var a iam.AppRoleAssignment
	err := s.store.Write(ctx, func(w store.Writer) error {
		p, err := get(w, c.TenantID, "", principalID)
		if err != nil {
			return err
		}
		ptype, ok := principalTypes[p.Kind]
		if !ok {
			return badRequest("Invalid value specified for property 'principalId' of resource 'AppRoleAssignment'.")
		}
		res, err := get(w, c.TenantID, iam.KindServicePrincipal, resourceID)
		if err != nil {
			return err
		}
		sp, err := decode[iam.ServicePrincipal](res)
		if err != nil {
			return err
		}
		if roleID != iam.DefaultAccessAppRoleID && !roleAssignable(sp.AppRoles, roleID, ptype) {
			return badRequest("Permission being assigned was not found on application '%s'.", sp.AppID)
		}
		links, err := w.Links(c.TenantID, iam.RelAppRoleAssignment, p.ID, res.ID)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Qualifier == roleID {
				return badRequest("Permission being assigned already exists on the object")
			}
		}
		a = iam.AppRoleAssignment{ID: newAssignmentID(), AppRoleID: roleID, PrincipalID: p.ID, PrincipalType: ptype,
			PrincipalDisplayName: str(p.DisplayName), ResourceID: res.ID, ResourceDisplayName: str(res.DisplayName), CreatedDateTime: &now}
		data, err := encode(a)
		if err != nil {
			return err
		}
		err = w.AddLink(store.Link{TenantID: c.TenantID, Rel: iam.RelAppRoleAssignment, SourceID: p.ID, TargetID: res.ID,
			Qualifier: roleID, ID: a.ID, Data: data, CreatedAt: now})
		if errs.Is(err, errs.Conflict) {
			return badRequest("Permission being assigned already exists on the object")
		} else if err != nil {
			return err
		}
		return record(w, c, now, assignmentAudit(a, p, res, true))
	})
	return a, err
}

// roleAssignable reports whether roles has an enabled role id that
// principals of ptype may hold: "Application" roles for service
// principals, "User" roles for users and groups.
func roleAssignable(roles []iam.AppRole, id, ptype string) bool {
	member := "User"
	if ptype == "ServicePrincipal" {
		member = "Application"
	}
	for _, r := range roles {
		if strings.EqualFold(r.ID, id) {
			return r.IsEnabled && slices.Contains(r.AllowedMemberTypes, member)
		}
	}
	return false
}

// RemoveAppRoleAssignment deletes an assignment. objectID is the principal
// or resource named in the URL (/users/{id}/appRoleAssignments/{a},
// /servicePrincipals/{id}/appRoleAssignedTo/{a}); an assignment that
// involves neither is not found there.
func (s *Service) RemoveAppRoleAssignment(ctx context.Context, c *iam.Caller, objectID, assignmentID string) error {
	if err := s.authorize(ctx, c, authz.SPsAppRoleAssign, "", objectID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := get(w, c.TenantID, "", objectID)
		if err != nil {
			return err
		}
		l, err := w.LinkByID(c.TenantID, iam.RelAppRoleAssignment, assignmentID)
		if errs.Is(err, errs.NotFound) || (err == nil && l.SourceID != o.ID && l.TargetID != o.ID) {
			return notFound(assignmentID)
		} else if err != nil {
			return err
		}
		if err := w.RemoveLink(c.TenantID, iam.RelAppRoleAssignment, l.SourceID, l.TargetID, l.Qualifier); err != nil {
			return err
		}
		var a iam.AppRoleAssignment
		if a, err = decode[iam.AppRoleAssignment](store.Object{Kind: "appRoleAssignment", ID: l.ID, Data: l.Data}); err != nil {
			return err
		}
		p := store.Object{Kind: principalKind(a.PrincipalType), ID: l.SourceID, DisplayName: deref(a.PrincipalDisplayName)}
		res := store.Object{Kind: iam.KindServicePrincipal, ID: l.TargetID, DisplayName: deref(a.ResourceDisplayName)}
		return record(w, c, now, assignmentAudit(a, p, res, false))
	})
}

func principalKind(ptype string) iam.Kind {
	for k, t := range principalTypes {
		if t == ptype {
			return k
		}
	}
	return iam.KindUser
}

func assignmentAudit(a iam.AppRoleAssignment, p, res store.Object, add bool) audit.Entry {
	noun := map[string]string{"User": "user", "Group": "group", "ServicePrincipal": "service principal"}[a.PrincipalType]
	activity, op := "Remove app role assignment from "+noun, "Unassign"
	if add {
		activity, op = "Add app role assignment to "+noun, "Assign"
		if a.PrincipalType == "User" {
			activity = "Add app role assignment grant to user"
		}
	}
	return audit.Entry{Category: audit.ApplicationManagement, Activity: activity, OperationType: op,
		Targets: []iam.TargetResource{target(p), target(res)},
		Details: []iam.KeyValue{{Key: "AppRoleId", Value: a.AppRoleID}, {Key: "AppRoleAssignmentId", Value: a.ID}}}
}

// ListAppRoleAssignments lists the app roles a principal holds.
func (s *Service) ListAppRoleAssignments(ctx context.Context, c *iam.Caller, principalID string, q query.List) (Page[iam.AppRoleAssignment], error) {
	return s.listAssignments(ctx, c, principalID, false, q)
}

// ListAppRoleAssignedTo lists who holds app roles of a resource service principal.
func (s *Service) ListAppRoleAssignedTo(ctx context.Context, c *iam.Caller, resourceID string, q query.List) (Page[iam.AppRoleAssignment], error) {
	return s.listAssignments(ctx, c, resourceID, true, q)
}

// listAssignments pages, in id order, the assignments whose other end is
// still live; display names are refreshed from the live objects, since an
// assignment outlives renames.
func (s *Service) listAssignments(ctx context.Context, c *iam.Caller, id string, byResource bool, q query.List) (Page[iam.AppRoleAssignment], error) {
	if q.Sort != nil {
		return Page[iam.AppRoleAssignment]{}, unsupported("$orderby is not supported for appRoleAssignments.")
	}
	if _, err := matchAssignment(q.Filter, iam.AppRoleAssignment{}); err != nil {
		return Page[iam.AppRoleAssignment]{}, err
	}
	out := Page[iam.AppRoleAssignment]{Items: []iam.AppRoleAssignment{}, Count: -1}
	err := s.store.Read(ctx, func(r store.Reader) error {
		kind := iam.Kind("")
		if byResource {
			kind = iam.KindServicePrincipal
		}
		o, err := get(r, c.TenantID, kind, id)
		if err != nil {
			return err
		}
		action, ok := assignmentReaders[o.Kind]
		if !ok {
			return notFound(id)
		}
		if err := s.authorize(ctx, c, action, o.Kind, o.ID); err != nil {
			return err
		}
		var links []store.Link
		if byResource {
			links, err = r.Links(c.TenantID, iam.RelAppRoleAssignment, "", o.ID)
		} else {
			links, err = r.Links(c.TenantID, iam.RelAppRoleAssignment, o.ID, "")
		}
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(links))
		for _, l := range links {
			ids = append(ids, l.SourceID, l.TargetID)
		}
		live, err := r.GetMany(c.TenantID, ids, nil)
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, x := range live {
			names[x.ID] = x.DisplayName
		}
		var all []iam.AppRoleAssignment
		for _, l := range links {
			pn, pok := names[l.SourceID]
			rn, rok := names[l.TargetID]
			if !pok || !rok {
				continue
			}
			a, err := decode[iam.AppRoleAssignment](store.Object{Kind: "appRoleAssignment", ID: l.ID, Data: l.Data})
			if err != nil {
				return err
			}
			a.PrincipalDisplayName, a.ResourceDisplayName = str(pn), str(rn)
			if ok, _ := matchAssignment(q.Filter, a); ok {
				all = append(all, a)
			}
		}
		out = pageAssignments(all, q)
		return nil
	})
	return out, err
}

func pageAssignments(all []iam.AppRoleAssignment, q query.List) Page[iam.AppRoleAssignment] {
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	out := Page[iam.AppRoleAssignment]{Items: []iam.AppRoleAssignment{}, Count: -1}
	if q.Count {
		out.Count = int64(len(all))
	}
	start := 0
	if q.After != nil {
		start = sort.Search(len(all), func(i int) bool { return all[i].ID > q.After.ID })
	}
	end := min(start+q.PageSize(), len(all))
	out.Items = append(out.Items, all[start:end]...)
	if end < len(all) {
		out.Next = &query.Cursor{ID: all[end-1].ID}
	}
	return out
}

// assignmentFields are the properties a filter on app role assignments
// may compare.
var assignmentFields = map[string]func(iam.AppRoleAssignment) string{
	"appRoleId":            func(a iam.AppRoleAssignment) string { return a.AppRoleID },
	"principalId":          func(a iam.AppRoleAssignment) string { return a.PrincipalID },
	"resourceId":           func(a iam.AppRoleAssignment) string { return a.ResourceID },
	"principalType":        func(a iam.AppRoleAssignment) string { return a.PrincipalType },
	"principalDisplayName": func(a iam.AppRoleAssignment) string { return deref(a.PrincipalDisplayName) },
	"resourceDisplayName":  func(a iam.AppRoleAssignment) string { return deref(a.ResourceDisplayName) },
}

// matchAssignment evaluates a filter on an assignment: eq, ne and in on
// assignmentFields, combined with and, or and not. It evaluates every term,
// so a check against a zero assignment finds any unsupported clause.
func matchAssignment(e query.Expr, a iam.AppRoleAssignment) (bool, error) {
	field := func(f query.Field) (string, error) {
		if get, ok := assignmentFields[f.Path]; ok {
			return get(a), nil
		}
		return "", unsupported("Unsupported or invalid query filter clause specified for property '%s' of resource 'AppRoleAssignment'.", f.Path)
	}
	switch x := e.(type) {
	case nil:
		return true, nil
	case query.Cmp:
		v, err := field(x.Field)
		if err == nil && x.Op != query.Eq && x.Op != query.Ne {
			err = unsupported("Unsupported operator '%s' for appRoleAssignments.", x.Op)
		}
		return err == nil && strings.EqualFold(v, x.Value.Str) == (x.Op == query.Eq), err
	case query.In:
		v, err := field(x.Field)
		return err == nil && slices.ContainsFunc(x.Values, func(w query.Value) bool { return strings.EqualFold(v, w.Str) }), err
	case query.And:
		return matchTerms(x, a, true)
	case query.Or:
		return matchTerms(x, a, false)
	case query.Not:
		ok, err := matchAssignment(x.X, a)
		return err == nil && !ok, err
	}
	return false, unsupported("Unsupported query filter for appRoleAssignments.")
}

// matchTerms is a conjunction (all) or a disjunction of terms.
func matchTerms(terms []query.Expr, a iam.AppRoleAssignment, all bool) (bool, error) {
	result := all
	for _, t := range terms {
		ok, err := matchAssignment(t, a)
		if err != nil {
			return false, err
		}
		if ok != all {
			result = !all
		}
	}
	return result, nil
}

func unsupported(format string, args ...any) error {
	return errs.E(errs.Unsupported, format, args...).WithCode("Request_UnsupportedQuery")
}
