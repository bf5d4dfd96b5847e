// Package web is the HTTP kit shared by Ostiary's transports: middleware for
// request ids, panic recovery, access logs, metrics, security headers, body
// limits and gzip-encoded request bodies, and JSON helpers.
//
// Error rendering stays with each transport (Graph envelope in graphapi,
// OAuth/AADSTS errors in oidc), so this package only carries the request id
// they all quote.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/ostiary/ostiary/internal/iam"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id of the request, set by the RequestID middleware.
func RequestID(r *http.Request) string {
	if v, ok := r.Context().Value(requestIDKey).(string); ok {
		return v
	}
	return ""
}

// ClientRequestID returns the caller's client-request-id header when it is a
// GUID (Graph and the STS echo it), else "".
func ClientRequestID(r *http.Request) string {
	v := r.Header.Get("client-request-id")
	if id, ok := iam.NormalizeGUID(v); ok {
		return id
	}
	return ""
}

// WithRequestID returns a copy of r carrying id (used by $batch sub-requests).
func WithRequestID(r *http.Request, id string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
}

// Marshal encodes v as JSON without HTML escaping: Graph and the STS send
// URLs with a raw "&", and clients that read links with simple tools should
// see them as the server wrote them.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"generalException","message":"encoding failed"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
