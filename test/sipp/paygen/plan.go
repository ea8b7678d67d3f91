package main

import "github.com/tonewall/tonewall/internal/dtmf"

// The card the callers key: a Visa test number, an expiry in the future,
// a security code. "#" ends the card number, as a caller is told to do.
const (
	cardPAN    = "4111111111111111"
	cardExpiry = "1230"
	cardCVV    = "123"
	cardKeys   = cardPAN + "#" + cardExpiry + cardCVV
)

// Timing of a caller keying the card, in 20 ms frames.
const (
	frameMS    = 20
	frameLen   = dtmf.SampleRate * frameMS / 1000 // samples a frame
	leadFrames = 150                              // 3 s before the first key: time for run.sh to open a window
	pressMS    = 80                               // each key press
	fieldGapMS = 1000                             // after "#" and after the expiry: the caller reads the next field
	tailFrames = 30                               // 0.6 s after the last key
)

// press is one key of the plan: the key, when it goes down (ms from the
// start of the audio) and how long after the previous key's press began.
type press struct {
	key   byte
	at    int // ms from the start of the audio
	delay int // ms since the previous key went down (or since the start)
}

// cardPlan is when each key of cardKeys goes down: gaps between presses of
// 180 to 300 ms, a person keying at three to five digits a second, drawn
// from a fixed sequence so every run plays the same audio; a longer pause
// between fields.
func cardPlan() []press {
	var plan []press
	at, prev, x := leadFrames*frameMS, 0, uint32(0x2545F491)
	for i := 0; i < len(cardKeys); i++ {
		plan = append(plan, press{key: cardKeys[i], at: at, delay: at - prev})
		prev = at
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		gap := pressMS + 100 + int(x%7)*20 // 180..300 ms from press to press
		if i == len(cardPAN) || i == len(cardPAN)+len(cardExpiry) {
			gap = pressMS + fieldGapMS
		}
		at += gap
	}
	return plan
}

// frames is the length of the audio that carries plan, in frames.
func frames(plan []press) int {
	last := plan[len(plan)-1].at
	return (last+pressMS)/frameMS + tailFrames
}
