package capture

import (
	"encoding/binary"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/media"
)

// Keying a token: each key is 5 packets of event (100 ms), its end packet
// three times, then 5 packets of pause, paced by the audio packets.
const (
	keySteps   = 5
	endSteps   = 3
	pauseSteps = 5
)

// tokenKeyer turns a token into RFC 4733 packets, one per call of next.
// It belongs to the media goroutine.
type tokenKeyer struct {
	keys    []dtmf.Key
	step    int
	eventTS uint32
	pkt     media.Packet
	payload [4]byte
}

func (k *tokenKeyer) start(keys []dtmf.Key) { k.keys, k.step = keys, 0 }

// next returns the packet for this 20 ms step, if any; ts is the RTP
// timestamp of the audio packet it rides beside.
func (k *tokenKeyer) next(ts uint32) (*media.Packet, bool) {
	if len(k.keys) == 0 {
		return nil, false
	}
	s := k.step
	k.step++
	switch {
	case s == 0:
		k.eventTS = ts
	case s >= keySteps+endSteps+pauseSteps-1:
		k.keys, k.step = k.keys[1:], 0
	}
	if s >= keySteps+endSteps {
		return nil, false // the pause between keys
	}
	end := s >= keySteps
	dur := uint16(min(s+1, keySteps) * 160)
	flags := byte(10) // volume -10 dBm0
	if end {
		flags |= 0x80
	}
	k.payload = [4]byte{byte(k.keys[0].Event()), flags}
	binary.BigEndian.PutUint16(k.payload[2:], dur)
	k.pkt.Header.Timestamp = k.eventTS
	k.pkt.Header.Marker = s == 0
	k.pkt.Header.PayloadType = 0 // the pipeline maps by Codec
	k.pkt.Payload = k.payload[:]
	k.pkt.Codec, k.pkt.ClockRate = "telephone-event", 8000
	return &k.pkt, true
}
