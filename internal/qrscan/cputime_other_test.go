//go:build !linux

package qrscan

import "time"

var startWall = time.Now()

// threadCPU falls back to wall time where thread CPU time is not available.
func threadCPU() time.Duration { return time.Since(startWall) }
