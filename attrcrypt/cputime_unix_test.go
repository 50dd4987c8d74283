//go:build unix

package attrcrypt

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has
// used. Benchmarks report it per KB next to wall time: on a shared, loaded
// machine wall time mostly measures the scheduler, CPU time the work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
