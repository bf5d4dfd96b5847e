package authn

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// maxLogoutCandidates bounds the applications read to decide a logout
// redirect: the store narrows them to those naming the URI (compared
// case-insensitively), and the exact comparison happens here.
const maxLogoutCandidates = 50

// IsRegisteredLogoutURI reports whether uri is, exactly, a redirect URI
// (web, spa or publicClient) or the web logout URL of the application
// clientID (an appId) registered in tenantID: the only places the sign-out
// page may send a browser (TOKENS.md §8). The URI must belong to the app
// signing out, as in Entra; accepting any app's URI would let whoever can
// register an app turn the sign-out page into an open redirect. The
// request is unauthenticated, so the lookup is one indexed-by-tenant query
// with a bounded answer, never a scan of every application. A
// multi-tenant application used in tenantID is registered in its home
// tenant: it is found through its service principal here (two reads by
// key).
func (s *Service) IsRegisteredLogoutURI(ctx context.Context, tenantID, clientID, uri string) (bool, error) {
	if uri == "" || !iam.IsGUID(clientID) {
		return false, nil
	}
	v := query.Value{Type: query.String, Str: uri}
	elem := query.Cmp{Field: query.Field{Path: "", Type: query.String}, Op: query.Eq, Value: v}
	anyOf := func(path string) query.Expr {
		return query.Any{Field: query.Field{Path: path, Type: query.String, Collection: true}, Pred: elem}
	}
	filter := query.And{
		query.Cmp{Field: query.Field{Path: "appId", Type: query.GUID}, Op: query.Eq, Value: query.Value{Type: query.GUID, Str: strings.ToLower(clientID)}},
		query.Or{
			anyOf("web/redirectUris"), anyOf("spa/redirectUris"), anyOf("publicClient/redirectUris"),
			query.Cmp{Field: query.Field{Path: "web/logoutUrl", Type: query.String}, Op: query.Eq, Value: v},
		},
	}
	found := false
	err := s.st.Read(ctx, func(r store.Reader) error {
		p, err := r.List(tenantID, iam.KindApplication, store.Live, query.List{Filter: filter, Top: maxLogoutCandidates})
		if err != nil {
			return err
		}
		for _, o := range p.Items {
			var a iam.Application
			if err := json.Unmarshal(o.Data, &a); err != nil {
				return errs.Wrap(errs.Internal, err, "authn: unreadable application %s", o.ID)
			}
			if appHasURI(&a, uri) {
				found = true
				return nil
			}
		}
		if len(p.Items) > 0 {
			return nil
		}
		c, _, err := loadClient(r, tenantID, strings.ToLower(clientID))
		if err != nil || c == nil || c.HomeTenantID == tenantID {
			return err
		}
		found = appHasURI(&c.Application, uri)
		return nil
	})
	return found, err
}

func appHasURI(a *iam.Application, uri string) bool {
	var lists [][]string
	if a.Web != nil {
		lists = append(lists, a.Web.RedirectURIs)
		if a.Web.LogoutURL != nil && *a.Web.LogoutURL == uri {
			return true
		}
	}
	if a.Spa != nil {
		lists = append(lists, a.Spa.RedirectURIs)
	}
	if a.PublicClient != nil {
		lists = append(lists, a.PublicClient.RedirectURIs)
	}
	for _, l := range lists {
		for _, u := range l {
			if u == uri {
				return true
			}
		}
	}
	return false
}
