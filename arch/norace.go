//go:build !race

package arch

// raceEnabled: the program is built without the race detector.
const raceEnabled = false
