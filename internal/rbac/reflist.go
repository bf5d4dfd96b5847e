package rbac

import "slices"

// refList is an object's role-assignable groups or administrative units:
// up to three in the entry itself, more in a slice of their own. Most
// objects have a few, so a decision reads them from the entry's cache line
// instead of following a pointer to another one; on a cold snapshot that
// is a trip to memory saved for the principal's groups and another for the
// target's units. Order is kept: it decides the order of reasons.
type refList struct {
	n      int32
	inline [3]ref
	spill  []ref // all n of them, when more than fit inline
}

// items returns the list. It aliases the entry, so it is valid until the
// snapshot changes.
func (l *refList) items() []ref {
	if l.spill != nil {
		return l.spill
	}
	return l.inline[:l.n]
}

// set replaces the list with a copy of rs.
func (l *refList) set(rs []ref) {
	x := refList{n: int32(len(rs))}
	if len(rs) > len(x.inline) {
		x.spill = slices.Clone(rs)
	} else {
		copy(x.inline[:], rs)
	}
	*l = x
}

func (l *refList) add(r ref) {
	switch {
	case l.spill != nil:
		l.spill = append(l.spill, r)
	case int(l.n) < len(l.inline):
		l.inline[l.n] = r
	default:
		l.spill = append(slices.Clone(l.inline[:]), r)
	}
	l.n++
}

// remove deletes every occurrence of r and reports how many there were.
func (l *refList) remove(r ref) int {
	rs := l.items()
	kept := slices.DeleteFunc(rs, func(x ref) bool { return x == r })
	if len(kept) < len(rs) {
		l.set(kept) // back inline when they fit again
	}
	return len(rs) - len(kept)
}
