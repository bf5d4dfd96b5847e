package authmethods

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// Passkeys (WebAuthn). The relying party is the server's public host
// (see newRelyingParty). The user handle is the user's object id as its 16
// bytes, so a discoverable sign-in names the user and nothing personal.
// Each credential record is sealed in its method's Secret; the signature
// counter is kept in the document and compared and advanced in one write,
// so a cloned authenticator whose counter falls behind is refused.

const (
	maxPasskeyName = 64
	defaultName    = "Passkey"
)

// waUser is a user as go-webauthn sees it.
type waUser struct {
	oid         string // the object id
	id          []byte
	name, label string
	creds       []webauthn.Credential
	// methods maps a credential id to its stored method.
	methods map[string]stored
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.label }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandle is the WebAuthn user handle of an object id.
func userHandle(id string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 {
		return []byte(id)
	}
	return b
}

// handleUser is the object id a user handle names ("" if none).
func handleUser(h []byte) string {
	if len(h) != 16 {
		return ""
	}
	x := hex.EncodeToString(h)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// PasskeysAvailable reports whether the server offers passkeys: its
// public host can be a WebAuthn relying party id (a domain name).
func (s *Service) PasskeysAvailable() bool { return s.wa != nil }

func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	if s.wa == nil {
		return nil, s.waErr
	}
	return s.wa, nil
}

// loadWAUser reads a live user and their passkeys.
func (s *Service) loadWAUser(r store.Reader, tenantID, userID string) (*waUser, error) {
	o, err := liveUser(r, tenantID, userID)
	if err != nil {
		return nil, err
	}
	f, err := factsOf(o)
	if err != nil {
		return nil, err
	}
	u := &waUser{oid: o.ID, id: userHandle(o.ID), name: f.UserPrincipalName, label: f.UserPrincipalName, methods: map[string]stored{}}
	if f.DisplayName != nil && *f.DisplayName != "" {
		u.label = *f.DisplayName
	}
	ms, err := userMethods(r, tenantID, o.ID, TypeFido2)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		plain, err := s.box.Open(m.obj.Secret, secretAD(tenantID, iam.KindAuthenticationMethod, m.obj.ID))
		if err != nil {
			return nil, err
		}
		var c webauthn.Credential
		if err := json.Unmarshal(plain, &c); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "decode passkey %s", m.obj.ID)
		}
		c.Authenticator.SignCount = m.rec.SignCount
		u.creds = append(u.creds, c)
		u.methods[string(c.ID)] = m
	}
	return u, nil
}

// BeginPasskeyRegistration starts registering a passkey for the user. It
// returns the options for navigator.credentials.create as JSON
// ({"publicKey": …}, the form PublicKeyCredential.parseCreationOptionsFromJSON
// takes) and an opaque session handle for FinishPasskeyRegistration.
// userName and displayName default to the user's UPN and display name.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, tenantID, userID, userName, displayName string) (options, session []byte, err error) {
	wa, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	var u *waUser
	if err := s.st.Read(ctx, func(r store.Reader) error {
		u, err = s.loadWAUser(r, tenantID, userID)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if userName != "" {
		u.name = userName
	}
	if displayName != "" {
		u.label = displayName
	}
	if len(u.creds) >= maxPerType {
		return nil, nil, errs.E(errs.Invalid, "The user already has %d passkeys registered.", maxPerType)
	}
	creation, sd, err := wa.BeginRegistration(u, webauthn.WithExclusions(webauthn.Credentials(u.creds).CredentialDescriptors()))
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "begin passkey registration")
	}
	return s.startCeremony(ctx, tenantID, ceremonyPasskeyCreate, u.oid, creation, sd)
}

// FinishPasskeyRegistration checks the browser's answer (the
// PublicKeyCredential as JSON) against the session and registers the
// passkey under name ("Passkey" when empty).
func (s *Service) FinishPasskeyRegistration(ctx context.Context, tenantID, userID string, session, response []byte, name string) (Method, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return Method{}, err
	}
	c, sd, err := s.finishCeremony(ctx, tenantID, session, ceremonyPasskeyCreate)
	if err != nil {
		return Method{}, err
	}
	parsed, err := ParseCreationResponse(response)
	if err != nil {
		return Method{}, err
	}
	name = passkeyName(name)
	var u *waUser
	if err := s.st.Read(ctx, func(r store.Reader) error {
		u, err = s.loadWAUser(r, tenantID, userID)
		return err
	}); err != nil {
		return Method{}, err
	}
	if c.UserID != u.oid {
		return Method{}, stepGone()
	}
	cred, err := wa.CreateCredential(u, sd, parsed)
	if err != nil {
		return Method{}, webauthnError(errs.Invalid, "The passkey could not be registered.", err)
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return Method{}, errs.Wrap(errs.Internal, err, "encode passkey")
	}
	var out Method
	err = s.st.Write(ctx, func(w store.Writer) error {
		now := s.now()
		o, err := liveUser(w, tenantID, userID)
		if err != nil {
			return err
		}
		existing, err := userMethods(w, tenantID, o.ID, TypeFido2)
		if err != nil {
			return err
		}
		if len(existing) >= maxPerType {
			return errs.E(errs.Invalid, "The user already has %d passkeys registered.", maxPerType)
		}
		rec := record{ODataType: TypeFido2.ODataType(), ID: iam.NewID(), UserID: o.ID, CreatedDateTime: ptr(wholeSecond(now)),
			DisplayName: &name, AAGUID: ptr(aaguid(cred.Authenticator.AAGUID)), AttestationLevel: ptr("notAttested"),
			SignCount: cred.Authenticator.SignCount}
		sealed, err := s.box.Seal(plain, secretAD(tenantID, iam.KindAuthenticationMethod, rec.ID))
		if err != nil {
			return err
		}
		obj, err := newObject(tenantID, rec, credentialKey(cred.ID), sealed, now)
		if err != nil {
			return err
		}
		if err := w.Insert(obj); err != nil {
			if errs.KindOf(err) == errs.Conflict {
				return errs.E(errs.Conflict, "This passkey is already registered.")
			}
			return err
		}
		f, err := factsOf(o)
		if err != nil {
			return err
		}
		if err := recordChange(w, selfCaller(tenantID, f), now, f, "Add", TypeFido2, rec.ID); err != nil {
			return err
		}
		out, err = rec.method(now)
		return err
	})
	return out, err
}

// BeginPasskeyLogin starts a passkey sign-in: for userID's passkeys, or,
// with userID "", for any discoverable passkey of the tenant (the
// authenticator then names the user). It returns the options for
// navigator.credentials.get as JSON ({"publicKey": …}) and an opaque
// handle for FinishPasskeyLogin. It writes nothing (a discoverable
// sign-in does not even read): the challenge travels sealed in the handle
// until it is answered (logintoken.go), so a sign-in page may begin one on
// every view.
func (s *Service) BeginPasskeyLogin(ctx context.Context, tenantID, userID string) (options, session []byte, err error) {
	wa, err := s.relyingParty()
	if err != nil {
		return nil, nil, err
	}
	if tenantID == "" {
		return nil, nil, errs.E(errs.Internal, "a passkey sign-in needs a tenant")
	}
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if userID == "" {
		assertion, sd, err = wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		var u *waUser
		if err := s.st.Read(ctx, func(r store.Reader) error {
			u, err = s.loadWAUser(r, tenantID, userID)
			return err
		}); err != nil {
			return nil, nil, err
		}
		if len(u.creds) == 0 {
			return nil, nil, aadsts(errs.Precondition, codeNotRegistered, "The user has no passkey registered.")
		}
		assertion, sd, err = wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
		userID = u.oid
	}
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "begin passkey sign-in")
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "encode WebAuthn options")
	}
	handle, err := s.sealLoginToken(tenantID, loginToken{UserID: userID, Expires: s.now().Add(ceremonyLifetime).Unix(), Session: *sd})
	if err != nil {
		return nil, nil, err
	}
	return opts, []byte(handle), nil
}

// FinishPasskeyLogin checks the browser's assertion against the handle's
// challenge and returns the user it proves. The handle must be this
// tenant's, unexpired and unanswered; user verification is required, the
// signature must verify with the registered key (of the handle's user,
// for a named sign-in), and the signature counter must move forward
// (unless the authenticator keeps none). Accepting the assertion spends
// the challenge in the same write that advances the counter.
func (s *Service) FinishPasskeyLogin(ctx context.Context, tenantID string, session, response []byte) (string, error) {
	wa, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	tok, err := s.openLoginToken(tenantID, string(session), s.now())
	if err != nil {
		return "", err
	}
	sd := tok.Session
	parsed, err := ParseAssertionResponse(response)
	if err != nil {
		return "", err
	}
	var (
		u    *waUser
		cred *webauthn.Credential
	)
	load := func(id string) (*waUser, error) {
		var lu *waUser
		err := s.st.Read(ctx, func(r store.Reader) error {
			var err error
			lu, err = s.loadWAUser(r, tenantID, id)
			return err
		})
		return lu, err
	}
	if tok.UserID != "" {
		if u, err = load(tok.UserID); err != nil {
			return "", err
		}
		cred, err = wa.ValidateLogin(u, sd, parsed)
	} else {
		_, cred, err = wa.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			id := handleUser(handle)
			if id == "" {
				return nil, fmt.Errorf("user handle of %d bytes", len(handle))
			}
			if u, err = load(id); err != nil {
				return nil, err
			}
			return u, nil
		}, sd, parsed)
	}
	if err != nil || u == nil {
		return "", webauthnError(errs.Unauthenticated, "The passkey could not be verified.", err)
	}
	userID, err := s.advanceCounter(ctx, tenantID, u, cred, parsed.Response.AuthenticatorData.Counter, tok)
	if err != nil {
		return "", err
	}
	s.maybePurgeCeremonies(ctx, tenantID)
	return userID, nil
}

// advanceCounter records a passkey use: in one write, the challenge is
// spent (a second answer to it fails here), and the counter read at
// verification is compared again with the stored one, so two uses of one
// counter value (a clone, or a replay racing the original) cannot both
// pass. A refusal rolls the write back: nothing is recorded.
func (s *Service) advanceCounter(ctx context.Context, tenantID string, u *waUser, cred *webauthn.Credential, counter uint32, tok loginToken) (string, error) {
	m, ok := u.methods[string(cred.ID)]
	if !ok {
		return "", webauthnError(errs.Unauthenticated, "The passkey could not be verified.", nil)
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "encode passkey")
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		// A challenge answered before is that, whatever else is wrong.
		if err := spendChallenge(w, tenantID, tok, m.rec.UserID); err != nil {
			return err
		}
		if cred.Authenticator.CloneWarning {
			return clonedPasskey()
		}
		o, err := w.Get(tenantID, iam.KindAuthenticationMethod, m.obj.ID)
		if errs.KindOf(err) == errs.NotFound {
			return webauthnError(errs.Unauthenticated, "The passkey was removed.", nil)
		}
		if err != nil {
			return err
		}
		cur := stored{obj: o}
		if err := json.Unmarshal(o.Data, &cur.rec); err != nil {
			return errs.Wrap(errs.Internal, err, "decode passkey")
		}
		if (counter != 0 || cur.rec.SignCount != 0) && counter <= cur.rec.SignCount {
			return clonedPasskey()
		}
		sealed, err := s.box.Seal(plain, secretAD(tenantID, iam.KindAuthenticationMethod, o.ID))
		if err != nil {
			return err
		}
		cur.obj.Secret = sealed
		cur.rec.SignCount = counter
		cur.rec.LastUsedDateTime = ptr(wholeSecond(s.now()))
		return save(w, cur)
	})
	if err != nil {
		return "", err
	}
	return m.rec.UserID, nil
}

func clonedPasskey() error {
	return aadsts(errs.Unauthenticated, codeStrongFailed, "The passkey's signature counter did not advance; the authenticator may have been cloned.")
}

// startCeremony stores a WebAuthn registration session and answers the
// options JSON and the session handle.
func (s *Service) startCeremony(ctx context.Context, tenantID, typ, userID string, options any, sd *webauthn.SessionData) ([]byte, []byte, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "encode WebAuthn options")
	}
	plain, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "encode WebAuthn session")
	}
	handle, id, err := newHandle()
	if err != nil {
		return nil, nil, err
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		now := s.now()
		return s.putCeremony(w, tenantID, id, ceremony{Type: typ, UserID: userID, ExpiresDateTime: wholeSecond(now.Add(ceremonyLifetime))}, plain, now)
	})
	if err != nil {
		return nil, nil, err
	}
	return opts, []byte(handle), nil
}

// finishCeremony consumes a WebAuthn registration session.
func (s *Service) finishCeremony(ctx context.Context, tenantID string, session []byte, typ string) (ceremony, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	c, plain, err := s.takeCeremony(ctx, tenantID, string(session), typ)
	if err != nil {
		return c, sd, err
	}
	if err := json.Unmarshal(plain, &sd); err != nil {
		return c, sd, errs.Wrap(errs.Internal, err, "decode WebAuthn session")
	}
	return c, sd, nil
}

// webauthnError hides the library's detail (logged as the cause) behind
// a public message.
func webauthnError(kind errs.Kind, msg string, cause error) error {
	e := errs.E(kind, "%s", msg)
	if kind == errs.Unauthenticated {
		e = e.WithCode("AADSTS500121")
	}
	e.Cause = cause
	return e
}

// credentialKey keeps one registration per credential id in a tenant.
func credentialKey(id []byte) string {
	sum := sha256.Sum256(id)
	return "fido2:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// aaguid formats an authenticator's AAGUID as a GUID.
func aaguid(b []byte) string {
	if len(b) != 16 {
		b = make([]byte, 16)
	}
	return handleUser(b)
}

func passkeyName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) {
		return defaultName
	}
	if utf8.RuneCountInString(name) > maxPasskeyName {
		name = string([]rune(name)[:maxPasskeyName])
	}
	return name
}

// ParseCreationResponse decodes a registration answer from a browser (the
// PublicKeyCredential of navigator.credentials.create, as JSON). It bounds
// the input and turns every decoding failure into an Invalid error, so
// what a browser sends can only be refused, never crash the server.
func ParseCreationResponse(b []byte) (*protocol.ParsedCredentialCreationData, error) {
	if err := checkResponse(b); err != nil {
		return nil, err
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "The passkey response is malformed.")
	}
	return p, nil
}

// ParseAssertionResponse decodes a sign-in answer from a browser (the
// PublicKeyCredential of navigator.credentials.get, as JSON), as
// ParseCreationResponse does.
func ParseAssertionResponse(b []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if err := checkResponse(b); err != nil {
		return nil, err
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(b)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "The passkey response is malformed.")
	}
	return p, nil
}

// maxResponse bounds a WebAuthn answer: real ones are a few kilobytes
// (attestation certificate chains included).
const maxResponse = 64 << 10

func checkResponse(b []byte) error {
	if len(b) == 0 || len(b) > maxResponse || !json.Valid(b) || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return errs.E(errs.Invalid, "The passkey response is malformed.")
	}
	return nil
}
