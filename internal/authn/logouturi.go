package authn

import (
	"context"
	"encoding/json"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/query"
	"github.com/ostiary/ostiary/internal/store"
)

// maxLogoutScan bounds the applications read to decide a logout redirect.
const maxLogoutScan = 50_000

// IsRegisteredLogoutURI reports whether uri is, exactly, a redirect URI
// (web, spa or publicClient) or the web logout URL of an application
// registered in tenantID: the only places the sign-out page may send a
// browser (TOKENS.md §8).
func (s *Service) IsRegisteredLogoutURI(ctx context.Context, tenantID, uri string) (bool, error) {
	if uri == "" {
		return false, nil
	}
	found := false
	err := s.st.Read(ctx, func(r store.Reader) error {
		var after *query.Cursor
		for seen := 0; seen < maxLogoutScan; {
			p, err := r.List(tenantID, iam.KindApplication, store.Live, query.List{Top: query.MaxTop, After: after})
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
			seen += len(p.Items)
			if p.Next == nil {
				return nil
			}
			after = p.Next
		}
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
