//go:build race

package engine

// raceEnabled: this test binary has the race detector.
const raceEnabled = true
