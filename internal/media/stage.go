package media

import (
	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/prefetch"
)

// Packet is one RTP packet in a direction's pipeline, decrypted, with the
// receiving leg's numbering (sequence number, timestamp, SSRC, payload type).
// The pipeline renumbers what a Stage emits, so dropped or injected packets
// leave no gap on the sending leg.
type Packet struct {
	Header    rtp.Header
	Payload   []byte // valid only until Process returns; copy to keep it; Process may rewrite it in place
	Codec     string // codec name, canonical spelling whatever the SDP wrote: "PCMU", "PCMA", "G722", "telephone-event", …
	ClockRate int    // RTP clock rate of Codec, e.g. 8000
}

// Stage sees every RTP packet of the Carrier→ContactCenter direction (the
// customer's audio) between decryption and re-encryption. Process runs on the
// direction's goroutine, one packet at a time, and decides by calling
// out.Emit:
//   - not at all: the packet is dropped;
//   - once with p (possibly with a changed Payload): passed or replaced;
//   - with other packets (Header.Timestamp in the receiving leg's clock, Codec
//     set by name, e.g. "telephone-event"): injected, before or after p;
//   - later, from a later Process call, with a copy it kept: delayed.
//
// Emit sends synchronously and does not keep its argument. A Stage must not
// block; it is never called after Session.Close returns. RTCP bypasses stages.
type Stage interface {
	Process(p *Packet, out Emitter)
	String() string // for the pipeline description, e.g. "dtmf-mask(lookahead=40ms)"
}

// Emitter takes what a Stage passes on. The relay's is its direction's
// pump itself, an interface rather than a func value: a bound method value
// is a small object of its own per call, cold by the call's next packet
// (a cache miss a packet in the relay's profile), where the pump is already
// in cache and the method table is shared by every call.
type Emitter interface {
	Emit(p *Packet)
}

// EmitFunc adapts a function to an Emitter.
type EmitFunc func(*Packet)

// Emit calls f(p).
func (f EmitFunc) Emit(p *Packet) { f(p) }

// Prefetcher is an optional Stage method. After each Process the relay asks
// the stage for the memory its next Process will touch (the stage's own
// state included) and keeps the list; when the next packet arrives it
// prefetches the list before it authenticates and decrypts the packet, so
// the loads overlap with that work. The list must stay valid memory until the
// next NextPrefetch (the stage's own fields are); it changes nothing Process
// does.
type Prefetcher interface {
	NextPrefetch(l *prefetch.List)
}

// stageBox lets an interface value live in an atomic.Pointer.
type stageBox struct {
	st Stage
	pf Prefetcher // st's, or nil
}
