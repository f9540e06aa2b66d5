//go:build race

package arch

// raceEnabled: the program is built with the race detector, so code
// without Go line information is most likely ThreadSanitizer's.
const raceEnabled = true
