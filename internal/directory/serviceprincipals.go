package directory

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

const spType = "microsoft.graph.servicePrincipal"

// spReadOnly are the service principal properties a PATCH may not change:
// those set by the server and those that mirror the application. Names and
// roles come only from the application because token issuance finds a
// resource by its servicePrincipalNames and grants its appRoles: letting
// them drift would let an enterprise app claim another API's audience.
var spReadOnly = []string{"id", "appId", "appDisplayName", "appOwnerOrganizationId", "servicePrincipalType",
	"passwordCredentials", "createdDateTime", "deletedDateTime", "appRoles", "oauth2PermissionScopes",
	"servicePrincipalNames", "signInAudience"}

// CreateServicePrincipal instantiates an application of the tenant from a
// body naming its appId. A caller that may manage only what it owns must
// own the application, and becomes the first owner of the new object.
func (s *Service) CreateServicePrincipal(ctx context.Context, c *iam.Caller, body Patch) (iam.ServicePrincipal, error) {
	if err := s.authorize(ctx, c, authz.SPsCreate, iam.KindServicePrincipal, ""); err != nil {
		return iam.ServicePrincipal{}, err
	}
	members, err := body.keys()
	if err != nil {
		return iam.ServicePrincipal{}, err
	}
	var in iam.ServicePrincipal
	if raw, ok := members["appId"]; !ok || json.Unmarshal(raw, &in.AppID) != nil || in.AppID == "" {
		return iam.ServicePrincipal{}, missing("appId", "ServicePrincipal")
	}
	// appId is read-only but names the application: applying the body onto
	// an object that already has it lets the other read-only checks work.
	binds, err := applyPatch(&in, body, spType, spReadOnly...)
	if err != nil {
		return iam.ServicePrincipal{}, err
	}
	if len(binds) > 0 {
		return iam.ServicePrincipal{}, badRequest("Binding references is not supported when creating a service principal.")
	}
	notApp := badRequest("The appId '%s' of the service principal does not reference a valid application object.", in.AppID)
	appID, ok := iam.NormalizeGUID(in.AppID)
	if !ok {
		return iam.ServicePrincipal{}, notApp
	}
	keys, err := checkKeyCredentials(in.KeyCredentials, nil)
	if err != nil {
		return iam.ServicePrincipal{}, err
	}
	owner := ""
	if s.managesOnlyOwned(ctx, c, authz.SPsUpdate) {
		if owner = callerObjectID(c); owner == "" {
			return iam.ServicePrincipal{}, s.deny(c, authz.SPsCreate, "", "caller has no object to own the service principal")
		}
	}
	now := s.clock()
	var sp iam.ServicePrincipal
	err = s.store.Write(ctx, func(w store.Writer) error {
		ao, err := w.GetByKey(c.TenantID, iam.KindApplication, appID)
		if errs.Is(err, errs.NotFound) {
			return notApp
		} else if err != nil {
			return err
		}
		if owner != "" {
			if owns, err := callerOwns(w, c, ao.ID); err != nil {
				return err
			} else if !owns {
				return s.deny(c, authz.SPsCreate, ao.ID, "caller may create service principals only for applications it owns")
			}
		}
		app, err := decode[iam.Application](ao)
		if err != nil {
			return err
		}
		sp = in
		copyAppToSP(app, &sp)
		sp.ID, sp.CreatedDateTime, sp.DeletedDateTime = iam.NewID(), &now, nil
		sp.AppOwnerOrganizationID = str(c.TenantID)
		sp.ServicePrincipalType = str("Application")
		sp.PasswordCredentials, sp.KeyCredentials = []iam.PasswordCredential{}, keys
		if sp.AccountEnabled == nil {
			sp.AccountEnabled = boolp(true)
		}
		if sp.AppRoleAssignmentRequired == nil {
			sp.AppRoleAssignmentRequired = boolp(false)
		}
		emptyIfNil(&sp.Tags)
		emptyIfNil(&sp.ReplyURLs)
		data, err := encode(sp)
		if err != nil {
			return err
		}
		err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindServicePrincipal, ID: sp.ID, Key: appID,
			DisplayName: deref(sp.DisplayName), CreatedAt: now, Data: data})
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID).
				WithCode("Request_MultipleObjectsWithSameKeyValue")
		} else if err != nil {
			return err
		}
		if err := record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add service principal", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindServicePrincipal, sp.ID, sp.DisplayName, "",
				audit.Changed("AppId", nil, appID), audit.Changed("DisplayName", nil, sp.DisplayName))}}); err != nil {
			return err
		}
		if owner == "" {
			return nil
		}
		o, err := w.Get(c.TenantID, iam.KindServicePrincipal, sp.ID)
		if err != nil {
			return err
		}
		return s.addOwnerLink(w, c, o, owner, now)
	})
	return publicSP(sp), err
}

// GetServicePrincipal returns a live service principal by object id or by
// the alternate key "appId=<guid>".
func (s *Service) GetServicePrincipal(ctx context.Context, c *iam.Caller, key string) (iam.ServicePrincipal, error) {
	return readOwnable(s, ctx, c, authz.SPsRead, iam.KindServicePrincipal, key, publicSP)
}

// GetServicePrincipalByAppID returns the tenant's service principal of an appId.
func (s *Service) GetServicePrincipalByAppID(ctx context.Context, c *iam.Caller, appID string) (iam.ServicePrincipal, error) {
	return s.GetServicePrincipal(ctx, c, "appId="+appID)
}

// ListServicePrincipals lists live service principals; a caller that may
// read only what it owns sees only those.
func (s *Service) ListServicePrincipals(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.ServicePrincipal], error) {
	return listOwnable(s, ctx, c, authz.SPsRead, iam.KindServicePrincipal, q, publicSP)
}

// UpdateServicePrincipal applies a Graph PATCH.
func (s *Service) UpdateServicePrincipal(ctx context.Context, c *iam.Caller, key string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.preauthorize(ctx, c, authz.SPsUpdate, iam.KindServicePrincipal, key); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := keyedObject(w, c.TenantID, iam.KindServicePrincipal, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, authz.SPsUpdate, o); err != nil {
			return err
		}
		old, err := decode[iam.ServicePrincipal](o)
		if err != nil {
			return err
		}
		sp, err := decode[iam.ServicePrincipal](o)
		if err != nil {
			return err
		}
		binds, err := applyPatch(&sp, p, spType, spReadOnly...)
		if err != nil {
			return err
		}
		if len(binds) > 0 {
			return badRequest("Binding references is not supported when updating a service principal; use the owners reference.")
		}
		if deref(sp.DisplayName) == "" {
			return missing("displayName", "ServicePrincipal")
		}
		if sp.AppID == iam.MicrosoftGraphAppID && (sp.AccountEnabled == nil || !*sp.AccountEnabled) {
			return errGraphSPProtected
		}
		if raw, ok := members["keyCredentials"]; ok {
			if sp.KeyCredentials, err = patchedKeys(raw, old.KeyCredentials); err != nil {
				return err
			}
		}
		if o.Data, err = encode(sp); err != nil {
			return err
		}
		o.DisplayName = deref(sp.DisplayName)
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update service principal", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindServicePrincipal, sp.ID, sp.DisplayName, "", changes(publicSP(old), publicSP(sp), members)...)}})
	})
}

// DeleteServicePrincipal soft-deletes a service principal; its application stays.
func (s *Service) DeleteServicePrincipal(ctx context.Context, c *iam.Caller, key string) error {
	if err := s.preauthorize(ctx, c, authz.SPsDelete, iam.KindServicePrincipal, key); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := keyedObject(w, c.TenantID, iam.KindServicePrincipal, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, authz.SPsDelete, o); err != nil {
			return err
		}
		if o.Key == iam.MicrosoftGraphAppID {
			return errGraphSPProtected
		}
		return s.softDelete(w, c, o, audit.ApplicationManagement, "Delete service principal")
	})
}

// keyedObject finds a live application or service principal by object id
// or by the alternate key "appId=<guid>" (quotes allowed, as in the URL).
func keyedObject(r store.Reader, tenantID string, kind iam.Kind, key string) (store.Object, error) {
	appID, ok := strings.CutPrefix(key, "appId=")
	if !ok {
		return get(r, tenantID, kind, key)
	}
	appID = strings.Trim(appID, "'")
	if !iam.IsGUID(appID) {
		return store.Object{}, notFound(appID)
	}
	o, err := r.GetByKey(tenantID, kind, appID)
	if errs.Is(err, errs.NotFound) {
		return o, notFound(appID)
	}
	return o, err
}

// mirrorToSP copies onto the tenant's service principal of app the
// properties it takes from its application. The service principal's own
// displayName may differ; it follows only a rename of the application.
func (s *Service) mirrorToSP(w store.Writer, c *iam.Caller, oldApp, app iam.Application, now time.Time) error {
	o, err := w.GetByKey(c.TenantID, iam.KindServicePrincipal, app.AppID)
	if errs.Is(err, errs.NotFound) {
		return nil
	} else if err != nil {
		return err
	}
	old, err := decode[iam.ServicePrincipal](o)
	if err != nil {
		return err
	}
	sp, err := decode[iam.ServicePrincipal](o)
	if err != nil {
		return err
	}
	copyAppToSP(app, &sp)
	if deref(oldApp.DisplayName) == deref(app.DisplayName) {
		sp.DisplayName = old.DisplayName
	}
	var mods []iam.ModifiedProperty
	for _, m := range []struct {
		name     string
		old, new any
	}{
		{"displayName", old.DisplayName, sp.DisplayName},
		{"appDisplayName", old.AppDisplayName, sp.AppDisplayName},
		{"appRoles", old.AppRoles, sp.AppRoles},
		{"oauth2PermissionScopes", old.OAuth2PermissionScopes, sp.OAuth2PermissionScopes},
		{"servicePrincipalNames", old.ServicePrincipalNames, sp.ServicePrincipalNames},
		{"signInAudience", old.SignInAudience, sp.SignInAudience},
	} {
		if !jsonEqualValues(m.old, m.new) {
			mods = append(mods, audit.Changed(m.name, m.old, m.new))
		}
	}
	if len(mods) == 0 {
		return nil
	}
	if o.Data, err = encode(sp); err != nil {
		return err
	}
	o.DisplayName = deref(sp.DisplayName)
	if err := w.Update(o); err != nil {
		return err
	}
	return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update service principal", OperationType: "Update",
		Targets: []iam.TargetResource{audit.Target(iam.KindServicePrincipal, sp.ID, sp.DisplayName, "", mods...)}})
}

// copyAppToSP sets the service principal properties that mirror app.
func copyAppToSP(app iam.Application, sp *iam.ServicePrincipal) {
	sp.AppID = app.AppID
	sp.DisplayName = app.DisplayName
	sp.AppDisplayName = app.DisplayName
	sp.SignInAudience = app.SignInAudience
	sp.AppRoles = append([]iam.AppRole{}, app.AppRoles...)
	sp.OAuth2PermissionScopes = []iam.PermissionScope{}
	if app.API != nil {
		sp.OAuth2PermissionScopes = append(sp.OAuth2PermissionScopes, app.API.OAuth2PermissionScopes...)
	}
	sp.ServicePrincipalNames = append([]string{app.AppID}, app.IdentifierURIs...)
}

// patchedKeys decodes a PATCH's keyCredentials on their own and checks
// them. Decoding them onto the stored list instead would merge each sent
// entry into the stored entry at the same index, so a sent keyId could
// pick up another credential's certificate.
func patchedKeys(raw json.RawMessage, old []iam.KeyCredential) ([]iam.KeyCredential, error) {
	var keys []iam.KeyCredential
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, badRequest("Invalid value specified for property 'keyCredentials'.")
	}
	return checkKeyCredentials(keys, old)
}

// publicApp is an application as reads return it: no certificate bodies,
// no secret text (neither is shown after it was written).
func publicApp(a iam.Application) iam.Application {
	a.KeyCredentials = publicKeys(a.KeyCredentials)
	a.PasswordCredentials = publicPasswords(a.PasswordCredentials)
	return a
}

// publicSP is a service principal as reads return it.
func publicSP(sp iam.ServicePrincipal) iam.ServicePrincipal {
	sp.KeyCredentials = publicKeys(sp.KeyCredentials)
	sp.PasswordCredentials = publicPasswords(sp.PasswordCredentials)
	return sp
}

func publicKeys(keys []iam.KeyCredential) []iam.KeyCredential {
	if keys == nil {
		return nil
	}
	out := make([]iam.KeyCredential, len(keys))
	for i, k := range keys {
		k.Key = nil
		out[i] = k
	}
	return out
}

func publicPasswords(pcs []iam.PasswordCredential) []iam.PasswordCredential {
	if pcs == nil {
		return nil
	}
	out := make([]iam.PasswordCredential, len(pcs))
	for i, pc := range pcs {
		pc.SecretText = nil
		out[i] = pc
	}
	return out
}

// publicObject renders a stored object of any kind for a polymorphic list,
// without the write-only parts of applications and service principals.
func publicObject(o store.Object) (Object, error) {
	switch o.Kind {
	case iam.KindApplication:
		a, err := decode[iam.Application](o)
		if err != nil {
			return Object{}, err
		}
		data, err := encode(publicApp(a))
		return Object{Kind: o.Kind, Data: data}, err
	case iam.KindServicePrincipal:
		sp, err := decode[iam.ServicePrincipal](o)
		if err != nil {
			return Object{}, err
		}
		data, err := encode(publicSP(sp))
		return Object{Kind: o.Kind, Data: data}, err
	}
	return Object{Kind: o.Kind, Data: o.Data}, nil
}

func publicObjects(p store.Page) (Page[Object], error) {
	out := Page[Object]{Items: make([]Object, 0, len(p.Items)), Next: p.Next, Count: p.Count}
	for _, o := range p.Items {
		v, err := publicObject(o)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// Ownership and the ".OwnedBy" permissions. Application.ReadWrite.OwnedBy
// grants an app-only caller the application actions on the applications
// and service principals it owns, which only the store can tell.

// errGraphSPProtected refuses to delete or disable the tenant's Microsoft
// Graph service principal. Ostiary's choice: Entra lets an administrator
// delete first-party service principals, but here every Graph token is
// issued for that principal, so losing it would lock the tenant out of the
// very API that could restore it.
var errGraphSPProtected = badRequest("The Microsoft Graph service principal cannot be deleted or disabled.")
