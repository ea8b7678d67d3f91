package dtmf

import "encoding/binary"

// Event is one RFC 4733 telephone-event payload (4 bytes):
//
//	 0                   1                   2                   3
//	|     event     |E|R| volume    |          duration             |
type Event struct {
	Code     uint8  // 0-15 are the keypad keys
	End      bool   // E bit: the event has ended
	Volume   uint8  // 0-63, power in -dBm0
	Duration uint16 // in RTP timestamp units (samples at 8 kHz)
}

// EventLen is the size of one telephone-event payload.
const EventLen = 4

// DecodeEvent parses the first 4 bytes of a telephone-event payload. The R
// bit is ignored as RFC 4733 requires; extra bytes are ignored.
func DecodeEvent(p []byte) (Event, error) {
	if len(p) < EventLen {
		return Event{}, ErrShortPayload
	}
	return Event{
		Code:     p[0],
		End:      p[1]&0x80 != 0,
		Volume:   p[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(p[2:4]),
	}, nil
}

// AppendEvent appends e's 4-byte payload to dst (R bit zero).
func AppendEvent(dst []byte, e Event) []byte {
	b := e.Volume & 0x3F
	if e.End {
		b |= 0x80
	}
	return append(dst, e.Code, b, byte(e.Duration>>8), byte(e.Duration))
}

// Key is the keypad key of the event, if it is one.
func (e Event) Key() (Key, bool) { return KeyFromEvent(int(e.Code)) }

// EventPacket is one telephone-event packet to send: payload fields plus
// what goes into the RTP header.
type EventPacket struct {
	Event
	Marker   bool   // first packet of the event
	TSOffset uint32 // add to the event's RTP timestamp (non-zero for later segments of a long event)
}

// maxSegment is the longest duration one timestamp can carry.
const maxSegment = 0xFFFF

// AppendEventPackets appends the packets of one key press lasting duration
// samples, one every step samples while the key is down, then the final
// packet three times with the E bit (RFC 4733 §2.5.1.4). Presses longer
// than 65535 samples are sent as segments, each with its own timestamp
// (§2.5.1.5). volume is in -dBm0 (e.g. 10).
func AppendEventPackets(dst []EventPacket, k Key, volume uint8, duration, step int) ([]EventPacket, error) {
	code := k.Event()
	if code < 0 || duration <= 0 || step <= 0 {
		return dst, ErrBadEvent
	}
	var off uint32
	for first := true; ; first = false {
		seg := min(duration, maxSegment)
		last := seg == duration
		dst = appendSegment(dst, uint8(code), volume, seg, step, off, first, last)
		if last {
			return dst, nil
		}
		duration -= seg
		off += uint32(seg)
	}
}

// appendSegment appends one segment's packets; only the final segment ends.
func appendSegment(dst []EventPacket, code, volume uint8, seg, step int, off uint32, marker, final bool) []EventPacket {
	ev := Event{Code: code, Volume: volume & 0x3F}
	for d := min(step, seg); ; d = min(d+step, seg) {
		ev.Duration = uint16(d)
		if d == seg {
			break
		}
		dst = append(dst, EventPacket{Event: ev, Marker: marker, TSOffset: off})
		marker = false
	}
	if !final {
		return append(dst, EventPacket{Event: ev, Marker: marker, TSOffset: off})
	}
	ev.End = true
	for range 3 {
		dst = append(dst, EventPacket{Event: ev, Marker: marker, TSOffset: off})
		marker = false
	}
	return dst
}

// KeyEvent is what an EventReceiver reports: a key going down (End false)
// or coming up (End true, Duration is the whole press in samples).
type KeyEvent struct {
	Key       Key
	Timestamp uint32 // RTP timestamp of the press (of its first segment)
	Duration  uint32 // samples, on End
	End       bool
}

// EventReceiver turns a stream of telephone-event packets into key presses:
// each press reported once down and once up, whatever the retransmissions.
// Events are keyed by RTP timestamp, which is constant within an event; a
// long event's later segments (new timestamp = old + old duration, same code)
// continue it. Not safe for concurrent use.
type EventReceiver struct {
	active   bool
	ended    bool // the current timestamp's event has ended (retransmits ignored)
	code     uint8
	ts       uint32 // timestamp of the current segment
	firstTS  uint32 // timestamp of the first segment
	base     uint32 // duration of earlier segments and 16-bit wraps
	last     uint16 // latest duration seen in this segment
	endedTS  uint32 // timestamp of the last ended event
	hasEnded bool
}

// Receive processes one telephone-event payload carried with RTP timestamp
// ts and appends any key events to out.
func (r *EventReceiver) Receive(ts uint32, payload []byte, out []KeyEvent) ([]KeyEvent, error) {
	e, err := DecodeEvent(payload)
	if err != nil {
		return out, err
	}
	k, ok := e.Key()
	if !ok {
		return out, ErrBadEvent
	}
	switch {
	case r.active && ts == r.ts:
		return r.update(e, out), nil
	case r.active && !r.ended && e.Code == r.code && ts == r.ts+uint32(r.last):
		r.base += uint32(r.last) // next segment of a long event
		r.ts, r.last = ts, 0
		return r.update(e, out), nil
	case r.hasEnded && int32(ts-r.endedTS) <= 0, r.active && int32(ts-r.ts) < 0:
		return out, nil // late retransmission of a finished or older event
	}
	if r.active && !r.ended {
		out = r.finish(out) // new event without an end: close the old one
	}
	*r = EventReceiver{active: true, code: e.Code, ts: ts, firstTS: ts, endedTS: r.endedTS, hasEnded: r.hasEnded}
	out = append(out, KeyEvent{Key: k, Timestamp: ts})
	return r.update(e, out), nil
}

// update applies a packet of the current segment.
func (r *EventReceiver) update(e Event, out []KeyEvent) []KeyEvent {
	if r.ended {
		return out // the 2nd and 3rd end packets
	}
	if e.Duration < r.last && r.last-e.Duration > 0x8000 {
		r.base += 0x10000 // a sender let the 16-bit duration wrap
	}
	r.last = e.Duration
	if e.End {
		out = r.finish(out)
	}
	return out
}

// finish reports the end of the current event.
func (r *EventReceiver) finish(out []KeyEvent) []KeyEvent {
	k, _ := KeyFromEvent(int(r.code))
	r.ended, r.endedTS, r.hasEnded = true, r.ts, true
	return append(out, KeyEvent{Key: k, Timestamp: r.firstTS, Duration: r.base + uint32(r.last), End: true})
}

// Flush ends an event still in progress (stream over, or an event whose end
// packets were all lost, after a timeout chosen by the caller).
func (r *EventReceiver) Flush(out []KeyEvent) []KeyEvent {
	if r.active && !r.ended {
		out = r.finish(out)
	}
	return out
}

// RedBlock is one block of an RFC 2198 redundant payload. Data aliases the
// packet.
type RedBlock struct {
	PT       uint8
	TSOffset uint16 // subtract from the packet's timestamp (0 for the primary)
	Data     []byte
	n        int // length from the header, while splitting
}

// SplitRedundancy splits an RFC 2198 payload into its blocks, oldest first,
// primary last, appending to dst. It allocates nothing when dst has room.
func SplitRedundancy(p []byte, dst []RedBlock) ([]RedBlock, error) {
	mark := len(dst)
	off := 0
	for {
		if off >= len(p) {
			return dst[:mark], ErrRedundancy
		}
		if p[off]&0x80 == 0 { // final header: primary block
			dst = append(dst, RedBlock{PT: p[off] & 0x7F})
			off++
			break
		}
		if off+4 > len(p) {
			return dst[:mark], ErrRedundancy
		}
		h := binary.BigEndian.Uint32(p[off:])
		dst = append(dst, RedBlock{PT: uint8(h>>24) & 0x7F, TSOffset: uint16(h >> 10 & 0x3FFF), n: int(h & 0x3FF)})
		off += 4
	}
	for i := mark; i < len(dst)-1; i++ {
		n := dst[i].n
		if off+n > len(p) {
			return dst[:mark], ErrRedundancy
		}
		dst[i].Data = p[off : off+n]
		off += n
	}
	dst[len(dst)-1].Data = p[off:]
	return dst, nil
}

// ReceiveRedundant feeds an RFC 2198 payload whose blocks of payload type pt
// are telephone events: redundant blocks first (at ts - offset), then the
// primary. Blocks of other payload types are skipped.
func (r *EventReceiver) ReceiveRedundant(ts uint32, payload []byte, pt uint8, out []KeyEvent) ([]KeyEvent, error) {
	var blocks [8]RedBlock
	bs, err := SplitRedundancy(payload, blocks[:0])
	if err != nil {
		return out, err
	}
	for _, b := range bs {
		if b.PT != pt {
			continue
		}
		for p := b.Data; len(p) >= EventLen; p = p[EventLen:] {
			if out, err = r.Receive(ts-uint32(b.TSOffset), p[:EventLen], out); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
