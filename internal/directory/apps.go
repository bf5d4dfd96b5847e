package directory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/passwords"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

const appType = "microsoft.graph.application"

// secretLifetimeYears is Entra's default lifetime of a client secret.
const secretLifetimeYears = 2

// appReadOnly are the application properties a PATCH may not change.
// Secrets change only through addPassword and removePassword, so that a
// secret is shown once and its hash is never touched by a generic merge.
var appReadOnly = []string{"id", "appId", "createdDateTime", "deletedDateTime", "passwordCredentials", "publisherDomain"}

var signInAudiences = []string{"AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"}

// CreateApplication registers an application from a Graph create body.
// When the caller may manage only the applications it owns (an app holding
// Application.ReadWrite.OwnedBy), it becomes the first owner, as Entra's
// createAsOwner does; otherwise it could not manage what it just created.
//
// A user without a role that creates applications registers one as its
// owner when the default user permissions allow it (createAsOwner, subject
// to the authorization policy's allowedToCreateApps).
func (s *Service) CreateApplication(ctx context.Context, c *iam.Caller, body Patch) (iam.Application, error) {
	owner, err := s.authorizeCreate(ctx, c, authz.AppsCreate, authz.AppsCreateAsOwner, iam.KindApplication)
	if err != nil {
		return iam.Application{}, err
	}
	var app iam.Application
	binds, err := decodeBody(&app, body, appType)
	if err != nil {
		return iam.Application{}, err
	}
	if len(binds) > 0 {
		return iam.Application{}, badRequest("Binding references is not supported when creating an application.")
	}
	if deref(app.DisplayName) == "" {
		return iam.Application{}, missing("displayName", "Application")
	}
	if len(app.PasswordCredentials) > 0 {
		return iam.Application{}, badRequest("Property 'passwordCredentials' cannot be set when creating an application; use addPassword.")
	}
	now := s.clock()
	app.ID, app.AppID = iam.NewID(), iam.NewID()
	app.CreatedDateTime, app.DeletedDateTime = &now, nil
	app.PasswordCredentials = []iam.PasswordCredential{}
	if app.SignInAudience == nil {
		app.SignInAudience = str("AzureADMyOrg")
	}
	if err := checkApplication(&app, nil); err != nil {
		return iam.Application{}, err
	}
	if owner == "" && s.managesOnlyOwned(ctx, c, authz.AppsUpdate) {
		if owner = callerObjectID(c); owner == "" {
			return iam.Application{}, s.deny(c, authz.AppsCreate, "", "caller has no object to own the application")
		}
	}
	err = s.store.Write(ctx, func(w store.Writer) error {
		dom, err := defaultDomainName(w, c.TenantID)
		if err != nil {
			return err
		}
		app.PublisherDomain = str(dom)
		if err := identifierURIsFree(w, c.TenantID, app); err != nil {
			return err
		}
		data, err := encode(app)
		if err != nil {
			return err
		}
		if err := w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindApplication, ID: app.ID, Key: app.AppID,
			DisplayName: deref(app.DisplayName), CreatedAt: now, Data: data}); err != nil {
			return err
		}
		if err := record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add application", OperationType: "Add",
			Targets: []iam.TargetResource{audit.Target(iam.KindApplication, app.ID, app.DisplayName, "",
				audit.Changed("AppId", nil, app.AppID), audit.Changed("DisplayName", nil, app.DisplayName))}}); err != nil {
			return err
		}
		if owner == "" {
			return nil
		}
		o, err := w.Get(c.TenantID, iam.KindApplication, app.ID)
		if err != nil {
			return err
		}
		return s.addOwnerLink(w, c, o, owner, now)
	})
	return publicApp(app), err
}

// GetApplication returns a live application by object id or by the
// alternate key "appId=<guid>" (Graph's /applications(appId='…')).
func (s *Service) GetApplication(ctx context.Context, c *iam.Caller, key string) (iam.Application, error) {
	return readOwnable(s, ctx, c, authz.AppsRead, iam.KindApplication, key, publicApp)
}

// GetApplicationByAppID returns a live application by its appId.
func (s *Service) GetApplicationByAppID(ctx context.Context, c *iam.Caller, appID string) (iam.Application, error) {
	return s.GetApplication(ctx, c, "appId="+appID)
}

// ListApplications lists live applications. A caller that may read only
// the applications it owns sees only those.
func (s *Service) ListApplications(ctx context.Context, c *iam.Caller, q query.List) (Page[iam.Application], error) {
	return listOwnable(s, ctx, c, authz.AppsRead, iam.KindApplication, q, publicApp)
}

// UpdateApplication applies a Graph PATCH. Changes to the properties a
// service principal copies from its application are mirrored onto the
// tenant's service principal in the same transaction, so tokens and consent
// never see the two disagree.
func (s *Service) UpdateApplication(ctx context.Context, c *iam.Caller, key string, p Patch) error {
	members, err := p.keys()
	if err != nil {
		return err
	}
	if err := s.preauthorize(ctx, c, authz.AppsUpdate, iam.KindApplication, key); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := appObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, authz.AppsUpdate, o); err != nil {
			return err
		}
		// Decoded twice: a JSON merge reuses slices and pointers in place,
		// and old must stay intact for the checks and the audit record.
		old, err := decode[iam.Application](o)
		if err != nil {
			return err
		}
		app, err := decode[iam.Application](o)
		if err != nil {
			return err
		}
		binds, err := applyPatch(&app, p, appType, appReadOnly...)
		if err != nil {
			return err
		}
		if len(binds) > 0 {
			return badRequest("Binding references is not supported when updating an application; use the owners reference.")
		}
		if deref(app.DisplayName) == "" {
			return missing("displayName", "Application")
		}
		if raw, ok := members["keyCredentials"]; ok {
			if app.KeyCredentials, err = patchedKeys(raw, old.KeyCredentials); err != nil {
				return err
			}
		}
		if err := checkApplication(&app, &old); err != nil {
			return err
		}
		if !jsonEqualValues(old.IdentifierURIs, app.IdentifierURIs) {
			if err := identifierURIsFree(w, c.TenantID, app); err != nil {
				return err
			}
		}
		if o.Data, err = encode(app); err != nil {
			return err
		}
		o.DisplayName = deref(app.DisplayName)
		if err := w.Update(o); err != nil {
			return err
		}
		if err := record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Update application", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindApplication, app.ID, app.DisplayName, "", changes(publicApp(old), publicApp(app), members)...)}}); err != nil {
			return err
		}
		return s.mirrorToSP(w, c, old, app, now)
	})
}

// DeleteApplication soft-deletes an application and the tenant's service
// principal for it: an enterprise app without its registration could no
// longer get tokens, and restoring the application brings both back.
func (s *Service) DeleteApplication(ctx context.Context, c *iam.Caller, key string) error {
	if err := s.preauthorize(ctx, c, authz.AppsDelete, iam.KindApplication, key); err != nil {
		return err
	}
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := appObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, authz.AppsDelete, o); err != nil {
			return err
		}
		sp, err := w.GetByKey(c.TenantID, iam.KindServicePrincipal, o.Key)
		switch {
		case err == nil:
			if err := s.softDelete(w, c, sp, audit.ApplicationManagement, "Delete service principal"); err != nil {
				return err
			}
		case !errs.Is(err, errs.NotFound):
			return err
		}
		return s.softDelete(w, c, o, audit.ApplicationManagement, "Delete application")
	})
}

// restoreAppSP restores the service principal deleted with app (Restore
// calls it right after restoring the application). That is the most
// recently deleted service principal of the appId, unless a live one
// exists: the store keeps no record linking the two deletions, and
// DeleteApplication deletes the live service principal in the same
// transaction as the application, so it is the latest one.
func (s *Service) restoreAppSP(w store.Writer, c *iam.Caller, app store.Object, appDeletedAt time.Time) error {
	if _, err := w.GetByKey(c.TenantID, iam.KindServicePrincipal, app.Key); err == nil {
		return nil
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	var latest *store.Object
	q := query.List{Top: query.MaxTop, Filter: query.Cmp{Field: query.Field{Path: "appId", Type: query.String}, Op: query.Eq,
		Value: query.Value{Type: query.String, Str: app.Key}}}
	for {
		p, err := w.List(c.TenantID, iam.KindServicePrincipal, store.DeletedOnly, q)
		if err != nil {
			return err
		}
		for i := range p.Items {
			// Only the service principal deleted with the application (in the
			// same call, so within a second of it) comes back with it.
			if d := p.Items[i].DeletedAt.Sub(appDeletedAt); d < -time.Second || d > time.Second {
				continue
			}
			if latest == nil || p.Items[i].DeletedAt.After(latest.DeletedAt) {
				latest = &p.Items[i]
			}
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	if latest == nil {
		return nil
	}
	_, err := s.restoreObject(w, c, *latest)
	return err
}

// AddPassword adds a client secret and returns it with secretText, the only
// time the secret is ever shown. The store keeps only its hash, in the
// Secret column, apart from the Graph document.
func (s *Service) AddPassword(ctx context.Context, c *iam.Caller, key string, body Patch) (iam.PasswordCredential, error) {
	var req struct {
		PasswordCredential *struct {
			DisplayName   *string    `json:"displayName"`
			StartDateTime *time.Time `json:"startDateTime"`
			EndDateTime   *time.Time `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if len(body) > 0 && json.Unmarshal(body, &req) != nil {
		return iam.PasswordCredential{}, badRequest("Invalid value specified for property 'passwordCredential'.")
	}
	if err := s.preauthorize(ctx, c, authz.AppsCredentials, iam.KindApplication, key); err != nil {
		return iam.PasswordCredential{}, err
	}
	now := s.clock()
	start, end := now, time.Time{}
	cred := iam.PasswordCredential{KeyID: iam.NewID()}
	if pc := req.PasswordCredential; pc != nil {
		cred.DisplayName = pc.DisplayName
		if pc.StartDateTime != nil {
			start = pc.StartDateTime.UTC().Truncate(time.Second)
		}
		if pc.EndDateTime != nil {
			end = pc.EndDateTime.UTC().Truncate(time.Second)
		}
	}
	if end.IsZero() {
		end = start.AddDate(secretLifetimeYears, 0, 0)
	}
	if !end.After(start) {
		return iam.PasswordCredential{}, badRequest("Invalid value specified for property 'endDateTime': it must be after 'startDateTime'.")
	}
	cred.StartDateTime, cred.EndDateTime = &start, &end
	secret, err := passwords.NewClientSecret()
	if err != nil {
		return iam.PasswordCredential{}, errInternal(err, "generate client secret")
	}
	cred.Hint = str(secret[:3])
	hash := passwords.HashClientSecret(secret)
	err = s.changeSecrets(ctx, c, key, now, func(app *iam.Application, sec *appSecrets) error {
		sec.Passwords[cred.KeyID] = hash
		app.PasswordCredentials = append(app.PasswordCredentials, cred)
		return nil
	})
	if err != nil {
		return iam.PasswordCredential{}, err
	}
	cred.SecretText = &secret
	return cred, nil
}

// RemovePassword deletes a client secret and its hash.
func (s *Service) RemovePassword(ctx context.Context, c *iam.Caller, key, keyID string) error {
	id, ok := iam.NormalizeGUID(keyID)
	if !ok {
		return badRequest("Invalid value specified for property 'keyId'.")
	}
	if err := s.preauthorize(ctx, c, authz.AppsCredentials, iam.KindApplication, key); err != nil {
		return err
	}
	return s.changeSecrets(ctx, c, key, s.clock(), func(app *iam.Application, sec *appSecrets) error {
		for i, pc := range app.PasswordCredentials {
			if strings.EqualFold(pc.KeyID, id) {
				delete(sec.Passwords, pc.KeyID)
				app.PasswordCredentials = slices.Delete(slices.Clone(app.PasswordCredentials), i, i+1)
				return nil
			}
		}
		return notFound(id)
	})
}

// changeSecrets applies change to an application's password credentials
// and their hashes together, in one transaction with its audit record.
// The caller has preauthorized the action.
func (s *Service) changeSecrets(ctx context.Context, c *iam.Caller, key string, now time.Time,
	change func(*iam.Application, *appSecrets) error) error {
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := appObject(w, c.TenantID, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, authz.AppsCredentials, o); err != nil {
			return err
		}
		app, err := decode[iam.Application](o)
		if err != nil {
			return err
		}
		sec, err := decodeAppSecret(o)
		if err != nil {
			return err
		}
		before := app.PasswordCredentials
		if err := change(&app, &sec); err != nil {
			return err
		}
		if o.Data, err = encode(app); err != nil {
			return err
		}
		if o.Secret, err = encode(sec); err != nil {
			return err
		}
		if err := w.Update(o); err != nil {
			return err
		}
		return record(w, c, now, credentialAudit(app, before))
	})
}

// decodeAppSecret reads the Secret column in the shape bootstrap writes
// and the token service reads (appSecrets).
func decodeAppSecret(o store.Object) (appSecrets, error) {
	var sec appSecrets
	if len(o.Secret) > 0 {
		if err := json.Unmarshal(o.Secret, &sec); err != nil {
			return sec, errInternal(err, "decode application secret")
		}
	}
	if sec.Passwords == nil {
		sec.Passwords = map[string]string{}
	}
	return sec, nil
}

// credentialAudit describes a secret change as Entra's audit log does: the
// key descriptions before and after.
func credentialAudit(app iam.Application, before []iam.PasswordCredential) audit.Entry {
	describe := func(pcs []iam.PasswordCredential) []string {
		out := []string{}
		for _, pc := range pcs {
			out = append(out, "[KeyIdentifier="+pc.KeyID+",KeyType=Password,KeyUsage=Verify,DisplayName="+deref(pc.DisplayName)+"]")
		}
		return out
	}
	activity := "Update application – Certificates and secrets management "
	return audit.Entry{Category: audit.ApplicationManagement, Activity: activity, OperationType: "Update",
		Targets: []iam.TargetResource{audit.Target(iam.KindApplication, app.ID, app.DisplayName, "",
			audit.Changed("KeyDescription", describe(before), describe(app.PasswordCredentials)))}}
}

// appObject finds a live application by object id or "appId=<guid>".
func appObject(r store.Reader, tenantID, key string) (store.Object, error) {
	return keyedObject(r, tenantID, iam.KindApplication, key)
}

// identifierURIsFree checks that app's identifier URIs are its tenant's to
// use: an http(s) URI must be on a verified domain of the tenant (Entra's
// rule), and no other live application or service principal may already
// answer to the URI. Token issuance finds a resource by these names, so a
// URI held twice, or one naming someone else's API such as
// https://graph.microsoft.com, would make a token's audience ambiguous.
func identifierURIsFree(r store.Reader, tenantID string, app iam.Application) error {
	if len(app.IdentifierURIs) == 0 {
		return nil
	}
	domains, err := tenantDomains(r, tenantID)
	if err != nil {
		return err
	}
	vals := make([]query.Value, len(app.IdentifierURIs))
	for i, u := range app.IdentifierURIs {
		vals[i] = query.Value{Type: query.String, Str: u}
		if err := onVerifiedDomain(u, domains); err != nil {
			return err
		}
	}
	dup := badRequest("Another object with the same value for property identifierUris already exists.")
	for kind, prop := range map[iam.Kind]string{iam.KindApplication: "identifierUris", iam.KindServicePrincipal: "servicePrincipalNames"} {
		p, err := r.List(tenantID, kind, store.Live, query.List{Top: 2, Filter: query.Any{Field: query.Field{Path: prop, Type: query.String, Collection: true},
			Pred: query.In{Field: query.Field{Type: query.String}, Values: vals}}})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			if o.ID != app.ID && !strings.EqualFold(o.Key, app.AppID) {
				return dup
			}
		}
	}
	return nil
}

// jsonEqualValues compares two values by their JSON forms.
func jsonEqualValues(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return jsonEqual(x, y)
}

// ListApplicationOwners lists an application's owners (users and service principals).
func (s *Service) ListApplicationOwners(ctx context.Context, c *iam.Caller, key string, q query.List) (Page[Object], error) {
	return s.listOwners(ctx, c, iam.KindApplication, authz.AppsRead, key, q)
}

// AddApplicationOwner makes a user or service principal an owner of an application.
func (s *Service) AddApplicationOwner(ctx context.Context, c *iam.Caller, key, ownerID string) error {
	return s.changeOwner(ctx, c, iam.KindApplication, authz.AppsOwners, key, ownerID, true)
}

// RemoveApplicationOwner removes an owner of an application.
func (s *Service) RemoveApplicationOwner(ctx context.Context, c *iam.Caller, key, ownerID string) error {
	return s.changeOwner(ctx, c, iam.KindApplication, authz.AppsOwners, key, ownerID, false)
}

// ListServicePrincipalOwners lists a service principal's owners.
func (s *Service) ListServicePrincipalOwners(ctx context.Context, c *iam.Caller, key string, q query.List) (Page[Object], error) {
	return s.listOwners(ctx, c, iam.KindServicePrincipal, authz.SPsRead, key, q)
}

// AddServicePrincipalOwner makes a user or service principal an owner of a service principal.
func (s *Service) AddServicePrincipalOwner(ctx context.Context, c *iam.Caller, key, ownerID string) error {
	return s.changeOwner(ctx, c, iam.KindServicePrincipal, authz.SPsOwners, key, ownerID, true)
}

// RemoveServicePrincipalOwner removes an owner of a service principal.
func (s *Service) RemoveServicePrincipalOwner(ctx context.Context, c *iam.Caller, key, ownerID string) error {
	return s.changeOwner(ctx, c, iam.KindServicePrincipal, authz.SPsOwners, key, ownerID, false)
}

func (s *Service) listOwners(ctx context.Context, c *iam.Caller, kind iam.Kind, action, key string, q query.List) (Page[Object], error) {
	if err := s.preauthorize(ctx, c, action, kind, key); err != nil {
		return Page[Object]{}, err
	}
	kinds, ok := s.queryableKinds(ctx, c, []iam.Kind{iam.KindUser, iam.KindServicePrincipal}, q)
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := keyedObject(r, c.TenantID, kind, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, r, c, action, o); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		p, err := r.ListLinked(c.TenantID, iam.RelOwner, store.Targets, o.ID, kinds, q)
		if err != nil {
			return err
		}
		if out, err = publicObjects(p); err != nil {
			return err
		}
		return s.limitUnreadable(ctx, c, out.Items)
	})
	return out, err
}

func (s *Service) changeOwner(ctx context.Context, c *iam.Caller, kind iam.Kind, action, key, ownerID string, add bool) error {
	if err := s.preauthorize(ctx, c, action, kind, key); err != nil {
		return err
	}
	now := s.clock()
	return s.store.Write(ctx, func(w store.Writer) error {
		o, err := keyedObject(w, c.TenantID, kind, key)
		if err != nil {
			return err
		}
		if err := s.authorizeOwned(ctx, w, c, action, o); err != nil {
			return err
		}
		if add {
			return s.addOwnerLink(w, c, o, ownerID, now)
		}
		owner, err := w.Get(c.TenantID, "", strings.ToLower(ownerID))
		if errs.Is(err, errs.NotFound) {
			return notFound(ownerID)
		} else if err != nil {
			return err
		}
		if err := w.RemoveLink(c.TenantID, iam.RelOwner, o.ID, owner.ID, ""); errs.Is(err, errs.NotFound) {
			return notFound(ownerID)
		} else if err != nil {
			return err
		}
		return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Remove owner from " + activityNoun(o.Kind),
			OperationType: "Unassign", Targets: []iam.TargetResource{target(owner), target(o)}})
	})
}

// addOwnerLink makes ownerID (a live user or service principal) an owner of o.
func (s *Service) addOwnerLink(w store.Writer, c *iam.Caller, o store.Object, ownerID string, now time.Time) error {
	owner, err := get(w, c.TenantID, "", ownerID)
	if err != nil {
		return err
	}
	if owner.Kind != iam.KindUser && owner.Kind != iam.KindServicePrincipal {
		return badRequest("Only users and service principals can be owners of an %s.", activityNoun(o.Kind))
	}
	err = w.AddLink(store.Link{TenantID: c.TenantID, Rel: iam.RelOwner, SourceID: o.ID, TargetID: owner.ID, CreatedAt: now})
	if errs.Is(err, errs.Conflict) {
		return badRequest("One or more added object references already exist for the following modified properties: 'owners'.")
	} else if err != nil {
		return err
	}
	return record(w, c, now, audit.Entry{Category: audit.ApplicationManagement, Activity: "Add owner to " + activityNoun(o.Kind),
		OperationType: "Assign", Targets: []iam.TargetResource{target(owner), target(o)}})
}
