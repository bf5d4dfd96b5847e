// Package store is the contract between Ostiary's services and its storage.
//
// Every backend (SQLite, PostgreSQL) implements Store and passes the
// conformance suite in store/storetest. Writes are closures run in one
// transaction, so a change, the invariants checked before it and its audit
// record commit together or not at all. A closure may run more than once
// when the backend retries a serialization failure, so it must have no side
// effects outside the Writer.
//
// Storage model. Directory objects of every kind live in one generic shape,
// Object: a few indexed columns (tenant, kind, id, unique key, display name,
// creation and deletion times) and the object's JSON document, whose property
// names are Microsoft Graph's. Filters and sorts arrive as query values whose
// field paths are those property names; the store compiles them to
// parameterised SQL against the indexed columns where one exists and against
// the document otherwise. Relationships (membership, ownership, manager, app
// role assignments) are Links between two objects of one tenant.
package store

import (
	"context"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Object is a stored object.
type Object struct {
	TenantID string
	Kind     iam.Kind
	ID       string
	// Key is unique among the live objects of one kind in one tenant when it
	// is not empty (a user's UPN, an application's appId). For kinds listed in
	// GlobalKeyKinds it is unique across all tenants (verified domain names).
	// The store compares keys case-insensitively; it returns them as written.
	Key string
	// DisplayName is indexed for filters, sorting and search (case-insensitive).
	DisplayName string
	CreatedAt   time.Time
	// DeletedAt is zero for a live object; set, the object is soft-deleted.
	DeletedAt time.Time
	// Data is the JSON document (Graph property names).
	Data []byte
	// Secret is service-owned secret material (hashes, encrypted keys), kept
	// apart from Data so it can never be serialized by accident.
	Secret []byte
}

// Deleted reports whether the object is soft-deleted.
func (o *Object) Deleted() bool { return !o.DeletedAt.IsZero() }

// Link relates two objects of one tenant.
type Link struct {
	TenantID string
	Rel      iam.Rel
	SourceID string
	TargetID string
	// Qualifier distinguishes several links of one Rel between the same two
	// objects (the appRoleId of an app role assignment); usually empty.
	Qualifier string
	// ID identifies the link when it is an entity of its own (app role
	// assignments); otherwise empty.
	ID        string
	Data      []byte
	CreatedAt time.Time
}

// Page is one page of a list.
type Page struct {
	Items []Object
	// Next is the position after the last item, or nil on the last page.
	Next *query.Cursor
	// Count is the total number of matches when the list asked for it, else -1.
	Count int64
}

// Direction picks the side of a link a listing walks to.
type Direction int

const (
	// Targets lists the objects a source links to (a group's members).
	Targets Direction = iota + 1
	// Sources lists the objects that link to a target (a user's groups).
	Sources
)

// Scope selects live or soft-deleted objects in a listing.
type Scope int

const (
	Live Scope = iota
	DeletedOnly
)

// Reader reads inside a transaction.
type Reader interface {
	Tenant(id string) (iam.Tenant, error)
	// TenantByDomain resolves a verified domain name to its tenant.
	TenantByDomain(name string) (iam.Tenant, error)
	// Tenants lists tenants ordered by id, after the given id.
	Tenants(afterID string, limit int) ([]iam.Tenant, error)

	// Get returns an object by id, live or soft-deleted. Kind "" matches
	// any directory kind.
	Get(tenantID string, kind iam.Kind, id string) (Object, error)
	// GetByKey returns the live object of kind with the key.
	GetByKey(tenantID string, kind iam.Kind, key string) (Object, error)
	// GetMany returns the live objects among ids, of the kinds given (all
	// directory kinds when kinds is empty), in no particular order.
	GetMany(tenantID string, ids []string, kinds []iam.Kind) ([]Object, error)
	// List pages through the objects of one kind.
	List(tenantID string, kind iam.Kind, scope Scope, q query.List) (Page, error)

	// Links returns the links of rel from source (or to target when source
	// is ""). It returns links whatever the state of the other end.
	Links(tenantID string, rel iam.Rel, sourceID, targetID string) ([]Link, error)
	// LinkByID returns the link of rel with the id.
	LinkByID(tenantID string, rel iam.Rel, id string) (Link, error)
	// ListLinked pages through the live objects on the other side of rel
	// links from id, restricted to kinds when given (to directory kinds
	// otherwise), filtered and sorted by q.
	ListLinked(tenantID string, rel iam.Rel, dir Direction, id string, kinds []iam.Kind, q query.List) (Page, error)
	// Transitive returns the ids of every live object reachable from id by
	// following rel in dir, through any depth (cycles are safe).
	Transitive(tenantID string, rel iam.Rel, dir Direction, id string) ([]string, error)
}

// Writer writes inside a transaction.
type Writer interface {
	Reader
	CreateTenant(t iam.Tenant) error
	UpdateTenant(t iam.Tenant) error
	// Insert adds an object; Conflict if the id exists or the key is taken.
	Insert(o Object) error
	// Update replaces an object (matched by tenant, kind and id); NotFound
	// if absent; Conflict if the new key is taken by another live object.
	Update(o Object) error
	// Delete removes an object and every link to or from it; NotFound if absent.
	Delete(tenantID string, kind iam.Kind, id string) error
	// AddLink adds a link; Conflict if the same (rel, source, target,
	// qualifier) exists; NotFound if either end does not exist.
	AddLink(l Link) error
	// RemoveLink removes one link; NotFound if absent.
	RemoveLink(tenantID string, rel iam.Rel, sourceID, targetID, qualifier string) error
}

// Store is a transactional store of tenants, objects and links.
type Store interface {
	Read(ctx context.Context, fn func(Reader) error) error
	Write(ctx context.Context, fn func(Writer) error) error
	// TryLock takes or renews the named cluster lock for owner until ttl
	// passes; it reports whether owner holds the lock.
	TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if owner holds it.
	Unlock(ctx context.Context, name, owner string) error
	// Changes returns up to limit entries of the change feed with a sequence
	// number above afterSeq, in sequence order. See Change.
	Changes(ctx context.Context, afterSeq int64, limit int) ([]Change, error)
	// PruneChanges forgets feed entries written before the given time.
	PruneChanges(ctx context.Context, before time.Time) error
	// Ping checks that the store is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Change is one entry of the change feed: a committed write touched an
// object (Kind and ID) or a link (Rel, ID as the source, TargetID) of a
// tenant. Every write of a FedKinds object or a FedRels link appends one
// entry in the same transaction, so an entry exists exactly when its write
// committed. Replicas that cache directory state (the role-based access
// snapshots) read the feed to learn what to re-read; entries say what
// changed, never how, so applying one is re-reading the current state,
// which is idempotent and independent of order.
//
// Sequence numbers grow, but on PostgreSQL a transaction may commit after a
// later-numbered one, so a reader can see a gap that fills in afterwards;
// readers must come back for gaps (see access.Feed).
type Change struct {
	Seq      int64
	TenantID string
	Kind     iam.Kind // the object's kind; "" for a link
	ID       string   // the object, or the link's source
	Rel      iam.Rel  // the link's relationship; "" for an object
	TargetID string   // the link's target
	At       time.Time
}

// FedKinds are the object kinds whose writes the change feed records:
// those the access snapshots are built from (principals, their groups and
// units, role definitions and assignments, the default user permissions),
// and those the token service caches (applications with their
// credentials, service principals, domains, which name tenants, and
// delegated permission grants).
var FedKinds = []iam.Kind{iam.KindUser, iam.KindGroup, iam.KindServicePrincipal, iam.KindAdministrativeUnit,
	iam.KindRoleDefinition, iam.KindRoleAssignment, iam.KindAuthorizationPolicy, iam.KindSecurityDefaultsPolicy,
	iam.KindApplication, iam.KindDomain, iam.KindOAuth2PermissionGrant}

// FedRels are the link relationships whose writes the feed records:
// membership of groups and administrative units, and app role assignments
// (the roles claim of app tokens, cached by the token service).
var FedRels = []iam.Rel{iam.RelMember, iam.RelAppRoleAssignment}

// GlobalKeyKinds are kinds whose Key is unique across tenants.
var GlobalKeyKinds = []iam.Kind{iam.KindDomain}

// KeyPath is the document property a kind's Key mirrors, so a filter on that
// property can use the indexed key column.
var KeyPath = map[iam.Kind]string{
	iam.KindUser:             "userPrincipalName",
	iam.KindApplication:      "appId",
	iam.KindServicePrincipal: "appId",
	iam.KindDomain:           "id",
}

// TimePath is the document property a kind's CreatedAt mirrors.
var TimePath = map[iam.Kind]string{
	iam.KindDirectoryAudit: "activityDateTime",
}

// CreatedAtPath returns the property CreatedAt mirrors for kind.
func CreatedAtPath(k iam.Kind) string {
	if p, ok := TimePath[k]; ok {
		return p
	}
	return "createdDateTime"
}
