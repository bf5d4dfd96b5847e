package rbac

// Object ids are interned to int32 references at the snapshot's edge: a
// request costs one lookup for its principal and one for its target;
// everything inside the snapshot (objects, group and unit memberships,
// assignment scopes) refers to objects by reference and indexes slices.
//
// Why: at a million assignments nothing fits in the CPU cache, and a
// string-keyed map lookup costs a hash of the whole id plus a comparison
// that reads the key's bytes from yet another cache line. A canonical GUID
// (every id Ostiary generates) is looked up by its 16 bytes, compared in
// registers, in a table that costs one cache line per lookup (table.go);
// other ids (imported ones, tests) go to a string map. The two forms never
// alias: "ABC…" and "abc…" stay the distinct objects they were as strings.
//
// Memory under churn: a reference counts the places that hold it (its own
// assignments and memberships, assignment scopes and memberships naming
// it) and is freed when none is left: its entry is emptied and the
// reference goes on a free list that new ids take first. So adding and
// removing the same ids, or new ones, never grows the snapshot beyond the
// most ids it held at once; the entries' slice keeps that length.

// ref is an interned object id; noRef stands for "no object".
type ref = int32

const noRef ref = -1

// idMap maps assignment ids to their principals: a GUID by its 16 bytes,
// which leaves the garbage collector nothing to follow, and any other id
// by its text. Only updates use it, so it is Go's map (see guidTable).
type idMap struct {
	guids  map[guid]ref
	others map[string]ref
}

func newIDMap() idMap { return idMap{guids: map[guid]ref{}, others: map[string]ref{}} }

// ref returns id's reference, or noRef.
func (m *idMap) ref(id string) ref {
	if g, ok := parseGUID(id); ok {
		if r, ok := m.guids[g]; ok {
			return r
		}
		return noRef
	}
	if r, ok := m.others[id]; ok {
		return r
	}
	return noRef
}

func (m *idMap) set(id string, r ref) {
	if g, ok := parseGUID(id); ok {
		m.guids[g] = r
	} else {
		m.others[id] = r
	}
}

func (m *idMap) delete(id string) {
	if g, ok := parseGUID(id); ok {
		delete(m.guids, g)
	} else {
		delete(m.others, id)
	}
}

func (m *idMap) len() int { return len(m.guids) + len(m.others) }

// ids interns object ids; the ids themselves are kept in the entries
// (object.id). GUIDs go to a guidTable, whose lookups cost one trip to
// memory (table.go). It is changed only under the snapshot's write lock;
// lookups run under its read lock.
type ids struct {
	guids  guidTable
	others map[string]ref
	counts []int32 // by ref: how many places hold it
	free   []ref
}

// ref returns id's reference, or noRef.
func (x *ids) ref(id string) ref {
	if g, ok := parseGUID(id); ok {
		return x.guids.get(g)
	}
	if r, ok := x.others[id]; ok {
		return r
	}
	return noRef
}

func (x *ids) len() int { return x.guids.count + len(x.others) }

// acquire returns id's reference, interning it if needed, and counts one
// more holder.
func (s *Snapshot) acquire(id string) ref {
	x := &s.ids
	r := x.ref(id)
	if r == noRef {
		if n := len(x.free); n > 0 {
			r, x.free = x.free[n-1], x.free[:n-1]
		} else {
			r = ref(len(s.objs))
			s.objs = append(s.objs, object{})
			x.counts = append(x.counts, 0)
		}
		s.objs[r].id = id
		if g, ok := parseGUID(id); ok {
			x.guids.set(g, r)
		} else {
			x.others[id] = r
		}
	}
	x.counts[r]++
	return r
}

// hold counts one more holder of a reference already held.
func (s *Snapshot) hold(r ref) { s.ids.counts[r]++ }

// release drops one holder of r and, once none is left, frees the
// reference and its entry's memory.
func (s *Snapshot) release(r ref) {
	x := &s.ids
	if x.counts[r]--; x.counts[r] > 0 {
		return
	}
	if g, ok := parseGUID(s.objs[r].id); ok {
		x.guids.delete(g)
	} else {
		delete(x.others, s.objs[r].id)
	}
	s.objs[r] = object{}
	x.free = append(x.free, r)
}
