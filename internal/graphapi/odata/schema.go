package odata

import (
	"fmt"
	"strings"

	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
)

// Support says whether a query feature works on a property, and in which
// mode. The zero value is None so that a property nobody described cannot be
// filtered or sorted by accident.
type Support uint8

const (
	// None: Graph rejects the clause with Request_UnsupportedQuery.
	None Support = iota
	// Default: works in every request.
	Default
	// Advanced: works only in advanced mode, i.e. with the header
	// "ConsistencyLevel: eventual" and $count=true.
	Advanced
)

func (s Support) String() string {
	switch s {
	case Default:
		return "default"
	case Advanced:
		return "advanced"
	default:
		return "none"
	}
}

// FilterOp is an operator whose support Graph documents per property. The
// columns follow Graph's filter tables (user_filter_support.json), plus gt,
// lt and endsWith which the tables describe in prose.
type FilterOp uint8

const (
	OpEq FilterOp = iota
	OpNe
	OpNot // not(...) around a clause on the property
	OpGt
	OpGe
	OpLt
	OpLe
	OpIn
	OpStartsWith
	OpEndsWith
	OpNull // comparison with the literal null (eq null, ne null)
	NumFilterOps
)

var filterOpNames = [NumFilterOps]string{"eq", "ne", "not", "gt", "ge", "lt", "le", "in", "startsWith", "endsWith", "null"}

func (o FilterOp) String() string {
	if o < NumFilterOps {
		return filterOpNames[o]
	}
	return fmt.Sprintf("FilterOp(%d)", uint8(o))
}

// Ops is the support level of each filter operator on one property, indexed
// by FilterOp.
type Ops [NumFilterOps]Support

// Prop describes one property or nested property path of an entity.
type Prop struct {
	// Name is the canonical property path: "displayName",
	// "initiatedBy/user/id". Paths below a collection ("targetResources/id")
	// describe the collection's elements and are reachable only inside a
	// lambda (targetResources/any(t: t/id eq '…')).
	Name string
	// Type is the scalar type, or 0 for a complex type (identities,
	// initiatedBy), which cannot be compared directly. For a collection it is
	// the element type.
	Type       query.Type
	Collection bool
	// Filter is the support of each $filter operator. For a collection the
	// levels apply to its elements inside any(); for a complex property they
	// are inherited by its nested paths.
	Filter  Ops
	OrderBy Support
	// Search marks properties $search may name ("displayName:room").
	Search bool
	// Select marks properties $select may name (top-level properties).
	Select bool
}

// FilterSupport returns the support of op on p after applying Graph's
// general rules: "in" works wherever "eq" works by default, and ne, not and
// endsWith never work outside advanced mode.
func (p *Prop) FilterSupport(op FilterOp) Support {
	if op >= NumFilterOps {
		return None
	}
	lvl := p.Filter[op]
	switch op {
	case OpIn:
		if p.Filter[OpEq] == Default {
			lvl = Default
		}
	case OpNe, OpNot, OpEndsWith:
		if lvl == Default {
			lvl = Advanced
		}
	}
	return lvl
}

// Nav is a navigation property $expand may name.
type Nav struct {
	Name string
	// Target is the kind of the linked objects; its schema validates a
	// nested $select. KindDirectoryObject for polymorphic links.
	Target iam.Kind
	// Single marks a single-valued property (manager, principal): it
	// expands to an object or null rather than an array.
	Single bool
}

// Kinds with a schema that are not stored kinds of their own.
const (
	// KindDirectoryObject is Graph's base type of users, groups, service
	// principals and so on, used for polymorphic lists (members, owners).
	KindDirectoryObject iam.Kind = "directoryObject"
	// KindAppRoleAssignment is an app role assignment, stored as a link.
	KindAppRoleAssignment iam.Kind = "appRoleAssignment"
	// KindScopedRoleMembership is an administrative unit's scoped role
	// membership, a view of a role assignment.
	KindScopedRoleMembership iam.Kind = "scopedRoleMembership"
)

// Schema describes an entity type for the OData parser: which properties
// exist, how each may be filtered, sorted, searched and selected, and what
// can be expanded. Build one with newSchema so lookups use an index.
type Schema struct {
	// Type is the OData type name, "microsoft.graph.user".
	Type string
	// Resource is the name Graph's error messages use, "User".
	Resource string
	// Props holds top-level properties and the nested paths filters may use.
	Props []Prop
	// DefaultSelect is returned without $select; nil means every selectable
	// property.
	DefaultSelect []string
	// Expand lists the navigation properties $expand accepts.
	Expand []Nav
	// ExpandMany lets one $expand name several of them, as Graph allows on
	// its RBAC entities; directory objects take one.
	ExpandMany bool
	// SortWithFilter is the mode $orderby needs when a $filter is present:
	// Advanced for directory objects, Default elsewhere (audit logs).
	SortWithFilter Support
	// DefaultSort applies when the request has no $orderby; nil means the
	// store's id order.
	DefaultSort *query.Sort

	index map[string]int // lower-case path -> index in Props
}

// newSchema indexes s and marks top-level properties selectable. It panics
// on a malformed schema: schemas are package data, and the tests build all
// of them.
func newSchema(s *Schema) *Schema {
	s.index = make(map[string]int, len(s.Props))
	for i := range s.Props {
		p := &s.Props[i]
		key := strings.ToLower(p.Name)
		if _, dup := s.index[key]; dup {
			panic("odata: duplicate property " + p.Name + " in " + s.Type)
		}
		s.index[key] = i
		if !strings.Contains(p.Name, "/") {
			p.Select = true
		}
	}
	// A nested path needs its top-level property, so a filter that walks
	// through a collection is recognised and refused outside any().
	for i := range s.Props {
		name := s.Props[i].Name
		if top, _, nested := strings.Cut(name, "/"); nested {
			if _, ok := s.index[strings.ToLower(top)]; !ok {
				panic("odata: nested path " + name + " without its property in " + s.Type)
			}
		}
	}
	for _, name := range s.DefaultSelect {
		if p := s.Prop(name); p == nil || p.Name != name || !p.Select {
			panic("odata: default select " + name + " is not a property of " + s.Type)
		}
	}
	return s
}

// Prop returns the property or nested path called name, matched
// case-insensitively, or nil.
func (s *Schema) Prop(name string) *Prop {
	if s.index != nil {
		if i, ok := s.index[strings.ToLower(name)]; ok {
			return &s.Props[i]
		}
		return nil
	}
	for i := range s.Props {
		if strings.EqualFold(s.Props[i].Name, name) {
			return &s.Props[i]
		}
	}
	return nil
}

// nav returns the navigation property called name (case-insensitively).
func (s *Schema) nav(name string) *Nav {
	for i := range s.Expand {
		if strings.EqualFold(s.Expand[i].Name, name) {
			return &s.Expand[i]
		}
	}
	return nil
}

// searchable reports whether any property accepts $search.
func (s *Schema) searchable() bool {
	for i := range s.Props {
		if s.Props[i].Search {
			return true
		}
	}
	return false
}

// SchemaFor returns the schema of kind, or nil when the kind has no OData
// listing (signing keys, the organization).
func SchemaFor(kind iam.Kind) *Schema {
	switch kind {
	case iam.KindUser:
		return UserSchema
	case iam.KindGroup:
		return GroupSchema
	case iam.KindApplication:
		return ApplicationSchema
	case iam.KindServicePrincipal:
		return ServicePrincipalSchema
	case iam.KindAdministrativeUnit:
		return AdministrativeUnitSchema
	case iam.KindDomain:
		return DomainSchema
	case iam.KindDirectoryAudit:
		return DirectoryAuditSchema
	case KindDirectoryObject:
		return DirectoryObjectSchema
	case KindAppRoleAssignment:
		return AppRoleAssignmentSchema
	case iam.KindSignIn:
		return SignInSchema
	case iam.KindOAuth2PermissionGrant:
		return OAuth2PermissionGrantSchema
	case iam.KindRoleDefinition:
		return RoleDefinitionSchema
	case iam.KindRoleAssignment:
		return RoleAssignmentSchema
	case KindScopedRoleMembership:
		return ScopedRoleMembershipSchema
	}
	return nil
}

// ops builds an Ops from two space-separated operator lists, those working
// by default and those needing advanced mode: ops("eq in", "ne not").
// Unknown names panic; schemas are package data checked by the tests.
func ops(def, adv string) Ops {
	var o Ops
	set := func(list string, lvl Support) {
		for _, name := range strings.Fields(list) {
			found := false
			for i, n := range filterOpNames {
				if n == name {
					o[i] = lvl
					found = true
				}
			}
			if !found {
				panic("odata: unknown filter operator " + name)
			}
		}
	}
	set(def, Default)
	set(adv, Advanced)
	return o
}

// Common operator sets of the hand-written schemas.
var (
	// eqOps: identifiers, enumerations and booleans.
	eqOps = ops("eq in", "ne not")
	// textOps: plain strings that Graph lets clients filter by prefix.
	textOps = ops("eq in startsWith", "ne not null")
	// advTextOps: strings filterable only in advanced mode.
	advTextOps = ops("", "eq in startsWith ne not null")
	// dateOps: timestamps compared by range.
	dateOps = ops("eq ge gt le lt", "ne not in")
	// advDateOps: timestamps filterable only in advanced mode.
	advDateOps = ops("", "eq ge gt le lt ne not in")
	// collEqOps: string collections matched exactly inside any().
	collEqOps = ops("eq", "ne not")
	// collTextOps: string collections matched exactly or by prefix inside any().
	collTextOps = ops("eq startsWith", "ne not")
)

// selectOnly lists properties that $select accepts but nothing else does.
// Their Type stays 0: no filter, sort or search reads it.
func selectOnly(names ...string) []Prop {
	out := make([]Prop, len(names))
	for i, n := range names {
		out[i] = Prop{Name: n}
	}
	return out
}
