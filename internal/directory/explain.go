package directory

import (
	"context"
	"encoding/json"

	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/rbac"
	"github.com/ostiary/ostiary/internal/store"
)

// AccessQuestion asks whether a principal may perform an action on a target.
type AccessQuestion struct {
	PrincipalID string `json:"principalId"` // an object id, or a user's UPN
	Action      string `json:"action"`
	// TargetID is a directory object's id (or a user's UPN); empty for
	// creates and tenant-wide actions.
	TargetID string `json:"targetId"`
}

// AccessAnswer is the decision with its reasons.
type AccessAnswer struct {
	Principal authz.Principal
	Target    authz.Target
	Decision  rbac.Decision
}

// ExplainAccess answers an AccessQuestion for troubleshooting: the
// directory's decision and every reason for it, for any principal of the
// tenant. It is protected like reading role assignments, since it reveals
// no more than they do.
func (s *Service) ExplainAccess(ctx context.Context, c *iam.Caller, q AccessQuestion) (AccessAnswer, error) {
	var out AccessAnswer
	if err := s.authorize(ctx, c, authz.RoleAssignmentsRead, iam.KindRoleAssignment, ""); err != nil {
		return out, err
	}
	ex, ok := s.authz.(authz.Explainer)
	if !ok {
		return out, errs.E(errs.Unsupported, "This server cannot explain access decisions.")
	}
	switch {
	case q.PrincipalID == "":
		return out, missing("principalId", "AccessQuestion")
	case q.Action == "":
		return out, missing("action", "AccessQuestion")
	}
	err := s.store.Read(ctx, func(r store.Reader) error {
		objs, err := r.GetMany(c.TenantID, []string{q.PrincipalID}, []iam.Kind{iam.KindUser, iam.KindServicePrincipal})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			if u, err := r.GetByKey(c.TenantID, iam.KindUser, q.PrincipalID); err == nil {
				objs = append(objs, u)
			}
		}
		if len(objs) == 0 {
			return errs.E(errs.NotFound, "The principal '%s' is not a user or service principal of this tenant.", q.PrincipalID)
		}
		out.Principal = authz.Principal{ID: objs[0].ID, Kind: objs[0].Kind}
		if q.TargetID == "" {
			return nil
		}
		o, err := r.Get(c.TenantID, "", q.TargetID)
		if errs.KindOf(err) == errs.NotFound {
			o, err = r.GetByKey(c.TenantID, iam.KindUser, q.TargetID)
		}
		if errs.KindOf(err) == errs.NotFound {
			return errs.E(errs.NotFound, "The target '%s' does not exist in this tenant.", q.TargetID)
		}
		if err != nil {
			return err
		}
		out.Target = targetOf(o)
		links, err := r.Links(c.TenantID, iam.RelOwner, o.ID, out.Principal.ID)
		out.Target.Owned = len(links) > 0
		return err
	})
	if err != nil {
		return out, err
	}
	t := out.Target
	req := authz.Request{Action: q.Action, TargetKind: t.Kind, TargetID: t.ID, Owned: t.Owned}
	if t.ID != "" {
		req.Resolve = func() (authz.Target, error) { return t, nil }
	}
	d, err := ex.Explain(ctx, c.TenantID, out.Principal, req)
	if err != nil {
		return out, err
	}
	if len(d.Reasons) > 0 && d.Reasons[0].Code == rbac.InvalidAction {
		return out, badRequest("The action '%s' is not an Entra action: %s", q.Action, d.Reasons[0].Detail)
	}
	out.Decision = d
	return out, nil
}

// DecodeAccessQuestion reads an AccessQuestion from a request body.
func DecodeAccessQuestion(body Patch) (AccessQuestion, error) {
	var q AccessQuestion
	if err := json.Unmarshal(body, &q); err != nil {
		return q, badRequest("The body is not an access question: %v", err)
	}
	return q, nil
}
