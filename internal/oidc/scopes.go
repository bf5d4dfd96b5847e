package oidc

import (
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
)

// userScope is a parsed scope parameter of a user token request
// (TOKENS.md §5.1).
type userScope struct {
	// oidc holds the OpenID Connect scopes asked for, lower case.
	oidc map[string]bool
	// resource names the one resource of the request, as the client wrote
	// it without the trailing slash ("https://graph.microsoft.com",
	// "api://orders", an appId). Bare scopes mean Microsoft Graph; a
	// request of OIDC scopes alone gets a Graph token.
	resource string
	// values are the resource's scope values asked for, without prefix,
	// in request order, without duplicates.
	values []string
	// spelled maps a lower-case value to how the client wrote the whole
	// scope, so the response echoes every requested scope verbatim (MSAL
	// compares them and treats a missing one as declined).
	spelled map[string]string
	// all is ".default": every scope consented for the client.
	all bool
}

// maxScopeValues bounds the work one scope parameter can cause.
const maxScopeValues = 100

// parseUserScope parses the scope parameter of a user flow: any of the
// OIDC scopes plus scopes of exactly one resource. A scope without a
// resource prefix is Microsoft Graph's. Two resources are AADSTS700022;
// a malformed scope 70011.
func parseUserScope(scope string) (*userScope, error) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return nil, missingParameter("scope")
	}
	if len(fields) > maxScopeValues {
		return nil, aadsts(codeInvalidScope, "The provided value for the input parameter 'scope' is not valid: too many scopes.")
	}
	us := &userScope{oidc: map[string]bool{}, spelled: map[string]string{}}
	resKey := ""
	for _, f := range fields {
		if isOIDCScope(f) {
			us.oidc[strings.ToLower(f)] = true
			continue
		}
		res, value := iam.MicrosoftGraphResource, f
		if i := strings.LastIndexByte(f, '/'); i >= 0 {
			res, value = strings.TrimRight(f[:i], "/"), f[i+1:]
			if res == "" {
				return nil, aadsts(codeInvalidScope, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", f)
			}
		}
		if value == "" || strings.ContainsAny(value, "\"\\") {
			return nil, aadsts(codeInvalidScope, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", f)
		}
		key := resourceKey(res)
		switch {
		case resKey == "":
			resKey, us.resource = key, res
		case key != resKey:
			return nil, aadsts(codeMultipleResources, "The provided value for the input parameter scope is not valid because it contains more than one resource. The scope %s is not valid.", scope)
		}
		if strings.EqualFold(value, ".default") {
			us.all = true
			us.spelled[".default"] = f
			continue
		}
		lv := strings.ToLower(value)
		if _, dup := us.spelled[lv]; !dup {
			us.values = append(us.values, value)
			us.spelled[lv] = f
		}
	}
	if us.resource == "" {
		us.resource, us.all = iam.MicrosoftGraphResource, true
	}
	return us, nil
}

// resourceKey folds the names of one resource together: case, a trailing
// slash, and Graph's appId for its URI.
func resourceKey(res string) string {
	k := strings.ToLower(strings.TrimRight(res, "/"))
	if k == iam.MicrosoftGraphAppID {
		k = strings.ToLower(iam.MicrosoftGraphResource)
	}
	return k
}

// granted decides the token's scopes from the request and the client's
// grant on the resource: every scope asked for must be granted (else
// AADSTS65001, consent_required), ".default" takes them all, and a token
// never carries a scope that was not granted. It also returns the
// response's scope parameter: each requested scope spelled as the client
// wrote it, granted ones ".default" stood for fully qualified, and the
// OIDC scopes bare.
func (us *userScope) granted(grantedValues func(string) (string, bool), all []string, identifier string) (scp []string, echo []string, ok bool) {
	for _, v := range us.values {
		canon, ok := grantedValues(v)
		if !ok {
			return nil, nil, false
		}
		scp = append(scp, canon)
		echo = append(echo, us.spelled[strings.ToLower(v)])
	}
	if us.all {
		for _, v := range all {
			if !containsFold(scp, v) {
				scp = append(scp, v)
				echo = append(echo, strings.TrimRight(identifier, "/")+"/"+v)
			}
		}
		if sp, ok := us.spelled[".default"]; ok {
			echo = append(echo, sp)
		}
	}
	for _, o := range oidcScopes {
		if us.oidc[o] {
			echo = append(echo, o)
		}
	}
	return scp, echo, true
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}
