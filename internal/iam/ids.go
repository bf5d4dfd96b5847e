// Package iam is Ostiary's vocabulary: tenants, directory objects, callers
// and the validation rules that need no I/O.
//
// Directory object types carry Microsoft Graph's property names as JSON tags.
// The store keeps each object as that JSON document (plus a few indexed
// columns), so an OData property path such as "userPrincipalName" or
// "initiatedBy/user/id" names the same thing in the API, in a filter and in
// storage. Secrets never live in these types: the store keeps them in a
// separate column that only the owning service reads.
package iam

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// NewID returns a random (version 4) GUID in Entra's lower-case form.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("iam: crypto/rand failed: " + err.Error())
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// IsGUID reports whether s has the 8-4-4-4-12 hexadecimal GUID form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// NormalizeGUID lower-cases a GUID; ok is false if s is not a GUID.
func NormalizeGUID(s string) (string, bool) {
	if !IsGUID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// Well-known application ids.
const (
	// MicrosoftGraphAppID is the appId of the Microsoft Graph resource.
	MicrosoftGraphAppID = "00000003-0000-0000-c000-000000000000"
	// MicrosoftGraphResource is Graph's identifier URI.
	MicrosoftGraphResource = "https://graph.microsoft.com"
)
