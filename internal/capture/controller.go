package capture

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/dtmf/collect"
	"github.com/tonewall/tonewall/internal/media"
)

// maxSamples bounds one audio packet (120 ms of 8 kHz G.711).
const maxSamples = 960

// InfoSender sends a SIP INFO toward the call's contact-center leg.
type InfoSender func(contentType string, body []byte) error

// Controller is one call's capture point: the media Stage on the
// carrier→contact-center direction, the sink of carrier SIP INFO DTMF, and
// the holder of the call's open capture.
type Controller struct {
	presses atomic.Pointer[chan collect.Press] // the open capture's inbox; nil when no window is open
	inject  atomic.Pointer[[]dtmf.Key]         // a token to key toward the contact center

	// Owned by the media goroutine (Process); no lock.
	supp      *dtmf.Suppressor
	suppOpen  bool // supp.IsOpen(), here so that no packet outside a window reads the suppressor
	keyingOn  bool // keying holds a token still being keyed
	eventSeen bool
	eventTS   uint32 // timestamp of the last telephone-event consumed
	digits    []dtmf.Digit
	linger    int   // audio packets masked since the window closed
	quiet     int   // of which in a row without a suspected tone
	suspects  int64 // the suppressor's suspicion count last seen
	watch     *canary
	keys      []dtmf.KeyEvent
	recv      dtmf.EventReceiver

	svc     *Service
	callID  string
	deliver InfoSender

	mu      sync.Mutex
	cur     *Window   // guarded by mu
	history []*Window // guarded by mu: the call's captures, oldest first, the last maxHistory
	ended   bool      // guarded by mu

	keying  tokenKeyer // media goroutine; only outside windows
	payload [maxSamples]byte
}

// After a window closes, masking goes on until the audio has been free of
// suspected tones for lingerQuiet packets (at most lingerMax): a capture
// ends on the last key's recognition, and the rest of that key's tone must
// not reach the contact center.
const (
	lingerQuiet = 10  // 200 ms of 20 ms packets
	lingerMax   = 100 // 2 s
)

func newController(svc *Service, callID string, deliver InfoSender) (*Controller, error) {
	supp, err := dtmf.NewSuppressor(svc.cfg.suppressor())
	if err != nil {
		return nil, err
	}
	c := &Controller{svc: svc, callID: callID, deliver: deliver, supp: supp,
		digits: make([]dtmf.Digit, 0, 8), keys: make([]dtmf.KeyEvent, 0, 8)}
	c.watch = newCanary(c)
	return c, nil
}

// String names the stage in the media pipeline description.
func (c *Controller) String() string {
	return "dtmf-capture(mask=" + c.svc.cfg.Mask + ", lookahead=" + c.svc.cfg.Lookahead.String() + ")"
}

// windowOpen reports whether a capture is collecting; read per packet.
func (c *Controller) windowOpen() bool { return c.presses.Load() != nil }

// Process is the media Stage: pass outside windows, consume events and mask
// tones inside them. It runs on the media goroutine and never blocks.
// Inside a window what it forwards goes through the leak canary.
func (c *Controller) Process(p *media.Packet, out media.Emitter) {
	if open := c.windowOpen(); open || c.suppOpen {
		out = c.watch.arm(out, open)
	}
	switch p.Codec {
	case "telephone-event":
		c.event(p, out)
	case "PCMU", "PCMA":
		c.audio(p, out)
	default:
		// A codec we cannot inspect (G.722, opus…): outside a window it
		// passes; inside one it is dropped, since a tone in it could not be
		// masked. Trunks that take captures should allow only G.711.
		if !c.windowOpen() && !c.suppOpen {
			out.Emit(p)
		}
	}
}

// event consumes telephone-events while a window is open (and the rest of
// an event that began inside one); outside, they pass untouched.
func (c *Controller) event(p *media.Packet, out media.Emitter) {
	open := c.windowOpen()
	if !open && !(c.eventSeen && p.Header.Timestamp == c.eventTS) {
		out.Emit(p)
		return
	}
	c.eventTS, c.eventSeen = p.Header.Timestamp, true
	if !open {
		return // the tail of an event whose start was consumed: drop it too
	}
	c.keys, _ = c.recv.Receive(p.Header.Timestamp, p.Payload, c.keys[:0])
	for _, k := range c.keys {
		if !k.End {
			c.svc.metrics.suppRFC4733.Inc()
			c.press(k.Key, collect.SourceRFC4733, time.Now())
		}
	}
}

// audio runs G.711 through the suppressor while a window is open (and while
// masking lingers after it); otherwise the packet goes on untouched, at no
// cost beyond this check.
func (c *Controller) audio(p *media.Packet, out media.Emitter) {
	n := len(p.Payload)
	if n == 0 || n > maxSamples {
		// Longer than the suppressor takes (120 ms): inside a window it is
		// dropped, like a codec we cannot inspect; a tone in it would leak.
		if n == 0 || (!c.windowOpen() && !c.suppOpen) {
			out.Emit(p)
		}
		return
	}
	c.syncWindow()
	if !c.suppOpen {
		c.keyToken(p, out)
		return
	}
	law := lawOf(p.Codec)
	// Suppressed in place, on the wire: what is not masked goes on as the
	// caller's own bytes.
	c.digits = c.supp.ProcessG711(p.Payload, law, c.digits[:0])
	if len(c.digits) > 0 {
		now, pos := time.Now(), c.supp.Position()
		for _, d := range c.digits {
			if !d.End { // the press began (pos - Start) samples before now
				c.svc.metrics.suppInBand.Inc()
				c.press(d.Key, collect.SourceInBand, now.Add(-time.Duration(pos-d.Start)*time.Second/dtmf.SampleRate))
			}
		}
	}
	out.Emit(p)
}

// keyToken forwards an audio packet outside a window and keys the next step
// of a token being delivered: an RFC 4733 packet beside it, or (toward an
// in-band trunk) the tone in its place. One step per audio packet.
func (c *Controller) keyToken(p *media.Packet, out media.Emitter) {
	if c.inject.Load() != nil { // a plain load per packet; the locked swap only for a token
		if keys := c.inject.Swap(nil); keys != nil {
			c.keying.start(*keys)
			c.keyingOn = true
		}
	}
	if !c.keyingOn {
		out.Emit(p)
		return
	}
	if c.keying.inband {
		c.keying.replaceAudio(p, c.payload[:])
		out.Emit(p)
	} else {
		out.Emit(p)
		if ev, ok := c.keying.next(p.Header.Timestamp); ok {
			out.Emit(ev)
		}
	}
	c.keyingOn = c.keying.busy()
}

// keyTokenLater hands a token to the media goroutine to key.
func (c *Controller) keyTokenLater(token string) {
	keys := make([]dtmf.Key, 0, len(token))
	for i := 0; i < len(token); i++ {
		if k, ok := dtmf.ParseKey(token[i]); ok {
			keys = append(keys, k)
		}
	}
	c.inject.Store(&keys)
}

// syncWindow opens the suppressor with the window, and closes it once the
// audio after the window is quiet.
func (c *Controller) syncWindow() {
	if c.windowOpen() {
		if !c.suppOpen {
			c.supp.Open()
			c.suppOpen = true
			c.watch.reset()
		}
		c.linger, c.quiet = 0, 0
		return
	}
	if !c.suppOpen {
		return
	}
	if s := c.supp.Stats().Suspicions; s != c.suspects {
		c.suspects, c.quiet = s, 0
	} else {
		c.quiet++
	}
	c.linger++
	if c.quiet >= lingerQuiet || c.linger >= lingerMax {
		c.supp.Close()
		c.suppOpen = false
	}
}

// press hands a key to the open capture without blocking.
func (c *Controller) press(k dtmf.Key, src collect.Source, at time.Time) {
	ch := c.presses.Load()
	if ch == nil {
		return
	}
	select {
	case *ch <- collect.Press{Key: k.Char(), Source: src, At: at}:
	default: // the capture is not keeping up; a human cannot press this fast
	}
}

// OnInfo takes a SIP INFO from the carrier leg. It reports true when the
// INFO carried DTMF inside a window and was consumed: answer it 200 and do
// not relay it.
func (c *Controller) OnInfo(contentType string, body []byte) bool {
	if !c.windowOpen() || !dtmf.IsInfoDTMF(contentType) {
		return false
	}
	c.svc.metrics.suppINFO.Inc()
	k, d, err := dtmf.ParseInfo(contentType, body)
	if err != nil {
		return true // DTMF-typed but unreadable, inside a window: never relay it
	}
	ch := c.presses.Load()
	if ch != nil {
		select {
		case *ch <- collect.Press{Key: k.Char(), Source: collect.SourceINFO, At: time.Now(), Duration: d}:
		default:
		}
	}
	return true
}

// maxHistory bounds the captures a call remembers for its record.
const maxHistory = 16

// keep makes c the current capture and remembers it; ctrl.mu is held.
func (ctrl *Controller) keep(c *Window) {
	ctrl.cur = c
	if len(ctrl.history) == maxHistory {
		ctrl.history = append(ctrl.history[:0], ctrl.history[1:]...)
	}
	ctrl.history = append(ctrl.history, c)
}

// Captures lists the call's captures, oldest first (the last 16), for its
// call detail record.
func (c *Controller) Captures() []*Window {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Window(nil), c.history...)
}

// Current returns the call's capture that is open or ended last.
func (c *Controller) Current() *Window {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}
