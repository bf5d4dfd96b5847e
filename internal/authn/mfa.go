package authn

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

// DefaultMFARegistrationGrace is how long security defaults let a user
// skip registering an MFA method, from the first time they are asked.
const DefaultMFARegistrationGrace = 14 * 24 * time.Hour

// MFARequirement is what an interactive sign-in owes after its first
// factor.
type MFARequirement struct {
	// Challenge: pass a registered second factor now.
	Challenge bool
	// Register: the user has no MFA method and is asked to register one.
	// Skippable until RegisterBy; a zero RegisterBy cannot be skipped.
	Register   bool
	RegisterBy time.Time
	// Reason says why, for the sign-in log ("securityDefaults").
	Reason string
	// TAP: the first factor was a Temporary Access Pass, which satisfies
	// MFA by itself (set by the sign-in pages, for the log).
	TAP bool
	// Passkey: the first factor was a passkey with user verification,
	// which satisfies MFA by itself (set by the sign-in pages, for the log).
	Passkey bool
	// EmergencyAccess: the user is an emergency-access account, excluded
	// from every interrupt that could lock it out (and flagged in the log).
	EmergencyAccess bool
}

// Required reports whether the sign-in must stop before a session exists.
func (m MFARequirement) Required() bool { return m.Challenge || m.Register }

// MFARequirement decides what a user's interactive sign-in owes beyond the
// password, under the tenant's security defaults (Conditional Access will
// add its own rules). hasMethod says whether the user has a registered MFA
// method (authenticator app or passkey); it is asked only when the answer
// matters (security defaults on), so a refresh in a tenant without them
// reads no methods.
//
// Ostiary's reading of security defaults: every user with an MFA method
// does MFA at every interactive sign-in (Entra asks ordinary users "when
// necessary", by a risk assessment Ostiary does not have; asking every
// time is the safe side of that); a user without one is asked to register,
// and may skip for the grace period (14 days by default) from the first
// time they are asked, unless they hold a privileged role, who must
// register at once.
func (s *Service) MFARequirement(ctx context.Context, tenantID string, user *iam.User, hasMethod func() (bool, error), now time.Time) (MFARequirement, error) {
	var out MFARequirement
	sd, err := s.securityDefaults(ctx, tenantID)
	if err != nil || !sd {
		return out, err
	}
	var emergency bool
	err = s.st.Read(ctx, func(r store.Reader) error {
		var err error
		emergency, err = isEmergencyAccess(r, tenantID, user.ID)
		return err
	})
	if err != nil {
		return out, err
	}
	out.Reason = "securityDefaults"
	if emergency {
		out.EmergencyAccess = true
		return out, nil
	}
	has, err := hasMethod()
	if err != nil {
		return out, err
	}
	if has {
		out.Challenge = true
		return out, nil
	}
	out.Register = true
	privileged, err := s.holdsPrivilegedRole(ctx, tenantID, user.ID)
	if err != nil || privileged {
		return out, err
	}
	grace := s.cfg.MFARegistrationGrace
	if grace <= 0 {
		grace = DefaultMFARegistrationGrace
	}
	var by time.Time
	err = s.updateState(ctx, tenantID, user.ID, now, func(st *signInState) bool {
		if st.MFARegisterBy == nil {
			t := now.Add(grace).UTC()
			st.MFARegisterBy = &t
			by = t
			return true
		}
		by = *st.MFARegisterBy
		return false
	})
	if err == nil && now.Before(by) {
		out.RegisterBy = by
	}
	return out, err
}

// holdsPrivilegedRole reports whether the user holds, tenant-wide, a
// built-in role Entra marks privileged.
func (s *Service) holdsPrivilegedRole(ctx context.Context, tenantID, userID string) (bool, error) {
	roles, err := s.UserWids(ctx, tenantID, userID)
	for _, r := range roles {
		if rbac.IsPrivileged(r) {
			return true, err
		}
	}
	return false, err
}

// isEmergencyAccess reports whether the tenant's emergency-access policy
// lists the user.
func isEmergencyAccess(r store.Reader, tenantID, userID string) (bool, error) {
	o, err := r.Get(tenantID, iam.KindEmergencyAccessPolicy, iam.EmergencyAccessPolicyID)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	var p iam.EmergencyAccessPolicy
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return false, errs.Wrap(errs.Internal, err, "authn: unreadable emergency access policy")
	}
	return slices.ContainsFunc(p.AccountIDs, func(id string) bool { return strings.EqualFold(id, userID) }), nil
}

// UserByName returns the live, enabled user with the user principal name,
// or errs.NotFound: for sign-in steps that precede the password (a
// Temporary Access Pass instead of it).
func (s *Service) UserByName(ctx context.Context, tenantID, username string) (*iam.User, error) {
	var u iam.User
	err := s.st.Read(ctx, func(r store.Reader) error {
		o, err := r.GetByKey(tenantID, iam.KindUser, username)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &u); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable user %s", o.ID)
		}
		u.ID = o.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		return nil, errs.E(errs.NotFound, "the account is disabled")
	}
	return &u, nil
}
