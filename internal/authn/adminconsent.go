package authn

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// AdminConsentRole is an application permission (an app role of the
// resource) on an admin consent page.
type AdminConsentRole struct {
	ID          string
	Value       string
	DisplayName string
	Description string
}

// AdminConsentResource is what an admin consent grants on one resource:
// delegated permissions for every user (an AllPrincipals grant) and
// application permissions for the client (app role assignments).
type AdminConsentResource struct {
	ResourceSPID  string
	ResourceAppID string
	ResourceName  string
	Scopes        []ConsentScope
	Roles         []AdminConsentRole
}

// ScopeValues returns the delegated permission values.
func (r *AdminConsentResource) ScopeValues() []string {
	out := make([]string, len(r.Scopes))
	for i, s := range r.Scopes {
		out[i] = s.Value
	}
	return out
}

// AdminConsentPrompt is what the admin consent page shows ("Consent on
// behalf of your organization") and what accepting it grants.
type AdminConsentPrompt struct {
	ClientSPID      string
	ClientAppID     string
	ClientName      string
	PublisherDomain string
	Resources       []AdminConsentResource
	// MayConsent reports whether the signed-in user holds a directory
	// role that may grant all of it (iam.MayGrantTenantConsent).
	MayConsent bool
}

// GraphAppRoles reports whether the prompt asks for application
// permissions of Microsoft Graph, which only Global Administrators and
// Privileged Role Administrators may grant.
func (p *AdminConsentPrompt) GraphAppRoles() bool {
	for _, r := range p.Resources {
		if len(r.Roles) > 0 && r.ResourceAppID == iam.MicrosoftGraphAppID {
			return true
		}
	}
	return false
}

// adminResourceDoc is the part of a resource service principal an admin
// consent page describes.
type adminResourceDoc struct {
	AppID       string                `json:"appId"`
	DisplayName *string               `json:"displayName"`
	Scopes      []iam.PermissionScope `json:"oauth2PermissionScopes"`
	AppRoles    []iam.AppRole         `json:"appRoles"`
}

// DescribeAdminConsent builds the admin consent prompt for client: every
// permission its registration requests (requiredResourceAccess: delegated
// "Scope" entries and application "Role" entries, per resource), plus the
// delegated scopes of extra (what an authorize or v2.0 adminconsent
// request's scope parameter asks for, as PendingConsent described it; may
// be nil). MayConsent is decided from userID's tenant-wide role
// assignments, read here directly; the RBAC issue replaces that with its
// evaluator. A requested resource without a service principal in the
// tenant is AADSTS650052.
func (s *Service) DescribeAdminConsent(ctx context.Context, tenantID string, client *Client, userID string, extra *ConsentPrompt) (*AdminConsentPrompt, error) {
	p := &AdminConsentPrompt{ClientSPID: client.ServicePrincipal.ID, ClientAppID: client.Application.AppID,
		ClientName: deref(client.Application.DisplayName), PublisherDomain: deref(client.Application.PublisherDomain)}
	var roles []string
	err := s.st.Read(ctx, func(r store.Reader) error {
		for _, rra := range client.Application.RequiredResourceAccess {
			appID, ok := iam.NormalizeGUID(rra.ResourceAppID)
			if !ok {
				continue
			}
			o, err := r.GetByKey(tenantID, iam.KindServicePrincipal, appID)
			if errs.Is(err, errs.NotFound) || err == nil && o.Deleted() {
				return aadsts(errs.Invalid, 650052, "The app '%s' needs access to a service ('%s') that your organization has not subscribed to or enabled.", p.ClientAppID, appID)
			} else if err != nil {
				return err
			}
			var doc adminResourceDoc
			if err := json.Unmarshal(o.Data, &doc); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", o.ID)
			}
			res := p.resource(o.ID, appID, deref(doc.DisplayName))
			for _, ra := range rra.ResourceAccess {
				switch {
				case strings.EqualFold(ra.Type, "Scope"):
					if d, ok := doc.scopeByID(ra.ID); ok && d.IsEnabled {
						res.addScope(ConsentScope{Value: d.Value, Type: d.Type, DisplayName: d.AdminConsentDisplayName, Description: d.AdminConsentDescription})
					}
				case strings.EqualFold(ra.Type, "Role"):
					if d, ok := doc.roleByID(ra.ID); ok && d.IsEnabled && slices.Contains(d.AllowedMemberTypes, "Application") && d.Value != nil {
						res.addRole(AdminConsentRole{ID: strings.ToLower(d.ID), Value: *d.Value, DisplayName: d.DisplayName, Description: d.Description})
					}
				}
			}
		}
		if extra != nil && len(extra.Scopes) > 0 {
			o, err := r.Get(tenantID, iam.KindServicePrincipal, extra.ResourceSPID)
			if err != nil {
				return err
			}
			var doc adminResourceDoc
			if err := json.Unmarshal(o.Data, &doc); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", o.ID)
			}
			res := p.resource(o.ID, strings.ToLower(doc.AppID), extra.ResourceName)
			for _, sc := range extra.Scopes {
				res.addScope(sc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if roles, err = s.UserWids(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	for i := range p.Resources {
		if p.Resources[i].ResourceAppID == iam.MicrosoftGraphAppID {
			p.Resources[i].ResourceName = "Microsoft Graph"
		}
	}
	p.MayConsent = iam.MayGrantTenantConsent(roles, p.GraphAppRoles())
	return p, nil
}

// resource returns the prompt's entry for a resource, adding it.
func (p *AdminConsentPrompt) resource(spID, appID, name string) *AdminConsentResource {
	for i := range p.Resources {
		if p.Resources[i].ResourceSPID == spID {
			return &p.Resources[i]
		}
	}
	p.Resources = append(p.Resources, AdminConsentResource{ResourceSPID: spID, ResourceAppID: appID, ResourceName: name})
	return &p.Resources[len(p.Resources)-1]
}

func (r *AdminConsentResource) addScope(s ConsentScope) {
	for _, have := range r.Scopes {
		if strings.EqualFold(have.Value, s.Value) {
			return
		}
	}
	r.Scopes = append(r.Scopes, s)
}

func (r *AdminConsentResource) addRole(role AdminConsentRole) {
	for _, have := range r.Roles {
		if have.ID == role.ID {
			return
		}
	}
	r.Roles = append(r.Roles, role)
}

func (d *adminResourceDoc) scopeByID(id string) (iam.PermissionScope, bool) {
	if strings.EqualFold(d.AppID, iam.MicrosoftGraphAppID) {
		return graphperms.ScopeByID(id)
	}
	for _, s := range d.Scopes {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return iam.PermissionScope{}, false
}

func (d *adminResourceDoc) roleByID(id string) (iam.AppRole, bool) {
	if strings.EqualFold(d.AppID, iam.MicrosoftGraphAppID) {
		return graphperms.AppRoleByID(id)
	}
	for _, r := range d.AppRoles {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return iam.AppRole{}, false
}
