package directory

import (
	"context"
	"time"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Organization is Graph's organization resource: the tenant as SDKs and
// tools first see it (GET /organization).
type Organization struct {
	ID              string           `json:"id"`
	DisplayName     string           `json:"displayName"`
	TenantType      string           `json:"tenantType"`
	CreatedDateTime time.Time        `json:"createdDateTime"`
	VerifiedDomains []VerifiedDomain `json:"verifiedDomains"`
}

// VerifiedDomain is an entry of organization.verifiedDomains.
type VerifiedDomain struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	IsDefault    bool   `json:"isDefault"`
	IsInitial    bool   `json:"isInitial"`
	Capabilities string `json:"capabilities"`
}

// GetOrganization describes the caller's tenant and its verified domains.
func (s *Service) GetOrganization(ctx context.Context, c *iam.Caller) (Organization, error) {
	if err := s.authorize(ctx, c, authz.OrganizationRead, iam.KindOrganization, c.TenantID); err != nil {
		return Organization{}, err
	}
	var org Organization
	err := s.store.Read(ctx, func(r store.Reader) error {
		t, err := r.Tenant(c.TenantID)
		if err != nil {
			return err
		}
		domains, err := tenantDomains(r, c.TenantID)
		if err != nil {
			return err
		}
		org = Organization{ID: t.ID, DisplayName: t.DisplayName, TenantType: "AAD", CreatedDateTime: t.CreatedDateTime.UTC(),
			VerifiedDomains: []VerifiedDomain{}}
		for _, o := range domains {
			d, err := decode[iam.Domain](o)
			if err != nil {
				return err
			}
			if d.IsVerified {
				org.VerifiedDomains = append(org.VerifiedDomains, VerifiedDomain{Name: d.ID, Type: d.AuthenticationType,
					IsDefault: d.IsDefault, IsInitial: d.IsInitial, Capabilities: "Email, OfficeCommunicationsOnline"})
			}
		}
		return nil
	})
	return org, err
}
