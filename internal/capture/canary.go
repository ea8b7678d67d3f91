package capture

import (
	"time"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/media"
)

// canary checks tonewall's own masking while it runs. While a window is
// open (and while masking lingers after it) it is the stage's emitter:
// whatever the stage forwards toward the contact center passes through it.
// G.711 audio runs through a DTMF detector of its own — not the
// suppressor's, which drives the masking — and a telephone-event forwarded
// while the window is open is a leak by itself. A leak is not forwarded
// (nor the audio after it while the detector holds the key down) and is
// reported to the controller, which fails the capture closed.
//
// It belongs to the media goroutine. A detector reports a key once its tone
// has lasted about 40 ms, so the canary proves the masking failed; it does
// not stop the first 40 ms of a leaked tone. Outside windows it is not on
// the packet path at all.
type canary struct {
	out    media.Emitter // the stage's own emitter, for the packet in hand
	window bool          // a window is open, not just masking lingering after one
	down   bool          // the detector holds a key down in what was forwarded
	evSeen bool
	evTS   uint32 // timestamp of the last telephone-event reported
	ctrl   *Controller
	det    *dtmf.Detector
	found  []dtmf.Digit
	pcm    [maxSamples]int16
}

func newCanary(ctrl *Controller) *canary {
	return &canary{ctrl: ctrl, det: dtmf.NewDetector(dtmf.DetectorConfig{}), found: make([]dtmf.Digit, 0, 4)}
}

// arm makes the canary the emitter of one packet's output, which goes on
// to out unless it leaks.
func (k *canary) arm(out media.Emitter, window bool) media.Emitter {
	k.out, k.window = out, window
	return k
}

// reset starts a window's watch afresh: the detector hears nothing from
// before it.
func (k *canary) reset() {
	k.det.Reset()
	k.down, k.evSeen = false, false
}

// Emit forwards p unless it leaks.
func (k *canary) Emit(p *media.Packet) {
	if k.leaks(p) {
		return
	}
	k.out.Emit(p)
}

func (k *canary) leaks(p *media.Packet) bool {
	switch p.Codec {
	case "telephone-event":
		return k.window && k.event(p.Header.Timestamp)
	case "PCMU", "PCMA":
		return k.audio(p.Payload, lawOf(p.Codec))
	default:
		return true // the stage drops what it cannot inspect inside a window; so does the canary
	}
}

// event reports a forwarded telephone-event once per event (its packets
// share a timestamp); every packet of it leaks.
func (k *canary) event(ts uint32) bool {
	if !k.evSeen || ts != k.evTS {
		k.evSeen, k.evTS = true, ts
		k.ctrl.leak(leakRFC4733)
	}
	return true
}

// audio runs the forwarded payload through the canary's detector and
// reports whether it leaks: a key starts in it, or is held down through it.
func (k *canary) audio(payload []byte, law dtmf.Law) bool {
	leaked := k.down
	for len(payload) > 0 {
		n := min(len(payload), maxSamples)
		pcm := decode(law, k.pcm[:n], payload[:n])
		payload = payload[n:]
		k.found = k.det.Process(pcm, k.found[:0])
		for _, d := range k.found {
			k.down = !d.End
			if !d.End {
				leaked = true
				k.ctrl.leak(leakInBand)
			}
		}
	}
	return leaked || k.down
}

func decode(law dtmf.Law, dst []int16, src []byte) []int16 {
	if law == dtmf.ALaw {
		return dtmf.DecodeAlaw(dst, src)
	}
	return dtmf.DecodeUlaw(dst, src)
}

// leak reports what the canary found: counted at once, on the media
// goroutine; the audit record, the log line and failing the capture closed
// happen on a goroutine of their own, since the audit log syncs to disk.
func (c *Controller) leak(kind string) {
	c.svc.metrics.leak(kind).Inc()
	cur, at := c.Current(), time.Now()
	c.svc.wg.Add(1)
	go func() {
		defer c.svc.wg.Done()
		c.svc.recordLeak(c.callID, cur, kind, at)
	}()
}
