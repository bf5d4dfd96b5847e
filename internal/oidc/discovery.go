package oidc

import (
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"strings"

	"github.com/ostiary/ostiary/internal/tokens"
)

// openIDConfiguration is Entra's v2.0 discovery document, fields in Entra's
// order (TOKENS.md §2.1, discovery_samples.json).
type openIDConfiguration struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
	RBACURL                           string   `json:"rbac_url"`
}

// discoveryCacheControl is what Entra sends with discovery and keys.
const discoveryCacheControl = "max-age=86400, private"

// resolveSegment returns the tenant id for a tenant segment, or "" for the
// common and organizations aliases. Personal accounts (consumers) do not
// exist in Ostiary, so that alias is answered as an unknown tenant.
func (h *Handler) resolveSegment(r *http.Request) (string, error) {
	seg := r.PathValue("tenant")
	switch tenantAlias(seg) {
	case aliasCommon, aliasOrganizations:
		return "", nil
	case aliasConsumers:
		return "", aadsts(90002, "Tenant 'consumers' not found. This server has no personal Microsoft accounts; use a tenant ID or domain name.")
	}
	t, err := h.deps.Tenants.ResolveTenant(r.Context(), seg)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// tenantError gives discovery failures Entra's invalid_tenant error name.
func tenantError(err error) error {
	oe := asOAuth(err)
	if oe.code == 90002 {
		c := *oe
		c.oauth = "invalid_tenant"
		return &c
	}
	return err
}

func (h *Handler) openIDConfiguration(w http.ResponseWriter, r *http.Request) error {
	tid, err := h.resolveSegment(r)
	if err != nil {
		return tenantError(err)
	}
	// Endpoints carry the tenant GUID even when the client used a domain
	// name, as Entra's do; the aliases keep their own name.
	seg, issuer := tid, tokens.IssuerFor(h.publicURL, tid)
	var region *string
	if tid == "" {
		seg, issuer = strings.ToLower(r.PathValue("tenant")), h.issuerTemplate()
	} else {
		ww := "WW"
		region = &ww
	}
	base := h.publicURL + "/" + seg
	doc := openIDConfiguration{
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           base + "/discovery/v2.0/keys",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            issuer,
		RequestURIParameterSupported:      false,
		UserinfoEndpoint:                  h.publicURL + "/oidc/userinfo",
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		KerberosEndpoint:  base + "/kerberos",
		TenantRegionScope: region,
		// This server is its own cloud: the instance and both Graph host
		// names are its own host (Graph is served here too).
		CloudInstanceName:  h.host,
		CloudGraphHostName: h.host,
		MSGraphHost:        h.host,
		RBACURL:            h.publicURL,
	}
	writeDiscovery(w, doc)
	return nil
}

// jwk is one key of the JWKS, with Entra's two extra fields.
type jwk struct {
	Kty               string   `json:"kty"`
	Use               string   `json:"use"`
	Kid               string   `json:"kid"`
	X5t               string   `json:"x5t"`
	N                 string   `json:"n"`
	E                 string   `json:"e"`
	X5c               []string `json:"x5c"`
	CloudInstanceName string   `json:"cloud_instance_name"`
	Issuer            string   `json:"issuer"`
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) error {
	tid, err := h.resolveSegment(r)
	if err != nil {
		return tenantError(err)
	}
	// A validator may use a key only for tokens whose iss matches the key's
	// issuer; Entra's keys carry the template on every tenant's document.
	// For one tenant the concrete issuer is equivalent and stricter.
	issuer := h.issuerTemplate()
	if tid != "" {
		issuer = tokens.IssuerFor(h.publicURL, tid)
	}
	published := h.deps.Keys.PublishedKeys()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(published))}
	for _, k := range published {
		set.Keys = append(set.Keys, jwk{
			Kty: "RSA", Use: "sig", Kid: k.KID, X5t: k.KID,
			N:                 base64.RawURLEncoding.EncodeToString(k.Key.N.Bytes()),
			E:                 base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.Key.E)).Bytes()),
			X5c:               []string{base64.StdEncoding.EncodeToString(k.Certificate)},
			CloudInstanceName: h.host,
			Issuer:            issuer,
		})
	}
	writeDiscovery(w, set)
	return nil
}

func writeDiscovery(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", discoveryCacheControl)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, v)
}

// instanceMetadata is one cloud in an instance discovery answer.
type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// instanceDiscovery answers MSAL's instance discovery for this server's own
// host (TOKENS.md §2.3): clients that keep discovery on and are pointed at
// this server learn it is its own single-alias cloud. Any other host is
// refused as Entra refuses hosts it does not know.
func (h *Handler) instanceDiscovery(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	authz := q.Get("authorization_endpoint")
	if authz == "" {
		return aadsts(codeMissingParameter, "The request must contain the following parameter: 'authorization_endpoint'.")
	}
	u, err := url.Parse(authz)
	if err != nil || strings.ToLower(u.Scheme+"://"+u.Host) != h.origin {
		return &oauthError{code: codeInvalidInstance, oauth: "invalid_instance", message: "Unknown or invalid instance."}
	}
	tenant := "common"
	if seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); seg != "" {
		tenant = seg
	}
	apiVersion := q.Get("api-version")
	if apiVersion == "" {
		apiVersion = "1.1"
	}
	writeDiscovery(w, struct {
		TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
		APIVersion              string             `json:"api-version"`
		Metadata                []instanceMetadata `json:"metadata"`
	}{
		TenantDiscoveryEndpoint: h.publicURL + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration",
		APIVersion:              apiVersion,
		Metadata:                []instanceMetadata{{PreferredNetwork: h.host, PreferredCache: h.host, Aliases: []string{h.host}}},
	})
	return nil
}
