package authmethods

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ostiary/ostiary/internal/audit"
	"github.com/ostiary/ostiary/internal/authz"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// The emergency-access policy (iam.EmergencyAccessPolicy, Graph's
// /policies/ostiaryEmergencyAccessPolicy) lives here because its rule is
// about methods: every listed account must have a passkey, the one
// credential that survives the loss of a phone and cannot be phished. It
// is governed like the authorization policy (Policy.Read.All to read,
// Policy.ReadWrite.Authorization to write, and the directory actions of
// the authorization policy), so only the Global and Privileged Role
// Administrators change it.

// GetEmergencyAccessPolicy returns the tenant's emergency-access policy.
func (s *Service) GetEmergencyAccessPolicy(ctx context.Context, c *iam.Caller) (iam.EmergencyAccessPolicy, error) {
	if err := s.authz.Authorize(ctx, c, authz.Request{Action: authz.AuthorizationPolicyRead,
		TargetKind: iam.KindEmergencyAccessPolicy, TargetID: iam.EmergencyAccessPolicyID}); err != nil {
		return iam.EmergencyAccessPolicy{}, err
	}
	var p iam.EmergencyAccessPolicy
	err := s.st.Read(ctx, func(r store.Reader) error {
		var err error
		p, _, err = readEmergencyAccess(r, c.TenantID)
		return err
	})
	return p, err
}

// UpdateEmergencyAccessPolicy applies a Graph PATCH: only accountIds can
// change, each a user of the tenant with a passkey. Audited.
func (s *Service) UpdateEmergencyAccessPolicy(ctx context.Context, c *iam.Caller, body []byte) error {
	if err := s.authz.Authorize(ctx, c, authz.Request{Action: authz.AuthorizationPolicyUpdate,
		TargetKind: iam.KindEmergencyAccessPolicy, TargetID: iam.EmergencyAccessPolicyID}); err != nil {
		return err
	}
	var patch map[string]json.RawMessage
	if err := json.Unmarshal(body, &patch); err != nil {
		return errs.E(errs.Invalid, "The request body is not a JSON object.").WithCode("BadRequest")
	}
	var ids []string
	for k, v := range patch {
		if k != "accountIds" {
			return errs.E(errs.Invalid, "Property '%s' cannot be changed; only accountIds can.", k).WithCode("Request_BadRequest")
		}
		if err := json.Unmarshal(v, &ids); err != nil {
			return errs.E(errs.Invalid, "accountIds must be an array of user ids.").WithCode("Request_BadRequest")
		}
	}
	now := s.now()
	return s.st.Write(ctx, func(w store.Writer) error {
		old, o, err := readEmergencyAccess(w, c.TenantID)
		if err != nil {
			return err
		}
		np := old
		np.AccountIDs = []string{}
		for _, id := range ids {
			u, err := liveUser(w, c.TenantID, id)
			if err != nil {
				return errs.E(errs.Invalid, "The account '%s' is not a user of this tenant.", id).WithCode("Request_BadRequest")
			}
			passkeys, err := userMethods(w, c.TenantID, u.ID, TypeFido2)
			if err != nil {
				return err
			}
			if len(passkeys) == 0 {
				return errs.E(errs.Invalid, "The account '%s' has no passkey: an emergency-access account must have one.", id).WithCode("Request_BadRequest")
			}
			if !slices.ContainsFunc(np.AccountIDs, func(x string) bool { return strings.EqualFold(x, u.ID) }) {
				np.AccountIDs = append(np.AccountIDs, u.ID)
			}
		}
		data, err := json.Marshal(np)
		if err != nil {
			return errs.Wrap(errs.Internal, err, "encode emergency access policy")
		}
		if o.ID != "" {
			o.Data = data
			err = w.Update(o)
		} else {
			err = w.Insert(store.Object{TenantID: c.TenantID, Kind: iam.KindEmergencyAccessPolicy, ID: np.ID, DisplayName: np.DisplayName, CreatedAt: now, Data: data})
		}
		if err != nil {
			return err
		}
		return audit.Record(w, c, now, audit.Entry{Category: audit.Policy, Activity: "Update emergency access policy", OperationType: "Update",
			Targets: []iam.TargetResource{audit.Target(iam.KindEmergencyAccessPolicy, np.ID, &np.DisplayName, "",
				audit.Changed("AccountIds", old.AccountIDs, np.AccountIDs))}})
	})
}

func readEmergencyAccess(r store.Reader, tenantID string) (iam.EmergencyAccessPolicy, store.Object, error) {
	o, err := r.Get(tenantID, iam.KindEmergencyAccessPolicy, iam.EmergencyAccessPolicyID)
	if errs.KindOf(err) == errs.NotFound {
		return iam.DefaultEmergencyAccessPolicy(), store.Object{}, nil
	}
	if err != nil {
		return iam.EmergencyAccessPolicy{}, o, err
	}
	p := iam.DefaultEmergencyAccessPolicy()
	if err := json.Unmarshal(o.Data, &p); err != nil {
		return p, o, errs.Wrap(errs.Internal, err, "decode emergency access policy")
	}
	p.ID = iam.EmergencyAccessPolicyID
	return p, o, nil
}
