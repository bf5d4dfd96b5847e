package authn

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// LookupClient finds a client application without a credential, for
// public client flows. Public reports whether the application allows them
// (isFallbackPublicClient, or publicClient redirect URIs). Unknown clients
// are AADSTS700016 and disabled ones 7000112.
func (s *Service) LookupClient(ctx context.Context, tenantID, clientID string) (c *Client, public bool, err error) {
	appID, _ := iam.NormalizeGUID(clientID)
	if c, _, _, err = s.findClient(ctx, tenantID, clientID, false); err != nil {
		return nil, false, err
	}
	if e := c.ServicePrincipal.AccountEnabled; e != nil && !*e {
		return nil, false, aadsts(errs.Denied, 7000112, "Application '%s'(%s) is disabled.", appID, deref(c.ServicePrincipal.DisplayName))
	}
	a := c.Application
	public = a.IsFallbackPublicClient != nil && *a.IsFallbackPublicClient ||
		a.PublicClient != nil && len(a.PublicClient.RedirectURIs) > 0
	return c, public, nil
}

// DelegatedGrant is a resource a user token is asked for and the delegated
// scopes the client may use on it for one user.
type DelegatedGrant struct {
	ResourceGrant
	// Scopes are the granted scope values, in the resource's spelling,
	// sorted: the union of the client's AllPrincipals grant and the user's
	// own Principal grant.
	Scopes []string
}

// Granted returns the granted spelling of scope value v, compared without
// regard to case, and whether it is granted.
func (g *DelegatedGrant) Granted(v string) (string, bool) {
	for _, s := range g.Scopes {
		if strings.EqualFold(s, v) {
			return s, true
		}
	}
	return "", false
}

var (
	grantClient    = query.Field{Path: "clientId", Type: query.GUID}
	grantResource  = query.Field{Path: "resourceId", Type: query.GUID}
	grantPrincipal = query.Field{Path: "principalId", Type: query.GUID}
	grantType      = query.Field{Path: "consentType", Type: query.String}
)

func eqGUID(f query.Field, v string) query.Expr {
	return query.Cmp{Field: f, Op: query.Eq, Value: query.Value{Type: query.GUID, Str: v}}
}

// DelegatedScopes resolves resource like GrantedAppRoles and reads the
// delegated permission grants of the client service principal clientSPID
// on it that apply to userID. Grants are read on every request, so revoked
// consent never reaches a new token.
func (s *Service) DelegatedScopes(ctx context.Context, tenantID, clientSPID, userID, resource string) (*DelegatedGrant, error) {
	rg, err := s.GrantedAppRoles(ctx, tenantID, clientSPID, resource)
	if err != nil {
		return nil, err
	}
	g := &DelegatedGrant{ResourceGrant: *rg}
	g.Roles = nil // app roles of the client are not the user's
	key := consentKey{tenantID, clientSPID, rg.ServicePrincipalID, userID}
	if g.Scopes, err = readThrough(s, ctx, consentsOf, key, func() ([]string, error) { return s.readConsent(ctx, key) }); err != nil {
		return nil, err
	}
	return g, nil
}

// readConsent reads the scopes granted to a client on a resource for one
// user: its AllPrincipals grant and the user's own, sorted, deduplicated.
func (s *Service) readConsent(ctx context.Context, key consentKey) ([]string, error) {
	tenantID, clientSPID, resourceSPID, userID := key.tenantID, key.clientSPID, key.resourceSPID, key.userID
	var scopes []string
	err := s.st.Read(ctx, func(r store.Reader) error {
		p, err := r.List(tenantID, iam.KindOAuth2PermissionGrant, store.Live, query.List{
			Filter: query.And{eqGUID(grantClient, clientSPID), eqGUID(grantResource, resourceSPID),
				query.Or{
					query.Cmp{Field: grantType, Op: query.Eq, Value: query.Value{Type: query.String, Str: iam.ConsentAllPrincipals}},
					eqGUID(grantPrincipal, userID),
				}},
			Top: 10,
		})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			var pg iam.OAuth2PermissionGrant
			if err := json.Unmarshal(o.Data, &pg); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable grant %s", o.ID)
			}
			if pg.ClientID != clientSPID || pg.ResourceID != resourceSPID ||
				!(pg.ConsentType == iam.ConsentAllPrincipals || pg.PrincipalID != nil && *pg.PrincipalID == userID) {
				continue
			}
			for _, v := range strings.Fields(pg.Scope) {
				if !slices.ContainsFunc(scopes, func(s string) bool { return strings.EqualFold(s, v) }) {
					scopes = append(scopes, v)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(scopes)
	return slices.Clip(scopes), nil // shared once cached: an append copies
}

// SignedInUser is the user a token is issued for, as token claims need.
type SignedInUser struct {
	User iam.User
	// Wids are the role template ids of the user's tenant-wide directory
	// role assignments.
	Wids []string
}

var (
	raPrincipal = query.Field{Path: "principalId", Type: query.GUID}
	raScope     = query.Field{Path: "directoryScopeId", Type: query.String}
)

// LoadUser reads a user for token issuance (refresh grants): the user must
// exist and be enabled (AADSTS50057), and sessions must not have been
// revoked after issued (50173).
func (s *Service) LoadUser(ctx context.Context, tenantID, userID string, issued time.Time) (*SignedInUser, error) {
	var u iam.User
	err := s.st.Read(ctx, func(r store.Reader) error {
		var err error
		u, err = readUser(r, tenantID, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.signedIn(ctx, tenantID, u, issued)
}

// RefreshUser is LoadUser for a refresh token CheckRefreshToken returned,
// using the user it read with the token when it could.
func (s *Service) RefreshUser(ctx context.Context, rt *RefreshToken) (*SignedInUser, error) {
	if rt.user == nil {
		return s.LoadUser(ctx, rt.TenantID, rt.UserID, rt.IssuedAt)
	}
	return s.signedIn(ctx, rt.TenantID, *rt.user, rt.IssuedAt)
}

// readUser reads a user who must exist (AADSTS50034).
func readUser(r store.Reader, tenantID, userID string) (iam.User, error) {
	var u iam.User
	o, err := r.Get(tenantID, iam.KindUser, userID)
	if errs.Is(err, errs.NotFound) || err == nil && o.Deleted() {
		return u, aadsts(errs.Unauthenticated, 50034, "The user account %s does not exist in the %s directory.", userID, tenantID)
	} else if err != nil {
		return u, err
	}
	if err := json.Unmarshal(o.Data, &u); err != nil {
		return u, errs.Wrap(errs.Internal, err, "authn: unreadable user %s", o.ID)
	}
	u.ID = o.ID
	return u, nil
}

// signedIn checks a user may have tokens and adds their wids.
func (s *Service) signedIn(ctx context.Context, tenantID string, user iam.User, issued time.Time) (*SignedInUser, error) {
	u := SignedInUser{User: user}
	var err error
	if u.Wids, err = s.UserWids(ctx, tenantID, u.User.ID); err != nil {
		return nil, err
	}
	if e := u.User.AccountEnabled; e != nil && !*e {
		return nil, aadsts(errs.Denied, 50057, "The user account is disabled.")
	}
	if !issued.IsZero() && revokedSince(u.User.SignInSessionsValidFromDateTime, issued) {
		return nil, aadsts(errs.Unauthenticated, 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			issued.UTC().Format(time.RFC3339), u.User.SignInSessionsValidFromDateTime.UTC().Format(time.RFC3339))
	}
	return &u, nil
}

// revokedSince reports whether something issued at issued predates the
// user's signInSessionsValidFromDateTime. That time has whole seconds, so
// anything issued within its second counts as before it: a revocation
// right after a sign-in must not miss the token that sign-in got.
func revokedSince(validFrom *time.Time, issued time.Time) bool {
	return validFrom != nil && issued.Before(validFrom.Add(time.Second))
}

// UserWids returns the user's tenant-wide role template ids.
// With a RoleSource configured (the server's access cache) they include
// roles held through role-assignable groups and honour assignment
// schedules; without one, the direct assignments in the store.
func (s *Service) UserWids(ctx context.Context, tenantID, userID string) ([]string, error) {
	if s.cfg.Roles != nil {
		return s.cfg.Roles.TenantWideRoles(ctx, tenantID, userID)
	}
	var out []string
	err := s.st.Read(ctx, func(r store.Reader) error {
		var err error
		out, err = wids(r, tenantID, userID)
		return err
	})
	return out, err
}

func wids(r store.Reader, tenantID, userID string) ([]string, error) {
	p, err := r.List(tenantID, iam.KindRoleAssignment, store.Live, query.List{
		Filter: query.And{eqGUID(raPrincipal, userID),
			query.Cmp{Field: raScope, Op: query.Eq, Value: query.Value{Type: query.String, Str: "/"}}},
		Top: query.MaxTop,
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range p.Items {
		var ra iam.RoleAssignment
		if err := json.Unmarshal(o.Data, &ra); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "authn: unreadable role assignment %s", o.ID)
		}
		if ra.PrincipalID == userID && ra.DirectoryScopeID == "/" {
			out = append(out, strings.ToLower(ra.RoleDefinitionID))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
