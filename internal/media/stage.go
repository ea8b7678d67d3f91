package media

import "github.com/pion/rtp"

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
// pump itself.
type Emitter interface {
	Emit(p *Packet)
}

// EmitFunc adapts a function to an Emitter.
type EmitFunc func(*Packet)

// Emit calls f(p).
func (f EmitFunc) Emit(p *Packet) { f(p) }

// stageBox lets an interface value live in an atomic.Pointer.
type stageBox struct {
	st Stage
}
