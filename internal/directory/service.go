// Package directory owns the directory of each tenant: users, groups,
// applications, service principals, administrative units and domains, their
// relationships, soft delete and restore.
//
// Every method takes the caller explicitly, names the Entra action it
// performs and asks the Authorizer before it reads or writes; every change
// writes its audit record in the same transaction. Objects are stored as
// Graph-shaped JSON documents (see package store), which lets an update be a
// JSON merge of the caller's patch onto the stored document, checked against
// the object type's read-only and immutable properties.
package directory

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
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

// TXTResolver looks up TXT records; domain verification uses it. In
// production it is a net.Resolver (optionally dialing a configured server);
// tests point it at a DNS server on loopback.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Config holds the directory's settings.
type Config struct {
	// InitialDomainSuffix names initial domains: "<name>.<suffix>".
	InitialDomainSuffix string
}

// Service is the directory service.
type Service struct {
	store    store.Store
	authz    authz.Authorizer
	hasher   *passwords.Hasher
	resolver TXTResolver
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
}

// New builds the service. now is the clock (a fake in tests).
func New(st store.Store, az authz.Authorizer, hasher *passwords.Hasher, resolver TXTResolver, cfg Config, now func() time.Time, log *slog.Logger) *Service {
	if cfg.InitialDomainSuffix == "" {
		cfg.InitialDomainSuffix = "ostiary.test"
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	return &Service{store: st, authz: az, hasher: hasher, resolver: resolver, cfg: cfg, now: now, log: log}
}

// Page is one page of typed results.
type Page[T any] struct {
	Items []T
	Next  *query.Cursor
	Count int64
}

// clock returns now truncated to whole seconds in UTC: Graph shows seconds,
// and stored JSON times then sort as text.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// record writes an audit entry; a thin shorthand used by every change.
func record(w store.Writer, c *iam.Caller, now time.Time, e audit.Entry) error {
	return audit.Record(w, c, now, e)
}

func decode[T any](o store.Object) (T, error) {
	var v T
	if err := json.Unmarshal(o.Data, &v); err != nil {
		return v, errs.Wrap(errs.Internal, err, "decode %s %s", o.Kind, o.ID)
	}
	return v, nil
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encode object")
	}
	return b, nil
}

func decodePage[T any](p store.Page) (Page[T], error) {
	out := Page[T]{Items: make([]T, 0, len(p.Items)), Next: p.Next, Count: p.Count}
	for _, o := range p.Items {
		v, err := decode[T](o)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func notFound(id string) error {
	return errs.E(errs.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id).WithCode("Request_ResourceNotFound")
}

func badRequest(format string, args ...any) error {
	return errs.E(errs.Invalid, format, args...).WithCode("Request_BadRequest")
}

// get reads a live object of kind by id (kind "" for any directory kind).
func get(r store.Reader, tenantID string, kind iam.Kind, id string) (store.Object, error) {
	id = strings.ToLower(id)
	o, err := r.Get(tenantID, kind, id)
	if errs.Is(err, errs.NotFound) || (err == nil && o.Deleted()) {
		return store.Object{}, notFound(id)
	}
	return o, err
}

func str(s string) *string { return &s }

func boolp(b bool) *bool { return &b }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Directions of a relationship listing, re-exported so transports need not
// import the store.
const (
	// Targets lists what an object links to (a group's members).
	Targets = store.Targets
	// Sources lists what links to an object (a user's groups).
	Sources = store.Sources
)

// Direction picks the side of a relationship a listing walks to.
type Direction = store.Direction

// readOne authorizes action on the object key names, finds it with find
// and decodes it: the shape of every typed single-object read.
func readOne[T any](s *Service, ctx context.Context, c *iam.Caller, action string, kind iam.Kind, key string,
	find func(r store.Reader) (store.Object, error)) (T, error) {
	var out T
	if err := s.authorize(ctx, c, action, kind, key); err != nil {
		return out, err
	}
	err := s.store.Read(ctx, func(r store.Reader) error {
		o, err := find(r)
		if err != nil {
			return err
		}
		out, err = decode[T](o)
		return err
	})
	return out, err
}

// readPage authorizes action and lists the live objects of kind.
func readPage[T any](s *Service, ctx context.Context, c *iam.Caller, action string, kind iam.Kind, q query.List) (Page[T], error) {
	if err := s.authorize(ctx, c, action, kind, ""); err != nil {
		return Page[T]{}, err
	}
	var out Page[T]
	err := s.store.Read(ctx, func(r store.Reader) error {
		p, err := r.List(c.TenantID, kind, store.Live, q)
		if err != nil {
			return err
		}
		out, err = decodePage[T](p)
		return err
	})
	return out, err
}

// documentReads are the kinds whose lists may be served as stored documents
// (readable as a whole by anyone allowed the action; applications and
// service principals are not here because ".OwnedBy" callers see a subset).
var documentReads = map[iam.Kind]string{
	iam.KindUser:               authz.UsersRead,
	iam.KindGroup:              authz.GroupsRead,
	iam.KindAdministrativeUnit: authz.AUsRead,
	iam.KindDomain:             authz.DomainsRead,
}

// ListDocuments lists live objects of kind as their stored documents, for
// transports that render JSON anyway: a page of 100 then skips 100 decodes
// into typed values and the encodes back.
func (s *Service) ListDocuments(ctx context.Context, c *iam.Caller, kind iam.Kind, q query.List) (Page[Object], error) {
	action, ok := documentReads[kind]
	if !ok {
		return Page[Object]{}, errs.E(errs.Internal, "no document listing for %s", kind)
	}
	if err := s.authorize(ctx, c, action, kind, ""); err != nil {
		return Page[Object]{}, err
	}
	var out Page[Object]
	err := s.store.Read(ctx, func(r store.Reader) error {
		p, err := r.List(c.TenantID, kind, store.Live, q)
		if err != nil {
			return err
		}
		out, err = objectsPage(p)
		return err
	})
	return out, err
}
