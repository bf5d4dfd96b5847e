// Package authn authenticates who is asking for a token: the tenant a
// request is addressed to and the client application with its credential.
// Later issues add user credentials (passwords, MFA, sessions) here.
//
// Failures are *errs.Error values whose Code is Entra's AADSTS code
// ("AADSTS7000215") and whose Message is Entra's text for it, so the token
// endpoint can show them as Entra does without knowing why they happened.
package authn

import (
	"context"
	"encoding/json"
	"github.com/ostiary/ostiary/internal/pace"
	"strconv"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/store"
)

// Service authenticates clients and users against the directory in the
// store.
type Service struct {
	st store.Store
	// cache holds tenants, clients and app role assignments, when
	// cfg.Changes keeps it current; nil otherwise.
	cache *clientCache
	cfg   Config
	// userLocks serialises password checks per user on this replica, so
	// a burst of guesses cannot all pass the lockout check before the
	// first failure is counted.
	userLocks userLocks
	dummy     dummyHash
	// jtiPurge paces the purge of expired client assertion ids.
	jtiPurge pace.PerKey
	// devicePurge paces the purge of expired device codes.
	devicePurge pace.PerKey
	// signIns group-commits sign-in records (LogSignIn).
	signIns signInWriter
}

// Config holds what user sign-in needs; the zero value serves clients only.
type Config struct {
	// Hasher verifies user passwords (argon2id, bounded pool). Password
	// sign-in fails with an internal error without one.
	Hasher *passwords.Hasher
	// Lockout is the smart lockout policy; zero fields take the defaults.
	Lockout LockoutPolicy
	// RefreshTokenLifetime is how long a refresh token stays valid unused
	// (each use issues a new one: a sliding window); zero means 90 days.
	RefreshTokenLifetime time.Duration
	// MFARegistrationGrace is how long security defaults let a user skip
	// registering an MFA method; zero means 14 days.
	MFARegistrationGrace time.Duration
	// Roles answers which directory roles a user holds tenant-wide (the
	// wids claim, admin consent); nil reads direct assignments from the store.
	Roles RoleSource
	// Changes keeps an in-memory cache of tenants, clients and app role
	// assignments current (see clientcache.go); nil reads them from the
	// store on every request.
	Changes ChangeFeed
}

// RoleSource is where role holdings come from (package access in the server).
type RoleSource interface {
	TenantWideRoles(ctx context.Context, tenantID, principalID string) ([]string, error)
}

// DefaultRefreshTokenLifetime is Entra's: 90 days, sliding.
const DefaultRefreshTokenLifetime = 90 * 24 * time.Hour

// New returns the service for client authentication only.
func New(st store.Store) *Service { return NewWith(st, Config{}) }

// NewWith returns the service with user sign-in configured.
func NewWith(st store.Store, cfg Config) *Service {
	cfg.Lockout = cfg.Lockout.withDefaults()
	if cfg.RefreshTokenLifetime <= 0 {
		cfg.RefreshTokenLifetime = DefaultRefreshTokenLifetime
	}
	s := &Service{st: st, cfg: cfg}
	s.signIns.arrived = make(chan struct{}, 1)
	if cfg.Changes != nil {
		s.cache = newClientCache()
		cfg.Changes.Subscribe(s.cache.invalidate)
	}
	return s
}

// cached returns the cache if it may answer this request: the change feed
// has passed on every write this replica committed. Should the feed fail,
// the request reads the store instead.
func (s *Service) cached(ctx context.Context) *clientCache {
	if s.cache == nil || s.cfg.Changes.Current(ctx) != nil {
		return nil
	}
	return s.cache
}

// aadsts builds an error carrying an Entra code and message.
func aadsts(kind errs.Kind, code int, format string, args ...any) *errs.Error {
	return errs.E(kind, format, args...).WithCode("AADSTS" + strconv.Itoa(code))
}

// ResolveTenant turns the tenant segment of a URL (a tenant GUID or one of
// its verified domain names, any case) into the tenant. The aliases common,
// organizations and consumers are the caller's business, not resolved here.
func (s *Service) ResolveTenant(ctx context.Context, segment string) (iam.Tenant, error) {
	name := strings.ToLower(segment)
	return readThrough(s, ctx, tenantsOf, name, func() (iam.Tenant, error) { return s.readTenant(ctx, segment, name) })
}

// readTenant reads what ResolveTenant resolves.
func (s *Service) readTenant(ctx context.Context, segment, name string) (iam.Tenant, error) {
	var t iam.Tenant
	err := s.st.Read(ctx, func(r store.Reader) error {
		var err error
		if id, ok := iam.NormalizeGUID(name); ok {
			t, err = r.Tenant(id)
		} else if validDomainName(name) {
			t, err = r.TenantByDomain(name)
		} else {
			err = errs.E(errs.NotFound, "no such tenant")
		}
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return iam.Tenant{}, tenantNotFound(segment)
	}
	return t, err
}

func tenantNotFound(name string) *errs.Error {
	return aadsts(errs.NotFound, 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", name)
}

// validDomainName accepts what azidentity accepts as a tenant
// ([A-Za-z0-9.-]+), within DNS's length limit, so junk never reaches a query.
func validDomainName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Client is an authenticated client application in a tenant.
type Client struct {
	TenantID    string
	Application iam.Application
	// ServicePrincipal is the application's service principal in TenantID
	// (the app's identity there; its object id is the token's oid).
	ServicePrincipal iam.ServicePrincipal
	// HomeTenantID is the tenant that owns the application object: TenantID
	// itself, or another tenant for a multi-tenant application used here.
	HomeTenantID string
	// CredentialKeyID is the keyId of the credential that matched.
	CredentialKeyID string
}

// isMultiTenant reports whether an application may be used in tenants
// other than its own (signInAudience). Entra's default, AzureADMyOrg, and
// PersonalMicrosoftAccount are single-tenant for work accounts.
func isMultiTenant(a *iam.Application) bool {
	if a.SignInAudience == nil {
		return false
	}
	switch *a.SignInAudience {
	case "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount":
		return true
	}
	return false
}

// CheckCommonEndpoint applies Entra's rule for applications used through
// the tenant aliases /common and /organizations: only a multi-tenant
// application (isMultiTenant) may be, and any other, single-tenant
// (AzureADMyOrg, or no signInAudience, Entra's default) or personal
// accounts only, is refused with AADSTS50194 (invalid_request, 400), in
// Entra's words. Entra's rule names /common and applies it the same way to
// /organizations, which for a single-tenant app is /common by another
// name; its message says /common in both cases, and so does this one.
// Callers call it for a request that came through one of those aliases,
// once the client is resolved (in the user's tenant): a single-tenant
// application is only ever found in its home tenant (loadClient), so the
// rule is what still refuses it there.
func (c *Client) CheckCommonEndpoint() error {
	if isMultiTenant(&c.Application) {
		return nil
	}
	return aadsts(errs.Invalid, 50194, "Application '%s'(%s) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
		c.Application.AppID, deref(c.Application.DisplayName))
}

// clientSecrets is the Secret column of an application object, written by
// the directory service: keyId → passwords.HashClientSecret output.
type clientSecrets struct {
	Passwords map[string]string `json:"passwords"`
}

// AuthenticateClientSecret checks a client secret for clientID (an appId)
// in tenantID. The application may be registered in another tenant
// (multi-tenant apps): its service principal here names the owner tenant.
//
// Every stored secret hash is compared, in constant time each, so the
// timing does not tell which credential nearly matched. The order of checks
// follows Entra: unknown client (700016), then the secret (7000215, or
// 7000222 if it matched an expired credential), then a disabled service
// principal (7000112), which is only revealed to a caller holding a secret.
func (s *Service) AuthenticateClientSecret(ctx context.Context, tenantID, clientID, secret string, now time.Time) (*Client, error) {
	appID, _ := iam.NormalizeGUID(clientID)
	c, secrets, fromCache, err := s.findClient(ctx, tenantID, clientID, false)
	if err != nil {
		return nil, err
	}
	keyID, expired := matchSecret(c.Application.PasswordCredentials, secrets.Passwords, secret, now)
	if keyID == "" && fromCache {
		// A secret added on another replica in the last moments is not
		// in the cache yet: the store decides a mismatch.
		if c, secrets, _, err = s.findClient(ctx, tenantID, clientID, true); err != nil {
			return nil, err
		}
		keyID, expired = matchSecret(c.Application.PasswordCredentials, secrets.Passwords, secret, now)
	}
	switch {
	case keyID != "":
		c.CredentialKeyID = keyID
	case expired:
		return nil, aadsts(errs.Unauthenticated, 7000222, "The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", appID)
	default:
		return nil, aadsts(errs.Unauthenticated, 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)
	}
	if e := c.ServicePrincipal.AccountEnabled; e != nil && !*e {
		return nil, aadsts(errs.Denied, 7000112, "Application '%s'(%s) is disabled.", appID, deref(c.ServicePrincipal.DisplayName))
	}
	return c, nil
}

// findClient returns clientID (an appId) in tenantID: a copy the caller may
// change, from the cache unless fresh is set. An unknown client is
// AADSTS700016, with the tenant's name in its message.
func (s *Service) findClient(ctx context.Context, tenantID, clientID string, fresh bool) (c *Client, secrets clientSecrets, fromCache bool, err error) {
	appID, isGUID := iam.NormalizeGUID(clientID)
	cache := s.cached(ctx)
	var gen uint64
	key := clientKey{tenantID, appID}
	if cache != nil && isGUID {
		if e, ok := get(cache, cache.clients, key); ok && !fresh {
			cp := *e.client
			return &cp, e.secrets, true, nil
		}
		gen = cache.generation()
	}
	var tenant iam.Tenant
	err = s.st.Read(ctx, func(r store.Reader) error {
		var err error
		if isGUID {
			if c, secrets, err = loadClient(r, tenantID, appID); err != nil {
				return err
			}
		}
		if c == nil {
			// Only an unknown client's message needs the tenant's name.
			if tenant, err = r.Tenant(tenantID); errs.Is(err, errs.NotFound) {
				return tenantNotFound(tenantID)
			}
		}
		return err
	})
	if err != nil {
		return nil, secrets, false, err
	}
	if c == nil {
		return nil, secrets, false, aadsts(errs.Unauthenticated, 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenantName(tenant))
	}
	if cache != nil && isGUID {
		stored := *c
		put(cache, gen, cache.clients, key, &cachedClient{client: &stored, secrets: secrets})
	}
	return c, secrets, false, nil
}

// loadClient reads the client's service principal in tenantID and its
// application in the owner's tenant; a nil client if either is missing,
// or if the application is single-tenant and tenantID is not its own: as
// in Entra, such an app is not a client anywhere else, even where a
// service principal of it remains (one provisioned while the app was
// multi-tenant), so neither a token nor a sign-in in another tenant can
// name it.
func loadClient(r store.Reader, tenantID, appID string) (*Client, clientSecrets, error) {
	var secrets clientSecrets
	c := &Client{TenantID: tenantID}
	spObj, err := r.GetByKey(tenantID, iam.KindServicePrincipal, appID)
	if errs.Is(err, errs.NotFound) {
		return nil, secrets, nil
	} else if err != nil {
		return nil, secrets, err
	}
	if err := json.Unmarshal(spObj.Data, &c.ServicePrincipal); err != nil {
		return nil, secrets, errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", spObj.ID)
	}
	c.ServicePrincipal.ID = spObj.ID
	home := tenantID
	if o := c.ServicePrincipal.AppOwnerOrganizationID; o != nil && iam.IsGUID(*o) {
		home = strings.ToLower(*o)
	}
	appObj, err := r.GetByKey(home, iam.KindApplication, appID)
	if errs.Is(err, errs.NotFound) {
		return nil, secrets, nil
	} else if err != nil {
		return nil, secrets, err
	}
	if err := json.Unmarshal(appObj.Data, &c.Application); err != nil {
		return nil, secrets, errs.Wrap(errs.Internal, err, "authn: unreadable application %s", appObj.ID)
	}
	c.Application.ID = appObj.ID
	c.HomeTenantID = home
	if home != tenantID && !isMultiTenant(&c.Application) {
		return nil, secrets, nil
	}
	if len(appObj.Secret) > 0 {
		if err := json.Unmarshal(appObj.Secret, &secrets); err != nil {
			return nil, secrets, errs.Wrap(errs.Internal, err, "authn: unreadable credentials of application %s", appObj.ID)
		}
	}
	return c, secrets, nil
}

// matchSecret compares secret with every stored hash. It returns the keyId
// of a matching credential that is valid at now, or reports whether the
// secret matched only credentials outside their validity. A hash without
// its credential metadata (never written so by the directory) is ignored.
func matchSecret(creds []iam.PasswordCredential, hashes map[string]string, secret string, now time.Time) (keyID string, expired bool) {
	for _, cred := range creds {
		hash, ok := hashes[cred.KeyID]
		if !ok {
			continue
		}
		if !passwords.VerifyClientSecret(hash, secret) {
			continue
		}
		switch {
		case cred.EndDateTime != nil && !now.Before(*cred.EndDateTime):
			expired = true
		case cred.StartDateTime != nil && now.Before(*cred.StartDateTime):
			// Not yet valid: Entra treats it as a wrong secret.
		case keyID == "":
			keyID = cred.KeyID
		}
	}
	return keyID, expired
}

func tenantName(t iam.Tenant) string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.ID
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
