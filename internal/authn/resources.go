package authn

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphperms"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// ResourceGrant is a resource (API) a client asked a token for, and the app
// roles the client holds on it. It summarises the resource's service
// principal rather than returning it whole: Microsoft Graph's carries
// hundreds of app roles, too many to decode on every token request.
type ResourceGrant struct {
	// ServicePrincipalID is the resource's service principal object id.
	ServicePrincipalID string
	// AppID is the resource application's appId.
	AppID       string
	DisplayName string
	// Identifier is the name the client used, in its registered spelling
	// (a servicePrincipalName such as "https://graph.microsoft.com" or
	// "api://…", or the appId).
	Identifier string
	// ByAppID reports that the client named the resource by its appId.
	ByAppID bool
	// AccessTokenVersion is the resource app's requestedAccessTokenVersion
	// (0 when unset, which means v1).
	AccessTokenVersion int
	// GroupClaims is the resource app's groupMembershipClaims: which
	// groups its access tokens carry ("", "None", "SecurityGroup", "All",
	// "DirectoryRole", "ApplicationGroup").
	GroupClaims string
	// Roles are the values of the enabled app roles the client holds, sorted.
	Roles []string
}

// IsGraph reports whether the resource is Microsoft Graph.
func (g *ResourceGrant) IsGraph() bool { return g.AppID == iam.MicrosoftGraphAppID }

// GrantedAppRoles resolves resource (the resource part of a scope: an appId,
// or an identifier URI / servicePrincipalName, any case, with or without a
// trailing slash) in tenantID and returns the app role values the client
// service principal clientSPID has been assigned on it. An unknown resource
// is AADSTS500011 and a disabled one AADSTS500014.
//
// Resolved resources and the client's assignments on them come from the
// client cache when the change feed keeps it (clientcache.go), so a
// revoked permission is gone from the next token this replica issues and
// from other replicas' within a poll of the feed.
func (s *Service) GrantedAppRoles(ctx context.Context, tenantID, clientSPID, resource string) (*ResourceGrant, error) {
	name := strings.TrimRight(strings.TrimSpace(resource), "/")
	resKey := resourceKey{tenantID, strings.ToLower(name)}
	cache := s.cached(ctx)
	var (
		res             *resolvedResource
		links           []store.Link
		haveRes, cached bool
		gen             uint64
	)
	if cache != nil {
		gen = cache.generation()
		if res, haveRes = get(cache, cache.resources, resKey); haveRes {
			links, cached = get(cache, cache.roles, appRolesKey{tenantID, clientSPID, res.spID})
		}
	}
	if !cached {
		err := s.st.Read(ctx, func(r store.Reader) error {
			var err error
			if !haveRes {
				if res, err = resolveResource(r, tenantID, name); err != nil {
					return err
				}
			}
			links, err = r.Links(tenantID, iam.RelAppRoleAssignment, clientSPID, res.spID)
			return err
		})
		if errs.Is(err, errs.NotFound) && !haveRes {
			return nil, s.resourceNotFound(ctx, tenantID, resource)
		}
		if err != nil {
			return nil, err
		}
		if cache != nil {
			put(cache, gen, cache.resources, resKey, res)
			put(cache, gen, cache.roles, appRolesKey{tenantID, clientSPID, res.spID}, links)
		}
	}
	if !res.enabled {
		return nil, aadsts(errs.Denied, 500014, "The service principal for resource '%s' is disabled. This indicate that a subscription within the tenant has lapsed, or that the administrator for this tenant has disabled the application, preventing tokens from being issued for it.", name)
	}
	g := &ResourceGrant{
		ServicePrincipalID: res.spID, AppID: res.appID, DisplayName: res.displayName,
		Identifier: res.identifier, ByAppID: res.byAppID, AccessTokenVersion: res.version, GroupClaims: res.groupClaims,
	}
	for _, l := range links {
		if l.SourceID != clientSPID || l.TargetID != res.spID {
			continue
		}
		if v, ok := res.roleValue(strings.ToLower(l.Qualifier)); ok {
			g.Roles = append(g.Roles, v)
		}
	}
	slices.Sort(g.Roles)
	g.Roles = slices.Compact(g.Roles)
	return g, nil
}

func (s *Service) resourceNotFound(ctx context.Context, tenantID, resource string) error {
	name := tenantID
	_ = s.st.Read(ctx, func(r store.Reader) error {
		if t, err := r.Tenant(tenantID); err == nil {
			name = tenantName(t)
		}
		return nil
	})
	return aadsts(errs.NotFound, 500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, name)
}

// resolvedResource is what token issuance needs to know about a resource.
// Immutable once built, so cached copies are shared.
type resolvedResource struct {
	spID, appID, displayName, identifier string
	byAppID, enabled                     bool
	version                              int
	groupClaims                          string
	// roles maps an app role id to its value, for enabled roles with a
	// value; nil for Graph, whose roles come from graphperms.
	roles map[string]string
}

func (r *resolvedResource) roleValue(id string) (string, bool) {
	if r.appID == iam.MicrosoftGraphAppID {
		role, ok := graphperms.AppRoleByID(id)
		if !ok || !role.IsEnabled || role.Value == nil || *role.Value == "" {
			return "", false
		}
		return *role.Value, true
	}
	v, ok := r.roles[id]
	return v, ok
}

// resourceDoc is the part of a resource service principal that issuance reads.
type resourceDoc struct {
	AppID                  string        `json:"appId"`
	DisplayName            *string       `json:"displayName"`
	AccountEnabled         *bool         `json:"accountEnabled"`
	AppOwnerOrganizationID *string       `json:"appOwnerOrganizationId"`
	ServicePrincipalNames  []string      `json:"servicePrincipalNames"`
	AppRoles               []iam.AppRole `json:"appRoles"`
}

// resolveResource finds the resource's service principal in the tenant;
// NotFound if there is none.
func resolveResource(r store.Reader, tenantID, name string) (*resolvedResource, error) {
	if name == "" {
		return nil, errs.E(errs.NotFound, "empty resource")
	}
	appID, byAppID := iam.NormalizeGUID(name)
	if byAppID && appID == iam.MicrosoftGraphAppID || strings.EqualFold(name, iam.MicrosoftGraphResource) {
		// Graph: everything needed is known without decoding its document.
		o, err := r.GetByKey(tenantID, iam.KindServicePrincipal, iam.MicrosoftGraphAppID)
		if err != nil {
			return nil, err
		}
		res := &resolvedResource{spID: o.ID, appID: iam.MicrosoftGraphAppID, displayName: "Microsoft Graph",
			identifier: iam.MicrosoftGraphResource, byAppID: byAppID, enabled: true, version: 1}
		if byAppID {
			res.identifier = appID
		}
		return res, nil
	}

	var obj store.Object
	var doc resourceDoc
	identifier := appID
	if byAppID {
		o, err := r.GetByKey(tenantID, iam.KindServicePrincipal, appID)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(o.Data, &doc); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", o.ID)
		}
		obj = o
	} else {
		o, d, spn, err := findBySPN(r, tenantID, name)
		if err != nil {
			return nil, err
		}
		obj, doc, identifier = o, d, strings.TrimRight(spn, "/")
	}

	res := &resolvedResource{
		spID: obj.ID, appID: strings.ToLower(doc.AppID), displayName: deref(doc.DisplayName),
		identifier: identifier, byAppID: byAppID,
		enabled: doc.AccountEnabled == nil || *doc.AccountEnabled,
		roles:   map[string]string{},
	}
	for _, role := range doc.AppRoles {
		if role.IsEnabled && role.Value != nil && *role.Value != "" {
			res.roles[strings.ToLower(role.ID)] = *role.Value
		}
	}
	// The token version is a property of the application, which lives in
	// the owner's tenant (this one unless the app is multi-tenant).
	home := tenantID
	if o := doc.AppOwnerOrganizationID; o != nil && iam.IsGUID(*o) {
		home = strings.ToLower(*o)
	}
	app, err := r.GetByKey(home, iam.KindApplication, res.appID)
	switch {
	case err == nil:
		var a struct {
			API *struct {
				RequestedAccessTokenVersion *int `json:"requestedAccessTokenVersion"`
			} `json:"api"`
			GroupMembershipClaims *string `json:"groupMembershipClaims"`
		}
		if err := json.Unmarshal(app.Data, &a); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "authn: unreadable application %s", app.ID)
		}
		if a.API != nil && a.API.RequestedAccessTokenVersion != nil {
			res.version = *a.API.RequestedAccessTokenVersion
		}
		if a.GroupMembershipClaims != nil {
			res.groupClaims = *a.GroupMembershipClaims
		}
	case !errs.Is(err, errs.NotFound):
		return nil, err
	}
	return res, nil
}

// spnsField is servicePrincipalNames, a collection of strings.
var spnsField = query.Field{Path: "servicePrincipalNames", Type: query.String, Collection: true}

// findBySPN finds the live service principal with the servicePrincipalName
// name (compared case-insensitively, trailing slash ignored). It returns the
// name as registered.
func findBySPN(r store.Reader, tenantID, name string) (store.Object, resourceDoc, string, error) {
	elem := query.Field{Type: query.String}
	var alts query.Or
	for _, v := range []string{name, name + "/"} {
		alts = append(alts, query.Cmp{Field: elem, Op: query.Eq, Value: query.Value{Type: query.String, Str: v}})
	}
	page, err := r.List(tenantID, iam.KindServicePrincipal, store.Live, query.List{
		Filter: query.Any{Field: spnsField, Pred: alts},
		Top:    10,
	})
	if err != nil {
		return store.Object{}, resourceDoc{}, "", err
	}
	for _, o := range page.Items {
		var doc resourceDoc
		if err := json.Unmarshal(o.Data, &doc); err != nil {
			return store.Object{}, resourceDoc{}, "", errs.Wrap(errs.Internal, err, "authn: unreadable service principal %s", o.ID)
		}
		for _, spn := range doc.ServicePrincipalNames {
			if strings.EqualFold(strings.TrimRight(spn, "/"), name) {
				return o, doc, spn, nil
			}
		}
	}
	return store.Object{}, resourceDoc{}, "", errs.E(errs.NotFound, "no service principal named %q", name)
}
