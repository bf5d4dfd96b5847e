package graphapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/web"
)

// authMethodRoutes mounts a user's authentication methods (CONTRACT.md
// D.14): /users/{id}/authentication/methods and the typed collections
// (list, get, delete; POST for Temporary Access Passes), reached through
// /me as well, and the userRegistrationDetails report (D.15). Items are
// polymorphic: each document carries its own "@odata.type".
func (s *Server) authMethodRoutes() {
	rt := &s.routes
	rt.add("GET", "users/{id}/authentication/methods", s.listMethods(""))
	rt.add("GET", "users/{id}/authentication/methods/{mid}", s.getMethod(""))
	for _, t := range authmethods.Types {
		nav := "users/{id}/authentication/" + t.Collection()
		rt.add("GET", nav, s.listMethods(t))
		rt.add("GET", nav+"/{mid}", s.getMethod(t))
		if t != authmethods.TypePassword {
			rt.add("DELETE", nav+"/{mid}", s.deleteMethod(t))
		}
	}
	rt.add("POST", "users/{id}/authentication/"+authmethods.TypeTAP.Collection(), s.issueTAP)

	const report = "reports/authenticationMethods/userRegistrationDetails"
	rt.add("GET", report, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		req, err := parse(r, odata.UserRegistrationDetailsSchema)
		if err != nil {
			return err
		}
		page, err := s.methods.ListRegistrationDetails(r.Context(), rc.caller, req.List)
		if err != nil {
			return err
		}
		items := make([]item, 0, len(page.Items))
		for _, d := range page.Items {
			it, err := itemOf("", d)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return s.writeList(w, r, rc, report, items, page.Next, -1, false, &view{sel: req.Select})
	})
	rt.add("GET", report+"/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		req, err := parse(r, odata.UserRegistrationDetailsSchema)
		if err != nil {
			return err
		}
		d, err := s.methods.GetRegistrationDetails(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		it, err := itemOf("", d)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, report, it, &view{sel: req.Select})
	})
}

// methodsSet is the context path of a user's methods
// ("users('id')/authentication/methods"), with the user as addressed. The
// user key (id or UPN) goes to authmethods as it came: it resolves a UPN
// itself, under its own authorization, so UserAuthenticationMethod.*
// alone can address users by name, as in Graph.
func methodsSet(userID, nav string) string {
	return "users('" + userID + "')/authentication/" + nav
}

func navOf(t authmethods.Type) string {
	if t == "" {
		return "methods"
	}
	return t.Collection()
}

func (s *Server) listMethods(t authmethods.Type) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id := rc.params["id"]
		ms, err := s.methods.List(r.Context(), rc.caller, id, t)
		if err != nil {
			return err
		}
		items := make([]item, len(ms))
		for i, m := range ms {
			items[i] = item{data: m.Data}
		}
		return s.writeList(w, r, rc, methodsSet(id, navOf(t)), items, nil, -1, false, &view{})
	}
}

func (s *Server) getMethod(t authmethods.Type) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id := rc.params["id"]
		m, err := s.methods.Get(r.Context(), rc.caller, id, t, rc.params["mid"])
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, methodsSet(id, navOf(t)), item{data: m.Data}, &view{})
	}
}

func (s *Server) deleteMethod(t authmethods.Type) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id := rc.params["id"]
		if err := s.methods.Delete(r.Context(), rc.caller, id, t, rc.params["mid"]); err != nil {
			return err
		}
		return noContent(w)
	}
}

// tapRequest is the body of POST …/temporaryAccessPassMethods.
type tapRequest struct {
	StartDateTime     *time.Time `json:"startDateTime"`
	LifetimeInMinutes *int       `json:"lifetimeInMinutes"`
	IsUsableOnce      *bool      `json:"isUsableOnce"`
}

// issueTAP serves POST /users/{id}/authentication/temporaryAccessPassMethods:
// 201 with the method, whose temporaryAccessPass is shown this once.
func (s *Server) issueTAP(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body, err := readTAPRequest(r)
	if err != nil {
		return err
	}
	id := rc.params["id"]
	var start time.Time
	if body.StartDateTime != nil {
		start = *body.StartDateTime
	}
	var lifetime time.Duration
	if body.LifetimeInMinutes != nil {
		if *body.LifetimeInMinutes <= 0 {
			return errs.E(errs.Invalid, "lifetimeInMinutes must be positive.").WithCode("badRequest")
		}
		lifetime = time.Duration(*body.LifetimeInMinutes) * time.Minute
	}
	once := body.IsUsableOnce != nil && *body.IsUsableOnce
	m, _, err := s.methods.IssueTAP(r.Context(), rc.caller, id, lifetime, once, start)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.writeEntity(w, rc, http.StatusCreated, methodsSet(id, authmethods.TypeTAP.Collection()), item{data: m.Data}, &view{})
}

// readTAPRequest decodes the body, refusing properties Graph does not
// accept on create (an "@odata.type" is allowed).
func readTAPRequest(r *http.Request) (tapRequest, error) {
	var req tapRequest
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, err
		}
		if errors.Is(err, io.EOF) {
			return req, nil
		}
		return req, errs.E(errs.Invalid, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.").WithCode("BadRequest")
	}
	for k := range raw {
		switch k {
		case "startDateTime", "lifetimeInMinutes", "isUsableOnce", "@odata.type":
		default:
			return req, errs.E(errs.Invalid, "Invalid property '%s'.", k).WithCode("badRequest")
		}
	}
	b, _ := web.Marshal(raw)
	if err := json.Unmarshal(b, &req); err != nil {
		return req, errs.Wrap(errs.Invalid, err, "A property of the request has a value of the wrong type.").WithCode("badRequest")
	}
	return req, nil
}
