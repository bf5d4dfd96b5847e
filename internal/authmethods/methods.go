package authmethods

import (
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Type is a kind of authentication method, named as Graph names its
// entity type without the "AuthenticationMethod" suffix.
type Type string

const (
	TypePassword     Type = "password"
	TypeSoftwareOath Type = "softwareOath"
	TypeFido2        Type = "fido2"
	TypeTAP          Type = "temporaryAccessPass"
)

// Types are the method types Ostiary has, in Graph's listing order.
var Types = []Type{TypePassword, TypeSoftwareOath, TypeFido2, TypeTAP}

// ODataType is the type's "@odata.type".
func (t Type) ODataType() string { return "#microsoft.graph." + string(t) + "AuthenticationMethod" }

// Collection is the type's navigation property under
// /users/{id}/authentication ("fido2Methods").
func (t Type) Collection() string { return string(t) + "Methods" }

// TypeOfCollection maps a navigation property to its type; ok is false
// for anything else.
func TypeOfCollection(nav string) (Type, bool) {
	for _, t := range Types {
		if t.Collection() == nav {
			return t, true
		}
	}
	return "", false
}

// PasswordMethodID is the id Entra gives every user's password method.
const PasswordMethodID = "28c10230-6103-485e-b985-444c60001490"

// Method is one authentication method as Graph shows it.
type Method struct {
	ID     string
	Type   Type
	UserID string
	// Data is the Graph document, "@odata.type" included. It carries a
	// Temporary Access Pass's value only in IssueTAP's answer.
	Data json.RawMessage
}

// record is the stored document of a method: Graph's properties of every
// type (each type renders its own), the owner, and state no response
// shows (the "x_" properties).
type record struct {
	ODataType       string     `json:"@odata.type"`
	ID              string     `json:"id"`
	UserID          string     `json:"userId"`
	CreatedDateTime *time.Time `json:"createdDateTime,omitempty"`
	// Passkeys.
	DisplayName      *string `json:"displayName,omitempty"`
	AAGUID           *string `json:"aaGuid,omitempty"`
	AttestationLevel *string `json:"attestationLevel,omitempty"`
	// Temporary Access Passes.
	StartDateTime     *time.Time `json:"startDateTime,omitempty"`
	LifetimeInMinutes *int       `json:"lifetimeInMinutes,omitempty"`
	IsUsableOnce      *bool      `json:"isUsableOnce,omitempty"`
	// UsedDateTime is when a one-time pass was used.
	UsedDateTime *time.Time `json:"x_usedDateTime,omitempty"`
	// LastStep is the TOTP time step of the last code accepted: codes of
	// that step or earlier are refused, so no code works twice.
	LastStep int64 `json:"x_lastStep,omitempty"`
	// SignCount is a passkey's signature counter after its last use.
	SignCount uint32 `json:"x_signCount,omitempty"`
	// LastUsedDateTime is when the method last proved the user.
	LastUsedDateTime *time.Time `json:"x_lastUsedDateTime,omitempty"`
}

func (r *record) typ() Type {
	for _, t := range Types {
		if t.ODataType() == r.ODataType {
			return t
		}
	}
	return ""
}

// tapState says whether a pass can be used at now, with Graph's
// methodUsabilityReason.
func (r *record) tapState(now time.Time) (usable bool, reason string) {
	start := deref(r.StartDateTime)
	end := start.Add(time.Duration(derefInt(r.LifetimeInMinutes)) * time.Minute)
	switch {
	case now.Before(start):
		return false, "NotYetValid"
	case !now.Before(end):
		return false, "Expired"
	case r.IsUsableOnce != nil && *r.IsUsableOnce && r.UsedDateTime != nil:
		return false, "OneTimeUsed"
	}
	return true, "EnabledByPolicy"
}

// graph renders the Graph document of a stored method at now.
func (r *record) graph(now time.Time) map[string]any {
	m := map[string]any{"@odata.type": r.ODataType, "id": r.ID}
	switch r.typ() {
	case TypeSoftwareOath:
		m["secretKey"] = nil // never returned (CONTRACT.md D.14)
	case TypeFido2:
		m["displayName"] = r.DisplayName
		m["createdDateTime"] = r.CreatedDateTime
		m["aaGuid"] = r.AAGUID
		m["model"] = nil // needs authenticator metadata Ostiary does not keep
		m["attestationCertificates"] = []string{}
		m["attestationLevel"] = r.AttestationLevel
	case TypeTAP:
		usable, reason := r.tapState(now)
		m["temporaryAccessPass"] = nil
		m["createdDateTime"] = r.CreatedDateTime
		m["startDateTime"] = r.StartDateTime
		m["lifetimeInMinutes"] = r.LifetimeInMinutes
		m["isUsableOnce"] = r.IsUsableOnce
		m["isUsable"] = usable
		m["methodUsabilityReason"] = reason
	}
	return m
}

func (r *record) method(now time.Time) (Method, error) {
	b, err := json.Marshal(r.graph(now))
	if err != nil {
		return Method{}, errs.Wrap(errs.Internal, err, "encode authentication method")
	}
	return Method{ID: r.ID, Type: r.typ(), UserID: r.UserID, Data: b}, nil
}

// passwordMethod is the synthesized password method of a user who has a
// password (Entra's fixed id; password and createdDateTime are null).
func passwordMethod(userID string) Method {
	b, _ := json.Marshal(map[string]any{"@odata.type": TypePassword.ODataType(), "id": PasswordMethodID,
		"password": nil, "createdDateTime": nil})
	return Method{ID: PasswordMethodID, Type: TypePassword, UserID: userID, Data: b}
}

// stored is a method object with its decoded record.
type stored struct {
	obj store.Object
	rec record
}

// userMethods reads a user's stored methods (of type t, all if ""),
// oldest first.
func userMethods(r store.Reader, tenantID, userID string, t Type) ([]stored, error) {
	var out []stored
	q := query.List{Top: query.MaxTop, Filter: query.Cmp{Field: query.Field{Path: "displayName", Type: query.String}, Op: query.Eq,
		Value: query.Value{Type: query.String, Str: userID}}}
	for {
		p, err := r.List(tenantID, iam.KindAuthenticationMethod, store.Live, q)
		if err != nil {
			return nil, err
		}
		for _, o := range p.Items {
			var rec record
			if err := json.Unmarshal(o.Data, &rec); err != nil {
				return nil, errs.Wrap(errs.Internal, err, "decode authentication method %s", o.ID)
			}
			if rec.UserID != userID || (t != "" && rec.typ() != t) {
				continue
			}
			out = append(out, stored{obj: o, rec: rec})
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out, nil
}

// less orders methods as lists show them: oldest first, then by type
// (Types' order), then by id, so the order never depends on the store's.
func (m stored) less(o stored) bool {
	if !m.obj.CreatedAt.Equal(o.obj.CreatedAt) {
		return m.obj.CreatedAt.Before(o.obj.CreatedAt)
	}
	if a, b := slices.Index(Types, m.rec.typ()), slices.Index(Types, o.rec.typ()); a != b {
		return a < b
	}
	return m.obj.ID < o.obj.ID
}

// newObject builds the stored object of a new method.
func newObject(tenantID string, rec record, key string, secret []byte, now time.Time) (store.Object, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return store.Object{}, errs.Wrap(errs.Internal, err, "encode authentication method")
	}
	return store.Object{TenantID: tenantID, Kind: iam.KindAuthenticationMethod, ID: rec.ID, Key: key,
		DisplayName: rec.UserID, CreatedAt: now, Data: data, Secret: secret}, nil
}

// save writes a changed record back.
func save(w store.Writer, m stored) error {
	data, err := json.Marshal(m.rec)
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode authentication method")
	}
	m.obj.Data = data
	return w.Update(m.obj)
}

// secretAD binds sealed material to its row, so a value copied onto
// another row (another user's method) fails to open.
func secretAD(tenantID string, kind iam.Kind, id string) []byte {
	return []byte(tenantID + "/" + string(kind) + "/" + id)
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func derefInt(i *int) int {
	if i == nil {
		return 0
	}
	return *i
}

func ptr[T any](v T) *T { return &v }

// wholeSecond is how times are written into documents (they compare as
// text in filters).
func wholeSecond(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
