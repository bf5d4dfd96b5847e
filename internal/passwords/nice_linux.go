package passwords

import "syscall"

// lowerThreadPriority sets the calling OS thread's nice value. On Linux
// PRIO_PROCESS with a thread id names that one thread. Raising a nice value
// needs no privilege; should it fail all the same, hashing runs at normal
// priority, as before.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
