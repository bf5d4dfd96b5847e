package graphapi

import (
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func (s *Server) userRoutes() {
	rt := &s.routes
	mountEntity(s, entity[iam.User]{set: "users", kind: iam.KindUser, count: true,
		list: s.dir.ListUsers, create: s.dir.CreateUser, get: s.dir.GetUser, update: s.dir.UpdateUser, del: s.dir.DeleteUser,
		getDoc: s.dir.GetUserDocument, listDoc: s.dir.ListDocuments})
	s.relatedRoutes("users", iam.KindUser)
	rt.add("POST", "users/{id}/{action}", s.userAction)
	rt.add("GET", "users/{id}/manager", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id, err := s.resolveID(r, rc, iam.KindUser, rc.params["id"])
		if err != nil {
			return err
		}
		page, err := s.dir.ListLinked(r.Context(), rc.caller, iam.KindUser, id, iam.RelManager, directory.Targets, nil, query.List{Top: 1})
		if err != nil {
			return err
		}
		if len(page.Items) == 0 {
			return errs.E(errs.NotFound, "Resource 'manager' does not exist or one of its queried reference-property objects are not present.").WithCode("Request_ResourceNotFound")
		}
		m := page.Items[0]
		return s.writeEntity(w, rc, http.StatusOK, "directoryObjects", item{kind: m.Kind, data: m.Data}, &view{typed: true, defaults: defaultSets})
	})
	rt.add("PUT", "users/{id}/manager/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		ref, err := readRef(r)
		if err != nil {
			return err
		}
		if err := s.dir.SetManager(r.Context(), rc.caller, rc.params["id"], ref); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("DELETE", "users/{id}/manager/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.RemoveManager(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return noContent(w)
	})
}

// userAction serves POST /users/{id}/{action}.
func (s *Server) userAction(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	switch rc.params["action"] {
	case "revokeSignInSessions":
		if err := s.dir.RevokeSignInSessions(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return writeValue(w, s.publicURL+"/"+rc.version+"/$metadata#Edm.Boolean", true)
	case "checkMemberGroups", "checkMemberObjects", "getMemberGroups", "getMemberObjects":
		return s.memberAction(iam.KindUser)(w, r, rc)
	default:
		return errs.E(errs.Invalid, "Resource not found for the segment '%s'.", rc.params["action"]).WithCode("BadRequest")
	}
}
