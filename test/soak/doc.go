// Package soak holds tonewall's soak test: calls at a steady rate for a
// while, through a tonewall in this process, with media, capture windows
// and hang-ups at awkward moments; then nothing may be left of them: no
// call, port, capture or goroutine, and no heap beyond a bound far below a
// leak of any one per-call structure. TestSoak says what it runs and how
// to size it.
package soak
