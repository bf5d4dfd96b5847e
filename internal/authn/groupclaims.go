package authn

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// GroupClaimsLimit is how many groups a JWT carries before Entra replaces
// them with an overage indicator (its documented limit for JWTs).
const GroupClaimsLimit = 200

// GroupClaims returns the group object ids a token of an app whose
// groupMembershipClaims is setting carries for the user: every group the
// user is a member of, directly or through nested groups ("All"), or only
// security groups ("SecurityGroup"; Ostiary's reading of
// "ApplicationGroup", which Entra narrows to groups assigned to the app,
// is the same until app-assigned groups exist). "None", "" and
// "DirectoryRole" (roles travel in wids) give none. overage reports more
// than GroupClaimsLimit: the token then names where to read them instead.
func (s *Service) GroupClaims(ctx context.Context, tenantID, userID, setting string) (groups []string, overage bool, err error) {
	all := false
	switch strings.ToLower(setting) {
	case "all":
		all = true
	case "securitygroup", "applicationgroup":
	default:
		return nil, false, nil
	}
	err = s.st.Read(ctx, func(r store.Reader) error {
		ids, err := r.Transitive(tenantID, iam.RelMember, store.Sources, userID)
		if err != nil || len(ids) == 0 {
			return err
		}
		objs, err := r.GetMany(tenantID, ids, []iam.Kind{iam.KindGroup})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if !all {
				var g struct {
					SecurityEnabled *bool `json:"securityEnabled"`
				}
				if json.Unmarshal(o.Data, &g) != nil || g.SecurityEnabled == nil || !*g.SecurityEnabled {
					continue
				}
			}
			groups = append(groups, o.ID)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	slices.Sort(groups)
	if len(groups) > GroupClaimsLimit {
		return nil, true, nil
	}
	return groups, false, nil
}
