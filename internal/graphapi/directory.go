package graphapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func (s *Server) directoryRoutes() {
	rt := &s.routes
	// Deleted items: the type cast is mandatory on the collection, as in Graph.
	rt.add("GET", "directory/deletedItems", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return errs.E(errs.Invalid, "A type cast is required: use /directory/deletedItems/microsoft.graph.user (or group, application, servicePrincipal, administrativeUnit).").WithCode("Request_BadRequest")
	})
	rt.add("GET", "directory/deletedItems/{key}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		key := rc.params["key"]
		if _, cast := castName(key); cast {
			kinds, err := castKinds(key)
			if err != nil {
				return err
			}
			req, err := parse(r, odata.SchemaFor(kinds[0]))
			if err != nil {
				return err
			}
			page, err := s.dir.ListDeleted(r.Context(), rc.caller, kinds[0], req.List)
			if err != nil {
				return err
			}
			return s.writeList(w, r, rc, "directory/deletedItems/"+key, itemsOf(page.Items), page.Next, page.Count, req.CountRequested,
				&view{sel: req.Select, defaults: defaultSets, typed: true})
		}
		o, err := s.dir.GetDeleted(r.Context(), rc.caller, key)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "directory/deletedItems", item{kind: o.Kind, data: o.Data}, &view{typed: true})
	})
	rt.add("GET", "directory/deletedItems/{cast}/$count", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		kinds, err := castKinds(rc.params["cast"])
		if err != nil {
			return err
		}
		if kinds == nil {
			return errs.E(errs.Invalid, "A type cast is required before $count.").WithCode("Request_BadRequest")
		}
		return countOnly(w, r, func(q query.List) (int64, error) {
			p, err := s.dir.ListDeleted(r.Context(), rc.caller, kinds[0], q)
			return p.Count, err
		})
	})
	rt.add("POST", "directory/deletedItems/{id}/restore", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		o, err := s.dir.Restore(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "directoryObjects", item{kind: o.Kind, data: o.Data}, &view{typed: true})
	})
	rt.add("DELETE", "directory/deletedItems/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.Purge(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return noContent(w)
	})

	rt.add("GET", "directoryObjects/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		o, err := s.dir.GetObject(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "directoryObjects", item{kind: o.Kind, data: o.Data}, &view{typed: true})
	})
	rt.add("POST", "directoryObjects/getByIds", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		var body struct {
			IDs   []string `json:"ids"`
			Types []string `json:"types"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return errs.E(errs.Invalid, "Unable to read JSON request payload.").WithCode("BadRequest")
		}
		var kinds []iam.Kind
		for _, t := range body.Types {
			k, err := castKinds("microsoft.graph." + strings.TrimPrefix(t, "microsoft.graph."))
			if err != nil {
				return err
			}
			kinds = append(kinds, k...)
		}
		objs, err := s.dir.GetByIDs(r.Context(), rc.caller, body.IDs, kinds)
		if err != nil {
			return err
		}
		return s.writeList(w, r, rc, "directoryObjects", itemsOf(objs), nil, -1, false, &view{typed: true})
	})

	audits := func(r *http.Request, rc *reqCtx) func(q query.List) (directory.Page[iam.DirectoryAudit], error) {
		return func(q query.List) (directory.Page[iam.DirectoryAudit], error) {
			return s.dir.ListDirectoryAudits(r.Context(), rc.caller, q)
		}
	}
	rt.add("GET", "auditLogs/directoryAudits", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return listEntities(s, w, r, rc, iam.KindDirectoryAudit, "auditLogs/directoryAudits", audits(r, rc))
	})
	rt.add("GET", "auditLogs/directoryAudits/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		a, err := s.dir.GetDirectoryAudit(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return getEntity(s, w, r, rc, iam.KindDirectoryAudit, "auditLogs/directoryAudits", a)
	})

	signIns := func(r *http.Request, rc *reqCtx) func(q query.List) (directory.Page[iam.SignIn], error) {
		return func(q query.List) (directory.Page[iam.SignIn], error) {
			return s.dir.ListSignIns(r.Context(), rc.caller, q)
		}
	}
	rt.add("GET", "auditLogs/signIns", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return listEntities(s, w, r, rc, iam.KindSignIn, "auditLogs/signIns", signIns(r, rc))
	})
	rt.add("GET", "auditLogs/signIns/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		v, err := s.dir.GetSignIn(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return getEntity(s, w, r, rc, iam.KindSignIn, "auditLogs/signIns", v)
	})
}
