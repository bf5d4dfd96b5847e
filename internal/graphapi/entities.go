package graphapi

import (
	"context"
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// listEntities serves a top-level collection of one kind with the full
// OData treatment: filter, search, sort, select, expand, count and paging.
func listEntities[T any](s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx, kind iam.Kind, set string,
	fetch func(q query.List) (directory.Page[T], error)) error {
	return listItems(s, w, r, rc, kind, set, func(q query.List) (directory.Page[directory.Object], error) {
		page, err := fetch(q)
		if err != nil {
			return directory.Page[directory.Object]{}, err
		}
		out := directory.Page[directory.Object]{Items: make([]directory.Object, 0, len(page.Items)), Next: page.Next, Count: page.Count}
		for _, v := range page.Items {
			it, err := itemOf(kind, v)
			if err != nil {
				return out, err
			}
			out.Items = append(out.Items, directory.Object{Kind: kind, Data: it.data})
		}
		return out, nil
	})
}

// listItems is listEntities over stored documents.
func listItems(s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx, kind iam.Kind, set string,
	fetch func(q query.List) (directory.Page[directory.Object], error)) error {
	req, err := parse(r, odata.SchemaFor(kind))
	if err != nil {
		return err
	}
	page, err := fetch(req.List)
	if err != nil {
		return err
	}
	items := itemsOf(page.Items)
	v := &view{sel: req.Select, defaults: defaultSets, expand: req.Expand}
	if req.Expand != nil {
		if v.expansion, err = s.expand(r, rc, kind, items, req.Expand); err != nil {
			return err
		}
	}
	return s.writeList(w, r, rc, set, items, page.Next, page.Count, req.CountRequested, v)
}

// getEntity renders one object with $select and $expand.
func getEntity(s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx, kind iam.Kind, set string, v any) error {
	it, err := itemOf(kind, v)
	if err != nil {
		return err
	}
	return getItem(s, w, r, rc, kind, set, it)
}

// getItem renders one stored document with $select and $expand.
func getItem(s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx, kind iam.Kind, set string, it item) error {
	req, err := parse(r, odata.SchemaFor(kind))
	if err != nil {
		return err
	}
	view := &view{sel: req.Select, defaults: defaultSets, expand: req.Expand}
	if req.Expand != nil {
		if view.expansion, err = s.expand(r, rc, kind, []item{it}, req.Expand); err != nil {
			return err
		}
	}
	return s.writeEntity(w, rc, http.StatusOK, set, it, view)
}

// created renders a newly created object with 201 and every property.
func created(s *Server, w http.ResponseWriter, rc *reqCtx, kind iam.Kind, set string, v any) error {
	it, err := itemOf(kind, v)
	if err != nil {
		return err
	}
	return s.writeEntity(w, rc, http.StatusCreated, set, it, &view{})
}

// countOf serves /{set}/$count through a list call asking only for the count.
func countOf[T any](w http.ResponseWriter, r *http.Request, fetch func(q query.List) (directory.Page[T], error)) error {
	return countOnly(w, r, func(q query.List) (int64, error) {
		p, err := fetch(q)
		return p.Count, err
	})
}

// entity describes a top-level Graph entity set by the directory methods
// that serve it; mountEntity registers its collection and item routes.
type entity[T any] struct {
	set    string // path of the set, e.g. "users" or "directory/administrativeUnits"
	kind   iam.Kind
	list   func(context.Context, *iam.Caller, query.List) (directory.Page[T], error)
	create func(context.Context, *iam.Caller, directory.Patch) (T, error)
	get    func(context.Context, *iam.Caller, string) (T, error)
	update func(context.Context, *iam.Caller, string, directory.Patch) error
	del    func(context.Context, *iam.Caller, string) error
	// getDoc, when set, serves GET on an item from the stored document
	// without a typed round trip (the hot read path).
	getDoc func(context.Context, *iam.Caller, string) (directory.Object, error)
	// listDoc, when set, serves the collection from stored documents.
	listDoc func(context.Context, *iam.Caller, iam.Kind, query.List) (directory.Page[directory.Object], error)
	// count mounts "/{set}/$count".
	count bool
}

// mountEntity registers GET and POST on the set, GET, PATCH (when update
// is set) and DELETE on its items, and "/$count" when asked: 201 with the entity on create, 204
// on update and delete, as Graph answers.
func mountEntity[T any](s *Server, e entity[T]) {
	rt := &s.routes
	list := func(r *http.Request, rc *reqCtx) func(q query.List) (directory.Page[T], error) {
		return func(q query.List) (directory.Page[T], error) { return e.list(r.Context(), rc.caller, q) }
	}
	rt.add("GET", e.set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if e.listDoc != nil {
			return listItems(s, w, r, rc, e.kind, e.set, func(q query.List) (directory.Page[directory.Object], error) {
				return e.listDoc(r.Context(), rc.caller, e.kind, q)
			})
		}
		return listEntities(s, w, r, rc, e.kind, e.set, list(r, rc))
	})
	if e.count {
		rt.add("GET", e.set+"/$count", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			return countOf(w, r, list(r, rc))
		})
	}
	rt.add("POST", e.set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		v, err := e.create(r.Context(), rc.caller, body)
		if err != nil {
			return err
		}
		return created(s, w, rc, e.kind, e.set, v)
	})
	rt.add("GET", e.set+"/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if e.getDoc != nil {
			o, err := e.getDoc(r.Context(), rc.caller, rc.params["id"])
			if err != nil {
				return err
			}
			return getItem(s, w, r, rc, e.kind, e.set, item{kind: o.Kind, data: o.Data})
		}
		v, err := e.get(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return getEntity(s, w, r, rc, e.kind, e.set, v)
	})
	if e.update != nil {
		rt.add("PATCH", e.set+"/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			body, err := readBody(r)
			if err != nil {
				return err
			}
			if err := e.update(r.Context(), rc.caller, rc.params["id"], body); err != nil {
				return err
			}
			return noContent(w)
		})
	}
	rt.add("DELETE", e.set+"/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := e.del(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return noContent(w)
	})
}
