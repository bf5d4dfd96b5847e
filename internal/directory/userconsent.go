package directory

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// UserConsent is a user's consent, given on the sign-in pages, for a
// client to use delegated scopes of a resource on the user's behalf.
type UserConsent struct {
	ClientSPID   string
	ResourceSPID string
	Scopes       []string
}

// GrantUserConsent records a signed-in user's own consent (c is the user,
// acting through the client): a Principal oauth2PermissionGrant for the
// client, resource and user, merged into the existing one for that
// triple. It is allowed when the tenant's authorization policy lets users
// consent for themselves (a ManagePermissionGrantsForSelf.* policy) and
// every scope is a delegated permission of type "User"; otherwise it is
// AADSTS65001 (the policy) or 90094 (an Admin scope), as errs values with
// that Code. The grant and its audit records (initiated by the user)
// commit together.
func (s *Service) GrantUserConsent(ctx context.Context, c *iam.Caller, uc UserConsent) (iam.OAuth2PermissionGrant, error) {
	var out iam.OAuth2PermissionGrant
	if c.Type != iam.CallerUser || c.ObjectID == "" {
		return out, errs.E(errs.Denied, "only a signed-in user can consent for themselves")
	}
	if len(uc.Scopes) == 0 {
		return out, badRequest("No scope to consent to.")
	}
	now := s.clock()
	err := s.store.Write(ctx, func(w store.Writer) error {
		pol, _, _, err := readAuthorizationPolicy(w, c.TenantID)
		if err != nil {
			return err
		}
		if !pol.UsersMayConsent() {
			return errs.E(errs.Denied, "The tenant does not allow users to consent to applications: an administrator must consent.").WithCode("AADSTS65001")
		}
		for _, v := range uc.Scopes {
			def, ok, err := resourceScope(w, c.TenantID, uc.ResourceSPID, v)
			if err != nil {
				return err
			}
			if ok && !strings.EqualFold(def.Type, "User") {
				return errs.E(errs.Denied, "The scope '%s' requires admin consent.", def.Value).WithCode("AADSTS90094")
			}
		}
		principal := c.ObjectID
		g := iam.OAuth2PermissionGrant{ClientID: uc.ClientSPID, ResourceID: uc.ResourceSPID, ConsentType: iam.ConsentPrincipal,
			PrincipalID: &principal, Scope: strings.Join(uc.Scopes, " ")}
		existing, err := w.GetByKey(c.TenantID, iam.KindOAuth2PermissionGrant, grantKey(normalizedKey(g)))
		found := err == nil
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		var old iam.OAuth2PermissionGrant
		if found {
			if old, err = decode[iam.OAuth2PermissionGrant](existing); err != nil {
				return err
			}
			g.ID = old.ID
			g.Scope = old.Scope + " " + g.Scope
		} else {
			g.ID = newAssignmentID()
		}
		if err := s.checkGrant(w, c.TenantID, &g); err != nil {
			return err
		}
		data, err := encode(g)
		if err != nil {
			return err
		}
		switch {
		case found && g.Scope == old.Scope: // nothing new: the consent is still recorded
		case found:
			existing.Data = data
			if err := w.Update(existing); err != nil {
				return err
			}
			if err := record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update delegated permission grant", OperationType: "Update",
				Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", old.Scope, g.Scope))}); err != nil {
				return err
			}
		default:
			if err := w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindOAuth2PermissionGrant, ID: g.ID, Key: grantKey(g),
				CreatedAt: now, Data: data}); err != nil {
				return err
			}
			if err := record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add delegated permission grant", OperationType: "Assign",
				Targets: grantTargets(g, audit.Changed("DelegatedPermissionGrant.Scope", nil, g.Scope), audit.Changed("DelegatedPermissionGrant.ConsentType", nil, g.ConsentType))}); err != nil {
				return err
			}
		}
		out = g
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Consent to application", OperationType: "Assign",
			Targets: []iam.TargetResource{audit.Target(iam.KindServicePrincipal, g.ClientID, nil, "")},
			Details: []iam.KeyValue{{Key: "ConsentType", Value: iam.ConsentPrincipal}, {Key: "Scope", Value: strings.Join(uc.Scopes, " ")},
				{Key: "ResourceId", Value: g.ResourceID}}})
	})
	return out, err
}

// normalizedKey lower-cases a grant's ids as checkGrant would, so the
// key lookup matches the stored key.
func normalizedKey(g iam.OAuth2PermissionGrant) iam.OAuth2PermissionGrant {
	if id, ok := iam.NormalizeGUID(g.ClientID); ok {
		g.ClientID = id
	}
	if id, ok := iam.NormalizeGUID(g.ResourceID); ok {
		g.ResourceID = id
	}
	if g.PrincipalID != nil {
		if id, ok := iam.NormalizeGUID(*g.PrincipalID); ok {
			g.PrincipalID = &id
		}
	}
	return g
}

// resourceScope finds the delegated permission v of a resource service
// principal (Graph's from the catalog).
func resourceScope(r store.Reader, tenantID, resourceSPID, v string) (iam.PermissionScope, bool, error) {
	ro, err := get(r, tenantID, iam.KindServicePrincipal, resourceSPID)
	if err != nil {
		return iam.PermissionScope{}, false, badRequest("The resource service principal '%s' does not exist.", resourceSPID)
	}
	var res struct {
		AppID  string                `json:"appId"`
		Scopes []iam.PermissionScope `json:"oauth2PermissionScopes"`
	}
	if err := json.Unmarshal(ro.Data, &res); err != nil {
		return iam.PermissionScope{}, false, errInternal(err, "decode service principal")
	}
	if strings.EqualFold(res.AppID, iam.MicrosoftGraphAppID) {
		p, ok := graphperms.ScopeByValue(v)
		return p, ok, nil
	}
	for _, p := range res.Scopes {
		if strings.EqualFold(p.Value, v) {
			return p, true, nil
		}
	}
	return iam.PermissionScope{}, false, nil
}
