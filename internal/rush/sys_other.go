//go:build !linux

package rush

import "time"

// cpuTime is not measured here: quiet waits return at once.
func cpuTime() (time.Duration, bool) { return 0, false }

// machineBusy is not measured here.
func machineBusy() (time.Duration, bool) { return 0, false }

// serviceTicks is not measured here.
func serviceTicks() map[int]serviceCPU { return nil }
