// Package graphapi serves Ostiary's Microsoft Graph-compatible REST API
// under /v1.0 and /beta.
//
// Handlers parse OData into query values (package odata), call the
// directory service with the authenticated caller, and render Graph JSON:
// "@odata.context", "@odata.type" on polymorphic items, the default
// property sets, absolute "@odata.nextLink" URLs on the public URL, and
// Graph's error envelope. Errors are mapped to Graph codes in one place.
package graphapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ostiary/ostiary/internal/authmethods"
	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/tokens"
	"github.com/ostiary/ostiary/internal/web"
)

// TokenVerifier verifies bearer tokens.
type TokenVerifier interface {
	VerifyAccessToken(raw string, now time.Time) (*tokens.AccessClaims, error)
}

// Server is the Graph API.
type Server struct {
	dir       *directory.Service
	methods   *authmethods.Service
	verifier  TokenVerifier
	publicURL string
	now       func() time.Time
	log       *slog.Logger
	routes    router
}

// New builds the Graph API. publicURL is the base of absolute links.
func New(dir *directory.Service, methods *authmethods.Service, verifier TokenVerifier, publicURL string, now func() time.Time, log *slog.Logger) *Server {
	s := &Server{dir: dir, methods: methods, verifier: verifier, publicURL: strings.TrimSuffix(publicURL, "/"), now: now, log: log}
	s.userRoutes()
	s.groupRoutes()
	s.appRoutes()
	s.spRoutes()
	s.directoryRoutes()
	s.domainRoutes()
	s.policyRoutes()
	s.roleRoutes()
	s.authMethodRoutes()
	return s
}

// Owns reports whether path belongs to the Graph API (/v1.0/… and /beta/…).
// The API has its own router (see router.go), so the composition root sends
// these paths here before its ServeMux, whose "/{tenant}/…" patterns would
// otherwise overlap them.
func Owns(path string) bool {
	return strings.HasPrefix(path, "/v1.0/") || strings.HasPrefix(path, "/beta/") || strings.HasPrefix(path, ostiaryPrefix)
}

// ServeHTTP serves the Graph API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ostiaryPrefix) {
		s.serveOstiary(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/beta/") {
		s.version("beta").ServeHTTP(w, r)
		return
	}
	s.version("v1.0").ServeHTTP(w, r)
}

// reqCtx is what a handler needs besides the request.
type reqCtx struct {
	caller  *iam.Caller
	version string
	params  params
	segs    []string
}

func (s *Server) version(v string) http.Handler {
	prefix := "/" + v + "/"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
		if rest == "$batch" {
			s.serveError(w, r, s.batch(w, r, v))
			return
		}
		s.dispatch(w, r, v, rest)
	})
}

// dispatch authenticates, routes and runs one Graph request.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, version, rest string) {
	segs, ok := splitPath(rest)
	if !ok {
		s.serveError(w, r, errs.E(errs.Invalid, "Invalid request URL.").WithCode("Request_InvalidRequestUrl"))
		return
	}
	var meCaller *iam.Caller
	if len(segs) > 0 && segs[0] == "me" {
		// /me is an alias of /users/{oid}, for delegated tokens only.
		c, err := s.authenticate(r)
		if err != nil {
			s.serveError(w, r, err)
			return
		}
		if c.Type != iam.CallerUser {
			s.serveError(w, r, errs.E(errs.Invalid, "/me request is only valid with delegated authentication flow.").WithCode("BadRequest"))
			return
		}
		segs = append([]string{"users", c.ObjectID}, segs[1:]...)
		meCaller = c
	}
	rt, p, found := s.routes.match(r.Method, segs)
	if rt.h == nil {
		if found {
			s.serveError(w, r, &errs.Error{Kind: errs.Invalid, Code: "Request_BadRequest", Message: "The HTTP method '" + r.Method + "' is not allowed for this resource."})
			return
		}
		s.serveError(w, r, errs.E(errs.Invalid, "Resource not found for the segment '%s'.", firstSeg(segs)).WithCode("BadRequest"))
		return
	}
	caller := meCaller
	if caller == nil {
		var err error
		if caller, err = s.authenticate(r); err != nil {
			s.serveError(w, r, err)
			return
		}
	}
	r.Pattern = "/" + version + "/" + rt.label
	s.serveError(w, r, rt.h(w, r, &reqCtx{caller: caller, version: version, params: p, segs: segs}))
}

func firstSeg(segs []string) string {
	if len(segs) == 0 {
		return ""
	}
	return segs[0]
}

// authenticate verifies the bearer token and checks it is meant for Graph.
func (s *Server) authenticate(r *http.Request) (*iam.Caller, error) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		raw, ok = strings.CutPrefix(h, "bearer ")
	}
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return nil, errs.E(errs.Unauthenticated, "Access token is empty.").WithCode("InvalidAuthenticationToken")
	}
	claims, err := s.verifier.VerifyAccessToken(raw, s.now())
	if err != nil {
		e := errs.As(err)
		if e.Kind != errs.Unauthenticated {
			return nil, err
		}
		return nil, e.WithCode("InvalidAuthenticationToken")
	}
	if claims.Audience != iam.MicrosoftGraphResource && claims.Audience != iam.MicrosoftGraphAppID &&
		claims.Audience != iam.MicrosoftGraphResource+"/" {
		return nil, errs.E(errs.Unauthenticated, "Invalid audience.").WithCode("InvalidAuthenticationToken")
	}
	c := claims.Caller()
	c.CorrelationID = web.RequestID(r)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		c.IPAddress = host
	}
	return c, nil
}

// graphError is Graph's error envelope.
type graphError struct {
	Error graphErrorBody `json:"error"`
}

type graphErrorBody struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// mfaClaims is the claims challenge for multifactor authentication:
// base64 of {"access_token":{"amr":{"essential":true,"values":["mfa"]}}}.
var mfaClaims = base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"amr":{"essential":true,"values":["mfa"]}}}`))

// serveError writes err (if any) as Graph's error envelope.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		return
	}
	status, body := s.errorBody(r, err)
	if status == http.StatusUnauthorized {
		challenge := `Bearer realm="", authorization_uri="` + s.publicURL + `/common/oauth2/authorize", client_id="` + iam.MicrosoftGraphAppID + `"`
		if errs.As(err).Code == errs.CodeClaimsChallenge {
			// Graph's claims challenge: the client asks for a new token
			// with these claims (MSAL passes them to authorize).
			body.Error.Code = "InvalidAuthenticationToken"
			challenge += `, error="insufficient_claims", claims="` + mfaClaims + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	web.WriteJSON(w, status, body)
}

func (s *Server) errorBody(r *http.Request, err error) (int, graphError) {
	e := errs.As(err)
	if web.IsBodyTooLarge(err) {
		e = &errs.Error{Kind: errs.Invalid, Code: "Request_BadRequest", Message: "The request body is too large."}
	}
	status, code := statusOf(e.Kind)
	if e.Code != "" {
		code = e.Code
	}
	msg := e.Message
	if e.Kind == errs.Internal {
		s.log.Error("graph request failed", "request_id", web.RequestID(r), "path", r.URL.Path, "err", err)
		msg = "An internal server error occurred."
	} else if e.Cause != nil {
		s.log.Debug("graph request refused", "request_id", web.RequestID(r), "err", err)
	}
	if code == "TooManyRequests" {
		status = http.StatusTooManyRequests
	}
	return status, graphError{Error: graphErrorBody{Code: code, Message: msg, InnerError: innerError{
		Date: s.now().UTC().Format("2006-01-02T15:04:05"), RequestID: web.RequestID(r), ClientRequestID: web.ClientRequestID(r),
	}}}
}

func statusOf(k errs.Kind) (int, string) {
	switch k {
	case errs.NotFound:
		return http.StatusNotFound, "Request_ResourceNotFound"
	case errs.Invalid:
		return http.StatusBadRequest, "Request_BadRequest"
	case errs.Unsupported:
		return http.StatusBadRequest, "Request_UnsupportedQuery"
	case errs.Conflict:
		return http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue"
	case errs.Denied:
		return http.StatusForbidden, "Authorization_RequestDenied"
	case errs.Unauthenticated:
		return http.StatusUnauthorized, "InvalidAuthenticationToken"
	case errs.Precondition:
		return http.StatusPreconditionFailed, "Request_BadRequest"
	case errs.Unavailable:
		return http.StatusServiceUnavailable, "serviceNotAvailable"
	default:
		return http.StatusInternalServerError, "generalException"
	}
}

// readBody reads a JSON request body as a directory patch.
func readBody(r *http.Request) (directory.Patch, error) {
	var raw json.RawMessage
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&raw); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errs.E(errs.Invalid, "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.").WithCode("BadRequest")
	}
	return directory.Patch(raw), nil
}
