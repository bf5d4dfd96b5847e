package rbac

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRefList checks the inline-or-spilled list against a plain slice.
func TestRefList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var l refList
	var want []ref
	for step := range 20_000 {
		r := ref(rng.IntN(6))
		switch rng.IntN(5) {
		case 0, 1:
			l.add(r)
			want = append(want, r)
		case 2, 3:
			n := len(want)
			want = slices.DeleteFunc(want, func(x ref) bool { return x == r })
			if got := l.remove(r); got != n-len(want) {
				t.Fatalf("step %d: removed %d, want %d", step, got, n-len(want))
			}
		default:
			want = want[:rng.IntN(len(want)+1)]
			l.set(want)
		}
		if !slices.Equal(l.items(), want) || int(l.n) != len(want) || (l.spill != nil) != (len(want) > len(l.inline)) {
			t.Fatalf("step %d: %v (n %d, spilled %v), want %v", step, l.items(), l.n, l.spill != nil, want)
		}
	}
}
