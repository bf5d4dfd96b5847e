package rbac

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestGUIDTable checks the table against Go's map through random inserts
// and deletes, growth and rebuilds, with keys that share buckets.
func TestGUIDTable(t *testing.T) {
	if n := unsafe.Sizeof(bucket{}); n != 64 {
		t.Fatalf("bucket is %d bytes, want one cache line", n)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var tab guidTable
	want := map[guid]ref{}
	keys := make([]guid, 5000)
	for i := range keys {
		keys[i] = guid{rng.Uint64(), rng.Uint64()}
	}
	keys[0] = guid{} // an empty slot holds the zero GUID: it must not match
	for step := range 200_000 {
		g := keys[rng.IntN(len(keys))]
		if _, ok := want[g]; ok && rng.IntN(2) == 0 {
			tab.delete(g)
			delete(want, g)
		} else if !ok {
			tab.set(g, ref(step))
			want[g] = ref(step)
		}
		if step%1000 == 0 {
			for _, k := range keys {
				r, ok := want[k]
				if !ok {
					r = noRef
				}
				if got := tab.get(k); got != r {
					t.Fatalf("step %d: get = %d, want %d", step, got, r)
				}
			}

			if tab.count != len(want) || 2*tab.count > 3*len(tab.buckets) {
				t.Fatalf("step %d: %d entries in %d buckets, want %d", step, tab.count, len(tab.buckets), len(want))
			}
		}
	}
	var empty guidTable
	if empty.get(keys[0]) != noRef {
		t.Error("empty table finds a key")
	}
	empty.delete(keys[0])
}
