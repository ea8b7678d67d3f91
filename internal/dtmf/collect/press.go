package collect

import (
	"fmt"
	"time"
)

// Source is where a key press was seen.
type Source uint8

const (
	SourceUnknown Source = iota
	SourceRFC4733        // RTP telephone-event (RFC 4733)
	SourceInBand         // tone found in the audio by the detector
	SourceINFO           // SIP INFO (application/dtmf-relay, application/dtmf)
)

var sourceNames = [...]string{"unknown", "rfc4733", "inband", "info"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// MarshalText makes a Source read as its name in JSON.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Press is one key press seen by one source. Key is '0'–'9', '*', '#' or
// 'A'–'D'; anything else is ignored. At is when the tone began, as well as
// the source can tell (RFC 4733: the event's start; in-band: the first tone
// sample; INFO: arrival). Duration is the tone's length, or 0 when not known
// yet. Formatting a Press never shows its key.
//
// Duplicates. One physical press can reach us twice: as RFC 4733 events
// and as the tone left in the audio, maybe also as SIP INFO. Each source
// starts the press at its own moment: the gateway's detector, jitter buffers
// and signalling put tens of milliseconds (INFO: up to ~150 ms) between them.
// A human cannot press two keys with less than ~40 ms of silence between the
// tones (Q.24's minimum pause; in practice 80 ms or more).
//
// So each press is a span [At, At+max(Duration, MinTone)]. A press from source
// S is a duplicate when its span comes closer than the tolerance to the span
// of a press already accepted from another source — whatever the keys (one
// keypad cannot sound two keys at once; the first source to report wins).
// The tolerance is Options.Skew (60 ms), or Options.InfoSkew (150 ms) when
// either press came by INFO. Presses from the same source are never
// duplicates of each other: each source's decoder already merges its own
// retransmissions (RFC 4733's three end packets).
type Press struct {
	Key      byte
	Source   Source
	At       time.Time
	Duration time.Duration
}

func (p Press) String() string             { return "press(" + p.Source.String() + ")" }
func (p Press) GoString() string           { return p.String() }
func (p Press) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }
func (p Press) MarshalJSON() ([]byte, error) {
	return []byte(`{"source":"` + p.Source.String() + `"}`), nil
}
func (p Press) MarshalText() ([]byte, error) { return []byte(p.String()), nil }
func (p Press) span() span                   { return span{p.Source, p.At, p.At.Add(max(p.Duration, MinTone))} }
func validKey(k byte) bool                   { return isDigit(k) || k == '*' || k == '#' || isLetterKey(k) }
func isDigit(k byte) bool                    { return k >= '0' && k <= '9' }
func isLetterKey(k byte) bool                { return (k >= 'A' && k <= 'D') || (k >= 'a' && k <= 'd') }

// MinTone is the shortest tone a press is taken to last when its Duration is
// not known (ITU-T Q.24: receivers accept tones from 40 ms).
const MinTone = 40 * time.Millisecond

// span is the time a press takes; see Press for the duplicate rule.
type span struct {
	src        Source
	start, end time.Time
}

// history holds the last few accepted presses: enough to cover any press
// within the widest tolerance of another, bounded whatever the input.
type history struct {
	spans [8]span
	n     int // total recorded; spans[n%len] is the next slot
}

func (h *history) add(s span) {
	h.spans[h.n%len(h.spans)] = s
	h.n++
}

// duplicate reports whether p repeats an accepted press from another source.
func (h *history) duplicate(p Press, skew, infoSkew time.Duration) bool {
	ps := p.span()
	for i := range min(h.n, len(h.spans)) {
		s := h.spans[i]
		if s.src == p.Source {
			continue
		}
		tol := skew
		if s.src == SourceINFO || p.Source == SourceINFO {
			tol = infoSkew
		}
		if ps.start.Before(s.end.Add(tol)) && s.start.Before(ps.end.Add(tol)) {
			return true
		}
	}
	return false
}
