package tokens

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers access tokens that verified, until they expire,
// so a client presenting the same bearer token on every request pays one
// RSA verification per token rather than per request (the Graph path's
// largest cost otherwise). Entries are keyed by the SHA-256 of the whole
// token, so only the exact bytes that verified are ever served from here;
// each hit re-checks the token's times against the caller's clock.
//
// The cache is bounded: when full, expired entries are dropped, and if it
// is still full it is emptied (a burst of distinct tokens costs verification
// again, never unbounded memory). Access tokens cannot be revoked in Entra
// (outside continuous access evaluation), and a signing key is retired only
// after every token it signed has expired, so a cached token is never one
// the verifier would now refuse.
type verifiedCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]*AccessClaims
	max int
}

const verifiedCacheSize = 10_000

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{m: make(map[[sha256.Size]byte]*AccessClaims), max: max}
}

func (c *verifiedCache) get(key [sha256.Size]byte, now time.Time) (*AccessClaims, bool) {
	c.mu.RLock()
	claims, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !claims.validAt(now) {
		return nil, false
	}
	return claims, true
}

func (c *verifiedCache) put(key [sha256.Size]byte, claims *AccessClaims, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, v := range c.m {
			if !v.validAt(now) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			c.m = make(map[[sha256.Size]byte]*AccessClaims)
		}
	}
	c.m[key] = claims
}

// validAt applies the same time window as a fresh verification.
func (c *AccessClaims) validAt(now time.Time) bool {
	if now.After(c.Expiry.Add(ClockSkew)) {
		return false
	}
	return c.NotBefore.Unix() == 0 || !now.Add(ClockSkew).Before(c.NotBefore)
}
