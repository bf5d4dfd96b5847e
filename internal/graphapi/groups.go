package graphapi

import (
	"net/http"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
)

func (s *Server) groupRoutes() {
	rt := &s.routes
	mountEntity(s, entity[iam.Group]{set: "groups", kind: iam.KindGroup, count: true,
		list: s.dir.ListGroups, create: s.dir.CreateGroup, get: s.dir.GetGroup, update: s.dir.UpdateGroup, del: s.dir.DeleteGroup,
		listDoc: s.dir.ListDocuments})
	rt.add("POST", "groups/{id}/members/$ref", s.groupRef(true, iam.RelMember))
	rt.add("DELETE", "groups/{id}/members/{ref}/$ref", s.groupRef(false, iam.RelMember))
	rt.add("POST", "groups/{id}/owners/$ref", s.groupRef(true, iam.RelOwner))
	rt.add("DELETE", "groups/{id}/owners/{ref}/$ref", s.groupRef(false, iam.RelOwner))
	s.relatedRoutes("groups", iam.KindGroup)
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
