package directory

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"

	"regexp"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
)

// TenantSpec describes a tenant to create. Empty fields get generated values;
// CI and emulator users fix them to start Ostiary with known credentials.
type TenantSpec struct {
	TenantID         string
	Name             string // initial domain label: "<name>.<suffix>"
	DisplayName      string
	AdminUPN         string
	AdminPassword    string
	ClientID         string
	ClientSecret     string
	SecurityDefaults bool
}

// TenantCredentials is what bootstrap hands to the operator once; the keys
// match <data-dir>/bootstrap.json.
type TenantCredentials struct {
	TenantID               string `json:"tenantId"`
	Domain                 string `json:"domain"`
	AdminUserPrincipalName string `json:"adminUserPrincipalName"`
	AdminPassword          string `json:"adminPassword"`
	ClientID               string `json:"clientId"`
	ClientSecret           string `json:"clientSecret"`
}

// BootstrapPermissions are the Graph application permissions the bootstrap
// application holds.
var BootstrapPermissions = []string{"Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CreateTenant creates a tenant with its initial domain, the Microsoft
// Graph service principal, a Global Administrator and a confidential
// bootstrap application holding BootstrapPermissions, all in one
// transaction: a crash leaves either the whole tenant or nothing.
func (s *Service) CreateTenant(ctx context.Context, spec TenantSpec) (TenantCredentials, error) {
	var out TenantCredentials
	var err error
	if spec.TenantID == "" {
		spec.TenantID = iam.NewID()
	} else if spec.TenantID, err = guid(spec.TenantID, "tenant id"); err != nil {
		return out, err
	}
	if spec.ClientID == "" {
		spec.ClientID = iam.NewID()
	} else if spec.ClientID, err = guid(spec.ClientID, "client id"); err != nil {
		return out, err
	}
	spec.Name = strings.ToLower(spec.Name)
	if spec.Name == "" && spec.AdminUPN != "" {
		spec.Name = strings.TrimSuffix(iam.DomainOf(spec.AdminUPN), "."+s.cfg.InitialDomainSuffix)
	}
	if spec.Name == "" {
		spec.Name = "tenant" + strings.ReplaceAll(spec.TenantID, "-", "")[:8]
	}
	if !labelRE.MatchString(spec.Name) {
		return out, errs.E(errs.Invalid, "tenant name %q must be one DNS label (letters, digits, hyphens)", spec.Name)
	}
	domain := spec.Name + "." + s.cfg.InitialDomainSuffix
	if spec.DisplayName == "" {
		spec.DisplayName = spec.Name
	}
	if spec.AdminUPN == "" {
		spec.AdminUPN = "admin@" + domain
	}
	if iam.DomainOf(spec.AdminUPN) != domain {
		return out, errs.E(errs.Invalid, "the admin user principal name must use the initial domain %s", domain)
	}
	if err := validUPN(spec.AdminUPN); err != nil {
		return out, err
	}
	if spec.AdminPassword == "" {
		if spec.AdminPassword, err = passwords.Generate(); err != nil {
			return out, err
		}
	} else if err := passwords.CheckComplexity(spec.AdminPassword); err != nil {
		return out, err
	}
	if spec.ClientSecret == "" {
		if spec.ClientSecret, err = passwords.NewClientSecret(); err != nil {
			return out, err
		}
	} else if len(spec.ClientSecret) < 16 {
		return out, errs.E(errs.Invalid, "a fixed client secret must have at least 16 characters")
	}
	adminHash, err := s.hasher.Hash(ctx, spec.AdminPassword)
	if err != nil {
		return out, err
	}
	now := s.clock()
	t := iam.Tenant{ID: spec.TenantID, DisplayName: spec.DisplayName, InitialDomain: domain, CreatedDateTime: now, SecurityDefaults: spec.SecurityDefaults}
	sys := iam.System(t.ID)
	b := &bootstrap{s: s, t: t, now: now}
	err = s.store.Write(ctx, func(w store.Writer) error {
		b.w = w
		if err := w.CreateTenant(t); errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "tenant %s already exists", t.ID)
		} else if err != nil {
			return err
		}
		if err := b.domain(domain); err != nil {
			return err
		}
		graphSP, err := b.graphServicePrincipal()
		if err != nil {
			return err
		}
		adminID, err := b.admin(spec.AdminUPN, adminHash)
		if err != nil {
			return err
		}
		if err := b.globalAdmin(adminID); err != nil {
			return err
		}
		if err := b.app(spec.ClientID, spec.ClientSecret, graphSP); err != nil {
			return err
		}
		if err := b.authorizationPolicy(); err != nil {
			return err
		}
		if err := b.securityDefaults(); err != nil {
			return err
		}
		return record(w, sys, now, audit.Entry{Category: audit.DirectoryManagement, Activity: "Create company", OperationType: "Add",
			Targets: []iam.TargetResource{{ID: t.ID, DisplayName: &t.DisplayName, Type: "Company", ModifiedProperties: []iam.ModifiedProperty{}}}})
	})
	if err != nil {
		return out, err
	}
	return TenantCredentials{TenantID: t.ID, Domain: domain, AdminUserPrincipalName: spec.AdminUPN,
		AdminPassword: spec.AdminPassword, ClientID: spec.ClientID, ClientSecret: spec.ClientSecret}, nil
}

// bootstrap writes the objects of a new tenant inside one transaction.
type bootstrap struct {
	s   *Service
	w   store.Writer
	t   iam.Tenant
	now time.Time
}

func (b *bootstrap) insert(kind iam.Kind, id, key, name string, doc any, secret []byte) error {
	data, err := encode(doc)
	if err != nil {
		return err
	}
	return b.w.Insert(store.Object{TenantID: b.t.ID, Kind: kind, ID: id, Key: key, DisplayName: name, CreatedAt: b.now, Data: data, Secret: secret})
}

func (b *bootstrap) domain(name string) error {
	d := iam.Domain{ID: name, AuthenticationType: "Managed", IsAdminManaged: true, IsDefault: true, IsInitial: true,
		IsRoot: true, IsVerified: true, SupportedServices: []string{"Email", "OfficeCommunicationsOnline"}}
	if err := b.insert(iam.KindDomain, name, name, name, d, nil); errs.Is(err, errs.Conflict) {
		return errs.E(errs.Conflict, "the domain %s already belongs to another tenant", name)
	} else if err != nil {
		return err
	}
	return nil
}

// graphServicePrincipal instantiates Microsoft Graph in the tenant with its
// real permission catalog, so permissions are granted by Microsoft's ids.
func (b *bootstrap) graphServicePrincipal() (string, error) {
	sp := iam.ServicePrincipal{
		ObjectMeta:             iam.ObjectMeta{ID: iam.NewID(), DisplayName: str("Microsoft Graph"), CreatedDateTime: &b.now},
		AppID:                  iam.MicrosoftGraphAppID,
		AppDisplayName:         str("Microsoft Graph"),
		AppOwnerOrganizationID: str("f8cdef31-a31e-4b4a-93e4-5f571e91255a"), // Microsoft's own tenant
		AccountEnabled:         boolp(true),
		ServicePrincipalType:   str("Application"),
		ServicePrincipalNames:  []string{iam.MicrosoftGraphAppID, iam.MicrosoftGraphResource, "https://graph.microsoft.com/", "https://dod-graph.microsoft.us", "https://graph.microsoft.us"},
		SignInAudience:         str("AzureADMultipleOrgs"),
		AppRoles:               graphperms.AppRoles(),
		OAuth2PermissionScopes: graphperms.Scopes(),
		ReplyURLs:              []string{},
		Tags:                   []string{},
		PasswordCredentials:    []iam.PasswordCredential{},
		KeyCredentials:         []iam.KeyCredential{},
	}
	return sp.ID, b.insert(iam.KindServicePrincipal, sp.ID, sp.AppID, "Microsoft Graph", sp, nil)
}

func (b *bootstrap) admin(upn, hash string) (string, error) {
	nick := upn[:strings.IndexByte(upn, '@')]
	u := iam.User{
		ObjectMeta:                 iam.ObjectMeta{ID: iam.NewID(), DisplayName: str("Administrator"), CreatedDateTime: &b.now},
		AccountEnabled:             boolp(true),
		UserPrincipalName:          upn,
		MailNickname:               &nick,
		UserType:                   str("Member"),
		LastPasswordChangeDateTime: &b.now,
		PasswordProfile:            &iam.PasswordProfile{},
	}
	normalizeUser(&u)
	secret, _ := json.Marshal(userSecret{Password: hash})
	return u.ID, b.insert(iam.KindUser, u.ID, upn, "Administrator", u, secret)
}

// globalAdmin assigns Global Administrator at tenant scope. The RBAC
// service owns role assignments; bootstrap writes the first one directly.
func (b *bootstrap) globalAdmin(userID string) error {
	ra := iam.RoleAssignment{ID: iam.NewID(), PrincipalID: userID, RoleDefinitionID: iam.GlobalAdministratorRoleID, DirectoryScopeID: "/"}
	return b.insert(iam.KindRoleAssignment, ra.ID, roleAssignmentKey(ra), "", ra, nil)
}

func (b *bootstrap) app(clientID, secret, graphSPID string) error {
	keyID := iam.NewID()
	end := b.now.AddDate(2, 0, 0)
	hint := secret[:3]
	var access []iam.ResourceAccess
	for _, v := range BootstrapPermissions {
		role, ok := graphperms.AppRoleByValue(v)
		if !ok {
			return errs.E(errs.Internal, "graph permission %s missing from the catalog", v)
		}
		access = append(access, iam.ResourceAccess{ID: role.ID, Type: "Role"})
	}
	app := iam.Application{
		ObjectMeta:             iam.ObjectMeta{ID: iam.NewID(), DisplayName: str("Ostiary Bootstrap"), CreatedDateTime: &b.now},
		AppID:                  clientID,
		SignInAudience:         str("AzureADMyOrg"),
		PublisherDomain:        str(b.t.InitialDomain),
		IdentifierURIs:         []string{},
		AppRoles:               []iam.AppRole{},
		Tags:                   []string{},
		RequiredResourceAccess: []iam.RequiredResourceAccess{{ResourceAppID: iam.MicrosoftGraphAppID, ResourceAccess: access}},
		PasswordCredentials:    []iam.PasswordCredential{{KeyID: keyID, DisplayName: str("bootstrap"), Hint: &hint, StartDateTime: &b.now, EndDateTime: &end}},
		KeyCredentials:         []iam.KeyCredential{},
	}
	appSecret, _ := json.Marshal(appSecrets{Passwords: map[string]string{keyID: passwords.HashClientSecret(secret)}})
	if err := b.insert(iam.KindApplication, app.ID, clientID, "Ostiary Bootstrap", app, appSecret); err != nil {
		return err
	}
	sp := iam.ServicePrincipal{
		ObjectMeta:             iam.ObjectMeta{ID: iam.NewID(), DisplayName: app.DisplayName, CreatedDateTime: &b.now},
		AppID:                  clientID,
		AppDisplayName:         app.DisplayName,
		AppOwnerOrganizationID: str(b.t.ID),
		AccountEnabled:         boolp(true),
		ServicePrincipalType:   str("Application"),
		ServicePrincipalNames:  []string{clientID},
		SignInAudience:         app.SignInAudience,
		AppRoles:               []iam.AppRole{},
		OAuth2PermissionScopes: []iam.PermissionScope{},
		ReplyURLs:              []string{},
		Tags:                   []string{},
		PasswordCredentials:    []iam.PasswordCredential{},
		KeyCredentials:         []iam.KeyCredential{},
	}
	if err := b.insert(iam.KindServicePrincipal, sp.ID, clientID, "Ostiary Bootstrap", sp, nil); err != nil {
		return err
	}
	for _, ra := range access {
		a := iam.AppRoleAssignment{ID: newAssignmentID(), AppRoleID: ra.ID, PrincipalID: sp.ID, PrincipalType: "ServicePrincipal",
			PrincipalDisplayName: sp.DisplayName, ResourceID: graphSPID, ResourceDisplayName: str("Microsoft Graph"), CreatedDateTime: &b.now}
		data, err := encode(a)
		if err != nil {
			return err
		}
		if err := b.w.AddLink(store.Link{TenantID: b.t.ID, Rel: iam.RelAppRoleAssignment, SourceID: sp.ID, TargetID: graphSPID,
			Qualifier: ra.ID, ID: a.ID, Data: data, CreatedAt: b.now}); err != nil {
			return err
		}
	}
	return nil
}

// appSecrets is what an application's Secret column holds; the token
// service reads the same format.
type appSecrets struct {
	Passwords map[string]string `json:"passwords"`
}

func guid(s, what string) (string, error) {
	g, ok := iam.NormalizeGUID(s)
	if !ok {
		return "", errs.E(errs.Invalid, "the %s %q is not a GUID", what, s)
	}
	return g, nil
}

// newAssignmentID returns an app role assignment id: 32 random bytes in
// unpadded base64url (43 characters), the shape of Entra's ids.
func newAssignmentID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("directory: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
