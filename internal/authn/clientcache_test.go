package authn

import (
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// A read that began before a change must not put the old state back after
// the change dropped it; changes to kinds the cache does not hold drop
// nothing.
func TestClientCacheGenerations(t *testing.T) {
	c := newClientCache()
	k := clientKey{"t", "a"}
	gen := c.generation()
	c.invalidate(store.Change{TenantID: "t", Kind: iam.KindApplication, ID: "x"})
	put(c, gen, c.clients, k, &cachedClient{client: &Client{}})
	if _, ok := get(c, c.clients, k); ok {
		t.Fatal("a read from before an invalidation was cached")
	}
	gen = c.generation()
	put(c, gen, c.clients, k, &cachedClient{client: &Client{}})
	c.invalidate(store.Change{TenantID: "t", Kind: iam.KindUser, ID: "u"})
	c.invalidate(store.Change{TenantID: "t", Rel: iam.RelMember, ID: "g", TargetID: "u"})
	if _, ok := get(c, c.clients, k); !ok {
		t.Fatal("a change to users or memberships dropped cached clients")
	}
	for _, ch := range []store.Change{
		{TenantID: "t", Kind: iam.KindServicePrincipal, ID: "s"},
		{TenantID: "t", Kind: iam.KindDomain, ID: "d"},
		{TenantID: "t", Rel: iam.RelAppRoleAssignment, ID: "s", TargetID: "r"},
		{}, // the feed was not read for too long
	} {
		gen = c.generation()
		put(c, gen, c.clients, k, &cachedClient{client: &Client{}})
		c.invalidate(ch)
		if _, ok := get(c, c.clients, k); ok {
			t.Errorf("%+v did not drop the cache", ch)
		}
	}
}
