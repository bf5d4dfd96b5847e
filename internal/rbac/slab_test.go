package rbac

import (
	"testing"
	"unsafe"
)

// TestSlabSize: a block and the allocator's header fill a 16 KiB size
// class and leave no room for another reason.
func TestSlabSize(t *testing.T) {
	size := int(unsafe.Sizeof(Reason{}))
	if n := slabSize*size + 8; n > 16<<10 || n+size <= 16<<10 {
		t.Errorf("a block of %d reasons takes %d bytes", slabSize, n)
	}
}

// TestNewReasons: carved slices are zeroed, have no room to grow into a
// neighbour, and appending to one leaves the next untouched.
func TestNewReasons(t *testing.T) {
	var got [][]Reason
	for n := range 40 {
		r := newReasons(n%5 + 1)
		if len(r) != n%5+1 || cap(r) != len(r) {
			t.Fatalf("newReasons(%d): len %d cap %d", n%5+1, len(r), cap(r))
		}
		for i := range r {
			if r[i] != (Reason{}) {
				t.Fatalf("newReasons returned a used reason: %+v", r[i])
			}
			r[i].Detail = "mine"
		}
		got = append(got, r)
	}
	grown := append(got[0], Reason{Detail: "appended"})
	grown[0].Detail = "changed"
	for _, r := range got[1:] {
		for i := range r {
			if r[i].Detail != "mine" {
				t.Fatalf("a neighbour's reason changed: %+v", r[i])
			}
		}
	}
	if big := newReasons(slabSize); len(big) != slabSize {
		t.Fatalf("newReasons(%d) has length %d", slabSize, len(big))
	}
}
