package graphapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

func (s *Server) appRoutes() {
	rt := &s.routes
	mountEntity(s, entity[iam.OAuth2PermissionGrant]{set: "oauth2PermissionGrants", kind: iam.KindOAuth2PermissionGrant,
		list: s.dir.ListOAuth2PermissionGrants, create: s.dir.CreateOAuth2PermissionGrant, get: s.dir.GetOAuth2PermissionGrant,
		update: s.dir.UpdateOAuth2PermissionGrant, del: s.dir.DeleteOAuth2PermissionGrant})
	mountEntity(s, entity[iam.Application]{set: "applications", kind: iam.KindApplication, count: true,
		list: s.dir.ListApplications, create: s.dir.CreateApplication, get: s.dir.GetApplication,
		update: s.dir.UpdateApplication, del: s.dir.DeleteApplication})
	rt.add("POST", "applications/{id}/addPassword", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		cred, err := s.dir.AddPassword(r.Context(), rc.caller, rc.params["id"], body)
		if err != nil {
			return err
		}
		it, err := itemOf("", cred)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "microsoft.graph.passwordCredential", it, &view{})
	})
	rt.add("POST", "applications/{id}/removePassword", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		var body struct {
			KeyID string `json:"keyId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.KeyID == "" {
			return errs.E(errs.Invalid, "Invalid value specified for property 'keyId'.").WithCode("Request_BadRequest")
		}
		if err := s.dir.RemovePassword(r.Context(), rc.caller, rc.params["id"], body.KeyID); err != nil {
			return err
		}
		return noContent(w)
	})
	s.ownerRoutes("applications", s.dir.ListApplicationOwners, s.dir.AddApplicationOwner, s.dir.RemoveApplicationOwner)
}

func (s *Server) spRoutes() {
	rt := &s.routes
	mountEntity(s, entity[iam.ServicePrincipal]{set: "servicePrincipals", kind: iam.KindServicePrincipal, count: true,
		list: s.dir.ListServicePrincipals, create: s.dir.CreateServicePrincipal, get: s.dir.GetServicePrincipal,
		update: s.dir.UpdateServicePrincipal, del: s.dir.DeleteServicePrincipal})
	s.ownerRoutes("servicePrincipals", s.dir.ListServicePrincipalOwners, s.dir.AddServicePrincipalOwner, s.dir.RemoveServicePrincipalOwner)
	s.appRoleAssignmentRoutes("servicePrincipals", iam.KindServicePrincipal)
	s.appRoleAssignmentRoutes("users", iam.KindUser)
	s.appRoleAssignmentRoutes("groups", iam.KindGroup)
	s.relatedRoutes("servicePrincipals", iam.KindServicePrincipal)
	rt.add("POST", "servicePrincipals/{id}/{action}", s.memberAction(iam.KindServicePrincipal))
}

// ownerRoutes mounts owners, owners/$ref and owners/{id}/$ref on a set.
func (s *Server) ownerRoutes(set string,
	list func(context.Context, *iam.Caller, string, query.List) (directory.Page[directory.Object], error),
	add, remove func(context.Context, *iam.Caller, string, string) error) {
	rt := &s.routes
	rt.add("GET", set+"/{id}/owners", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		req, err := parse(r, odata.DirectoryObjectSchema)
		if err != nil {
			return err
		}
		page, err := list(r.Context(), rc.caller, rc.params["id"], req.List)
		if err != nil {
			return err
		}
		return s.writeList(w, r, rc, "directoryObjects", itemsOf(page.Items), page.Next, page.Count, req.CountRequested,
			&view{sel: req.Select, defaults: defaultSets, typed: true})
	})
	rt.add("POST", set+"/{id}/owners/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		ref, err := readRef(r)
		if err != nil {
			return err
		}
		if err := add(r.Context(), rc.caller, rc.params["id"], ref); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("DELETE", set+"/{id}/owners/{ref}/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := remove(r.Context(), rc.caller, rc.params["id"], rc.params["ref"]); err != nil {
			return err
		}
		return noContent(w)
	})
}

// appRoleAssignmentRoutes mounts appRoleAssignments (what the object
// holds) on users, groups and service principals, and appRoleAssignedTo
// (who holds roles on it) on service principals.
func (s *Server) appRoleAssignmentRoutes(set string, kind iam.Kind) {
	rt := &s.routes
	navs := []string{"appRoleAssignments"}
	if kind == iam.KindServicePrincipal {
		navs = append(navs, "appRoleAssignedTo")
	}
	for _, nav := range navs {
		nav := nav
		rt.add("GET", set+"/{id}/"+nav, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			id, err := s.resolveID(r, rc, kind, rc.params["id"])
			if err != nil {
				return err
			}
			req, err := parse(r, odata.AppRoleAssignmentSchema)
			if err != nil {
				return err
			}
			var page directory.Page[iam.AppRoleAssignment]
			if nav == "appRoleAssignedTo" {
				page, err = s.dir.ListAppRoleAssignedTo(r.Context(), rc.caller, id, req.List)
			} else {
				page, err = s.dir.ListAppRoleAssignments(r.Context(), rc.caller, id, req.List)
			}
			if err != nil {
				return err
			}
			items := make([]item, 0, len(page.Items))
			for _, a := range page.Items {
				it, err := itemOf("", a)
				if err != nil {
					return err
				}
				items = append(items, it)
			}
			return s.writeList(w, r, rc, set+"('"+id+"')/"+nav, items, page.Next, page.Count, req.CountRequested, &view{sel: req.Select})
		})
		rt.add("POST", set+"/{id}/"+nav, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			id, err := s.resolveID(r, rc, kind, rc.params["id"])
			if err != nil {
				return err
			}
			var body struct {
				PrincipalID string `json:"principalId"`
				ResourceID  string `json:"resourceId"`
				AppRoleID   string `json:"appRoleId"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				return errs.E(errs.Invalid, "Unable to read JSON request payload.").WithCode("BadRequest")
			}
			// The object in the URL fixes one side of the assignment.
			if nav == "appRoleAssignedTo" {
				body.ResourceID = id
			} else if body.PrincipalID == "" {
				body.PrincipalID = id
			} else if !sameID(body.PrincipalID, id) {
				return errs.E(errs.Invalid, "The principalId must be the object in the request URL.").WithCode("Request_BadRequest")
			}
			a, err := s.dir.AssignAppRole(r.Context(), rc.caller, body.PrincipalID, body.ResourceID, body.AppRoleID)
			if err != nil {
				return err
			}
			it, err := itemOf("", a)
			if err != nil {
				return err
			}
			return s.writeEntity(w, rc, http.StatusCreated, set+"('"+id+"')/"+nav, it, &view{})
		})
		rt.add("DELETE", set+"/{id}/"+nav+"/{assignment}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
			id, err := s.resolveID(r, rc, kind, rc.params["id"])
			if err != nil {
				return err
			}
			if err := s.dir.RemoveAppRoleAssignment(r.Context(), rc.caller, id, rc.params["assignment"]); err != nil {
				return err
			}
			return noContent(w)
		})
	}
}

func sameID(a, b string) bool {
	x, ok1 := iam.NormalizeGUID(a)
	y, ok2 := iam.NormalizeGUID(b)
	return ok1 && ok2 && x == y
}
