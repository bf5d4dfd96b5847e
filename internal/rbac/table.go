package rbac

import (
	"math/bits"
	"math/rand/v2"
)

// guidTable maps GUIDs to references: the id lookups every decision makes.
// Go's map would do, but a lookup in it reads a group's control word and
// then the slot, two cache lines apart; on a cold snapshot of a million
// objects each is a trip to memory. Here a bucket is one cache line that
// holds three keys and their references, so a lookup costs one.
//
// Open addressing over buckets: an entry whose bucket is full goes to the
// next one, and every full bucket it passes is marked overflowed, so a
// lookup stops at the first bucket without the mark. Deleting leaves the
// marks (they only cost a longer search); the table is rebuilt when they
// pile up, and doubles when half its slots are taken. Like the entries'
// slice it never shrinks: it follows the most ids the snapshot held at
// once. Hashes are seeded afresh at every rebuild, so ids chosen to
// collide cannot be prepared in advance.
type guidTable struct {
	buckets []bucket // a power of two of them, or none
	seed    [2]uint64
	count   int // entries
	marked  int // buckets marked overflowed
}

type bucket struct {
	keys [3]guid
	refs [3]ref
	n    uint8 // entries in use
	over bool  // an entry that hashes here or earlier sits further on
	_    [2]byte
}

// home returns the index of g's first bucket.
func (t *guidTable) home(g guid) int {
	hi, lo := bits.Mul64(g.hi^t.seed[0], g.lo^t.seed[1])
	return int(hi^lo) & (len(t.buckets) - 1)
}

// get returns g's reference, or noRef.
func (t *guidTable) get(g guid) ref {
	if len(t.buckets) == 0 {
		return noRef
	}
	for i := t.home(g); ; i = (i + 1) & (len(t.buckets) - 1) {
		b := &t.buckets[i]
		for j := range b.n {
			if b.keys[j] == g {
				return b.refs[j]
			}
		}
		if !b.over {
			return noRef
		}
	}
}

// set adds g, which is not in the table.
func (t *guidTable) set(g guid, r ref) {
	if 2*(t.count+1) > 3*len(t.buckets) {
		t.rebuild(max(2*len(t.buckets), 16))
	}
	t.insert(g, r)
}

func (t *guidTable) insert(g guid, r ref) {
	for i := t.home(g); ; i = (i + 1) & (len(t.buckets) - 1) {
		b := &t.buckets[i]
		if int(b.n) < len(b.keys) {
			b.keys[b.n], b.refs[b.n] = g, r
			b.n++
			t.count++
			return
		}
		if !b.over {
			b.over = true
			t.marked++
		}
	}
}

// delete removes g if it is there.
func (t *guidTable) delete(g guid) {
	if len(t.buckets) == 0 {
		return
	}
	for i := t.home(g); ; i = (i + 1) & (len(t.buckets) - 1) {
		b := &t.buckets[i]
		for j := range b.n {
			if b.keys[j] == g {
				b.n--
				b.keys[j], b.refs[j] = b.keys[b.n], b.refs[b.n]
				b.keys[b.n], b.refs[b.n] = guid{}, 0
				t.count--
				if t.marked > len(t.buckets)/4 {
					t.rebuild(len(t.buckets))
				}
				return
			}
		}
		if !b.over {
			return
		}
	}
}

// rebuild rehashes every entry into n buckets under a fresh seed.
func (t *guidTable) rebuild(n int) {
	old := t.buckets
	t.buckets, t.count, t.marked = make([]bucket, n), 0, 0
	t.seed = [2]uint64{rand.Uint64(), rand.Uint64()}
	for i := range old {
		b := &old[i]
		for j := range b.n {
			t.insert(b.keys[j], b.refs[j])
		}
	}
}
