//go:build !race

package sensitivity

// raceEnabled: this test binary has the race detector.
const raceEnabled = false
