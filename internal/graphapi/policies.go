package graphapi

import (
	"context"
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/iam"
)

// singletonRoutes mounts a policy singleton at set: GET renders what get
// returns, PATCH hands the body to patch and answers 204.
func singletonRoutes[T any](s *Server, set string, get func(context.Context, *iam.Caller) (T, error),
	patch func(context.Context, *iam.Caller, directory.Patch) error) {
	s.routes.add("GET", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		p, err := get(r.Context(), rc.caller)
		if err != nil {
			return err
		}
		it, err := itemOf("", p)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, set, it, &view{})
	})
	s.routes.add("PATCH", set, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		body, err := readBody(r)
		if err != nil {
			return err
		}
		if err := patch(r.Context(), rc.caller, body); err != nil {
			return err
		}
		return noContent(w)
	})
}

// policyRoutes mounts the policy singletons:
//   - /policies/authorizationPolicy (CONTRACT.md; Policy.Read.All to read,
//     Policy.ReadWrite.Authorization to write);
//   - /policies/identitySecurityDefaultsEnforcementPolicy (Policy.Read.All,
//     Policy.ReadWrite.SecurityDefaults);
//   - the Ostiary extensions /policies/ostiaryLegacyAuthenticationPolicy and
//     /policies/ostiaryEmergencyAccessPolicy (the authorization policy's
//     permissions).
func (s *Server) policyRoutes() {
	singletonRoutes(s, "policies/authorizationPolicy", s.dir.GetAuthorizationPolicy, s.dir.UpdateAuthorizationPolicy)
	singletonRoutes(s, "policies/identitySecurityDefaultsEnforcementPolicy", s.dir.GetSecurityDefaults, s.dir.UpdateSecurityDefaults)
	singletonRoutes(s, "policies/ostiaryLegacyAuthenticationPolicy", s.dir.GetLegacyAuthenticationPolicy, s.dir.UpdateLegacyAuthenticationPolicy)
	singletonRoutes(s, "policies/ostiaryEmergencyAccessPolicy", s.methods.GetEmergencyAccessPolicy,
		func(ctx context.Context, c *iam.Caller, p directory.Patch) error {
			return s.methods.UpdateEmergencyAccessPolicy(ctx, c, p)
		})
}
