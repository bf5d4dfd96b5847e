package directory

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// userSecret is what a user's Secret column holds.
type userSecret struct {
	// Password is an argon2id PHC string.
	Password string `json:"password,omitempty"`
}

// CreateUser adds a user from a Graph create body.
func (s *Service) CreateUser(ctx context.Context, c *iam.Caller, body Patch) (iam.User, error) {
	if err := s.authorize(ctx, c, authz.UsersCreate, iam.KindUser, ""); err != nil {
		return iam.User{}, err
	}
	var u iam.User
	binds, err := decodeBody(&u, body, "microsoft.graph.user")
	if err != nil {
		return iam.User{}, err
	}
	if len(binds) > 0 {
		return iam.User{}, badRequest("Binding references is not supported when creating a user.")
	}
	switch {
	case u.AccountEnabled == nil:
		return iam.User{}, missing("accountEnabled", "User")
	case deref(u.DisplayName) == "":
		return iam.User{}, missing("displayName", "User")
	case deref(u.MailNickname) == "":
		return iam.User{}, missing("mailNickname", "User")
	case u.UserPrincipalName == "":
		return iam.User{}, missing("userPrincipalName", "User")
	case u.PasswordProfile == nil || u.PasswordProfile.Password == nil:
		return iam.User{}, missing("passwordProfile", "User")
	}
	if err := validUPN(u.UserPrincipalName); err != nil {
		return iam.User{}, err
	}
	if err := checkPassword(*u.PasswordProfile.Password, u.PasswordPolicies); err != nil {
		return iam.User{}, err
	}
	hash, err := s.hasher.Hash(ctx, *u.PasswordProfile.Password)
	if err != nil {
		return iam.User{}, err
	}
	now := s.clock()
	u.ID = iam.NewID()
	u.CreatedDateTime = &now
	u.DeletedDateTime = nil
	u.LastPasswordChangeDateTime = &now
	u.PasswordProfile.Password = nil
	u.ProxyAddresses = nil
	if u.UserType == nil {
		u.UserType = str("Member")
	}
	normalizeUser(&u)
	secret, _ := json.Marshal(userSecret{Password: hash})
	err = s.store.Write(ctx, func(w store.Writer) error {
		if err := s.requireVerifiedDomain(w, c.TenantID, u.UserPrincipalName); err != nil {
			return err
		}
		data, err := encode(u)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindUser, ID: u.ID, Key: u.UserPrincipalName,
			DisplayName: deref(u.DisplayName), CreatedAt: now, Data: data, Secret: secret})
		if errs.Is(err, errs.Conflict) {
			return badRequest("Another object with the same value for property userPrincipalName already exists.")
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.UserManagement, Activity: "Add user", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindUser, u.ID, u.DisplayName, u.UserPrincipalName,
				audit.Changed("AccountEnabled", nil, u.AccountEnabled), audit.Changed("DisplayName", nil, u.DisplayName),
				audit.Changed("UserPrincipalName", nil, u.UserPrincipalName))}})
	})
	return u, err
}

// GetUser returns a live user by object id or user principal name.
func (s *Service) GetUser(ctx context.Context, c *iam.Caller, key string) (iam.User, error) {
	return readOne[iam.User](s, ctx, c, authz.UsersRead, iam.KindUser, key, func(r store.Reader) (store.Object, error) {
		return s.userObject(r, c.TenantID, key)
	})
}

// GetUserDocument is GetUser returning the stored document as it is, for
// transports that render JSON anyway: the hot GET /users/{id} path then
// skips a decode into iam.User and the encode back.
func (s *Service) GetUserDocument(ctx context.Context, c *iam.Caller, key string) (Object, error) {
	var out Object
	if err := s.authorize(ctx, c, authz.UsersRead, iam.KindUser, key); err != nil {
		return out, err
	}
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := s.userObject(r, c.TenantID, key)
		out = Object{Kind: o.Kind, Data: o.Data}
		return err
	})
	return out, err
}

// userObject finds a live user by id or UPN.
func (s *Service) userObject(r store.Reader, tenantID, key string) (store.Object, error) {
	if iam.IsGUID(key) {
		return get(r, tenantID, iam.KindUser, key)
	}
	o, err := r.GetByKey(tenantID, iam.KindUser, key)
	if errs.Is(err, errs.NotFound) {
		return o, notFound(key)
	}
	return o, err
}

// ListUsers lists live users.
func (s *Service) ListUsers(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.User], error) {
	return readPage[iam.User](s, ctx, c, authz.UsersRead, iam.KindUser, q)
}

// UpdateUser applies a Graph PATCH to a user.
func (s *Service) UpdateUser(ctx context.Context, c *iam.Caller, key string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.authorizeUserPatch(ctx, c, key, members); err != nil {
		return err
	}
	var newHash string
	if raw, ok := members["passwordProfile"]; ok {
		var pp iam.PasswordProfile
		if json.Unmarshal(raw, &pp) == nil && pp.Password != nil {
			policies, err := s.passwordPolicies(ctx, c, key, members)
			if err != nil {
				return err
			}
			if err := checkPassword(*pp.Password, policies); err != nil {
				return err
			}
			if newHash, err = s.hasher.Hash(ctx, *pp.Password); err != nil {
				return err
			}
		}
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := s.userObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		old, err := decode[iam.User](o)
		if err != nil {
			return err
		}
		u := old
		u.PasswordProfile = nil
		if _, err := applyPatch(&u, p, "microsoft.graph.user", "id", "createdDateTime", "deletedDateTime",
			"lastPasswordChangeDateTime", "signInSessionsValidFromDateTime", "proxyAddresses", "creationType"); err != nil {
			return err
		}
		if u.UserPrincipalName != old.UserPrincipalName {
			if err := validUPN(u.UserPrincipalName); err != nil {
				return err
			}
			if err := s.requireVerifiedDomain(w, c.TenantID, u.UserPrincipalName); err != nil {
				return err
			}
		}
		if deref(u.DisplayName) == "" {
			return badRequest("Invalid value specified for property 'displayName' of resource 'User'.")
		}
		if newHash != "" {
			o.Secret, _ = json.Marshal(userSecret{Password: newHash})
			u.LastPasswordChangeDateTime = &now
			// A new password ends every session and refresh token issued before it.
			u.SignInSessionsValidFromDateTime = &now
		}
		if u.PasswordProfile != nil {
			u.PasswordProfile.Password = nil
		} else {
			u.PasswordProfile = old.PasswordProfile
		}
		normalizeUser(&u)
		if o.Data, err = encode(u); err != nil {
			return err
		}
		o.Key, o.DisplayName = u.UserPrincipalName, deref(u.DisplayName)
		if err := w.Update(o); errs.Is(err, errs.Conflict) {
			return badRequest("Another object with the same value for property userPrincipalName already exists.")
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.UserManagement, Activity: "Update user", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindUser, u.ID, u.DisplayName, u.UserPrincipalName, changes(old, u, members)...)}})
	})
}

// DeleteUser soft-deletes a user into deletedItems.
func (s *Service) DeleteUser(ctx context.Context, c *iam.Caller, key string) error {
	if err := s.authorize(ctx, c, authz.UsersDelete, iam.KindUser, key); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := s.userObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		if err := keepsGlobalAdmin(w, c.TenantID, iam.RoleAssignment{}, o.ID); err != nil {
			return err
		}
		return s.softDelete(w, c, o, audit.UserManagement, "Delete user")
	})
}

// RevokeSignInSessions invalidates the user's refresh tokens and sessions.
func (s *Service) RevokeSignInSessions(ctx context.Context, c *iam.Caller, key string) error {
	if err := s.authorize(ctx, c, authz.UsersRevokeTokens, iam.KindUser, key); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := s.userObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		u, err := decode[iam.User](o)
		if err != nil {
			return err
		}
		u.SignInSessionsValidFromDateTime = &now
		if o.Data, err = encode(u); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.UserManagement, Activity: "Invalidate all refresh tokens for user", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindUser, u.ID, u.DisplayName, u.UserPrincipalName)}})
	})
}

// checkPassword applies Entra's password rule, relaxed to the length and
// character set when the user's passwordPolicies hold DisableStrongPassword.
func checkPassword(pw string, policies *string) error {
	for _, p := range strings.Split(deref(policies), ",") {
		if strings.EqualFold(strings.TrimSpace(p), "DisableStrongPassword") {
			return passwords.CheckLength(pw)
		}
	}
	return passwords.CheckComplexity(pw)
}

// passwordPolicies is the passwordPolicies a patch leaves in force: its own
// value when it sets one, else the stored one.
func (s *Service) passwordPolicies(ctx context.Context, c *iam.Caller, key string, members map[string]json.RawMessage) (*string, error) {
	if raw, ok := members["passwordPolicies"]; ok {
		var p *string
		if json.Unmarshal(raw, &p) != nil {
			return nil, badRequest("Invalid value specified for property 'passwordPolicies' of resource 'User'.")
		}
		return p, nil
	}
	var p *string
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := s.userObject(r, c.TenantID, key)
		if err != nil {
			return err
		}
		u, err := decode[iam.User](o)
		p = u.PasswordPolicies
		return err
	})
	return p, err
}

// requireVerifiedDomain checks that a UPN's domain is a verified domain of the tenant.
func (s *Service) requireVerifiedDomain(r store.Reader, tenantID, upn string) error {
	name := iam.DomainOf(upn)
	o, err := r.Get(tenantID, iam.KindDomain, name)
	if err == nil {
		if d, err := decode[iam.Domain](o); err == nil && d.IsVerified {
			return nil
		}
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
}

// validUPN checks the shape alias@domain with characters Entra allows.
func validUPN(upn string) error {
	at := strings.LastIndexByte(upn, '@')
	if at <= 0 || at == len(upn)-1 || len(upn) > 113 || strings.ContainsAny(upn, " \t\r\n\"(),:;<>[\\]") {
		return badRequest("Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	local := upn[:at]
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") || len(local) > 64 {
		return badRequest("Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	return nil
}

func normalizeUser(u *iam.User) {
	if u.BusinessPhones == nil {
		u.BusinessPhones = []string{}
	}
	if u.OtherMails == nil {
		u.OtherMails = []string{}
	}
	if u.ProxyAddresses == nil {
		u.ProxyAddresses = []string{}
	}
	if u.Identities == nil {
		u.Identities = []iam.ObjectIdentity{}
	}
	if u.Mail != nil && *u.Mail != "" {
		u.ProxyAddresses = []string{"SMTP:" + *u.Mail}
	}
}

func missing(prop, resource string) error {
	return badRequest("Invalid value specified for property '%s' of resource '%s'.", prop, resource)
}

// changes lists the modified properties named in a patch, for audit.
func changes(old, new any, members map[string]json.RawMessage) []iam.ModifiedProperty {
	var o, n map[string]json.RawMessage
	ob, _ := json.Marshal(old)
	nb, _ := json.Marshal(new)
	_ = json.Unmarshal(ob, &o)
	_ = json.Unmarshal(nb, &n)
	out := []iam.ModifiedProperty{}
	for k := range members {
		if k == "passwordProfile" {
			out = append(out, iam.ModifiedProperty{DisplayName: "PasswordProfile"})
			continue
		}
		if v, ok := n[k]; ok && !jsonEqual(o[k], v) {
			out = append(out, audit.Changed(k, o[k], v))
		}
	}
	return out
}

// userPropertyActions are the user properties whose change is an Entra
// action of its own rather than users/basic/update: a Helpdesk
// Administrator resets passwords without editing profiles, and no custom
// role can disable an account or rename its sign-in name.
var userPropertyActions = map[string]string{
	"passwordProfile":   authz.UsersPassword,
	"passwordPolicies":  authz.UsersPassword,
	"userPrincipalName": authz.UsersUPN,
	"usageLocation":     authz.UsersUsageLocation,
}

// authorizeUserPatch authorizes every action a PATCH of members performs on
// the user key names.
func (s *Service) authorizeUserPatch(ctx context.Context, c *iam.Caller, key string, members map[string]json.RawMessage) error {
	actions := map[string]bool{}
	basic := false
	for m, raw := range members {
		switch {
		case m == "accountEnabled":
			if string(raw) == "false" {
				actions[authz.UsersDisable] = true
			} else {
				actions[authz.UsersEnable] = true
			}
		case userPropertyActions[m] != "":
			actions[userPropertyActions[m]] = true
		default:
			basic = true
		}
	}
	if basic {
		if err := s.check(ctx, c, authz.Request{Action: authz.UsersUpdate, TargetKind: iam.KindUser, TargetID: key,
			SensitiveAttributes: touches(members, sensitiveUserProperties)}); err != nil {
			return err
		}
		if c.Type == iam.CallerUser && authz.IsSelf(c, key) && !only(members, selfServiceUserProperties) {
			// The default user role lets users update their own profile,
			// but only its self-service part; anything else needs a role
			// that updates users in general (Ostiary's choice: one held at
			// the tenant, since an administrator editing themself is rare).
			if err := s.authorize(ctx, c, authz.UsersUpdate, iam.KindUser, ""); err != nil {
				return err
			}
		}
	}
	for _, a := range slices.Sorted(maps.Keys(actions)) {
		if err := s.authorize(ctx, c, a, iam.KindUser, key); err != nil {
			return err
		}
	}
	return nil
}

// sensitiveUserProperties are the user properties Entra's sensitive-actions
// matrix protects: changing them on an administrator needs a role allowed
// to act on that administrator.
var sensitiveUserProperties = []string{"accountEnabled", "businessPhones", "mobilePhone", "otherMails",
	"onPremisesImmutableId", "passwordProfile", "userPrincipalName"}

// selfServiceUserProperties are what a user may change on their own
// profile with nothing but the default user role. Ostiary's choice, after
// Entra's documented self-service profile (the about-me properties users
// edit in their account page); account, identity and contact properties an
// organisation manages stay with administrators.
var selfServiceUserProperties = []string{"aboutMe", "birthday", "interests", "mySite", "pastProjects",
	"preferredName", "responsibilities", "schools", "skills", "preferredLanguage"}

func touches(members map[string]json.RawMessage, props []string) bool {
	for _, p := range props {
		if _, ok := members[p]; ok {
			return true
		}
	}
	return false
}

func only(members map[string]json.RawMessage, props []string) bool {
	for m := range members {
		if !slices.Contains(props, m) {
			return false
		}
	}
	return true
}
