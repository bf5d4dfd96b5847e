package authmethods

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Brute force. A TOTP code is one of a million and three are valid at any
// time, so unlimited guesses would find one within hours. Wrong TOTP codes
// and Temporary Access Passes are counted per user; Threshold of them
// within Window lock both checks for Lock, doubled at each further lockout
// up to MaxLock, until a correct code resets the count. Passkeys are not
// counted: a wrong signature is not a guess that can succeed.

// LockoutPolicy limits wrong second-factor attempts.
type LockoutPolicy struct {
	Threshold int           // failures that lock (default 10)
	Window    time.Duration // in which they count (default 15 minutes)
	Lock      time.Duration // first lock (default 5 minutes)
	MaxLock   time.Duration // longest lock (default 24 hours)
}

// DefaultLockout is the policy used for zero fields.
var DefaultLockout = LockoutPolicy{Threshold: 10, Window: 15 * time.Minute, Lock: 5 * time.Minute, MaxLock: 24 * time.Hour}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.Threshold <= 0 {
		p.Threshold = DefaultLockout.Threshold
	}
	if p.Window <= 0 {
		p.Window = DefaultLockout.Window
	}
	if p.Lock <= 0 {
		p.Lock = DefaultLockout.Lock
	}
	if p.MaxLock < p.Lock {
		p.MaxLock = max(DefaultLockout.MaxLock, p.Lock)
	}
	return p
}

// lockState is a user's strongAuthenticationState document.
type lockState struct {
	Failures    int       `json:"failures"`
	WindowStart time.Time `json:"windowStart"`
	LockedUntil time.Time `json:"lockedUntil"`
	Lockouts    int       `json:"lockouts"`
}

// Error codes of second-factor checks, after Entra's: AADSTS50053 for a
// locked account, AADSTS500121 ("Authentication failed during strong
// authentication request") for a wrong code or pass.
const (
	codeLocked       = 50053
	codeStrongFailed = 500121
	// codeNotRegistered is AADSTS50079: MFA is required but the user has
	// not registered the method.
	codeNotRegistered = 50079
)

func aadsts(kind errs.Kind, code int, msg string) *errs.Error {
	return errs.E(kind, "%s", msg).WithCode("AADSTS" + strconv.Itoa(code))
}

func errLocked() error {
	return aadsts(errs.Denied, codeLocked, "Your account is temporarily locked to prevent unauthorized use. Try again later.")
}

func errWrongCode() error {
	return aadsts(errs.Unauthenticated, codeStrongFailed, "Authentication failed during strong authentication request.")
}

// limiter reads and updates one user's failure count inside a write.
type limiter struct {
	w      store.Writer
	tenant string
	user   string
	p      LockoutPolicy
	st     lockState
	exists bool
	obj    store.Object
}

func (s *Service) limiter(w store.Writer, tenantID, userID string) (*limiter, error) {
	l := &limiter{w: w, tenant: tenantID, user: userID, p: s.cfg.Lockout}
	o, err := w.Get(tenantID, iam.KindStrongAuthState, userID)
	switch {
	case errs.KindOf(err) == errs.NotFound:
		return l, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(o.Data, &l.st); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decode strong authentication state")
	}
	l.exists, l.obj = true, o
	return l, nil
}

// locked reports whether attempts are refused at now.
func (l *limiter) locked(now time.Time) bool { return now.Before(l.st.LockedUntil) }

// fail counts a failure at now; it reports whether the user is now locked.
func (l *limiter) fail(now time.Time) (bool, error) {
	if l.st.WindowStart.IsZero() || now.Sub(l.st.WindowStart) >= l.p.Window {
		l.st.Failures, l.st.WindowStart = 0, now
	}
	l.st.Failures++
	locked := false
	if l.st.Failures >= l.p.Threshold {
		d := l.p.Lock
		for i := 0; i < l.st.Lockouts && d < l.p.MaxLock; i++ {
			d *= 2
		}
		l.st.LockedUntil = now.Add(min(d, l.p.MaxLock))
		l.st.Lockouts++
		l.st.Failures, l.st.WindowStart = 0, time.Time{}
		locked = true
	}
	return locked, l.save(now)
}

// succeed forgets the failures after a correct code.
func (l *limiter) succeed(now time.Time) error {
	if !l.exists || (l.st.Failures == 0 && l.st.Lockouts == 0) {
		return nil
	}
	l.st = lockState{}
	return l.save(now)
}

func (l *limiter) save(now time.Time) error {
	data, err := json.Marshal(l.st)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode strong authentication state")
	}
	if l.exists {
		l.obj.Data = data
		return l.w.Update(l.obj)
	}
	l.obj = store.Object{TenantID: l.tenant, Kind: iam.KindStrongAuthState, ID: l.user, DisplayName: l.user, CreatedAt: now, Data: data}
	l.exists = true
	return l.w.Insert(l.obj)
}
