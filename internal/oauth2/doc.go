// Package oauth2 is pure OAuth 2.0 protocol vocabulary shared by the token
// service (package oidc) and the sign-in pages (package signin): PKCE
// (RFC 7636) and redirect-URI matching as Entra ID does it. It does no
// I/O and keeps no state, and every parser in it is fuzzed.
package oauth2
