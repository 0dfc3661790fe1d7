//go:build !race

package imagehash_test

const raceEnabled = false
