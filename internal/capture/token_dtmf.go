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
	inband  bool // key as G.711 tones in the audio instead of RFC 4733 events
	tone    *dtmf.ToneGenerator
	pcm     [maxSamples]int16
}

func (k *tokenKeyer) start(keys []dtmf.Key) { k.keys, k.step = keys, 0 }

// busy reports whether keys are left to key.
func (k *tokenKeyer) busy() bool { return len(k.keys) > 0 }

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

// replaceAudio keys the token in-band: the audio packet's payload becomes
// 100 ms of the key's tone, then 100 ms of silence, in the packet's own
// G.711 law. It reports whether p was changed (dst then holds the payload).
func (k *tokenKeyer) replaceAudio(p *media.Packet, dst []byte) bool {
	n := len(p.Payload)
	if len(k.keys) == 0 || n > maxSamples || (p.Codec != "PCMU" && p.Codec != "PCMA") {
		return false
	}
	s := k.step
	k.step++
	pcm := k.pcm[:n]
	switch {
	case s == 0:
		k.tone, _ = dtmf.NewKeyTone(k.keys[0], -10) // once per key, not per packet
		k.tone.Read(pcm)
	case s < keySteps:
		k.tone.Read(pcm)
	default:
		clear(pcm)
	}
	if s >= keySteps+pauseSteps-1 {
		k.keys, k.step = k.keys[1:], 0
	}
	lawOf(p.Codec).Encode(dst, pcm)
	p.Payload = dst[:n]
	return true
}

// lawOf is the G.711 law of a PCMU or PCMA packet.
func lawOf(codec string) dtmf.Law {
	if codec == "PCMA" {
		return dtmf.ALaw
	}
	return dtmf.MuLaw
}
