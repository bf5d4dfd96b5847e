package graphapi

import (
	"net/http"
)

// policyRoutes mounts the policy singletons: GET and PATCH
// /policies/authorizationPolicy (CONTRACT.md; Policy.Read.All to read,
// Policy.ReadWrite.Authorization to write). A PATCH answers 204.
func (s *Server) policyRoutes() {
	s.securityDefaultsRoutes()
	rt := &s.routes
	const set = "policies/authorizationPolicy"
	rt.add("GET", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		p, err := s.dir.GetAuthorizationPolicy(r.Context(), rc.caller)
		if err != nil {
			return err
		}
		it, err := itemOf("", p)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, set, it, &view{})
	})
	rt.add("PATCH", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if err := s.dir.UpdateAuthorizationPolicy(r.Context(), rc.caller, body); err != nil {
			return err
		}
		return noContent(w)
	})
}

// securityDefaultsRoutes mounts GET and PATCH
// /policies/identitySecurityDefaultsEnforcementPolicy (Policy.Read.All to
// read, Policy.ReadWrite.SecurityDefaults to write).
func (s *Server) securityDefaultsRoutes() {
	rt := &s.routes
	const set = "policies/identitySecurityDefaultsEnforcementPolicy"
	rt.add("GET", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		p, err := s.dir.GetSecurityDefaults(r.Context(), rc.caller)
		if err != nil {
			return err
		}
		it, err := itemOf("", p)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, set, it, &view{})
	})
	rt.add("PATCH", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if err := s.dir.UpdateSecurityDefaults(r.Context(), rc.caller, body); err != nil {
			return err
		}
		return noContent(w)
	})
}
