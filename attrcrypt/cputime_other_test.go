//go:build !unix

package attrcrypt

import "time"

// processCPU is unavailable here; the cpu-ns/KB metric is then omitted.
func processCPU() time.Duration { return 0 }
