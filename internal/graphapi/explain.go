package graphapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/web"
)

// Ostiary's own API lives under /ostiary/v1, outside Graph's namespace, but
// it is called with the same Graph tokens and answers with the same error
// envelope, so it is served here.
const ostiaryPrefix = "/ostiary/v1/"

// serveOstiary serves /ostiary/v1/….
func (s *Server) serveOstiary(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, ostiaryPrefix) {
	case "access/explain":
		if r.Method != http.MethodPost {
			s.serveError(w, r, errs.E(errs.Invalid, "The HTTP method '%s' is not allowed for this resource.", r.Method))
			return
		}
		s.serveError(w, r, s.explain(w, r))
	default:
		s.serveError(w, r, errs.E(errs.NotFound, "Resource not found.").WithCode("BadRequest"))
	}
}

// explainReason is one reason of a decision, in JSON.
type explainReason struct {
	Code             rbac.Code   `json:"code"`
	Text             string      `json:"text"`
	Source           rbac.Source `json:"source,omitempty"`
	AssignmentID     string      `json:"assignmentId,omitempty"`
	RoleDefinitionID string      `json:"roleDefinitionId,omitempty"`
	RoleDisplayName  string      `json:"roleDisplayName,omitempty"`
	GroupID          string      `json:"groupId,omitempty"`
	DirectoryScopeID string      `json:"directoryScopeId,omitempty"`
	Permission       string      `json:"permission,omitempty"`
	Condition        string      `json:"condition,omitempty"`
	Detail           string      `json:"detail,omitempty"`
	Subject          string      `json:"subject,omitempty"`
	ActiveFrom       *time.Time  `json:"activeFrom,omitempty"`
	ActiveUntil      *time.Time  `json:"activeUntil,omitempty"`
}

// explain is POST /ostiary/v1/access/explain: {principalId, action,
// targetId} in, the directory's decision and its reasons out.
func (s *Server) explain(w http.ResponseWriter, r *http.Request) error {
	c, err := s.authenticate(r)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	q, err := directory.DecodeAccessQuestion(body)
	if err != nil {
		return err
	}
	a, err := s.dir.ExplainAccess(r.Context(), c, q)
	if err != nil {
		return err
	}
	reasons := make([]explainReason, 0, len(a.Decision.Reasons))
	for _, x := range a.Decision.Reasons {
		reasons = append(reasons, explainReason{Code: x.Code, Text: x.String(), Source: x.Source, AssignmentID: x.AssignmentID,
			RoleDefinitionID: x.RoleID, RoleDisplayName: x.RoleName, GroupID: x.GroupID, DirectoryScopeID: x.Scope,
			Permission: x.Permission, Condition: string(x.Condition), Detail: x.Detail, Subject: x.Subject,
			ActiveFrom: optTime(x.ActiveFrom), ActiveUntil: optTime(x.ActiveUntil)})
	}
	out := map[string]any{
		"allowed":   a.Decision.Allowed,
		"principal": map[string]any{"id": a.Principal.ID, "type": a.Principal.Kind},
		"action":    q.Action,
		"target":    nil,
		"reasons":   reasons,
	}
	if a.Target.ID != "" {
		out["target"] = map[string]any{"id": a.Target.ID, "kind": a.Target.Kind, "subtype": a.Target.Subtype,
			"isAssignableToRole": a.Target.RoleAssignable, "ownedByPrincipal": a.Target.Owned}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
