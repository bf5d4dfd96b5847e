package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// ClockSkew is how far the verifier lets a token's times disagree with its
// own clock, in both directions (Entra's validators default to 5 minutes).
const ClockSkew = 5 * time.Minute

// Defaults for KeyConfig.
const (
	DefaultRotationPeriod = 30 * 24 * time.Hour
	// DefaultPrepublish is twice the JWKS max-age (one day), so a validator
	// that cached the key set just before the next key appeared still
	// refreshes before that key starts signing.
	DefaultPrepublish = 48 * time.Hour
	// DefaultOverlap keeps a retired key published for a day: far longer
	// than the 90-minute maximum access token life, and long enough for a
	// replica that missed a reload to still be verifiable.
	DefaultOverlap = 24 * time.Hour
)

// rotationLock names the cluster lock that serialises key changes.
const rotationLock = "tokens.signing-keys"

// KeyConfig tunes rotation. Zero values take the defaults.
type KeyConfig struct {
	// RotationPeriod is how long a key stays current.
	RotationPeriod time.Duration
	// Prepublish is how long a next key must have been published before it
	// may become current; it is capped at RotationPeriod.
	Prepublish time.Duration
	// Overlap is how long a previous key stays published after it stopped
	// signing. It must be at least the longest token lifetime plus
	// ClockSkew; NewIssuer refuses a lifetime that breaks this.
	Overlap time.Duration
}

func (c *KeyConfig) applyDefaults() error {
	if c.RotationPeriod == 0 {
		c.RotationPeriod = DefaultRotationPeriod
	}
	if c.Prepublish == 0 {
		c.Prepublish = DefaultPrepublish
	}
	if c.Overlap == 0 {
		c.Overlap = DefaultOverlap
	}
	if c.RotationPeriod < 0 || c.Prepublish < 0 || c.Overlap < 0 {
		return errs.E(errs.Invalid, "tokens: key rotation durations must be positive")
	}
	c.Prepublish = min(c.Prepublish, c.RotationPeriod)
	return nil
}

// Keys manages the signing keys: their life in the store and the parsed set
// in memory. It is safe for concurrent use.
type Keys struct {
	st    store.Store
	box   Sealer
	cfg   KeyConfig
	owner string // this process's identity for the cluster lock

	set atomic.Pointer[keySet]
	// mu serialises reconcile within a process; the store lock does it
	// across replicas.
	mu sync.Mutex
}

// NewKeys returns a key manager with an empty key set; call EnsureKeys (at
// startup) before issuing tokens.
func NewKeys(st store.Store, box Sealer, cfg KeyConfig) (*Keys, error) {
	if st == nil || box == nil {
		return nil, errs.E(errs.Invalid, "tokens: NewKeys needs a store and a sealer")
	}
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	k := &Keys{st: st, box: box, cfg: cfg, owner: iam.NewID()}
	k.set.Store(&keySet{byKID: map[string]*parsedKey{}})
	return k, nil
}

// Overlap reports how long a retired key stays published.
func (k *Keys) Overlap() time.Duration { return k.cfg.Overlap }

// PublishedKeys returns the keys to publish in the JWKS: previous, current
// and next. The slice is shared; callers must not modify it.
func (k *Keys) PublishedKeys() []PublicKey { return k.set.Load().published }

// EnsureKeys creates the current and next keys when they are missing and
// loads the key set. Run it at startup; it is cheap when the keys exist.
// Several replicas may run it at once: the store transaction re-checks
// what exists, so at most one current key results.
func (k *Keys) EnsureKeys(ctx context.Context, now time.Time) error {
	return k.reconcile(ctx, now, false)
}

// Rotate promotes keys when the schedule says so (next → current →
// previous), creates a new next key, forgets previous keys whose overlap has
// passed, and reloads. Every replica should call it periodically (hourly is
// plenty): the replica holding the cluster lock makes the changes, the
// others only reload. The reload interval must stay well below Overlap minus
// the token lifetime, so a replica never signs with a key that is gone.
func (k *Keys) Rotate(ctx context.Context, now time.Time) error {
	return k.reconcile(ctx, now, true)
}

// Reload replaces the in-memory key set with what the store holds.
func (k *Keys) Reload(ctx context.Context) error {
	var stored []storedKey
	err := k.st.Read(ctx, func(r store.Reader) error {
		var err error
		stored, err = listKeys(r)
		return err
	})
	if err != nil {
		return err
	}
	set, err := buildKeySet(k.box, stored)
	if err != nil {
		return err
	}
	k.set.Store(set)
	return nil
}

// errNeedMoreKeys restarts reconcile when the store changed between the
// plan and the write in a way that needs more fresh keys than were made.
var errNeedMoreKeys = errors.New("tokens: key plan changed")

func (k *Keys) reconcile(ctx context.Context, now time.Time, rotate bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()

	locked, err := k.st.TryLock(ctx, rotationLock, k.owner, 2*time.Minute)
	if err != nil {
		return err
	}
	if locked {
		defer func() { _ = k.st.Unlock(context.WithoutCancel(ctx), rotationLock, k.owner) }()
	} else if rotate {
		// Another replica is rotating; pick up its result.
		return k.Reload(ctx)
	}
	// EnsureKeys goes on without the lock: the transaction below re-reads
	// the keys, so a lost race only wastes the keys generated here.

	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			return errs.E(errs.Unavailable, "tokens: the signing keys kept changing during reconciliation; try again")
		}
		var stored []storedKey
		if err := k.st.Read(ctx, func(r store.Reader) error {
			var err error
			stored, err = listKeys(r)
			return err
		}); err != nil {
			return err
		}
		p := planKeys(stored, now, k.cfg, rotate)
		if p.empty() {
			break
		}
		// Key generation is slow; do it before the write transaction.
		fresh := make([]newKey, 0, p.fresh)
		for range p.fresh {
			nk, err := generateKey(k.box, now)
			if err != nil {
				return err
			}
			fresh = append(fresh, nk)
		}
		err := k.st.Write(ctx, func(w store.Writer) error {
			stored, err := listKeys(w)
			if err != nil {
				return err
			}
			p := planKeys(stored, now, k.cfg, rotate)
			if p.fresh > len(fresh) {
				return errNeedMoreKeys
			}
			return p.apply(w, fresh, now)
		})
		if errors.Is(err, errNeedMoreKeys) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	return k.Reload(ctx)
}

// keyPlan is what reconcile changes: state moves and deletions of stored
// keys, and how many fresh keys it needs (for a missing current, then next).
type keyPlan struct {
	moves   []keyMove
	deletes []string
	// newCurrent and newNext say which fresh keys are needed; fresh counts them.
	newCurrent, newNext bool
	fresh               int
}

type keyMove struct {
	key storedKey
	to  KeyState
}

func (p keyPlan) empty() bool { return len(p.moves) == 0 && len(p.deletes) == 0 && p.fresh == 0 }

// planKeys decides what to change. It is a pure function of the stored keys
// and the time, so the read before key generation and the re-read inside
// the write transaction agree unless another writer intervened.
func planKeys(stored []storedKey, now time.Time, cfg KeyConfig, rotate bool) keyPlan {
	var p keyPlan
	var cur, next *storedKey
	for i := range stored {
		sk := &stored[i]
		switch sk.doc.State {
		case StateCurrent:
			if cur == nil || activatedAt(sk).After(activatedAt(cur)) {
				cur = sk
			}
		case StateNext:
			if next == nil || sk.doc.CreatedDateTime.After(next.doc.CreatedDateTime) {
				next = sk
			}
		}
	}
	// Extra current keys (never expected) stop signing but stay verifiable.
	for i := range stored {
		if sk := &stored[i]; sk.doc.State == StateCurrent && sk != cur {
			p.moves = append(p.moves, keyMove{*sk, StatePrevious})
		}
	}
	switch {
	case cur == nil && next != nil:
		// The next key is already published: use it rather than a new one.
		p.moves = append(p.moves, keyMove{*next, StateCurrent})
		next = nil
	case cur == nil:
		p.newCurrent = true
		p.fresh++
	case rotate && next != nil &&
		!now.Before(activatedAt(cur).Add(cfg.RotationPeriod)) &&
		!now.Before(next.doc.CreatedDateTime.Add(cfg.Prepublish)):
		p.moves = append(p.moves, keyMove{*cur, StatePrevious}, keyMove{*next, StateCurrent})
		next = nil
	}
	if next == nil {
		p.newNext = true
		p.fresh++
	}
	if rotate {
		for _, sk := range stored {
			if sk.doc.State == StatePrevious && sk.doc.RetiredDateTime != nil &&
				!now.Before(sk.doc.RetiredDateTime.Add(cfg.Overlap)) {
				p.deletes = append(p.deletes, sk.id)
			}
		}
	}
	return p
}

func (p keyPlan) apply(w store.Writer, fresh []newKey, now time.Time) error {
	now = now.UTC()
	for _, m := range p.moves {
		o, err := w.Get("", iam.KindSigningKey, m.key.id)
		if err != nil {
			return err
		}
		doc := m.key.doc
		doc.State = m.to
		switch m.to {
		case StateCurrent:
			doc.ActivatedDateTime = &now
		case StatePrevious:
			doc.RetiredDateTime = &now
		}
		if o.Data, err = jsonMarshal(doc); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
	}
	for _, id := range p.deletes {
		if err := w.Delete("", iam.KindSigningKey, id); err != nil {
			return err
		}
	}
	states := []KeyState{}
	if p.newCurrent {
		states = append(states, StateCurrent)
	}
	if p.newNext {
		states = append(states, StateNext)
	}
	for i, st := range states {
		o, _, err := fresh[i].object(st, now)
		if err != nil {
			return err
		}
		if err := w.Insert(o); err != nil {
			return err
		}
	}
	return nil
}

// listKeys reads every live signing key.
func listKeys(r store.Reader) ([]storedKey, error) {
	var out []storedKey
	q := query.List{Top: query.MaxTop}
	for {
		page, err := r.List("", iam.KindSigningKey, store.Live, q)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Items {
			sk, err := decodeStored(o)
			if err != nil {
				return nil, err
			}
			out = append(out, sk)
		}
		if page.Next == nil {
			return out, nil
		}
		q.After = page.Next
	}
}

func jsonMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "tokens: cannot encode JSON")
	}
	return b, nil
}
