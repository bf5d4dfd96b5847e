package authmethods

import (
	"bytes"
	"context"
	"crypto/subtle"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// TOTP (RFC 6238) as authenticator apps implement it: SHA-1, six digits,
// 30-second steps, a 160-bit seed. A code is accepted for its own step and
// one step either side (clock skew), and only for a step later than the
// last accepted one, so a code (or an older one) never works twice.

const (
	totpPeriod = 30
	totpSkew   = 1
	// maxPerType caps how many methods of one type a user registers.
	maxPerType = 10
	qrSize     = 256
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrollment is a TOTP registration waiting for its first code.
type TOTPEnrollment struct {
	// ID names the enrollment to ConfirmTOTP; it is an unguessable handle.
	ID string
	// Secret is the base32 seed, for manual entry.
	Secret string
	// URL is the otpauth:// URL the QR code carries.
	URL string
	// QRPNG is the QR code of URL as a PNG image.
	QRPNG []byte
}

// BeginTOTP starts registering an authenticator app for the user:
// accountName (usually the UPN) is the label the app shows, under the
// tenant's name. Nothing is usable until ConfirmTOTP receives a code.
func (s *Service) BeginTOTP(ctx context.Context, tenantID, userID, accountName string) (TOTPEnrollment, error) {
	issuer := s.cfg.Issuer
	err := s.st.Read(ctx, func(r store.Reader) error {
		u, err := liveUser(r, tenantID, userID)
		if err != nil {
			return err
		}
		userID = u.ID
		t, err := r.Tenant(tenantID)
		if err == nil && t.DisplayName != "" {
			issuer = t.DisplayName
		}
		return err
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if accountName == "" {
		accountName = userID
	}
	e, err := totpEnrollment(issuer, accountName, nil)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	handle, id, err := newHandle()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	now := s.now()
	err = s.st.Write(ctx, func(w store.Writer) error {
		return s.putCeremony(w, tenantID, id, ceremony{Type: ceremonyTOTP, UserID: userID,
			ExpiresDateTime: wholeSecond(now.Add(enrollmentLifetime))}, []byte(e.Secret), now)
	})
	e.ID = handle
	return e, err
}

// totpEnrollment makes a key (from seed, or a new one when seed is nil)
// with its otpauth URL and QR code.
func totpEnrollment(issuer, accountName string, seed []byte) (TOTPEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: accountName, Period: totpPeriod,
		SecretSize: 20, Secret: seed, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrollment{}, errs.Wrap(errs.Internal, err, "generate TOTP seed")
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return TOTPEnrollment{}, errs.Wrap(errs.Internal, err, "draw TOTP QR code")
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return TOTPEnrollment{}, errs.Wrap(errs.Internal, err, "encode TOTP QR code")
	}
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL(), QRPNG: qr.Bytes()}, nil
}

// ConfirmTOTP completes an enrollment with a code from the app, which
// proves the app holds the seed: the method becomes usable, and the code
// is used up. A wrong code leaves the enrollment open for another try.
func (s *Service) ConfirmTOTP(ctx context.Context, tenantID, userID, enrollmentID, code string) (Method, error) {
	if !validHandle(enrollmentID) {
		return Method{}, stepGone()
	}
	id := handleID(enrollmentID)
	var out Method
	err := s.st.Write(ctx, func(w store.Writer) error {
		now := s.now()
		u, err := liveUser(w, tenantID, userID)
		if err != nil {
			return err
		}
		o, c, secret, err := s.getCeremony(w, tenantID, id, ceremonyTOTP, now)
		if err != nil {
			return err
		}
		if c.UserID != u.ID {
			return stepGone()
		}
		step, ok := matchTOTP(string(secret), code, now, -1)
		if !ok {
			return errWrongCode()
		}
		existing, err := userMethods(w, tenantID, u.ID, TypeSoftwareOath)
		if err != nil {
			return err
		}
		if len(existing) >= maxPerType {
			return errs.E(errs.Invalid, "The user already has %d authenticator apps registered.", maxPerType)
		}
		if err := w.Delete(tenantID, iam.KindAuthMethodCeremony, o.ID); err != nil {
			return err
		}
		rec := record{ODataType: TypeSoftwareOath.ODataType(), ID: iam.NewID(), UserID: u.ID,
			CreatedDateTime: ptr(wholeSecond(now)), LastStep: step}
		sealed, err := s.box.Seal(secret, secretAD(tenantID, iam.KindAuthenticationMethod, rec.ID))
		if err != nil {
			return err
		}
		obj, err := newObject(tenantID, rec, "", sealed, now)
		if err != nil {
			return err
		}
		if err := w.Insert(obj); err != nil {
			return err
		}
		f, err := factsOf(u)
		if err != nil {
			return err
		}
		if err := recordChange(w, selfCaller(tenantID, f), now, f, "Add", TypeSoftwareOath, rec.ID); err != nil {
			return err
		}
		out, err = rec.method(now)
		return err
	})
	return out, err
}

// VerifyTOTP checks a code from one of the user's authenticator apps at
// now. The last accepted step is read and advanced in the same write, so
// two requests with one code cannot both pass. Wrong codes count towards
// the lockout (AADSTS500121, then AADSTS50053 while locked).
func (s *Service) VerifyTOTP(ctx context.Context, tenantID, userID, code string, now time.Time) error {
	none := aadsts(errs.Precondition, codeNotRegistered, "The user has no authenticator app registered.")
	return s.verifyLimited(ctx, tenantID, userID, TypeSoftwareOath, now, none, func(w store.Writer, ms []stored) (bool, error) {
		for _, m := range ms {
			secret, err := s.box.Open(m.obj.Secret, secretAD(tenantID, iam.KindAuthenticationMethod, m.obj.ID))
			if err != nil {
				return false, err
			}
			step, ok := matchTOTP(string(secret), code, now, m.rec.LastStep)
			if !ok {
				continue
			}
			m.rec.LastStep = step
			m.rec.LastUsedDateTime = ptr(wholeSecond(now))
			return true, save(w, m)
		}
		return false, nil
	})
}

// verifyLimited runs one check of a second factor under the user's
// lockout, in one write: match tries the user's methods of type t and
// saves the one that accepts (its last step, its use); a miss counts as a
// failure (AADSTS500121, then AADSTS50053 while locked). noMethods, when
// set, is the answer for a user with no method of the type.
func (s *Service) verifyLimited(ctx context.Context, tenantID, userID string, t Type, now time.Time, noMethods error,
	match func(w store.Writer, ms []stored) (bool, error)) error {
	var result error
	err := s.st.Write(ctx, func(w store.Writer) error {
		result = nil
		u, err := liveUser(w, tenantID, userID)
		if err != nil {
			return err
		}
		lim, err := s.limiter(w, tenantID, u.ID)
		if err != nil {
			return err
		}
		if lim.locked(now) {
			result = errLocked()
			return nil
		}
		ms, err := userMethods(w, tenantID, u.ID, t)
		if err != nil {
			return err
		}
		if len(ms) == 0 && noMethods != nil {
			result = noMethods
			return nil
		}
		ok, err := match(w, ms)
		if err != nil {
			return err
		}
		if ok {
			return lim.succeed(now)
		}
		locked, err := lim.fail(now)
		result = errWrongCode()
		if locked {
			result = errLocked()
		}
		return err
	})
	if err != nil {
		return err
	}
	return result
}

// matchTOTP returns the step whose code is code, among now's step and
// totpSkew either side, later than after.
func matchTOTP(secret, code string, now time.Time, after int64) (int64, bool) {
	c, ok := normaliseCode(code)
	if !ok {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	found, step := 0, int64(0)
	for st := cur - totpSkew; st <= cur+totpSkew; st++ {
		if st <= after || st < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(st), totpOpts)
		if err != nil {
			return 0, false
		}
		// Every candidate is compared, so timing says nothing of which.
		if subtle.ConstantTimeCompare([]byte(want), []byte(c)) == 1 && found == 0 {
			found, step = 1, st
		}
	}
	return step, found == 1
}

// normaliseCode accepts what people type for a six-digit code: the digits
// with spaces or a hyphen between them ("123 456", "123-456").
func normaliseCode(code string) (string, bool) {
	if len(code) > 16 {
		return "", false
	}
	out := make([]byte, 0, 6)
	for i := 0; i < len(code); i++ {
		switch ch := code[i]; {
		case ch >= '0' && ch <= '9':
			out = append(out, ch)
		case ch == ' ' || ch == '-' || ch == '\t':
		default:
			return "", false
		}
	}
	if len(out) != 6 {
		return "", false
	}
	return string(out), true
}
