package directory

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Delegated permission grants (oauth2PermissionGrants): consent for a
// client service principal to call a resource with the listed scopes on
// behalf of every user (AllPrincipals) or of one user (Principal). Each is
// an object of kind oauth2PermissionGrant whose Key makes (client,
// resource, principal) unique, as Entra allows one grant per triple; the
// token service reads them to decide a token's scp.

// grantKey is the unique key of a grant.
func grantKey(g iam.OAuth2PermissionGrant) string {
	p := iam.ConsentAllPrincipals
	if g.PrincipalID != nil {
		p = *g.PrincipalID
	}
	return g.ClientID + "|" + g.ResourceID + "|" + p
}

// ListOAuth2PermissionGrants lists the tenant's delegated permission grants.
func (s *Service) ListOAuth2PermissionGrants(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.OAuth2PermissionGrant], error) {
	return readPage[iam.OAuth2PermissionGrant](s, ctx, c, authz.GrantsRead, iam.KindOAuth2PermissionGrant, q)
}

// GetOAuth2PermissionGrant returns one grant.
func (s *Service) GetOAuth2PermissionGrant(ctx context.Context, c *iam.Caller, id string) (iam.OAuth2PermissionGrant, error) {
	return readOne[iam.OAuth2PermissionGrant](s, ctx, c, authz.GrantsRead, iam.KindOAuth2PermissionGrant, id, func(r store.Reader) (store.Object, error) {
		return getGrant(r, c.TenantID, id)
	})
}

func getGrant(r store.Reader, tenantID, id string) (store.Object, error) {
	o, err := r.Get(tenantID, iam.KindOAuth2PermissionGrant, id)
	if errs.Is(err, errs.NotFound) {
		return o, notFound(id)
	}
	return o, err
}

// CreateOAuth2PermissionGrant records consent from a Graph create body.
func (s *Service) CreateOAuth2PermissionGrant(ctx context.Context, c *iam.Caller, body Patch) (iam.OAuth2PermissionGrant, error) {
	if err := s.authorize(ctx, c, authz.GrantsCreate, iam.KindOAuth2PermissionGrant, ""); err != nil {
		return iam.OAuth2PermissionGrant{}, err
	}
	var g iam.OAuth2PermissionGrant
	binds, err := decodeBody(&g, body, "microsoft.graph.oAuth2PermissionGrant")
	if err != nil {
		return g, err
	}
	if len(binds) > 0 {
		return g, badRequest("Binding references is not supported when creating an oAuth2PermissionGrant.")
	}
	g.ID = newAssignmentID()
	now := s.clock()
	err = s.store.Write(ctx, func(w store.Writer) error {
		if err := s.checkGrant(w, c.TenantID, &g); err != nil {
			return err
		}
		data, err := encode(g)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindOAuth2PermissionGrant, ID: g.ID, Key: grantKey(g),
			CreatedAt: now, Data: data})
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "Permission entry already exists.").WithCode("Request_MultipleObjectsWithSameKeyValue")
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add delegated permission grant", OperationType: "Assign",
			Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", nil, g.Scope), audit.Changed("DelegatedPermissionGrant.ConsentType", nil, g.ConsentType))})
	})
	return g, err
}

// UpdateOAuth2PermissionGrant changes a grant's scope, the one property
// Graph lets a PATCH change.
func (s *Service) UpdateOAuth2PermissionGrant(ctx context.Context, c *iam.Caller, id string, p Patch) error {
	if err := s.authorize(ctx, c, authz.GrantsUpdate, iam.KindOAuth2PermissionGrant, id); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := getGrant(w, c.TenantID, id)
		if err != nil {
			return err
		}
		old, err := decode[iam.OAuth2PermissionGrant](o)
		if err != nil {
			return err
		}
		g := old
		if _, err := applyPatch(&g, p, "microsoft.graph.oAuth2PermissionGrant", "id", "clientId", "consentType", "principalId", "resourceId"); err != nil {
			return err
		}
		if err := s.checkGrant(w, c.TenantID, &g); err != nil {
			return err
		}
		if o.Data, err = encode(g); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update delegated permission grant", OperationType: "Update",
			Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", old.Scope, g.Scope))})
	})
}

// DeleteOAuth2PermissionGrant removes a grant (revokes consent). Tokens
// already issued keep their scopes until they expire; refresh tokens get
// only what is still granted.
func (s *Service) DeleteOAuth2PermissionGrant(ctx context.Context, c *iam.Caller, id string) error {
	if err := s.authorize(ctx, c, authz.GrantsDelete, iam.KindOAuth2PermissionGrant, id); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := getGrant(w, c.TenantID, id)
		if err != nil {
			return err
		}
		g, err := decode[iam.OAuth2PermissionGrant](o)
		if err != nil {
			return err
		}
		if err := w.Delete(c.TenantID, iam.KindOAuth2PermissionGrant, o.ID); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Remove delegated permission grant", OperationType: "Unassign",
			Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", g.Scope, nil))})
	})
}

func grantTargets(g iam.OAuth2PermissionGrant, changes ...iam.ModifiedProperty) []iam.TargetResource {
	return []iam.TargetResource{audit.Target(iam.KindServicePrincipal, g.ClientID, nil, "", changes...),
		audit.Target(iam.KindServicePrincipal, g.ResourceID, nil, "")}
}

// checkGrant validates a grant and normalises it: both service principals
// exist in the tenant, a Principal grant names a user (an AllPrincipals
// one none), and every scope value is a delegated permission the resource
// exposes. The scope is stored space-separated without duplicates.
func (s *Service) checkGrant(r store.Reader, tenantID string, g *iam.OAuth2PermissionGrant) error {
	var ok bool
	if g.ClientID, ok = iam.NormalizeGUID(g.ClientID); !ok {
		return missing("clientId", "OAuth2PermissionGrant")
	}
	if g.ResourceID, ok = iam.NormalizeGUID(g.ResourceID); !ok {
		return missing("resourceId", "OAuth2PermissionGrant")
	}
	switch g.ConsentType {
	case iam.ConsentAllPrincipals:
		if g.PrincipalID != nil && *g.PrincipalID != "" {
			return badRequest("principalId must be null when consentType is AllPrincipals.")
		}
		g.PrincipalID = nil
	case iam.ConsentPrincipal:
		if g.PrincipalID == nil {
			return missing("principalId", "OAuth2PermissionGrant")
		}
		id, ok := iam.NormalizeGUID(*g.PrincipalID)
		if !ok {
			return missing("principalId", "OAuth2PermissionGrant")
		}
		if _, err := get(r, tenantID, iam.KindUser, id); err != nil {
			return badRequest("The principal '%s' is not a user of this directory.", id)
		}
		g.PrincipalID = &id
	default:
		return missing("consentType", "OAuth2PermissionGrant")
	}
	if _, err := get(r, tenantID, iam.KindServicePrincipal, g.ClientID); err != nil {
		return badRequest("The client service principal '%s' does not exist.", g.ClientID)
	}
	ro, err := get(r, tenantID, iam.KindServicePrincipal, g.ResourceID)
	if err != nil {
		return badRequest("The resource service principal '%s' does not exist.", g.ResourceID)
	}
	var res struct {
		AppID  string                `json:"appId"`
		Scopes []iam.PermissionScope `json:"oauth2PermissionScopes"`
	}
	if err := json.Unmarshal(ro.Data, &res); err != nil {
		return errInternal(err, "decode service principal")
	}
	exposed := func(v string) (string, bool) {
		if strings.EqualFold(res.AppID, iam.MicrosoftGraphAppID) {
			if p, ok := graphperms.ScopeByValue(v); ok && p.IsEnabled {
				return p.Value, true
			}
			return "", false
		}
		for _, p := range res.Scopes {
			if p.IsEnabled && strings.EqualFold(p.Value, v) {
				return p.Value, true
			}
		}
		return "", false
	}
	var values []string
	for _, v := range strings.Fields(g.Scope) {
		canon, ok := exposed(v)
		if !ok {
			return badRequest("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant': the resource does not expose the delegated permission '%s'.", v)
		}
		dup := false
		for _, seen := range values {
			dup = dup || strings.EqualFold(seen, canon)
		}
		if !dup {
			values = append(values, canon)
		}
	}
	g.Scope = strings.Join(values, " ")
	return nil
}
