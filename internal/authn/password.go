package authn

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// LockoutPolicy is smart lockout (Entra's model): after Threshold failed
// passwords an account locks for Duration; once it has locked, every
// further failure locks it again for twice as long as the last time, up to
// MaxDuration. A successful sign-in, or ResetAfter without a failure,
// forgets the failures and the escalation.
//
// Failures from IP addresses the user has signed in from successfully
// (familiar) are counted apart from failures elsewhere (unfamiliar), each
// with its own lock: an attacker guessing from elsewhere locks the account
// only for unfamiliar addresses, and the user at a familiar one still gets
// in.
type LockoutPolicy struct {
	Threshold   int
	Duration    time.Duration
	MaxDuration time.Duration
	ResetAfter  time.Duration
	// FamiliarIPs is how many addresses of successful sign-ins are kept.
	FamiliarIPs int
}

// Lockout defaults: Entra's threshold and first lock (10 failures, 60 s).
const (
	DefaultLockoutThreshold = 10
	DefaultLockoutDuration  = time.Minute
	defaultMaxLockout       = time.Hour
	defaultLockoutReset     = 24 * time.Hour
	defaultFamiliarIPs      = 20
	// familiarRefresh bounds how often a sign-in from a known address
	// rewrites the state just to move its address to the front.
	familiarRefresh = time.Hour
)

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.Threshold <= 0 {
		p.Threshold = DefaultLockoutThreshold
	}
	if p.Duration <= 0 {
		p.Duration = DefaultLockoutDuration
	}
	if p.MaxDuration < p.Duration {
		p.MaxDuration = max(defaultMaxLockout, p.Duration)
	}
	if p.ResetAfter <= 0 {
		p.ResetAfter = defaultLockoutReset
	}
	if p.FamiliarIPs <= 0 {
		p.FamiliarIPs = defaultFamiliarIPs
	}
	return p
}

// lockoutCounter is the state of one kind of address (familiar or not).
type lockoutCounter struct {
	Failures    int        `json:"failures,omitempty"`
	Level       int        `json:"level,omitempty"` // locks so far; the next lasts Duration<<Level
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
	LastFailure *time.Time `json:"lastFailure,omitempty"`
}

func (c *lockoutCounter) locked(now time.Time) bool {
	return c.LockedUntil != nil && now.Before(*c.LockedUntil)
}

// fail counts a failure at now and reports whether it locked the account.
func (c *lockoutCounter) fail(p LockoutPolicy, now time.Time) bool {
	if c.LastFailure != nil && now.Sub(*c.LastFailure) > p.ResetAfter {
		*c = lockoutCounter{}
	}
	c.Failures++
	c.LastFailure = &now
	if c.Level == 0 && c.Failures < p.Threshold {
		return false
	}
	d := p.Duration << min(c.Level, 30)
	if d <= 0 || d > p.MaxDuration {
		d = p.MaxDuration
	}
	until := now.Add(d)
	c.LockedUntil, c.Failures = &until, 0
	c.Level++
	return true
}

type familiarIP struct {
	IP   string    `json:"ip"`
	Last time.Time `json:"last"`
}

// signInState is a user's sign-in protection state, stored as an object of
// kind signInState (id = the user's id) in its Secret column: addresses
// are personal data and never belong in a listable document.
type signInState struct {
	Familiar    lockoutCounter `json:"familiar"`
	Unfamiliar  lockoutCounter `json:"unfamiliar"`
	FamiliarIPs []familiarIP   `json:"familiarIps,omitempty"`
	// MFARegisterBy is when a user without an MFA method, first asked to
	// register under security defaults, can no longer skip it.
	MFARegisterBy *time.Time `json:"mfaRegisterBy,omitempty"`
}

func (st *signInState) isFamiliar(ip string) bool {
	for _, f := range st.FamiliarIPs {
		if ip != "" && f.IP == ip {
			return true
		}
	}
	return false
}

func (st *signInState) counter(ip string) *lockoutCounter {
	if st.isFamiliar(ip) {
		return &st.Familiar
	}
	return &st.Unfamiliar
}

// remember moves ip to the front of the familiar addresses; it reports
// whether anything worth a write changed.
func (st *signInState) remember(ip string, now time.Time, keep int) bool {
	if ip == "" {
		return false
	}
	for i, f := range st.FamiliarIPs {
		if f.IP == ip {
			if now.Sub(f.Last) < familiarRefresh {
				return false
			}
			st.FamiliarIPs = append(st.FamiliarIPs[:i], st.FamiliarIPs[i+1:]...)
			break
		}
	}
	st.FamiliarIPs = append([]familiarIP{{IP: ip, Last: now}}, st.FamiliarIPs...)
	if len(st.FamiliarIPs) > keep {
		st.FamiliarIPs = st.FamiliarIPs[:keep]
	}
	return true
}

// userSecret is the Secret column of a user, written by the directory.
type userSecret struct {
	Password string `json:"password"`
}

func (s *Service) lockUser(ctx context.Context, key string) (func(), error) {
	return s.userLocks.lock(ctx, key)
}

// dummyHash is a hash of a random password, verified for unknown users so
// the time taken does not tell which user names exist.
type dummyHash struct {
	once sync.Once
	hash string
	err  error
}

func (s *Service) dummyVerify(ctx context.Context, password string) error {
	s.dummy.once.Do(func() {
		s.dummy.hash, s.dummy.err = s.cfg.Hasher.Hash(context.Background(), iam.NewID())
	})
	if s.dummy.err != nil {
		return s.dummy.err
	}
	_, err := s.cfg.Hasher.Verify(ctx, s.dummy.hash, password)
	return err
}

// AuthenticatePassword checks a user's password at the token endpoint
// (ROPC) with smart lockout. username is a user principal name; ip is the
// caller's address. Failures carry Entra's codes: an unknown user
// AADSTS50034, a wrong password 50126, a locked account 50053, a disabled
// one 50057 (told only to a caller who knew the password). A saturated
// hasher is errs.Unavailable with code TooManyRequests. When the user
// exists it is returned with the error too, for the sign-in log.
func (s *Service) AuthenticatePassword(ctx context.Context, tenantID, username, password, ip string, now time.Time) (*iam.User, error) {
	if s.cfg.Hasher == nil {
		return nil, errs.E(errs.Internal, "authn: password sign-in is not configured")
	}
	username = strings.TrimSpace(username)
	unlock, err := s.lockUser(ctx, tenantID+"\x00"+strings.ToLower(username))
	if err != nil {
		return nil, err
	}
	defer unlock()

	var (
		user   iam.User
		secret userSecret
		state  signInState
		found  bool
	)
	err = s.st.Read(ctx, func(r store.Reader) error {
		o, err := r.GetByKey(tenantID, iam.KindUser, username)
		if errs.Is(err, errs.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		if err := json.Unmarshal(o.Data, &user); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable user %s", o.ID)
		}
		user.ID = o.ID
		if len(o.Secret) > 0 {
			if err := json.Unmarshal(o.Secret, &secret); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable secret of user %s", o.ID)
			}
		}
		state, err = readState(r, tenantID, o.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		if err := s.dummyVerify(ctx, password); err != nil {
			return nil, err
		}
		return nil, aadsts(errs.Unauthenticated, 50034, "The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", username, tenantID)
	}
	if state.counter(ip).locked(now) {
		return &user, errLocked()
	}
	ok := false
	if secret.Password == "" {
		err = s.dummyVerify(ctx, password)
	} else {
		ok, err = s.cfg.Hasher.Verify(ctx, secret.Password, password)
	}
	if err != nil {
		return &user, err
	}
	if !ok {
		if err := s.updateState(ctx, tenantID, user.ID, now, func(st *signInState) bool {
			st.counter(ip).fail(s.cfg.Lockout, now)
			return true
		}); err != nil {
			return &user, err
		}
		return &user, aadsts(errs.Unauthenticated, 50126, "Error validating credentials due to invalid username or password.")
	}
	if e := user.AccountEnabled; e != nil && !*e {
		return &user, aadsts(errs.Denied, 50057, "The user account is disabled.")
	}
	if err := s.updateState(ctx, tenantID, user.ID, now, func(st *signInState) bool {
		c := st.counter(ip)
		changed := c.Failures != 0 || c.Level != 0 || c.LockedUntil != nil
		*c = lockoutCounter{}
		return st.remember(ip, now, s.cfg.Lockout.FamiliarIPs) || changed
	}); err != nil {
		return nil, err
	}
	return &user, nil
}

func errLocked() error {
	return aadsts(errs.Denied, 50053, "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password.")
}

func readState(r store.Reader, tenantID, userID string) (signInState, error) {
	var st signInState
	o, err := r.Get(tenantID, iam.KindSignInState, userID)
	if errs.Is(err, errs.NotFound) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	if len(o.Secret) > 0 {
		if err := json.Unmarshal(o.Secret, &st); err != nil {
			return st, errs.Wrap(errs.Internal, err, "authn: unreadable sign-in state of user %s", userID)
		}
	}
	return st, nil
}

// updateState applies change to the user's sign-in state in one write
// transaction (re-reading it there, so concurrent replicas do not lose
// each other's counts); change reports whether to write.
func (s *Service) updateState(ctx context.Context, tenantID, userID string, now time.Time, change func(*signInState) bool) error {
	return s.st.Write(ctx, func(w store.Writer) error {
		o, err := w.Get(tenantID, iam.KindSignInState, userID)
		exists := err == nil
		if err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		var st signInState
		if exists && len(o.Secret) > 0 {
			if err := json.Unmarshal(o.Secret, &st); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable sign-in state of user %s", userID)
			}
		}
		if !change(&st) {
			return nil
		}
		secret, err := json.Marshal(st)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode sign-in state")
		}
		if !exists {
			return w.Insert(store.Object{TenantID: tenantID, Kind: iam.KindSignInState, ID: userID,
				CreatedAt: now, Data: []byte("{}"), Secret: secret})
		}
		o.Secret = secret
		return w.Update(o)
	})
}
