package graphapi

import "net/http"

// legacyAuthRoutes mounts the Ostiary extension singleton
// /policies/ostiaryLegacyAuthenticationPolicy (GET, PATCH answering 204),
// with the authorization policy's permissions: Policy.Read.All to read,
// Policy.ReadWrite.Authorization to write.
func (s *Server) legacyAuthRoutes() {
	rt := &s.routes
	const set = "policies/ostiaryLegacyAuthenticationPolicy"
	rt.add("GET", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		p, err := s.dir.GetLegacyAuthenticationPolicy(r.Context(), rc.caller)
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
		if err := s.dir.UpdateLegacyAuthenticationPolicy(r.Context(), rc.caller, body); err != nil {
			return err
		}
		return noContent(w)
	})
}
