//go:build unix

package evidence

import (
	"syscall"
	"time"
)

// cpuSeconds is the process's user and system CPU time so far: with other
// work on the machine, wall time alone misleads.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
