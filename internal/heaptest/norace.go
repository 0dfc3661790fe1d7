//go:build !race

package heaptest

// Race reports whether the race detector is on: it multiplies memory use,
// so tests skip their heap bounds under it.
const Race = false
