// Package pace spaces out periodic housekeeping per key: a replica that
// purges expired records after a request (client assertion ids, device
// codes, passkey challenges) does so at most once an interval per tenant,
// so a busy tenant does not purge on every request. It is a few lines, but
// two services need it and neither may import the other.
package pace

import (
	"sync"
	"time"
)

// PerKey remembers, per key, when the work is next due. The zero value is
// ready to use and safe for concurrent use.
type PerKey struct {
	mu   sync.Mutex
	next map[string]time.Time
}

// Due reports whether key's work is due at now and, if so, claims it until
// now+every.
func (p *PerKey) Due(key string, now time.Time, every time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == nil {
		p.next = map[string]time.Time{}
	}
	if now.Before(p.next[key]) {
		return false
	}
	p.next[key] = now.Add(every)
	return true
}
