package rbac

import (
	_ "embed"
	"encoding/json"
	"strings"
	"sync"

	"github.com/ostiary/ostiary/internal/errs"
)

//go:embed data/custom_role_permissions.json
var customCatalogJSON []byte

// CustomPermission is one action Entra allows in a custom role definition.
type CustomPermission struct {
	Area        string `json:"area"` // appRegistrations, enterpriseApps, users, groups, devices, appConsent
	Permission  string `json:"permission"`
	Operation   string `json:"operation"`
	Description string `json:"description"`
}

type catalog struct {
	list  []CustomPermission
	exact map[string]bool
	// templates hold the part before "{id}" of parameterised permissions
	// such as "servicePrincipals/managePermissionGrantsForAll.{id}", where
	// {id} is a permission grant policy id.
	templates []string
}

var customCatalog = sync.OnceValue(func() *catalog {
	var doc struct {
		Areas []struct {
			Area        string             `json:"area"`
			Permissions []CustomPermission `json:"permissions"`
		} `json:"areas"`
	}
	if err := json.Unmarshal(customCatalogJSON, &doc); err != nil {
		panic("rbac: embedded custom_role_permissions.json: " + err.Error())
	}
	c := &catalog{exact: map[string]bool{}}
	for _, a := range doc.Areas {
		for _, p := range a.Permissions {
			p.Area = a.Area
			c.list = append(c.list, p)
			if pre, ok := strings.CutSuffix(p.Permission, "{id}"); ok {
				c.templates = append(c.templates, pre)
			} else {
				c.exact[p.Permission] = true
			}
		}
	}
	return c
})

// CustomRolePermissions lists the custom-role catalog in the data file's order.
func CustomRolePermissions() []CustomPermission {
	return append([]CustomPermission(nil), customCatalog().list...)
}

func (c *catalog) allows(action string) bool {
	if c.exact[action] {
		return true
	}
	for _, pre := range c.templates {
		if id, ok := strings.CutPrefix(action, pre); ok && id != "" && !strings.Contains(id, "/") {
			return true
		}
	}
	return false
}

// ValidateCustomPermissions checks that every action may appear in a custom
// role. The error is Graph's Request_BadRequest naming the first offender,
// so nobody grants more through a custom role than the catalog allows.
func ValidateCustomPermissions(actions []string) error {
	c := customCatalog()
	for _, a := range actions {
		if !c.allows(a) {
			return errs.E(errs.Invalid, "The resource action '%s' is not supported in custom role definitions.", a).WithCode("Request_BadRequest")
		}
	}
	return nil
}

// ValidateCustomRole checks a custom role definition as a whole: it needs a
// display name, at least one permission, catalog actions only, and no
// conditions (Entra reserves conditions for built-in roles).
func ValidateCustomRole(r RoleDefinition) error {
	bad := func(format string, args ...any) error {
		return errs.E(errs.Invalid, format, args...).WithCode("Request_BadRequest")
	}
	if r.IsBuiltIn {
		return bad("A custom role definition cannot be marked as built-in.")
	}
	if strings.TrimSpace(r.DisplayName) == "" {
		return bad("The role definition needs a displayName.")
	}
	n := 0
	for _, p := range r.RolePermissions {
		if p.Condition != Unconditional {
			return bad("Conditions are not supported in custom role definitions.")
		}
		if err := ValidateCustomPermissions(p.AllowedResourceActions); err != nil {
			return err
		}
		n += len(p.AllowedResourceActions)
	}
	if n == 0 {
		return bad("The role definition needs at least one allowed resource action.")
	}
	return nil
}
