package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// Device authorization grant (RFC 8628), as Entra serves it: a device
// code the client polls with, and a short user code the user types on the
// device login page of another device.
//
// The device code is a bearer value of the same shape as authorization
// codes (prefix ‖ base64url(tenant id ‖ 256 random bits)), stored only by
// its SHA-256 in the tenant. The user code carries no tenant (the page's
// URL has none), so a tenant-less index object (tenant "") maps the
// SHA-256 of the normalised user code to the tenant and the device code's
// hash. A user code has only about 35 bits: what protects it is its short
// life and the page's limit on wrong guesses, not the hash.
//
// A code asked for on /common or /organizations has no tenant yet: Entra
// lets the user's sign-in on the device login page decide it. Such a
// deferred code names the nil GUID as its tenant and is stored outside any
// tenant (tenant "", like the index); the tenant the user chose is written
// into its document when the user answers, and from then on the client is
// authenticated, and tokens issued, in that tenant.
const (
	deviceCodePrefix = "DC1."
	// DeviceCodeLifetime is Entra's: 15 minutes.
	DeviceCodeLifetime = 15 * time.Minute
	// DeviceCodeInterval is the polling interval announced to clients;
	// a pending code polled sooner is answered slow_down.
	DeviceCodeInterval = 5 * time.Second
	// deviceCodeGrace keeps expired codes a while before purging, so a
	// late poll still reads expired_token, not an unknown code.
	deviceCodeGrace = time.Hour

	devicePurgeBatch   = 500
	devicePurgeBatches = 5
)

// UserCodeAlphabet is the user code's alphabet: RFC 8628 §6.1's twenty
// consonants, with no vowels (no words) and no digits (nothing to confuse
// with O, I or l).
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen is the number of code characters (20^8 ≈ 2^34.6), shown as
// two groups of four: "WDJB-MJHT".
const userCodeLen = 8

// maxUserCodeInput bounds what the normaliser reads.
const maxUserCodeInput = 64

// NormalizeUserCode turns what a user typed into the canonical user code
// (eight upper-case letters of UserCodeAlphabet), ignoring case, hyphens
// and white space. It reports false for anything else.
func NormalizeUserCode(s string) (string, bool) {
	if len(s) > maxUserCodeInput {
		return "", false
	}
	var b [userCodeLen]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		if strings.IndexByte(UserCodeAlphabet, c) < 0 || n == userCodeLen {
			return "", false
		}
		b[n] = c
		n++
	}
	if n != userCodeLen {
		return "", false
	}
	return string(b[:]), true
}

// FormatUserCode shows a normalised user code as two groups of four.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// newUserCode draws a uniformly random user code.
func newUserCode() (string, error) {
	var out [userCodeLen]byte
	buf := make([]byte, 16)
	n := 0
	for n < userCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", errs.Wrap(errs.Internal, err, "authn: cannot read random bytes")
		}
		for _, v := range buf {
			// 240 is the largest multiple of 20 below 256: no modulo bias.
			if v >= 240 || n == userCodeLen {
				continue
			}
			out[n] = UserCodeAlphabet[int(v)%len(UserCodeAlphabet)]
			n++
		}
	}
	return string(out[:]), nil
}

func userCodeHash(normalized string) string {
	sum := sha256.Sum256([]byte("usercode|" + normalized))
	return hex.EncodeToString(sum[:])
}

// DeviceCodeTenant returns the tenant a device code value belongs to, or
// false if the value is not shaped like one of ours.
// A deferred code (/common, /organizations) belongs to "" (see
// DeviceCodeOwner for the tenant its user chose).
func DeviceCodeTenant(raw string) (string, bool) {
	tid, ok := bearerTenant(deviceCodePrefix, raw)
	if tid == deferredTenant {
		tid = ""
	}
	return tid, ok
}

// deferredTenant is the tenant part of a deferred code's value.
const deferredTenant = "00000000-0000-0000-0000-000000000000"

// DeviceCodeState is where a device authorization stands.
type DeviceCodeState string

const (
	DeviceCodePending  DeviceCodeState = "pending"
	DeviceCodeApproved DeviceCodeState = "approved"
	DeviceCodeDeclined DeviceCodeState = "declined"
	DeviceCodeRedeemed DeviceCodeState = "redeemed"
)

// DeviceCode is what a device code stands for.
type DeviceCode struct {
	// TenantID is the code's tenant; for a deferred code, the tenant its
	// user chose, "" until the user answered.
	TenantID string
	// Deferred marks a code asked for on /common or /organizations, whose
	// tenant the user's sign-in decides.
	Deferred    bool
	ClientAppID string
	// Scope is the scope of the device authorization request.
	Scope string
	State DeviceCodeState
	// UserID, AuthTime and AMR are the user who approved it.
	UserID   string
	AuthTime time.Time
	AMR      []string
	// FamilyID names the refresh token family the redemption starts, so a
	// second redemption can revoke it.
	FamilyID string
	// DeclineCode is the AADSTS code of a declined authorization: 0 when
	// the user cancelled, 65001 when consent was missing.
	DeclineCode int
	ExpiresAt   time.Time
	// Confidential: see DeviceCodeRequest.
	Confidential bool
}

type deviceCodeDoc struct {
	ClientID    string          `json:"clientId"`
	Scope       string          `json:"scope"`
	UserCode    string          `json:"userCodeHash"`
	State       DeviceCodeState `json:"state"`
	UserID      string          `json:"userId,omitempty"`
	AuthTime    time.Time       `json:"authDateTime,omitzero"`
	AMR         []string        `json:"amr,omitempty"`
	FamilyID    string          `json:"familyId"`
	DeclineCode int             `json:"declineCode,omitempty"`
	ExpiresAt   time.Time       `json:"expiresDateTime"`
	LastPoll    time.Time       `json:"lastPollDateTime,omitzero"`
	// Confidential: the client authenticated when it asked for the code.
	Confidential bool `json:"confidential,omitempty"`
	// TenantID is the tenant a deferred code's user chose.
	TenantID string `json:"tenantId,omitempty"`
}

// owner is the tenant the code belongs to: tid, the tenant of its value,
// or for a deferred code the one its user chose ("" before).
func (d *deviceCodeDoc) owner(tid string) string {
	if tid == "" {
		return d.TenantID
	}
	return tid
}

type userCodeDoc struct {
	TenantID   string    `json:"tenantId"`
	DeviceCode string    `json:"deviceCodeHash"`
	ExpiresAt  time.Time `json:"expiresDateTime"`
}

func (d *deviceCodeDoc) public(tid string) *DeviceCode {
	return &DeviceCode{TenantID: d.owner(tid), Deferred: tid == "", ClientAppID: d.ClientID, Scope: d.Scope, State: d.State, UserID: d.UserID,
		AuthTime: d.AuthTime, AMR: d.AMR, FamilyID: d.FamilyID, DeclineCode: d.DeclineCode, ExpiresAt: d.ExpiresAt,
		Confidential: d.Confidential}
}

// DeviceCodeRequest is a device authorization request the token service
// accepted: its client authenticated and its scope parsed.
type DeviceCodeRequest struct {
	// TenantID is the tenant the URL named, or "" on /common and
	// /organizations: a deferred code, whose client could not be
	// authenticated yet (it is at every poll once its user chose a tenant).
	TenantID    string
	ClientAppID string
	Scope       string
	// Confidential records that the client authenticated with a credential
	// when it asked for the code: polling must then authenticate too, or
	// anyone who learned the device code could redeem it as that client.
	Confidential bool
}

// IssuedDeviceCode is a new device authorization.
type IssuedDeviceCode struct {
	DeviceCode string
	// UserCode is the display form ("WDJB-MJHT").
	UserCode  string
	ExpiresAt time.Time
}

// IssueDeviceCode stores a pending device authorization and returns its
// device code and user code.
func (s *Service) IssueDeviceCode(ctx context.Context, req DeviceCodeRequest, now time.Time) (*IssuedDeviceCode, error) {
	valueTenant := req.TenantID
	if valueTenant == "" {
		valueTenant = deferredTenant
	}
	raw, hash, err := newBearerValue(deviceCodePrefix, valueTenant)
	if err != nil {
		return nil, err
	}
	s.maybePurgeDeviceCodes(ctx, req.TenantID, now)
	exp := now.Add(DeviceCodeLifetime).UTC()
	// A user code collides with a live one about once in 2^34 draws per
	// live code; a Conflict draws again.
	for range 5 {
		uc, err := newUserCode()
		if err != nil {
			return nil, err
		}
		ucHash := userCodeHash(uc)
		d := deviceCodeDoc{ClientID: strings.ToLower(req.ClientAppID), Scope: req.Scope, UserCode: ucHash,
			State: DeviceCodePending, FamilyID: iam.NewID(), ExpiresAt: exp, Confidential: req.Confidential}
		data, err := json.Marshal(d)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "authn: encode device code")
		}
		idx, err := json.Marshal(userCodeDoc{TenantID: req.TenantID, DeviceCode: hash, ExpiresAt: exp})
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "authn: encode user code")
		}
		err = s.st.Write(ctx, func(w store.Writer) error {
			if err := w.Insert(store.Object{TenantID: "", Kind: iam.KindDeviceUserCode, ID: ucHash, CreatedAt: now, Data: idx}); err != nil {
				return err
			}
			return w.Insert(store.Object{TenantID: req.TenantID, Kind: iam.KindDeviceCode, ID: hash, CreatedAt: now, Data: data})
		})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &IssuedDeviceCode{DeviceCode: raw, UserCode: FormatUserCode(uc), ExpiresAt: exp}, nil
	}
	return nil, errs.E(errs.Internal, "authn: no free user code after several draws")
}

// Errors of the device login page and the poll.
func badUserCode() error {
	return aadsts(errs.NotFound, 70018, "The user code is not valid. Check the code and try again.")
}

func expiredDeviceCode() error {
	return aadsts(errs.Precondition, 70019, "Verification code expired. The device code has expired; start the sign-in on the device again.")
}

func decidedDeviceCode() error {
	return aadsts(errs.Precondition, 90120, "The device code was already authorized or declined.")
}

func badDeviceCode() error {
	return aadsts(errs.Unauthenticated, 70018, "The provided value for the input parameter 'device_code' is not valid.")
}

// LookupUserCode returns the pending device authorization a user code
// names: AADSTS70018 for an unknown or malformed code, 70019 when it
// expired, 90120 when it was already approved or declined.
func (s *Service) LookupUserCode(ctx context.Context, userCode string, now time.Time) (*DeviceCode, error) {
	var dc *DeviceCode
	err := s.st.Read(ctx, func(r store.Reader) error {
		tid, _, d, err := readByUserCode(r, userCode)
		if err != nil {
			return err
		}
		dc = d.public(tid)
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !now.Before(dc.ExpiresAt):
		return nil, expiredDeviceCode()
	case dc.State != DeviceCodePending:
		return nil, decidedDeviceCode()
	}
	return dc, nil
}

// readByUserCode finds a device code by its user code.
func readByUserCode(r store.Reader, userCode string) (tenantID string, o store.Object, d deviceCodeDoc, err error) {
	uc, ok := NormalizeUserCode(userCode)
	if !ok {
		return "", o, d, badUserCode()
	}
	idx, err := r.Get("", iam.KindDeviceUserCode, userCodeHash(uc))
	if errs.Is(err, errs.NotFound) {
		return "", o, d, badUserCode()
	} else if err != nil {
		return "", o, d, err
	}
	var ix userCodeDoc
	if err := json.Unmarshal(idx.Data, &ix); err != nil {
		return "", o, d, errs.Wrap(errs.Internal, err, "authn: unreadable user code")
	}
	o, err = r.Get(ix.TenantID, iam.KindDeviceCode, ix.DeviceCode)
	if errs.Is(err, errs.NotFound) {
		return "", o, d, badUserCode()
	} else if err != nil {
		return "", o, d, err
	}
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return "", o, d, errs.Wrap(errs.Internal, err, "authn: unreadable device code")
	}
	return ix.TenantID, o, d, nil
}

// DeviceApproval is the signed-in user's answer on the device login page.
type DeviceApproval struct {
	// UserCode is the code the user entered.
	UserCode string
	// TenantID is the tenant of the user's session; it must be the device
	// code's.
	TenantID string
	UserID   string
	AuthTime time.Time
	AMR      []string
}

// ApproveDeviceCode records that the user approved the device
// authorization; the next poll receives the tokens.
func (s *Service) ApproveDeviceCode(ctx context.Context, a DeviceApproval, now time.Time) error {
	return s.decideDeviceCode(ctx, a.UserCode, a.TenantID, now, func(d *deviceCodeDoc) {
		d.State, d.UserID, d.AuthTime, d.AMR = DeviceCodeApproved, a.UserID, a.AuthTime.UTC(), a.AMR
	})
}

// DeclineDeviceCode records that the device authorization was refused:
// code 0 when the user cancelled, or the AADSTS code of why it cannot be
// granted (65001 for missing consent), which the poll then returns.
func (s *Service) DeclineDeviceCode(ctx context.Context, userCode, tenantID string, code int, now time.Time) error {
	return s.decideDeviceCode(ctx, userCode, tenantID, now, func(d *deviceCodeDoc) {
		d.State, d.DeclineCode = DeviceCodeDeclined, code
	})
}

// decideDeviceCode applies a decision of the user of tenantID: the code
// must be of that tenant, or deferred and not yet bound to another, and
// a deferred code is bound to it here.
func (s *Service) decideDeviceCode(ctx context.Context, userCode, tenantID string, now time.Time, apply func(*deviceCodeDoc)) error {
	return s.st.Write(ctx, func(w store.Writer) error {
		tid, o, d, err := readByUserCode(w, userCode)
		if err != nil {
			return err
		}
		switch owner := d.owner(tid); {
		case tenantID == "" || owner != "" && owner != tenantID:
			return badUserCode()
		case !now.Before(d.ExpiresAt):
			return expiredDeviceCode()
		case d.State != DeviceCodePending:
			return decidedDeviceCode()
		}
		apply(&d)
		if tid == "" {
			d.TenantID = tenantID
		}
		if o.Data, err = json.Marshal(d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode device code")
		}
		return w.Update(o)
	})
}

// DevicePoll is the outcome of a poll that found its device code.
type DevicePoll int

const (
	// PollPending: the user has not answered yet (authorization_pending).
	PollPending DevicePoll = iota + 1
	// PollSlowDown: pending, and polled sooner than DeviceCodeInterval
	// after the previous poll (slow_down).
	PollSlowDown
	// PollDeclined: the user cancelled, or the grant was refused.
	PollDeclined
	// PollExpired: the device code's 15 minutes are over (expired_token).
	PollExpired
	// PollApproved: approved; this poll redeemed it.
	PollApproved
)

// DeviceCodeOwner returns the tenant a device code belongs to: the one of
// its value, or for a deferred code the tenant its user chose ("" while
// the user has not answered). An unknown code is AADSTS70018.
func (s *Service) DeviceCodeOwner(ctx context.Context, raw string) (string, error) {
	tid, ok := DeviceCodeTenant(raw)
	if !ok {
		return "", badDeviceCode()
	}
	var d deviceCodeDoc
	err := s.st.Read(ctx, func(r store.Reader) error {
		o, err := r.Get(tid, iam.KindDeviceCode, bearerHash(raw))
		if errs.Is(err, errs.NotFound) {
			return badDeviceCode()
		} else if err != nil {
			return err
		}
		return json.Unmarshal(o.Data, &d)
	})
	if err != nil {
		return "", err
	}
	return d.owner(tid), nil
}

func otherTenantDeviceCode() error {
	return aadsts(errs.Unauthenticated, 700005, "Provided device code is intended to use against other tenant, thus rejected.")
}

// PollDeviceCode is one poll of the token endpoint. tenantID is the tenant
// of the URL, or "" on /common and /organizations, where the client is
// authenticated in the code's tenant. For a deferred code it is the tenant
// the client was authenticated in (the one its user chose), or "" when
// none is known yet: such a poll can only find the code pending, slow_down
// or expired (a decision made since the caller looked is answered
// pending, so the next poll authenticates the client in the chosen tenant
// first). clientAppID is the client, which
// must be the one the code was issued to. An approved code is redeemed by
// the poll that sees it; a later poll is AADSTS90120 and revokes the
// refresh tokens the first issued. An unknown code is AADSTS70018
// (bad_verification_code).
func (s *Service) PollDeviceCode(ctx context.Context, tenantID, raw, clientAppID string, now time.Time) (*DeviceCode, DevicePoll, error) {
	tid, ok := DeviceCodeTenant(raw)
	if !ok {
		return nil, 0, badDeviceCode()
	}
	if tid != "" && tenantID != "" && tid != tenantID {
		return nil, 0, otherTenantDeviceCode()
	}
	var (
		d      deviceCodeDoc
		result DevicePoll
		reused bool
	)
	err := s.st.Write(ctx, func(w store.Writer) error {
		reused, result = false, 0
		o, err := w.Get(tid, iam.KindDeviceCode, bearerHash(raw))
		if errs.Is(err, errs.NotFound) {
			return badDeviceCode()
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: unreadable device code")
		}
		if !strings.EqualFold(d.ClientID, clientAppID) {
			// Not a use: the code's own client keeps polling.
			return aadsts(errs.Unauthenticated, 70000, "The device code was issued to a different client than the one redeeming it.")
		}
		owner := d.owner(tid)
		if owner != "" && tenantID != "" && owner != tenantID {
			return otherTenantDeviceCode()
		}
		unauthenticated := tid == "" && (owner == "" || tenantID == "")
		switch {
		case unauthenticated && d.State != DeviceCodePending && now.Before(d.ExpiresAt):
			result = PollPending // decided since the caller looked: no client was authenticated in its tenant
			return nil
		case d.State == DeviceCodeRedeemed:
			reused = true
			f, err := w.Get(owner, iam.KindRefreshTokenFamily, d.FamilyID)
			if errs.Is(err, errs.NotFound) {
				return nil
			} else if err != nil {
				return err
			}
			var fam familyDoc
			if err := json.Unmarshal(f.Data, &fam); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable refresh token family")
			}
			return markRevoked(w, f, fam, "device code redeemed twice")
		case !now.Before(d.ExpiresAt):
			result = PollExpired
			return nil
		case d.State == DeviceCodeDeclined:
			result = PollDeclined
			return nil
		case d.State == DeviceCodePending:
			result = PollPending
			if !d.LastPoll.IsZero() && now.Sub(d.LastPoll) < DeviceCodeInterval {
				result = PollSlowDown
			}
			d.LastPoll = now.UTC()
		case d.State == DeviceCodeApproved:
			result = PollApproved
			d.State = DeviceCodeRedeemed
		}
		if o.Data, err = json.Marshal(d); err != nil {
			return errs.Wrap(errs.Internal, err, "authn: encode device code")
		}
		return w.Update(o)
	})
	if err != nil {
		return nil, 0, err
	}
	if reused {
		return nil, 0, aadsts(errs.Unauthenticated, 90120, "The device code was already redeemed. Start a new device code sign-in.")
	}
	return d.public(tid), result, nil
}

// maybePurgeDeviceCodes deletes, a few batches at most, the device codes
// of tenantID and the user code index entries that expired more than
// deviceCodeGrace ago, when this replica's purge is due. Best effort.
func (s *Service) maybePurgeDeviceCodes(ctx context.Context, tenantID string, now time.Time) {
	for _, t := range []struct {
		tenant string
		kind   iam.Kind
	}{{tenantID, iam.KindDeviceCode}, {"", iam.KindDeviceUserCode}} {
		if !s.devicePurge.Due(string(t.kind)+"|"+t.tenant, now, jtiPurgeEvery) {
			continue
		}
		for range devicePurgeBatches {
			n, err := s.purgeDeviceCodes(ctx, t.tenant, t.kind, now)
			if err != nil || n < devicePurgeBatch {
				break
			}
		}
	}
}

func (s *Service) purgeDeviceCodes(ctx context.Context, tenantID string, kind iam.Kind, now time.Time) (int, error) {
	before := now.Add(-DeviceCodeLifetime - deviceCodeGrace)
	n := 0
	err := s.st.Write(ctx, func(w store.Writer) error {
		n = 0
		p, err := w.List(tenantID, kind, store.Live, query.List{
			Filter: query.Cmp{Field: jtiCreated, Op: query.Lt, Value: query.Value{Type: query.Time, Time: before}},
			Top:    devicePurgeBatch,
		})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			if err := w.Delete(tenantID, kind, o.ID); err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
