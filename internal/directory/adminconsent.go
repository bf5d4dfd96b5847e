package directory

import (
	"context"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// AdminConsent is tenant-wide consent given by an administrator on the
// sign-in pages (the adminconsent endpoint or prompt=admin_consent) for a
// client: delegated permissions for every user and application
// permissions for the client itself, per resource.
type AdminConsent struct {
	ClientSPID string
	Resources  []AdminConsentGrant
}

// AdminConsentGrant is what an admin consent grants on one resource.
type AdminConsentGrant struct {
	ResourceSPID string
	// Scopes become the client's AllPrincipals oauth2PermissionGrant on
	// the resource, merged into the existing one.
	Scopes []string
	// AppRoleIDs become app role assignments of the client on the
	// resource (application permissions); existing ones are kept.
	AppRoleIDs []string
}

// GrantAdminConsent records an administrator's consent on behalf of the
// organization (c is the signed-in user, acting through the client). The
// user must hold a tenant-wide directory role that may grant it
// (iam.MayGrantTenantConsent: Global Administrator or Privileged Role
// Administrator for anything, Cloud Application or Application
// Administrator for all but Microsoft Graph application permissions),
// read here from the role assignments in the same transaction; the RBAC
// issue replaces this read with its evaluator. Anyone else gets AADSTS90094
// (errs.Denied with that Code). The grants, assignments and their audit
// records, among them "Consent to application" with the AdminConsent
// details, commit together.
func (s *Service) GrantAdminConsent(ctx context.Context, c *iam.Caller, ac AdminConsent) error {
	if c.Type != iam.CallerUser || c.ObjectID == "" {
		return errs.E(errs.Denied, "only a signed-in administrator can consent on behalf of the organization")
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		graphRoles := false
		for _, rg := range ac.Resources {
			if len(rg.AppRoleIDs) == 0 {
				continue
			}
			res, err := get(w, c.TenantID, iam.KindServicePrincipal, rg.ResourceSPID)
			if err != nil {
				return badRequest("The resource service principal '%s' does not exist.", rg.ResourceSPID)
			}
			sp, err := decode[iam.ServicePrincipal](res)
			if err != nil {
				return err
			}
			graphRoles = graphRoles || strings.EqualFold(sp.AppID, iam.MicrosoftGraphAppID)
		}
		roles, err := tenantRoles(w, c.TenantID, c.ObjectID)
		if err != nil {
			return err
		}
		if !iam.MayGrantTenantConsent(roles, graphRoles) {
			return errs.E(errs.Denied, "The signed-in user is not allowed to grant consent on behalf of the organization: an administrator must consent.").WithCode("AADSTS90094")
		}
		var summary []string
		for _, rg := range ac.Resources {
			var granted []string
			if len(rg.Scopes) > 0 {
				g, err := s.mergeAllPrincipalsGrant(w, c, now, ac.ClientSPID, rg.ResourceSPID, rg.Scopes)
				if err != nil {
					return err
				}
				granted = append(granted, "scope: "+g.Scope)
			}
			if len(rg.AppRoleIDs) > 0 {
				ids, err := s.assignConsentedRoles(w, c, now, ac.ClientSPID, rg.ResourceSPID, rg.AppRoleIDs)
				if err != nil {
					return err
				}
				granted = append(granted, "appRoles: "+strings.Join(ids, " "))
			}
			if len(granted) > 0 {
				summary = append(summary, rg.ResourceSPID+" ("+strings.Join(granted, "; ")+")")
			}
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Consent to application", OperationType: "Assign",
			Targets: []iam.TargetResource{audit.Target(iam.KindServicePrincipal, strings.ToLower(ac.ClientSPID), nil, "")},
			Details: []iam.KeyValue{{Key: "ConsentType", Value: iam.ConsentAllPrincipals}, {Key: "AdminConsent", Value: "True"},
				{Key: "OnBehalfOfAll", Value: "True"}, {Key: "Permissions", Value: strings.Join(summary, ", ")}}})
	})
}

// tenantRoles returns the role template ids assigned to userID at the
// tenant scope ("/").
func tenantRoles(r store.Reader, tenantID, userID string) ([]string, error) {
	p, err := r.List(tenantID, iam.KindRoleAssignment, store.Live, query.List{Top: query.MaxTop, Filter: query.And{
		query.Cmp{Field: query.Field{Path: "principalId", Type: query.GUID}, Op: query.Eq, Value: query.Value{Type: query.GUID, Str: userID}},
		query.Cmp{Field: query.Field{Path: "directoryScopeId", Type: query.String}, Op: query.Eq, Value: query.Value{Type: query.String, Str: "/"}},
	}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range p.Items {
		ra, err := decode[iam.RoleAssignment](o)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(ra.PrincipalID, userID) && ra.DirectoryScopeID == "/" {
			out = append(out, strings.ToLower(ra.RoleDefinitionID))
		}
	}
	return out, nil
}

// mergeAllPrincipalsGrant adds scopes to the client's AllPrincipals grant
// on the resource, creating it if there is none, with checkGrant's
// validation and the grant's audit record.
func (s *Service) mergeAllPrincipalsGrant(w store.Writer, c *iam.Caller, now time.Time, clientSPID, resourceSPID string, scopes []string) (iam.OAuth2PermissionGrant, error) {
	g := iam.OAuth2PermissionGrant{ClientID: clientSPID, ResourceID: resourceSPID, ConsentType: iam.ConsentAllPrincipals, Scope: strings.Join(scopes, " ")}
	existing, err := w.GetByKey(c.TenantID, iam.KindOAuth2PermissionGrant, grantKey(normalizedKey(g)))
	found := err == nil
	if err != nil && !errs.Is(err, errs.NotFound) {
		return g, err
	}
	var old iam.OAuth2PermissionGrant
	if found {
		if old, err = decode[iam.OAuth2PermissionGrant](existing); err != nil {
			return g, err
		}
		g.ID = old.ID
		g.Scope = old.Scope + " " + g.Scope
	} else {
		g.ID = newAssignmentID()
	}
	if err := s.checkGrant(w, c.TenantID, &g); err != nil {
		return g, err
	}
	data, err := encode(g)
	if err != nil {
		return g, err
	}
	switch {
	case found && g.Scope == old.Scope:
		return g, nil
	case found:
		existing.Data = data
		if err := w.Update(existing); err != nil {
			return g, err
		}
		return g, record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update delegated permission grant", OperationType: "Update",
			Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", old.Scope, g.Scope))})
	default:
		if err := w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindOAuth2PermissionGrant, ID: g.ID, Key: grantKey(g),
			CreatedAt: now, Data: data}); err != nil {
			return g, err
		}
		return g, record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add delegated permission grant", OperationType: "Assign",
			Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", nil, g.Scope), audit.Changed("DelegatedPermissionGrant.ConsentType", nil, g.ConsentType))})
	}
}

// assignConsentedRoles assigns the client the resource's app roles
// roleIDs (application permissions) that it does not hold yet, each with
// its audit record, and returns the ids of every role consented to.
func (s *Service) assignConsentedRoles(w store.Writer, c *iam.Caller, now time.Time, clientSPID, resourceSPID string, roleIDs []string) ([]string, error) {
	p, err := get(w, c.TenantID, iam.KindServicePrincipal, clientSPID)
	if err != nil {
		return nil, badRequest("The client service principal '%s' does not exist.", clientSPID)
	}
	res, err := get(w, c.TenantID, iam.KindServicePrincipal, resourceSPID)
	if err != nil {
		return nil, badRequest("The resource service principal '%s' does not exist.", resourceSPID)
	}
	sp, err := decode[iam.ServicePrincipal](res)
	if err != nil {
		return nil, err
	}
	links, err := w.Links(c.TenantID, iam.RelAppRoleAssignment, p.ID, res.ID)
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for _, l := range links {
		held[l.Qualifier] = true
	}
	var out []string
	for _, id := range roleIDs {
		roleID, ok := iam.NormalizeGUID(id)
		if !ok || !roleAssignable(sp.AppRoles, roleID, "ServicePrincipal") {
			return nil, badRequest("Permission being assigned was not found on application '%s'.", sp.AppID)
		}
		out = append(out, roleID)
		if held[roleID] {
			continue
		}
		held[roleID] = true
		a := iam.AppRoleAssignment{ID: newAssignmentID(), AppRoleID: roleID, PrincipalID: p.ID, PrincipalType: "ServicePrincipal",
			PrincipalDisplayName: str(p.DisplayName), ResourceID: res.ID, ResourceDisplayName: str(res.DisplayName), CreatedDateTime: &now}
		data, err := encode(a)
		if err != nil {
			return nil, err
		}
		if err := w.AddLink(store.Link{TenantID: c.TenantID, Rel: iam.RelAppRoleAssignment, SourceID: p.ID, TargetID: res.ID,
			Qualifier: roleID, ID: a.ID, Data: data, CreatedAt: now}); err != nil {
			return nil, err
		}
		if err := record(w, c, now, assignmentAudit(a, p, res, true)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
