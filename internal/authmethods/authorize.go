package authmethods

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Authorization. A user's methods are reached through the user: every
// Graph call names one of Entra's users/authenticationMethods actions on
// the user, so the sensitive-actions matrix (rbac classifies these actions
// with the password-reset table) keeps a Helpdesk or Authentication
// Administrator away from a Global Administrator's methods, and the
// default user role's self-conditioned permissions let users manage their
// own.

// authorize asks whether c may perform action on the user userID (an
// object id or a UPN), and logs a refusal with its reason.
func (s *Service) authorize(ctx context.Context, c *iam.Caller, action, userID string) error {
	if err := s.decide(ctx, c, action, userID); err != nil {
		s.log.Info("access denied", "tenant", c.TenantID, "caller", c.ObjectID, "action", action, "target", userID, "reason", err)
		return err
	}
	return nil
}

func (s *Service) decide(ctx context.Context, c *iam.Caller, action, userID string) error {
	return s.authz.Authorize(ctx, c, authz.Request{Action: action, TargetKind: iam.KindUser, TargetID: userID,
		Resolve: func() (authz.Target, error) { return s.userTarget(ctx, c.TenantID, userID) }})
}

// authorizeRead allows reading with either read action: Authentication
// Administrator and Global Reader hold restrictedRead, whose only
// difference (masked phone numbers) has nothing to mask here.
func (s *Service) authorizeRead(ctx context.Context, c *iam.Caller, userID string) error {
	err := s.decide(ctx, c, authz.AuthMethodsRead, userID)
	if errs.KindOf(err) != errs.Denied {
		return err
	}
	if s.authorize(ctx, c, authz.AuthMethodsRestrictedRead, userID) == nil {
		return nil
	}
	return err
}

// userTarget is what the authorizer needs about the user.
func (s *Service) userTarget(ctx context.Context, tenantID, userID string) (authz.Target, error) {
	var t authz.Target
	err := s.st.Read(ctx, func(r store.Reader) error {
		o, err := liveUser(r, tenantID, userID)
		t = authz.Target{ID: o.ID, Kind: iam.KindUser}
		return err
	})
	return t, err
}

// liveUser reads a user that is not deleted, by object id or user
// principal name (Graph addresses users by either). Resolving a UPN here,
// under the methods' own authorization, lets a caller holding only
// UserAuthenticationMethod.* use one, as in Graph.
func liveUser(r store.Reader, tenantID, key string) (store.Object, error) {
	var (
		o   store.Object
		err error
	)
	if id, ok := iam.NormalizeGUID(key); ok {
		o, err = r.Get(tenantID, iam.KindUser, id)
	} else if strings.Contains(key, "@") {
		o, err = r.GetByKey(tenantID, iam.KindUser, key)
	} else {
		return store.Object{}, userNotFound(key)
	}
	if errs.KindOf(err) == errs.NotFound || (err == nil && o.Deleted()) {
		return store.Object{}, userNotFound(key)
	}
	return o, err
}

func userNotFound(id string) error {
	return errs.E(errs.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id).
		WithCode("Request_ResourceNotFound")
}

func methodNotFound(id string) error {
	return errs.E(errs.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id).
		WithCode("Request_ResourceNotFound")
}

// hasPassword reports whether the user's Secret holds a password hash
// (the directory's format: {"password": "<argon2id PHC>"}).
func hasPassword(o store.Object) bool {
	var sec struct {
		Password string `json:"password"`
	}
	return len(o.Secret) > 0 && json.Unmarshal(o.Secret, &sec) == nil && sec.Password != ""
}

// userFacts are the parts of a user this package reads.
type userFacts struct {
	ID                string  `json:"id"`
	UserPrincipalName string  `json:"userPrincipalName"`
	DisplayName       *string `json:"displayName"`
	UserType          *string `json:"userType"`
}

func factsOf(o store.Object) (userFacts, error) {
	var u userFacts
	if err := json.Unmarshal(o.Data, &u); err != nil {
		return u, errs.Wrap(errs.Internal, err, "decode user %s", o.ID)
	}
	u.ID = o.ID
	return u, nil
}

// isGuest reports a guest user (userType Guest).
func (u userFacts) isGuest() bool {
	return u.UserType != nil && strings.EqualFold(*u.UserType, "Guest")
}

// selfCaller is the user acting on their own methods outside Graph (the
// sign-in pages' registration), as audit records name them.
func selfCaller(tenantID string, u userFacts) *iam.Caller {
	c := &iam.Caller{Type: iam.CallerUser, TenantID: tenantID, ObjectID: u.ID, UserPrincipalName: u.UserPrincipalName}
	if u.DisplayName != nil {
		c.UserDisplayName = *u.DisplayName
	}
	return c
}
