package directory

import (
	"time"

	"github.com/ostiary/ostiary/internal/errs"
	"github.com/ostiary/ostiary/internal/iam"
	"github.com/ostiary/ostiary/internal/store"
)

// singleton is a per-tenant policy object with a fixed id (the
// authorization policy, the legacy authentication policy): a tenant that
// has never stored one reads the defaults, and the first update stores it.
type singleton[T any] struct {
	kind     iam.Kind
	id       string
	defaults func() T
	// normalize restores what a stored document may lack (the fixed id,
	// empty rather than null collections).
	normalize func(*T)
}

// read returns the tenant's policy, its stored object and whether it is
// stored at all.
func (sg singleton[T]) read(r store.Reader, tenantID string) (T, store.Object, bool, error) {
	o, err := r.Get(tenantID, sg.kind, sg.id)
	if errs.Is(err, errs.NotFound) {
		return sg.defaults(), store.Object{}, false, nil
	} else if err != nil {
		var zero T
		return zero, o, false, err
	}
	v, err := decode[T](o)
	sg.normalize(&v)
	return v, o, true, err
}

// save writes v over the stored object, or stores it for the first time.
func (sg singleton[T]) save(w store.Writer, tenantID string, o store.Object, stored bool, v T, name string, now time.Time) error {
	sg.normalize(&v)
	data, err := encode(v)
	if err != nil {
		return err
	}
	if stored {
		o.Data = data
		return w.Update(o)
	}
	return w.Insert(store.Object{TenantID: tenantID, Kind: sg.kind, ID: sg.id, DisplayName: name, CreatedAt: now, Data: data})
}
