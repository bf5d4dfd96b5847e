// Package errs defines the few error kinds Ostiary's services return.
//
// Services describe what went wrong with a Kind and a public message; each
// transport maps the kind once at its edge (Graph envelope, AADSTS codes,
// pages). The wrapped cause is for logs only and never reaches a client.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the transports.
type Kind int

const (
	// Internal is an unexpected failure; the public message is generic.
	Internal Kind = iota
	// NotFound: the object does not exist or the caller may not know it does.
	NotFound
	// Invalid: the request is malformed or breaks a validation rule.
	Invalid
	// Unsupported: a valid request the server does not support (an OData clause).
	Unsupported
	// Conflict: a uniqueness rule or a state rule would be broken.
	Conflict
	// Denied: the caller is known but not allowed.
	Denied
	// Unauthenticated: the caller could not be identified.
	Unauthenticated
	// Precondition: the object is not in a state that allows the operation.
	Precondition
	// Unavailable: overloaded or a dependency is down; retry later.
	Unavailable
)

func (k Kind) String() string {
	switch k {
	case NotFound:
		return "NotFound"
	case Invalid:
		return "Invalid"
	case Unsupported:
		return "Unsupported"
	case Conflict:
		return "Conflict"
	case Denied:
		return "Denied"
	case Unauthenticated:
		return "Unauthenticated"
	case Precondition:
		return "Precondition"
	case Unavailable:
		return "Unavailable"
	default:
		return "Internal"
	}
}

// Error carries a kind, a message safe to show to the caller, an optional
// wire code that overrides the transport's default for the kind, and the
// underlying cause for logs.
// CodeClaimsChallenge marks an Unauthenticated error that a token lacks a
// claim the resource requires (multifactor authentication): transports
// answer it with a claims challenge rather than a plain 401.
const CodeClaimsChallenge = "ClaimsChallenge.MFA"

type Error struct {
	Kind    Kind
	Code    string // optional, e.g. "Request_UnsupportedQuery"
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// E builds an error of kind k with a formatted public message.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a cause to a new error of kind k.
func Wrap(k Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// WithCode returns a copy of e carrying a specific wire code.
func (e *Error) WithCode(code string) *Error {
	c := *e
	c.Code = code
	return &c
}

// KindOf reports the kind of err; errors not built here are Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// As returns the *Error inside err, or an Internal error wrapping it.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: Internal, Message: "An internal error occurred.", Cause: err}
}
