package graphapi

import (
	"net/http"

	"github.com/ostiary/ostiary/internal/directory"
	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/graphapi/odata"
	"github.com/ostiary/ostiary/internal/iam"
)

func (s *Server) domainRoutes() {
	rt := &s.routes
	mountEntity(s, entity[iam.Domain]{set: "domains", kind: iam.KindDomain,
		list: s.dir.ListDomains, create: s.dir.AddDomain, get: s.dir.GetDomain, update: s.dir.UpdateDomain, del: s.dir.DeleteDomain,
		listDoc: s.dir.ListDocuments})
	rt.add("GET", "domains/{id}/verificationDnsRecords", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		recs, err := s.dir.VerificationDNSRecords(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		items := make([]item, 0, len(recs))
		for _, rec := range recs {
			it, err := itemOf("domainDnsTxtRecord", rec)
			if err != nil {
				return err
			}
			items = append(items, it)
		}
		return s.writeList(w, r, rc, "domains('"+rc.params["id"]+"')/verificationDnsRecords", items, nil, -1, false, &view{typed: true})
	})
	rt.add("POST", "domains/{id}/verify", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		d, err := s.dir.VerifyDomain(r.Context(), rc.caller, rc.params["id"])
		if err != nil {
			return err
		}
		it, err := itemOf(iam.KindDomain, d)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "domains", it, &view{})
	})
	rt.add("POST", "domains/{id}/promote", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.PromoteDomain(r.Context(), rc.caller, rc.params["id"]); err != nil {
			return err
		}
		return writeValue(w, s.publicURL+"/"+rc.version+"/$metadata#Edm.Boolean", true)
	})

	rt.add("GET", "organization", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		org, err := s.dir.GetOrganization(r.Context(), rc.caller)
		if err != nil {
			return err
		}
		it, err := itemOf("", org)
		if err != nil {
			return err
		}
		return s.writeList(w, r, rc, "organization", []item{it}, nil, -1, false, &view{})
	})
	rt.add("GET", "organization/{id}", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		org, err := s.dir.GetOrganization(r.Context(), rc.caller)
		if err != nil {
			return err
		}
		if !sameID(rc.params["id"], org.ID) {
			return errs.E(errs.NotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", rc.params["id"]).WithCode("Request_ResourceNotFound")
		}
		it, err := itemOf("", org)
		if err != nil {
			return err
		}
		return s.writeEntity(w, rc, http.StatusOK, "organization", it, &view{})
	})
	s.adminUnitRoutes()
}

func (s *Server) adminUnitRoutes() {
	rt := &s.routes
	const set = "directory/administrativeUnits"
	mountEntity(s, entity[iam.AdministrativeUnit]{set: set, kind: iam.KindAdministrativeUnit,
		list: s.dir.ListAdministrativeUnits, create: s.dir.CreateAdministrativeUnit, get: s.dir.GetAdministrativeUnit,
		update: s.dir.UpdateAdministrativeUnit, del: s.dir.DeleteAdministrativeUnit,
		listDoc: s.dir.ListDocuments})
	members := func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		kinds, err := castKinds(rc.params["cast"])
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
		page, err := s.dir.ListLinked(r.Context(), rc.caller, iam.KindAdministrativeUnit, rc.params["id"], iam.RelMember, directory.Targets, kinds, req.List)
		if err != nil {
			return err
		}
		return s.writeList(w, r, rc, "directoryObjects", itemsOf(page.Items), page.Next, page.Count, req.CountRequested,
			&view{sel: req.Select, defaults: defaultSets, typed: true})
	}
	rt.add("GET", set+"/{id}/members", members)
	rt.add("GET", set+"/{id}/members/{cast}", members)
	rt.add("POST", set+"/{id}/members/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		ref, err := readRef(r)
		if err != nil {
			return err
		}
		if err := s.dir.AddAUMember(r.Context(), rc.caller, rc.params["id"], ref); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.add("DELETE", set+"/{id}/members/{ref}/$ref", func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		if err := s.dir.RemoveAUMember(r.Context(), rc.caller, rc.params["id"], rc.params["ref"]); err != nil {
			return err
		}
		return noContent(w)
	})
}
