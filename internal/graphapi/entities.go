package graphapi

import (
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
	req, err := parse(r, odata.SchemaFor(kind))
	if err != nil {
		return err
	}
	page, err := fetch(req.List)
	if err != nil {
		return err
	}
	items := make([]item, 0, len(page.Items))
	for _, v := range page.Items {
		it, err := itemOf(kind, v)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	v := &view{sel: req.Select, defaults: defaultSets, expand: req.Expand}
	if req.Expand != nil {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = idOf(it)
		}
		if v.expansion, err = s.expand(r, rc, kind, ids, req.Expand); err != nil {
			return err
		}
	}
	return s.writeList(w, r, rc, set, items, page.Next, page.Count, req.CountRequested, v)
}

// getEntity renders one object with $select and $expand.
func getEntity(s *Server, w http.ResponseWriter, r *http.Request, rc *reqCtx, kind iam.Kind, set string, v any) error {
	req, err := parse(r, odata.SchemaFor(kind))
	if err != nil {
		return err
	}
	it, err := itemOf(kind, v)
	if err != nil {
		return err
	}
	view := &view{sel: req.Select, defaults: defaultSets, expand: req.Expand}
	if req.Expand != nil {
		if view.expansion, err = s.expand(r, rc, kind, []string{idOf(it)}, req.Expand); err != nil {
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
