package authn

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// ConsentScope describes one delegated permission on a consent page.
type ConsentScope struct {
	// Value is the permission's value in the resource's spelling.
	Value string
	// Type is "User" (a user may consent) or "Admin" (only an
	// administrator may).
	Type        string
	DisplayName string
	Description string
}

// ConsentPrompt is what a consent page shows and what accepting it grants:
// the client, the resource and the scopes, with whether the tenant lets
// users consent for themselves.
type ConsentPrompt struct {
	ClientSPID      string
	ClientAppID     string
	ClientName      string
	PublisherDomain string
	ResourceSPID    string
	ResourceName    string
	// Scopes are the resource's scopes to consent to, in request order.
	Scopes []ConsentScope
	// UsersMayConsent is the tenant's authorization policy: a
	// ManagePermissionGrantsForSelf.* policy is assigned to users.
	UsersMayConsent bool
}

// AdminOnly returns the scopes only an administrator may consent to.
func (p *ConsentPrompt) AdminOnly() []string {
	var out []string
	for _, s := range p.Scopes {
		if !strings.EqualFold(s.Type, "User") {
			out = append(out, s.Value)
		}
	}
	return out
}

// Values returns the scope values.
func (p *ConsentPrompt) Values() []string {
	out := make([]string, len(p.Scopes))
	for i, s := range p.Scopes {
		out[i] = s.Value
	}
	return out
}

// DescribeConsent builds the consent prompt for client on the resource of
// grant (as DelegatedScopes resolved it) for the scope values asked for.
// With values empty and dflt set (a ".default" request), the scopes are
// the delegated permissions the client's registration requests on the
// resource (requiredResourceAccess), as Entra consents ".default". A
// value the resource does not expose is AADSTS70011.
func (s *Service) DescribeConsent(ctx context.Context, tenantID string, client *Client, grant *DelegatedGrant, values []string, dflt bool) (*ConsentPrompt, error) {
	p := &ConsentPrompt{ClientSPID: client.ServicePrincipal.ID, ClientAppID: client.Application.AppID,
		ClientName: deref(client.Application.DisplayName), PublisherDomain: deref(client.Application.PublisherDomain),
		ResourceSPID: grant.ServicePrincipalID, ResourceName: grant.DisplayName}
	var defs []iam.PermissionScope
	err := s.st.Read(ctx, func(r store.Reader) error {
		pol, err := readPolicy(r, tenantID)
		if err != nil {
			return err
		}
		p.UsersMayConsent = pol.UsersMayConsent()
		if grant.IsGraph() {
			return nil
		}
		o, err := r.Get(tenantID, iam.KindServicePrincipal, grant.ServicePrincipalID)
		if err != nil {
			return err
		}
		var sp struct {
			Scopes []iam.PermissionScope `json:"oauth2PermissionScopes"`
		}
		if err := json.Unmarshal(o.Data, &sp); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", o.ID)
		}
		defs = sp.Scopes
		return nil
	})
	if err != nil {
		return nil, err
	}
	byValue := func(v string) (iam.PermissionScope, bool) {
		if grant.IsGraph() {
			if d, ok := graphperms.ScopeByValue(v); ok {
				return d, true
			}
			// Graph values are case-sensitive in the catalog; clients are not.
			return iam.PermissionScope{}, false
		}
		for _, d := range defs {
			if strings.EqualFold(d.Value, v) {
				return d, true
			}
		}
		return iam.PermissionScope{}, false
	}
	byID := func(id string) (iam.PermissionScope, bool) {
		if grant.IsGraph() {
			return graphperms.ScopeByID(id)
		}
		for _, d := range defs {
			if strings.EqualFold(d.ID, id) {
				return d, true
			}
		}
		return iam.PermissionScope{}, false
	}
	if len(values) == 0 && dflt {
		for _, rra := range client.Application.RequiredResourceAccess {
			if !strings.EqualFold(rra.ResourceAppID, grant.AppID) {
				continue
			}
			for _, ra := range rra.ResourceAccess {
				if d, ok := byID(ra.ID); ok && strings.EqualFold(ra.Type, "Scope") && d.IsEnabled {
					values = append(values, d.Value)
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, v := range values {
		d, ok := byValue(v)
		if !ok || !d.IsEnabled {
			return nil, aadsts(errs.Invalid, 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' does not exist on the resource '%s'.", v, grant.AppID)
		}
		if seen[strings.ToLower(d.Value)] {
			continue
		}
		seen[strings.ToLower(d.Value)] = true
		cs := ConsentScope{Value: d.Value, Type: d.Type, DisplayName: d.AdminConsentDisplayName, Description: d.AdminConsentDescription}
		if d.UserConsentDisplayName != nil && *d.UserConsentDisplayName != "" {
			cs.DisplayName = *d.UserConsentDisplayName
		}
		if d.UserConsentDescription != nil && *d.UserConsentDescription != "" {
			cs.Description = *d.UserConsentDescription
		}
		if cs.Type == "" {
			cs.Type = "User"
		}
		p.Scopes = append(p.Scopes, cs)
	}
	return p, nil
}

// readPolicy returns the tenant's authorization policy, or Entra's
// defaults when the tenant has none stored (created before it existed).
func readPolicy(r store.Reader, tenantID string) (iam.AuthorizationPolicy, error) {
	o, err := r.Get(tenantID, iam.KindAuthorizationPolicy, iam.AuthorizationPolicyID)
	if errs.Is(err, errs.NotFound) {
		return iam.DefaultAuthorizationPolicy(), nil
	} else if err != nil {
		return iam.AuthorizationPolicy{}, err
	}
	var p iam.AuthorizationPolicy
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return p, errs.Wrap(errs.Internal, err, "authn: unreadable authorization policy")
	}
	return p, nil
}
