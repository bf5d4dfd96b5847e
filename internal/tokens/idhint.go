package tokens

import (
	"encoding/json"
	"time"

	"github.com/ostiary/ostiary/internal/iam"
)

// IDTokenHint is what a logout request's id_token_hint says: the
// application (aud), the user and tenant, and the browser session it came
// from.
type IDTokenHint struct {
	TenantID    string
	ClientAppID string
	ObjectID    string
	SessionID   string
	Expiry      time.Time
}

// hintClaims are the claims read from an ID token hint.
type hintClaims struct {
	Aud   string          `json:"aud"`
	Iss   string          `json:"iss"`
	Exp   int64           `json:"exp"`
	TID   string          `json:"tid"`
	OID   string          `json:"oid"`
	SID   string          `json:"sid"`
	Ver   string          `json:"ver"`
	IDTyp json.RawMessage `json:"idtyp"`
	Scp   json.RawMessage `json:"scp"`
}

// VerifyIDTokenHint checks an ID token this server issued, as the logout
// endpoint's id_token_hint: signature by a published key and this server's
// issuer for the token's tenant, and the shape of an ID token (v2.0, an
// appId audience, no idtyp or scp, which every access token of ours has
// one of). Its times are not checked: as in Entra, the hint of a session
// that outlived its ID token still names the app and user. It only
// identifies them; it is never a credential.
func (v *Verifier) VerifyIDTokenHint(raw string) (*IDTokenHint, error) {
	payload, _, err := verifyCompact(v.keys.set.Load(), raw)
	if err != nil {
		return nil, err
	}
	var c hintClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, tokenError(msgMalformed)
	}
	tid, ok := iam.NormalizeGUID(c.TID)
	if !ok || c.TID != tid || c.Iss != IssuerFor(v.publicURL, tid) {
		return nil, tokenError(msgIssuer)
	}
	aud, ok := iam.NormalizeGUID(c.Aud)
	if !ok || c.Ver != "2.0" || len(c.IDTyp) > 0 || len(c.Scp) > 0 || !iam.IsGUID(c.OID) {
		return nil, tokenError(msgMalformed)
	}
	return &IDTokenHint{TenantID: tid, ClientAppID: aud, ObjectID: c.OID, SessionID: c.SID, Expiry: time.Unix(c.Exp, 0)}, nil
}
