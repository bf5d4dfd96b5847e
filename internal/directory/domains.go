package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Domains. A domain is stored with its lower-case name as id. Its Key is
// the name only once the domain is verified: verified names are unique
// across tenants through the store's global key index, while any number of
// tenants may have added the same name and not proved it yet.

// DomainDNSRecord is a domainDnsTxtRecord: the TXT record that proves a
// tenant controls a domain.
type DomainDNSRecord struct {
	ID               string `json:"id"`
	IsOptional       bool   `json:"isOptional"`
	Label            string `json:"label"`
	RecordType       string `json:"recordType"`
	SupportedService string `json:"supportedService"`
	TTL              int    `json:"ttl"`
	Text             string `json:"text"`
}

const domainType = "microsoft.graph.domain"

// domainReadOnly are the domain properties a PATCH may not change;
// isDefault changes through it but only the way PromoteDomain does.
var domainReadOnly = []string{"id", "isVerified", "isInitial", "isRoot", "isAdminManaged", "availabilityStatus", "state", "x_verificationCode"}

// AddDomain adds a domain from a body {"id": name}. It starts unverified,
// except a subdomain of a domain the tenant has verified, which its owner
// controls already.
func (s *Service) AddDomain(ctx context.Context, c *iam.Caller, body Patch) (iam.Domain, error) {
	if err := s.authorize(ctx, c, authz.DomainsWrite, iam.KindDomain, ""); err != nil {
		return iam.Domain{}, err
	}
	var d iam.Domain
	if _, err := decodeBody(&d, body, domainType); err != nil {
		return iam.Domain{}, err
	}
	name, err := domainName(d.ID)
	if err != nil {
		return iam.Domain{}, err
	}
	if d.IsVerified || d.IsInitial || d.IsRoot || d.IsDefault || d.VerificationCode != "" || d.State != nil || d.AvailabilityStatus != nil {
		return iam.Domain{}, badRequest("Only 'id' and the password and authentication settings can be set when adding a domain.")
	}
	if err := checkDomainSettings(&d); err != nil {
		return iam.Domain{}, err
	}
	code, err := verificationCode()
	if err != nil {
		return iam.Domain{}, err
	}
	d.ID, d.VerificationCode, d.IsAdminManaged = name, code, true
	now := s.clock()
	err = s.store.Write(ctx, func(w store.Writer) error {
		if _, err := w.Get(c.TenantID, iam.KindDomain, name); err == nil {
			return badRequest("The domain '%s' already exists in this tenant.", name)
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		domains, err := tenantDomains(w, c.TenantID)
		if err != nil {
			return err
		}
		parent := parentDomain(domains, name)
		d.IsRoot, d.IsVerified = parent == nil, false
		if parent != nil && parent.IsVerified {
			if elsewhere, err := verifiedElsewhere(w, c.TenantID, name); err != nil {
				return err
			} else if !elsewhere {
				d.IsVerified = true
			}
		}
		key, activity := "", "Add unverified domain"
		if d.IsVerified {
			key, activity = name, "Add verified domain"
		}
		data, err := encode(d)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindDomain, ID: name, Key: key, DisplayName: name, CreatedAt: now, Data: data})
		if errs.Is(err, errs.Conflict) {
			return badRequest("The domain '%s' already exists or is verified by another tenant.", name)
		} else if err != nil {
			return err
		}
		return record(w, c, now, domainAudit(activity, "Add", name, audit.Changed("IsVerified", nil, d.IsVerified)))
	})
	return d, err
}

// GetDomain returns a domain of the tenant by name.
func (s *Service) GetDomain(ctx context.Context, c *iam.Caller, name string) (iam.Domain, error) {
	return readOne[iam.Domain](s, ctx, c, authz.DomainsRead, iam.KindDomain, name, func(r store.Reader) (store.Object, error) {
		return domainObject(r, c.TenantID, name)
	})
}

// ListDomains lists the tenant's domains.
func (s *Service) ListDomains(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.Domain], error) {
	return readPage[iam.Domain](s, ctx, c, authz.DomainsRead, iam.KindDomain, q)
}

// VerificationDNSRecords returns the TXT record that proves ownership.
func (s *Service) VerificationDNSRecords(ctx context.Context, c *iam.Caller, name string) ([]DomainDNSRecord, error) {
	d, err := s.GetDomain(ctx, c, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(d.ID + "\x00Txt"))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return []DomainDNSRecord{{ID: id, Label: d.ID, RecordType: "Txt", SupportedService: "Email", TTL: 3600, Text: d.VerificationCode}}, nil
}

// VerifyDomain looks up the domain's TXT records and marks it verified if
// one equals its verification code. The lookup runs outside any
// transaction; the write re-reads the domain.
func (s *Service) VerifyDomain(ctx context.Context, c *iam.Caller, name string) (iam.Domain, error) {
	if err := s.authorize(ctx, c, authz.DomainsWrite, iam.KindDomain, name); err != nil {
		return iam.Domain{}, err
	}
	var d iam.Domain
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := domainObject(r, c.TenantID, name)
		if err != nil {
			return err
		}
		if d, err = decode[iam.Domain](o); err != nil || d.IsVerified {
			return err
		}
		if elsewhere, err := verifiedElsewhere(r, c.TenantID, d.ID); err != nil {
			return err
		} else if elsewhere {
			return errVerifiedElsewhere(d.ID)
		}
		return nil
	})
	if err != nil || d.IsVerified {
		return d, err
	}
	// The name is rooted (trailing dot) so the resolver's search list can
	// never turn it into a name under a domain someone else controls.
	txts, err := s.resolver.LookupTXT(ctx, d.ID+".")
	// Only a definite answer fails verification; a lookup that could not
	// complete (timeout, server failure, cancelled request) proves nothing.
	var dnsErr *net.DNSError
	if err != nil && (!errors.As(err, &dnsErr) || !dnsErr.IsNotFound && (dnsErr.IsTimeout || dnsErr.IsTemporary)) {
		return d, errs.Wrap(errs.Unavailable, err, "The DNS lookup of '%s' failed; try again later.", d.ID)
	}
	if !slices.Contains(txts, d.VerificationCode) {
		return d, badRequest("Domain verification failed: the TXT record '%s' was not found at '%s'.", d.VerificationCode, d.ID)
	}
	now := s.clock()
	err = s.store.Write(ctx, func(w store.Writer) error {
		o, err := domainObject(w, c.TenantID, d.ID)
		if err != nil {
			return err
		}
		if d, err = decode[iam.Domain](o); err != nil || d.IsVerified {
			return err
		}
		d.IsVerified = true
		if o.Data, err = encode(d); err != nil {
			return err
		}
		o.Key = d.ID
		if err := w.Update(o); errs.Is(err, errs.Conflict) {
			return errVerifiedElsewhere(d.ID)
		} else if err != nil {
			return err
		}
		return record(w, c, now, domainAudit("Verify domain", "Update", d.ID, audit.Changed("IsVerified", false, true)))
	})
	return d, err
}

// PromoteDomain makes a verified domain the tenant's default.
func (s *Service) PromoteDomain(ctx context.Context, c *iam.Caller, name string) error {
	return s.UpdateDomain(ctx, c, name, Patch(`{"isDefault":true}`))
}

// UpdateDomain applies a Graph PATCH: the password settings, and isDefault
// which moves the default to this domain.
func (s *Service) UpdateDomain(ctx context.Context, c *iam.Caller, name string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, c, authz.DomainsWrite, iam.KindDomain, name); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := domainObject(w, c.TenantID, name)
		if err != nil {
			return err
		}
		old, err := decode[iam.Domain](o)
		if err != nil {
			return err
		}
		d, err := decode[iam.Domain](o)
		if err != nil {
			return err
		}
		if _, err := applyPatch(&d, p, domainType, domainReadOnly...); err != nil {
			return err
		}
		if err := checkDomainSettings(&d); err != nil {
			return err
		}
		switch {
		case old.IsDefault && !d.IsDefault:
			return badRequest("The default domain cannot be unset; promote another domain instead.")
		case !old.IsDefault && d.IsDefault:
			if !d.IsVerified {
				return badRequest("Only a verified domain can be the default domain.")
			}
			if err := s.clearDefault(w, c, now); err != nil {
				return err
			}
		}
		if o.Data, err = encode(d); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, domainAudit("Update domain", "Update", d.ID, changes(old, d, members)...))
	})
}

// clearDefault unsets isDefault on every domain of the tenant, so exactly
// one is default once the caller sets it on another.
func (s *Service) clearDefault(w store.Writer, c *iam.Caller, now time.Time) error {
	domains, err := tenantDomains(w, c.TenantID)
	if err != nil {
		return err
	}
	for _, o := range domains {
		d, err := decode[iam.Domain](o)
		if err != nil {
			return err
		}
		if !d.IsDefault {
			continue
		}
		d.IsDefault = false
		if o.Data, err = encode(d); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
		if err := record(w, c, now, domainAudit("Update domain", "Update", d.ID, audit.Changed("isDefault", true, false))); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDomain removes a domain nothing depends on. The initial and the
// default domain stay; a domain in a user principal name stays, including
// soft-deleted users, whose restore would otherwise bring back a name on a
// domain the tenant no longer holds; a parent stays while it has subdomains.
func (s *Service) DeleteDomain(ctx context.Context, c *iam.Caller, name string) error {
	if err := s.authorize(ctx, c, authz.DomainsWrite, iam.KindDomain, name); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := domainObject(w, c.TenantID, name)
		if err != nil {
			return err
		}
		d, err := decode[iam.Domain](o)
		if err != nil {
			return err
		}
		switch {
		case d.IsInitial:
			return badRequest("The initial domain '%s' cannot be deleted.", d.ID)
		case d.IsDefault:
			return badRequest("The default domain '%s' cannot be deleted; promote another domain first.", d.ID)
		}
		inUPN := query.EndsWith{Field: query.Field{Path: "userPrincipalName", Type: query.String}, Suffix: "@" + d.ID}
		for _, scope := range []store.Scope{store.Live, store.DeletedOnly} {
			p, err := w.List(c.TenantID, iam.KindUser, scope, query.List{Top: 1, Filter: inUPN})
			if err != nil {
				return err
			}
			if len(p.Items) > 0 {
				return badRequest("The domain '%s' cannot be deleted: it is used in the userPrincipalName of one or more users.", d.ID)
			}
		}
		domains, err := tenantDomains(w, c.TenantID)
		if err != nil {
			return err
		}
		for _, x := range domains {
			if strings.HasSuffix(x.ID, "."+d.ID) {
				return badRequest("The domain '%s' cannot be deleted while its subdomain '%s' exists.", d.ID, x.ID)
			}
		}
		if err := w.Delete(c.TenantID, iam.KindDomain, o.ID); err != nil {
			return err
		}
		return record(w, c, now, domainAudit("Remove domain", "Delete", d.ID))
	})
}

func domainObject(r store.Reader, tenantID, name string) (store.Object, error) {
	name = strings.ToLower(name)
	o, err := r.Get(tenantID, iam.KindDomain, name)
	if errs.Is(err, errs.NotFound) {
		return o, notFound(name)
	}
	return o, err
}

// tenantDomains returns every domain of the tenant; tenants have few.
func tenantDomains(r store.Reader, tenantID string) ([]store.Object, error) {
	var out []store.Object
	q := query.List{Top: query.MaxTop}
	for {
		p, err := r.List(tenantID, iam.KindDomain, store.Live, q)
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

// defaultDomainName is the tenant's default domain, or its initial domain.
func defaultDomainName(r store.Reader, tenantID string) (string, error) {
	domains, err := tenantDomains(r, tenantID)
	if err != nil {
		return "", err
	}
	for _, o := range domains {
		if d, err := decode[iam.Domain](o); err == nil && d.IsDefault {
			return d.ID, nil
		}
	}
	t, err := r.Tenant(tenantID)
	return t.InitialDomain, err
}

// parentDomain returns the closest domain of domains that name is a
// subdomain of, preferring a verified one.
func parentDomain(domains []store.Object, name string) *iam.Domain {
	var best *iam.Domain
	for _, o := range domains {
		if !strings.HasSuffix(name, "."+o.ID) {
			continue
		}
		d, err := decode[iam.Domain](o)
		if err != nil {
			continue
		}
		if best == nil || (d.IsVerified && !best.IsVerified) || (d.IsVerified == best.IsVerified && len(d.ID) > len(best.ID)) {
			best = &d
		}
	}
	return best
}

// onVerifiedDomain checks that an http(s) URI's host is a verified domain
// of the tenant or a subdomain of one.
func onVerifiedDomain(uri string, domains []store.Object) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	host := strings.ToLower(u.Hostname())
	for _, o := range domains {
		if d, err := decode[iam.Domain](o); err == nil && d.IsVerified && (host == d.ID || strings.HasSuffix(host, "."+d.ID)) {
			return nil
		}
	}
	return badRequest("Values of identifierUris property must use a verified domain of the organization or its subdomain: '%s'", uri)
}

// verifiedElsewhere reports whether another tenant has verified name.
func verifiedElsewhere(r store.Reader, tenantID, name string) (bool, error) {
	t, err := r.TenantByDomain(name)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return t.ID != tenantID, nil
}

func errVerifiedElsewhere(name string) error {
	return badRequest("The domain '%s' is already verified by another tenant.", name)
}

func checkDomainSettings(d *iam.Domain) error {
	switch d.AuthenticationType {
	case "":
		d.AuthenticationType = "Managed"
	case "Managed":
	default:
		return badRequest("Only 'Managed' authentication is supported for domains.")
	}
	if v := d.PasswordValidityPeriodInDays; v != nil && (*v < 14 || *v > 730) && *v != 2147483647 {
		return badRequest("Invalid value specified for property 'passwordValidityPeriodInDays' of resource 'Domain'.")
	}
	if v := d.PasswordNotificationWindowInDays; v != nil && (*v < 1 || *v > 30) {
		return badRequest("Invalid value specified for property 'passwordNotificationWindowInDays' of resource 'Domain'.")
	}
	if d.SupportedServices == nil {
		d.SupportedServices = []string{}
	}
	return nil
}

// domainName checks a DNS name: at least two labels of 1-63 letters,
// digits and inner hyphens, 253 characters at most, and a top-level label
// that is not all digits (which would make it an IP address).
func domainName(s string) (string, error) {
	name := strings.ToLower(s)
	bad := badRequest("Invalid value specified for property 'id' of resource 'Domain'.")
	labels := strings.Split(name, ".")
	if len(name) > 253 || len(labels) < 2 {
		return "", bad
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", bad
		}
		for _, ch := range l {
			if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-') {
				return "", bad
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", bad
	}
	return name, nil
}

// verificationCode is Entra's shape: "MS=ms" and eight random digits.
func verificationCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", errInternal(err, "generate verification code")
	}
	return fmt.Sprintf("MS=ms%08d", n.Int64()), nil
}

func domainAudit(activity, op, name string, mods ...iam.ModifiedProperty) audit.Entry {
	return audit.Entry{Category: audit.DirectoryManagement, Activity: activity, OperationType: op,
		Targets: []iam.TargetResource{audit.Target(iam.KindDomain, name, &name, "", mods...)}}
}
