//go:build race

package imagehash_test

// raceEnabled shrinks the image tests under the race detector, which slows
// pixel loops twentyfold and finds nothing in this single-threaded code.
const raceEnabled = true
