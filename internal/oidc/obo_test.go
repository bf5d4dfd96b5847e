package oidc

import (
	"testing"

	"github.com/ostiary/ostiary/internal/iam"
)

func TestAudienceIsClient(t *testing.T) {
	app := &iam.Application{AppID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301", IdentifierURIs: []string{"api://orders/", "https://orders.contoso.test"}}
	for aud, want := range map[string]bool{
		"3f2504e0-4f89-41d3-9a0c-0305e82c3301": true,
		"3F2504E0-4F89-41D3-9A0C-0305E82C3301": true,
		"api://orders":                         true,
		"API://ORDERS/":                        true,
		"https://orders.contoso.test/":         true,
		"https://graph.microsoft.com":          false,
		iam.MicrosoftGraphAppID:                false,
		"api://orders/extra":                   false,
		"":                                     false,
		"/":                                    false,
	} {
		if got := audienceIsClient(aud, app); got != want {
			t.Errorf("audienceIsClient(%q) = %v, want %v", aud, got, want)
		}
	}
}

func TestAssertionAudiences(t *testing.T) {
	h := &Handler{publicURL: "https://login.example.test"}
	tid := "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	if got := h.assertionAudiences(tid, tid); len(got) != 1 || got[0] != "https://login.example.test/"+tid+"/oauth2/v2.0/token" {
		t.Errorf("by GUID: %v", got)
	}
	if got := h.assertionAudiences("contoso.test", tid); len(got) != 2 || got[1] != "https://login.example.test/contoso.test/oauth2/v2.0/token" {
		t.Errorf("by domain: %v", got)
	}
}
