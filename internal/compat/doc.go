// Package compat proves that Ostiary is wire-compatible with Microsoft's
// own client libraries: MSAL Go, azidentity, msgraph-sdk-go (kiota), and
// the generic golang.org/x/oauth2 and coreos/go-oidc clients, each used
// unmodified against a whole server over real HTTPS, only pointed at
// another host with instance discovery turned off.
//
// The package holds tests only. It exists so that the heavy compile of the
// Graph SDK stays out of every other package's test binary.
package compat
