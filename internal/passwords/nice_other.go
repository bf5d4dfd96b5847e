//go:build !linux

package passwords

// lowerThreadPriority does nothing where threads have no nice value of
// their own; the extra Ps (reserveProcs) still keep handlers off the
// hashers' Ps.
func lowerThreadPriority(int) {}
