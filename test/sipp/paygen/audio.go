package main

import (
	"io"

	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/dtmf"
)

const (
	noiseLevel = -50 // dBm0: a quiet line, not digital silence
	toneLevel  = -10 // dBm0, each of a key's two tones
	eventPT    = 101 // telephone-event, as uac_pay.xml offers it
	eventVol   = 10  // -dBm0 in the events
	ssrc       = 0x7a11c0de
	firstSeq   = 1000
	firstTS    = 160000
)

// writeAudio writes the caller's side of the call as w keys the plan.
func writeAudio(out io.Writer, w way, plan []press) error {
	n := frames(plan)
	pcm := make([]int16, n*frameLen)
	dtmf.NewNoise(noiseLevel, 1).Read(pcm)
	if w.inband {
		if err := addTones(pcm, plan); err != nil {
			return err
		}
	}
	var events map[int][]dtmf.EventPacket // by the frame each press starts in
	if w.events {
		var err error
		if events, err = eventPackets(plan); err != nil {
			return err
		}
	}
	p := newPcapWriter(out)
	if w.srtp {
		var err error
		if p.protect, err = protector(callerKey); err != nil {
			return err
		}
	}
	h := rtp.Header{Version: 2, Marker: true, SSRC: ssrc, SequenceNumber: firstSeq}
	var pending []dtmf.EventPacket
	var pendingTS uint32
	payload := make([]byte, frameLen)
	for i := range n {
		ts := uint32(firstTS + i*frameLen)
		if evs, ok := events[i]; ok {
			pending, pendingTS = evs, ts
		}
		if len(pending) > 0 {
			e := pending[0]
			pending = pending[1:]
			h.PayloadType, h.Marker, h.Timestamp = eventPT, e.Marker, pendingTS+e.TSOffset
			p.frame(h, dtmf.AppendEvent(payload[:0], e.Event))
		} else {
			h.PayloadType, h.Timestamp = w.pt, ts
			p.frame(h, encode(payload, pcm[i*frameLen:(i+1)*frameLen], w.pt))
			h.Marker = false
		}
		h.SequenceNumber++
	}
	return p.close()
}

// addTones adds each press's two tones to the background.
func addTones(pcm []int16, plan []press) error {
	tone := make([]int16, pressMS*dtmf.SampleRate/1000)
	for _, p := range plan {
		k, _ := dtmf.ParseKey(p.key)
		g, err := dtmf.NewKeyTone(k, toneLevel)
		if err != nil {
			return err
		}
		g.Read(tone)
		at := p.at * dtmf.SampleRate / 1000
		for i, s := range tone {
			pcm[at+i] = int16(max(min(int32(pcm[at+i])+int32(s), 32767), -32768))
		}
	}
	return nil
}

// eventPackets are each press's telephone-event packets, one a frame from
// the frame the key goes down in; the final packet's three copies run into
// the pause after it.
func eventPackets(plan []press) (map[int][]dtmf.EventPacket, error) {
	out := make(map[int][]dtmf.EventPacket, len(plan))
	for _, p := range plan {
		k, _ := dtmf.ParseKey(p.key)
		evs, err := dtmf.AppendEventPackets(nil, k, eventVol, pressMS*dtmf.SampleRate/1000, frameLen)
		if err != nil {
			return nil, err
		}
		out[p.at/frameMS] = evs
	}
	return out, nil
}

func encode(dst []byte, pcm []int16, pt uint8) []byte {
	if pt == 8 {
		return dtmf.EncodeAlaw(dst[:0], pcm)
	}
	return dtmf.EncodeUlaw(dst[:0], pcm)
}
