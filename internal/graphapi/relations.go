package graphapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/web"
)

// relation describes a navigation property between directory objects.
type relation struct {
	rel        iam.Rel
	dir        directory.Direction
	transitive bool
}

var relations = map[string]relation{
	"members":            {iam.RelMember, directory.Targets, false},
	"transitiveMembers":  {iam.RelMember, directory.Targets, true},
	"owners":             {iam.RelOwner, directory.Targets, false},
	"memberOf":           {iam.RelMember, directory.Sources, false},
	"transitiveMemberOf": {iam.RelMember, directory.Sources, true},
	"ownedObjects":       {iam.RelOwner, directory.Sources, false},
	"directReports":      {iam.RelManager, directory.Sources, false},
}

// defaultSets are the properties Graph returns without $select.
var defaultSets = map[iam.Kind][]string{
	iam.KindUser: {"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
		"officeLocation", "preferredLanguage", "surname", "userPrincipalName"},
}

// resolveID maps a path key of kind to an object id (users accept UPNs).
func (s *Server) resolveID(r *http.Request, rc *reqCtx, kind iam.Kind, key string) (string, error) {
	if kind == iam.KindUser {
		return s.dir.ResolveUserID(r.Context(), rc.caller, key)
	}
	if id, ok := iam.NormalizeGUID(key); ok {
		return id, nil
	}
	return "", errs.E(errs.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", key).WithCode("Request_ResourceNotFound")
}

// listRelated serves GET /{set}/{id}/{nav}[/{cast}].
func (s *Server) listRelated(kind iam.Kind) handlerFunc { return s.related(kind, false) }

// countRelated serves GET /{set}/{id}/{nav}[/{cast}]/$count: a bare
// integer, with ConsistencyLevel: eventual, as Graph answers it.
func (s *Server) countRelated(kind iam.Kind) handlerFunc { return s.related(kind, true) }

// relatedRoutes mounts the navigation lists of a set and their counts.
func (s *Server) relatedRoutes(set string, kind iam.Kind) {
	s.routes.add("GET", set+"/{id}/{nav}", s.listRelated(kind))
	s.routes.add("GET", set+"/{id}/{nav}/{cast}", s.listRelated(kind))
	s.routes.add("GET", set+"/{id}/{nav}/$count", s.countRelated(kind))
	s.routes.add("GET", set+"/{id}/{nav}/{cast}/$count", s.countRelated(kind))
}

func (s *Server) related(kind iam.Kind, countOnly bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if countOnly && !eventual(r) {
			return errs.E(errs.Invalid, "$count is not currently supported.").WithCode("Request_BadRequest")
		}
		nav := rc.params["nav"]
		relDef, ok := relations[nav]
		if !ok {
			return errs.E(errs.Invalid, "Resource not found for the segment '%s'.", nav).WithCode("BadRequest")
		}
		kinds, err := castKinds(rc.params["cast"])
		if err != nil {
			return err
		}
		id, err := s.resolveID(r, rc, kind, rc.params["id"])
		if err != nil {
			return err
		}
		schema := odata.DirectoryObjectSchema
		if len(kinds) == 1 {
			schema = odata.SchemaFor(kinds[0])
		}
		req, err := parse(r, schema)
		if err != nil {
			return err
		}
		if countOnly {
			req.List.Count, req.List.Top, req.List.After = true, 1, nil
		}
		var page directory.Page[directory.Object]
		if relDef.transitive {
			if req.List.Filter != nil || req.List.Sort != nil {
				return errs.E(errs.Unsupported, "Filtering and sorting are not supported on transitive relationships.").WithCode("Request_UnsupportedQuery")
			}
			page, err = s.dir.Transitive(r.Context(), rc.caller, kind, id, relDef.dir, kinds, req.List)
		} else {
			page, err = s.dir.ListLinked(r.Context(), rc.caller, kind, id, relDef.rel, relDef.dir, kinds, req.List)
		}
		if err != nil {
			return err
		}
		if countOnly {
			return writeCount(w, page.Count)
		}
		set := "directoryObjects"
		if len(kinds) == 1 {
			set = string(kinds[0]) + "s"
		}
		return s.writeList(w, r, rc, set, itemsOf(page.Items), page.Next, page.Count, req.CountRequested,
			&view{sel: req.Select, defaults: defaultSets, typed: true})
	}
}

// refBody is the body of a $ref add.
type refBody struct {
	ODataID string `json:"@odata.id"`
}

func readRef(r *http.Request) (string, error) {
	var b refBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.ODataID == "" {
		return "", errs.E(errs.Invalid, "The request body must carry an '@odata.id' reference.").WithCode("Request_BadRequest")
	}
	id, ok := directory.RefID(b.ODataID)
	if !ok {
		return "", errs.E(errs.Invalid, "Invalid object identifier '%s'.", b.ODataID).WithCode("Request_BadRequest")
	}
	return id, nil
}

// memberAction serves POST checkMemberGroups, getMemberGroups,
// getMemberObjects and checkMemberObjects on any directory object.
func (s *Server) memberAction(kind iam.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		id, err := s.resolveID(r, rc, kind, rc.params["id"])
		if err != nil {
			return err
		}
		var body struct {
			GroupIDs            []string `json:"groupIds"`
			IDs                 []string `json:"ids"`
			SecurityEnabledOnly *bool    `json:"securityEnabledOnly"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return errs.E(errs.Invalid, "Unable to read JSON request payload.").WithCode("BadRequest")
		}
		var ids []string
		switch action := rc.params["action"]; action {
		case "checkMemberGroups", "checkMemberObjects":
			list := body.GroupIDs
			if action == "checkMemberObjects" {
				list = body.IDs
			}
			ids, err = s.dir.CheckMemberGroups(r.Context(), rc.caller, kind, id, list)
		case "getMemberGroups", "getMemberObjects":
			if body.SecurityEnabledOnly == nil {
				return errs.E(errs.Invalid, "Invalid value specified for property 'securityEnabledOnly'.").WithCode("Request_BadRequest")
			}
			ids, err = s.dir.MemberGroups(r.Context(), rc.caller, kind, id, *body.SecurityEnabledOnly, action == "getMemberObjects")
		default:
			return errs.E(errs.Invalid, "Resource not found for the segment '%s'.", action).WithCode("BadRequest")
		}
		if err != nil {
			return err
		}
		return writeValue(w, s.publicURL+"/"+rc.version+"/$metadata#Collection(Edm.String)", ids)
	}
}

func writeValue(w http.ResponseWriter, context string, v any) error {
	b, err := web.Marshal(map[string]any{"@odata.context": context, "value": v})
	if err != nil {
		return errs.Wrap(errs.Internal, err, "encode")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(b)
	return nil
}

// expand loads the $expand navigations of the listed objects. Directory
// objects expand one relationship, at most 20 related objects each, as
// Graph truncates expanded link collections; role assignments expand their
// principal, role definition and directory scope (roleexpand.go).
func (s *Server) expand(r *http.Request, rc *reqCtx, kind iam.Kind, items []item, exps []odata.Expand) (expansion, error) {
	if kind == iam.KindRoleAssignment {
		return s.expandRoleAssignments(r, rc, items, exps)
	}
	out := make(expansion, len(exps))
	for _, exp := range exps {
		rel := map[string]relation{
			"members": relations["members"], "owners": relations["owners"], "memberOf": relations["memberOf"],
			"manager": {iam.RelManager, directory.Targets, false}, "directReports": relations["directReports"],
		}[exp.Property]
		if rel.rel == "" {
			return nil, errs.E(errs.Invalid, "Could not find a property named '%s' on type '%s'.", exp.Property, kind.ODataType()[1:]).WithCode("Request_BadRequest")
		}
		byID := make(map[string][]item, len(items))
		for _, it := range items {
			id := idOf(it)
			page, err := s.dir.ListLinked(r.Context(), rc.caller, kind, id, rel.rel, rel.dir, nil, query.List{Top: 20})
			if err != nil {
				return nil, err
			}
			byID[id] = itemsOf(page.Items)
		}
		out[exp.Property] = byID
	}
	return out, nil
}

// idOf reads the id of a rendered item.
func idOf(it item) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(it.data, &v)
	return strings.ToLower(v.ID)
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
