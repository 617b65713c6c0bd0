//go:build race

package mirror_test

// raceEnabled: the race detector's shadow memory multiplies RSS, so
// memory bounds are not measured under it.
const raceEnabled = true
