package oidc

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/web"
)

// codesFile is a copy of reference/entra/data/aadsts_codes.json: the AADSTS
// codes with the OAuth error and HTTP status Entra answers them with.
//
//go:embed aadsts_codes.json
var codesFile []byte

// codeInfo is one entry of the code table.
type codeInfo struct {
	Code       int    `json:"code"`
	Name       string `json:"name"`
	OAuthError string `json:"oauthError"`
	HTTPStatus int    `json:"httpStatus"`
}

// extraCodes are codes Entra returns that the curated file does not list.
var extraCodes = []codeInfo{
	// Client credentials with a scope other than {resource}/.default.
	{Code: 1002012, Name: "InvalidScopeClientCredentials", OAuthError: "invalid_scope", HTTPStatus: http.StatusBadRequest},
	// Instance discovery for a host this server does not serve.
	{Code: 50049, Name: "UnknownOrInvalidInstance", OAuthError: "invalid_instance", HTTPStatus: http.StatusBadRequest},
	// The resource's service principal is disabled.
	{Code: 500014, Name: "ServicePrincipalDisabled", OAuthError: "invalid_resource", HTTPStatus: http.StatusBadRequest},
	// A code or refresh token of a single-page app redeemed without an
	// Origin header (not from a browser's cross-origin request).
	{Code: 9002327, Name: "SpaRedemptionRequiresCrossOrigin", OAuthError: "invalid_request", HTTPStatus: http.StatusBadRequest},
}

// Codes this package uses directly.
const (
	codeServerError          = 50000
	codeInvalidRequest       = 90023
	codeMalformed            = 9002313
	codeMissingParameter     = 900144
	codeUnsupportedGrant     = 70003
	codeInvalidScope         = 70011
	codeMultipleResources    = 700022
	codeClientCredsScope     = 1002012
	codeNotOnCommon          = 9001023
	codeTokenForItself       = 90009
	codeCredentialRequired   = 7000218
	codeAssertionUnsupported = 50012
	codeResourceParameter    = 901002
	codeWrongVerb            = 900561
	codeInvalidInstance      = 50049
	codeSPAOriginRequired    = 9002327
)

type codeTable map[int]codeInfo

func loadCodes() (codeTable, error) {
	var f struct {
		Codes []codeInfo `json:"codes"`
	}
	if err := json.Unmarshal(codesFile, &f); err != nil {
		return nil, fmt.Errorf("oidc: embedded aadsts_codes.json: %w", err)
	}
	t := make(codeTable, len(f.Codes)+len(extraCodes))
	for _, c := range append(f.Codes, extraCodes...) {
		if c.Code <= 0 || c.OAuthError == "" || c.HTTPStatus < 400 {
			return nil, fmt.Errorf("oidc: embedded aadsts_codes.json: bad entry %+v", c)
		}
		t[c.Code] = c
	}
	for _, c := range []int{codeServerError, codeInvalidRequest, codeMalformed, codeMissingParameter,
		codeUnsupportedGrant, codeInvalidScope, codeMultipleResources, codeClientCredsScope, codeNotOnCommon,
		codeTokenForItself, codeCredentialRequired, codeAssertionUnsupported, codeResourceParameter,
		codeWrongVerb, codeInvalidInstance, codeSPAOriginRequired, 90002} {
		if _, ok := t[c]; !ok {
			return nil, fmt.Errorf("oidc: AADSTS%d is used but not in the code table", c)
		}
	}
	return t, nil
}

// oauthError is a failure shown in Entra's OAuth error shape.
type oauthError struct {
	code    int
	message string
	// oauth overrides the table's OAuth error (discovery answers an unknown
	// tenant with invalid_tenant where the token endpoint says invalid_request).
	oauth string
	// status overrides the table's HTTP status (429 for a saturated
	// password hasher).
	status int
	// suberror is Entra's suberror ("consent_required"), from the code
	// unless set.
	suberror string
	cause    error
}

// suberrors are the suberror values Entra sends with some codes; MSAL
// classifies failures by them (TOKENS.md §4.4).
var suberrors = map[int]string{
	65001:  "consent_required",
	50076:  "basic_action",
	50079:  "basic_action",
	50055:  "user_password_expired",
	50173:  "bad_token",
	70000:  "bad_token",
	700082: "bad_token",
}

func (e *oauthError) Error() string {
	s := fmt.Sprintf("AADSTS%d: %s", e.code, e.message)
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *oauthError) Unwrap() error { return e.cause }

func aadsts(code int, format string, args ...any) *oauthError {
	return &oauthError{code: code, message: fmt.Sprintf(format, args...)}
}

func missingParameter(name string) *oauthError {
	return aadsts(codeMissingParameter, "The request body must contain the following parameter: '%s'.", name)
}

// asOAuth turns any error into an oauthError: services' *errs.Error values
// carry an "AADSTSnnnn" code when they have an Entra meaning; anything else
// is a server error whose details stay in the log.
func asOAuth(err error) *oauthError {
	var oe *oauthError
	if errors.As(err, &oe) {
		return oe
	}
	e := errs.As(err)
	if n, ok := strings.CutPrefix(e.Code, "AADSTS"); ok {
		if code, err := strconv.Atoi(n); err == nil {
			return &oauthError{code: code, message: e.Message, cause: e.Cause}
		}
	}
	switch {
	case e.Kind == errs.Unavailable && e.Code == "TooManyRequests":
		// The password hasher's queue is full: answer 429 with
		// Retry-After so clients back off rather than pile up.
		return &oauthError{code: codeServerError, oauth: "temporarily_unavailable", status: http.StatusTooManyRequests,
			message: "Too many sign-in requests are being processed. Please retry later.", cause: e}
	}
	switch e.Kind {
	case errs.Invalid:
		return &oauthError{code: codeInvalidRequest, message: e.Message, cause: e}
	case errs.Unavailable:
		return &oauthError{code: codeServerError, oauth: "temporarily_unavailable", message: "The service is temporarily unavailable. Please retry later.", cause: e}
	default:
		return &oauthError{code: codeServerError, message: "An internal error occurred. Please retry later.", cause: e}
	}
}

// errorBody is Entra's token service error (TOKENS.md §4.4).
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
	Suberror         string `json:"suberror,omitempty"`
}

// timestampLayout is Entra's error timestamp format.
const timestampLayout = "2006-01-02 15:04:05Z"

// writeError is the one place errors become responses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	oe := asOAuth(err)
	info, ok := h.codes[oe.code]
	if !ok {
		info = codeInfo{Code: oe.code, OAuthError: "invalid_request", HTTPStatus: http.StatusBadRequest}
	}
	errName, status := info.OAuthError, info.HTTPStatus
	if oe.oauth != "" {
		errName = oe.oauth
		if errName == "temporarily_unavailable" {
			status = http.StatusServiceUnavailable
		}
	}
	if oe.status != 0 {
		status = oe.status
	}
	sub := oe.suberror
	if sub == "" {
		sub = suberrors[oe.code]
	}
	traceID := iam.NewID()
	corrID := correlationID(r)
	ts := h.now().UTC().Format(timestampLayout)
	if status >= 500 {
		h.log.Error("token service error", "code", oe.code, "trace_id", traceID, "correlation_id", corrID, "path", r.URL.Path, "err", err)
	} else {
		h.log.Info("token service refused request", "code", oe.code, "trace_id", traceID, "correlation_id", corrID, "path", r.URL.Path, "err", err)
	}
	body := errorBody{
		Error: errName,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			oe.code, oe.message, traceID, corrID, ts),
		ErrorCodes:    []int{oe.code},
		Timestamp:     ts,
		TraceID:       traceID,
		CorrelationID: corrID,
		ErrorURI:      h.publicURL + "/error?code=" + strconv.Itoa(oe.code),
		Suberror:      sub,
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("x-ms-request-id", traceID)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		hd.Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// correlationID echoes the client's client-request-id (MSAL sends a GUID),
// or else is the request id, so the error body and the sign-in log agree.
func correlationID(r *http.Request) string {
	if id := web.ClientRequestID(r); id != "" {
		return id
	}
	if id, ok := iam.NormalizeGUID(web.RequestID(r)); ok {
		return id
	}
	return iam.NewID()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
