package graphapi

import (
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func (s *Server) groupRoutes() {
	rt := &s.routes
	list := func(r *http.Request, rc *reqCtx) func(q query.List) (directory.Page[iam.Group], error) {
		return func(q query.List) (directory.Page[iam.Group], error) {
			return s.dir.ListGroups(r.Context(), rc.caller, q)
		}
	}
	rt.add("GET", "groups", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return listEntities(s, w, r, rc, iam.KindGroup, "groups", list(r, rc))
	})
	rt.add("GET", "groups/$count", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return countOf(w, r, list(r, rc))
	})
	rt.add("POST", "groups", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		g, err := s.dir.CreateGroup(r.Context(), rc.caller, body)
		if err != nil {
			return err
		}
		return created(s, w, rc, iam.KindGroup, "groups", g)
	})
	rt.add("GET", "groups/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		g, err := s.dir.GetGroup(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		return getEntity(s, w, r, rc, iam.KindGroup, "groups", g)
	})
	rt.add("PATCH", "groups/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if err := s.dir.UpdateGroup(r.Context(), rc.caller, rc.params["id"], body); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("DELETE", "groups/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.DeleteGroup(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("POST", "groups/{id}/members/$ref", s.groupRef(true, iam.RelMember))
	rt.add("DELETE", "groups/{id}/members/{ref}/$ref", s.groupRef(false, iam.RelMember))
	rt.add("POST", "groups/{id}/owners/$ref", s.groupRef(true, iam.RelOwner))
	rt.add("DELETE", "groups/{id}/owners/{ref}/$ref", s.groupRef(false, iam.RelOwner))
	rt.add("GET", "groups/{id}/{nav}", s.listRelated(iam.KindGroup))
	rt.add("GET", "groups/{id}/{nav}/{cast}", s.listRelated(iam.KindGroup))
	rt.add("POST", "groups/{id}/{action}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		switch rc.params["action"] {
		case "checkMemberGroups", "checkMemberObjects", "getMemberGroups", "getMemberObjects":
			return s.memberAction(iam.KindGroup)(w, r, rc)
		}
		return errs.E(errs.Invalid, "Resource not found for the segment '%s'.", rc.params["action"]).WithCode("BadRequest")
	})
}

// groupRef adds or removes a member or owner by reference.
func (s *Server) groupRef(add bool, rel iam.Rel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		gid := rc.params["id"]
		var err error
		switch {
		case add && rel == iam.RelMember:
			var ref string
			if ref, err = readRef(r); err == nil {
				err = s.dir.AddGroupMember(r.Context(), rc.caller, gid, ref)
			}
		case add:
			var ref string
			if ref, err = readRef(r); err == nil {
				err = s.dir.AddGroupOwner(r.Context(), rc.caller, gid, ref)
			}
		case rel == iam.RelMember:
			err = s.dir.RemoveGroupMember(r.Context(), rc.caller, gid, rc.params["ref"])
		default:
			err = s.dir.RemoveGroupOwner(r.Context(), rc.caller, gid, rc.params["ref"])
		}
		if err != nil {
			return err
		}
		return noContent(w)
	}
}
