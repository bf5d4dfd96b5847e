package authn

import (
	"context"
	"sync"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Every token request reads the same few rows: the tenant its URL names,
// the client (service principal, application and secret hashes) and the
// client's app role assignments on the resource. Reading them from the
// store was a fifth of a client-credentials token's CPU, so they are kept
// in memory and dropped when the store's change feed names a write that
// could change them (applications, service principals, domains and app
// role assignments are fed for this; see store.FedKinds).
//
// How current the cache is follows from the feed (package access reads
// it): a replica sees its own writes before its next token request
// (ChangeFeed.Current), and other replicas' within one poll of the feed
// (250 ms in the server). Entra itself takes minutes to propagate a removed
// credential; a quarter of a second is the behaviour chosen here.
//
// Only what was found is cached, so an unknown client or a secret that
// does not match costs a store read as before (and a secret added on
// another replica is found by that read, see findClient).

// ChangeFeed is how cached client state stays current (package access in
// the server).
type ChangeFeed interface {
	// Current returns once every write this replica committed has been
	// passed to the subscribers.
	Current(ctx context.Context) error
	// Subscribe registers fn for every change read from the feed; a change
	// with an empty TenantID means "anything may have changed".
	Subscribe(fn func(store.Change))
}

// clientCacheMax bounds each of the cache's maps; when one is full it
// starts over, which costs only store reads.
const clientCacheMax = 16384

// clientCache is safe for concurrent use. Entries are immutable once put.
// Its maps are cleared in place, never replaced, so get and put may be
// handed one of them before taking the lock.
type clientCache struct {
	mu sync.RWMutex
	// gen counts invalidations. A filler notes it before reading the
	// store and puts only if it has not moved, so a read that began before
	// a change can never put the old state back after the change dropped
	// it.
	gen       uint64
	tenants   map[string]iam.Tenant             // lower-case URL segment
	clients   map[clientKey]*cachedClient       // tenant and appId
	resources map[resourceKey]*resolvedResource // tenant and lower-case name
	roles     map[appRolesKey][]store.Link      // client and resource in a tenant
	consents  map[consentKey][]string           // granted scopes, sorted
	defaults  map[string]bool                   // security defaults by tenant
}

type clientKey struct{ tenantID, appID string }

type resourceKey struct{ tenantID, name string }

type appRolesKey struct{ tenantID, clientSPID, resourceSPID string }

type consentKey struct{ tenantID, clientSPID, resourceSPID, userID string }

// cachedClient is loadClient's result. Client is shared: callers copy it
// before setting per-request fields.
type cachedClient struct {
	client  *Client
	secrets clientSecrets
}

func newClientCache() *clientCache {
	return &clientCache{tenants: map[string]iam.Tenant{}, clients: map[clientKey]*cachedClient{},
		resources: map[resourceKey]*resolvedResource{}, roles: map[appRolesKey][]store.Link{},
		consents: map[consentKey][]string{}, defaults: map[string]bool{}}
}

// generation returns the value to pass to a put after reading the store.
func (c *clientCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// invalidate drops what a change could make stale. Writes of these kinds
// are rare beside token requests, so it drops a whole map rather than work
// out which tenants a multi-tenant application reaches.
func (c *clientCache) invalidate(ch store.Change) {
	all := ch.TenantID == ""
	clients := all || ch.Kind == iam.KindApplication || ch.Kind == iam.KindServicePrincipal ||
		ch.Kind == iam.KindDomain || ch.Kind == "" && ch.Rel == iam.RelAppRoleAssignment
	consents := clients || ch.Kind == iam.KindOAuth2PermissionGrant
	defaults := all || ch.Kind == iam.KindSecurityDefaultsPolicy
	if !consents && !defaults {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if clients {
		clear(c.tenants)
		clear(c.clients)
		clear(c.resources)
		clear(c.roles)
	}
	if consents {
		clear(c.consents)
	}
	if defaults {
		clear(c.defaults)
	}
}

// readThrough returns the value of k in the cache map that of picks, or
// what read returns, which it caches when read succeeds. Without a cache
// (or when the change feed cannot be read) it only reads.
func readThrough[K comparable, V any](s *Service, ctx context.Context, of func(*clientCache) map[K]V, k K, read func() (V, error)) (V, error) {
	cache := s.cached(ctx)
	if cache == nil {
		return read()
	}
	if v, ok := get(cache, of(cache), k); ok {
		return v, nil
	}
	gen := cache.generation()
	v, err := read()
	if err == nil {
		put(cache, gen, of(cache), k, v)
	}
	return v, err
}

// The maps readThrough may be given.
func tenantsOf(c *clientCache) map[string]iam.Tenant    { return c.tenants }
func consentsOf(c *clientCache) map[consentKey][]string { return c.consents }
func defaultsOf(c *clientCache) map[string]bool         { return c.defaults }

// get reads one of c's maps.
func get[K comparable, V any](c *clientCache, m map[K]V, k K) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := m[k]
	return v, ok
}

// put writes one of c's maps, unless an invalidation came after gen. A full
// map starts over, which costs only store reads.
func put[K comparable, V any](c *clientCache, gen uint64, m map[K]V, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(m) >= clientCacheMax {
		clear(m)
	}
	m[k] = v
}
