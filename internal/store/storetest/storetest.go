// Package storetest is the conformance suite every store.Store backend
// must pass. Each backend's test calls Run with a function that opens a
// fresh, migrated, empty store; every subtest gets its own.
//
// The suite checks behaviour through the public contract only: what a
// service can observe. Documents are compared as JSON values, not bytes,
// because PostgreSQL's JSONB normalizes formatting.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Run runs the whole suite.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Tenants", testTenants},
		{"ObjectCRUD", testObjectCRUD},
		{"Secret", testSecret},
		{"KeyConflicts", testKeyConflicts},
		{"GlobalKeys", testGlobalKeys},
		{"TenantIsolation", testTenantIsolation},
		{"TimeZones", testTimeZones},
		{"Rollback", testRollback},
		{"Panic", testPanic},
		{"Filters", testFilters},
		{"FilterErrors", testFilterErrors},
		{"Paging", testPaging},
		{"Count", testCount},
		{"DeletedScope", testDeletedScope},
		{"Links", testLinks},
		{"ListLinked", testListLinked},
		{"Transitive", testTransitive},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Locks", testLocks},
		{"Feed", testFeed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
		})
	}
}

// ---- helpers ----

func write(t *testing.T, s store.Store, fn func(store.Writer) error) {
	t.Helper()
	if err := s.Write(context.Background(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func read(t *testing.T, s store.Store, fn func(store.Reader) error) {
	t.Helper()
	if err := s.Read(context.Background(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// wantKind fails unless err has kind k.
func wantKind(t *testing.T, err error, k errs.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %v", what, k)
	}
	if got := errs.KindOf(err); got != k {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, k)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// jsonEqual compares two documents as JSON values.
func jsonEqual(t *testing.T, got, want []byte, what string) {
	t.Helper()
	if got == nil && want == nil {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got invalid JSON %q: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want invalid JSON %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// obj builds a directory object whose document carries id, displayName
// and, when the kind has one, the key property, plus props.
func obj(tenant string, kind iam.Kind, id, name, key string, props map[string]any) store.Object {
	doc := map[string]any{"id": id, "displayName": name}
	if p, ok := store.KeyPath[kind]; ok && key != "" {
		doc[p] = key
	}
	for k, v := range props {
		doc[k] = v
	}
	return store.Object{
		TenantID: tenant, Kind: kind, ID: id, Key: key, DisplayName: name,
		CreatedAt: epoch, Data: mustJSON(doc),
	}
}

func user(tenant, id, name, upn string, props map[string]any) store.Object {
	return obj(tenant, iam.KindUser, id, name, upn, props)
}

func group(tenant, id, name string) store.Object {
	return obj(tenant, iam.KindGroup, id, name, "", nil)
}

func insert(t *testing.T, s store.Store, objs ...store.Object) {
	t.Helper()
	write(t, s, func(w store.Writer) error {
		for _, o := range objs {
			if err := w.Insert(o); err != nil {
				return err
			}
		}
		return nil
	})
}

func get(t *testing.T, s store.Store, tenant string, kind iam.Kind, id string) (store.Object, error) {
	t.Helper()
	var o store.Object
	err := s.Read(context.Background(), func(r store.Reader) error {
		var err error
		o, err = r.Get(tenant, kind, id)
		return err
	})
	return o, err
}

func list(t *testing.T, s store.Store, tenant string, kind iam.Kind, scope store.Scope, q query.List) store.Page {
	t.Helper()
	var p store.Page
	read(t, s, func(r store.Reader) error {
		var err error
		p, err = r.List(tenant, kind, scope, q)
		return err
	})
	return p
}

func idsOf(objs []store.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func sameSet(t *testing.T, got, want []string, what string) {
	t.Helper()
	g, w := sorted(got), sorted(want)
	if !slices.Equal(g, w) {
		t.Fatalf("%s:\n got %v\nwant %v", what, g, w)
	}
}

var errSentinel = errors.New("storetest: closure failed on purpose")
