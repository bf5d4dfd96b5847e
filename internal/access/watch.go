package access

import (
	"context"
	"slices"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Watch returns st with its writes counted: after a committed write of a
// fed kind or relationship, the next Tenant call reads the feed first, so
// a replica enforces its own changes on the very next request.
func (ts *Tenants) Watch(st store.Store) store.Store { return &watched{Store: st, ts: ts} }

type watched struct {
	store.Store
	ts *Tenants
}

func (w *watched) Write(ctx context.Context, fn func(store.Writer) error) error {
	var fed bool
	err := w.Store.Write(ctx, func(wr store.Writer) error {
		fed = false // the closure may run again after a retry
		return fn(&fedWriter{Writer: wr, fed: &fed})
	})
	if err == nil && fed {
		w.ts.writes.Add(1)
	}
	return err
}

// fedWriter notes whether a transaction wrote anything the feed records.
type fedWriter struct {
	store.Writer
	fed *bool
}

func (f *fedWriter) kind(k iam.Kind) {
	if slices.Contains(store.FedKinds, k) {
		*f.fed = true
	}
}

func (f *fedWriter) Insert(o store.Object) error {
	f.kind(o.Kind)
	return f.Writer.Insert(o)
}

func (f *fedWriter) Update(o store.Object) error {
	f.kind(o.Kind)
	return f.Writer.Update(o)
}

func (f *fedWriter) Delete(tenantID string, kind iam.Kind, id string) error {
	f.kind(kind)
	return f.Writer.Delete(tenantID, kind, id)
}

func (f *fedWriter) AddLink(l store.Link) error {
	if slices.Contains(store.FedRels, l.Rel) {
		*f.fed = true
	}
	return f.Writer.AddLink(l)
}

func (f *fedWriter) RemoveLink(tenantID string, rel iam.Rel, sourceID, targetID, qualifier string) error {
	if slices.Contains(store.FedRels, rel) {
		*f.fed = true
	}
	return f.Writer.RemoveLink(tenantID, rel, sourceID, targetID, qualifier)
}
