package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/media"
)

// rig is one call's capture point with a real audit log and registry,
// recording what the stage forwards.
type rig struct {
	t         *testing.T
	svc       *Service
	reg       *prometheus.Registry
	auditPath string
	c         *Controller
	seq       uint16
	ts        uint32
	forwarded []int16 // audio forwarded, decoded
	events    int     // telephone-events forwarded
}

func newRig(t *testing.T, cfg Config, pt Point) *rig {
	t.Helper()
	r := &rig{t: t, reg: prometheus.NewRegistry(), auditPath: filepath.Join(t.TempDir(), "audit.log")}
	a, err := audit.Open(r.auditPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	r.svc = newServiceWith(t, cfg, a, r.reg)
	r.c, err = r.svc.Attach("call1", pt)
	require.NoError(t, err)
	t.Cleanup(func() { r.svc.Detach("call1"); r.svc.Wait() })
	return r
}

func (r *rig) Emit(p *media.Packet) {
	if p.Codec == "telephone-event" {
		r.events++
		return
	}
	r.forwarded = append(r.forwarded, decode(lawOf(p.Codec), make([]int16, len(p.Payload)), p.Payload)...)
}

// audio runs frames through stage (the controller itself, or a broken one).
func (r *rig) audio(stage media.Stage, frames ...[]byte) {
	for _, f := range frames {
		stage.Process(mediaPacket(r.seq, "PCMU", append([]byte(nil), f...)), r)
		r.seq++
	}
}

// keys keys digits in-band: 100 ms of tone, 100 ms of silence each.
func (r *rig) keys(stage media.Stage, digits string) {
	for _, k := range digits {
		r.audio(stage, toneFrames(r.t, byte(k), 5)...)
		r.audio(stage, silenceFrames(5)...)
	}
}

// press sends one RFC 4733 press through stage.
func (r *rig) press(stage media.Stage, k byte) {
	r.ts += 1600
	for _, p := range eventPackets(k, &r.seq, r.ts) {
		stage.Process(p, r)
	}
}

// end waits for the capture's end and every goroutine the service started.
func (r *rig) end(c *Window) Status {
	r.t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		r.t.Fatalf("capture did not end: %+v", c.Status())
	}
	r.svc.Wait()
	return c.Status()
}

func (r *rig) counter(name, label, value string) float64 {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	require.NoError(r.t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// records reads the audit log's records of type t.
func (r *rig) records(typ audit.Type) []audit.Record {
	r.t.Helper()
	f, err := os.Open(r.auditPath)
	require.NoError(r.t, err)
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		require.NotContains(r.t, sc.Text(), "4111111111111111")
		var rec audit.Record
		require.NoError(r.t, json.Unmarshal(sc.Bytes(), &rec))
		if rec.Type == typ {
			out = append(out, rec)
		}
	}
	return out
}

// requireFailedClosed checks a capture ended failed for reason and that
// its end was audited so.
func (r *rig) requireFailedClosed(st Status, reason string) {
	r.t.Helper()
	require.Equal(r.t, "failed", st.State)
	require.Equal(r.t, reason, st.Reason)
	require.Empty(r.t, st.Token)
	ends := r.records(audit.CaptureEnded)
	require.NotEmpty(r.t, ends)
	last := ends[len(ends)-1]
	require.Equal(r.t, "failed", last.Outcome)
	require.Equal(r.t, reason, last.Reason)
}

// requireLeak checks the canary's audit record, without a digit.
func (r *rig) requireLeak(capt *Window, kind string) {
	r.t.Helper()
	leaks := r.records(audit.MaskLeak)
	require.NotEmpty(r.t, leaks)
	for _, l := range leaks {
		require.Equal(r.t, "call1", l.CallID)
		require.Equal(r.t, capt.ID(), l.CaptureID)
		require.Equal(r.t, kind, l.Reason)
		require.False(r.t, l.Time.IsZero())
	}
	require.GreaterOrEqual(r.t, r.counter("tonewall_mask_leaks_total", "kind", kind), 1.0)
	r.requireFailedClosed(capt.Status(), ReasonMaskLeak)
}

// closedBehind is the capture stage with its suppressor broken on purpose:
// closed behind the controller's back after every packet, so the audio goes
// on unmasked (and its keys still reach the capture), as if the mask had
// failed.
type closedBehind struct{ *Controller }

func (b closedBehind) Process(p *media.Packet, out media.Emitter) {
	b.Controller.Process(p, out)
	b.supp.Close()
}

// TestCanaryCatchesUnmaskedAudio: with the suppressor broken, the canary
// finds the key in what was forwarded, audits and counts the leak, drops
// the key's audio once it is found, and the capture fails closed.
func TestCanaryCatchesUnmaskedAudio(t *testing.T) {
	r := newRig(t, Config{}, Point{Policy: "api"})
	capt, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	broken := closedBehind{r.c}
	r.audio(broken, silenceFrames(5)...)
	r.keys(broken, "4")
	r.end(capt)
	r.requireLeak(capt, leakInBand)
	require.Zero(t, r.counter("tonewall_mask_leaks_total", "kind", leakRFC4733))
	// The key is found 40-60 ms into its tone: the packet it is found in
	// and the rest of the tone are not forwarded.
	t.Logf("%d of 15 packets forwarded", len(r.forwarded)/160)
	require.LessOrEqual(t, len(r.forwarded), (5+2+5)*160, "the leaked key's audio went on after it was found")
}

// leakyEvents is the capture stage broken on purpose: it consumes
// telephone-events as it should and then forwards them anyway, through the
// stage's emitter (the canary, inside a window).
type leakyEvents struct{ *Controller }

func (l leakyEvents) Process(p *media.Packet, out media.Emitter) {
	if p.Codec != "telephone-event" {
		l.Controller.Process(p, out)
		return
	}
	l.Controller.Process(p, media.EmitFunc(func(*media.Packet) {}))
	if open := l.windowOpen(); open || l.suppOpen {
		out = l.watch.arm(out, open)
	}
	out.Emit(p)
}

// TestCanaryCatchesForwardedEvents: a telephone-event forwarded inside a
// window is a leak, reported once per event, none of its packets sent.
func TestCanaryCatchesForwardedEvents(t *testing.T) {
	r := newRig(t, Config{}, Point{Policy: "api"})
	capt, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	r.press(leakyEvents{r.c}, '4')
	r.end(capt)
	require.Zero(t, r.events, "a leaked event's packets went on")
	require.Equal(t, 1.0, r.counter("tonewall_mask_leaks_total", "kind", leakRFC4733))
	require.Len(t, r.records(audit.MaskLeak), 1)
	r.requireLeak(capt, leakRFC4733)
}

// TestCanarySilentInEveryMaskMode: a card keyed in-band, or as RFC 4733
// events, in every mask mode: the masking (the flat tone included) never
// trips the canary, and the capture is tokenized.
func TestCanarySilentInEveryMaskMode(t *testing.T) {
	for _, mode := range []string{"tone", "silence", "comfort_noise", "window", "tone+rfc4733"} {
		t.Run(mode, func(t *testing.T) {
			mask, events := strings.CutSuffix(mode, "+rfc4733")
			r := newRig(t, Config{Mask: mask}, Point{Policy: "api"})
			capt, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
			require.NoError(t, err)
			r.audio(r.c, silenceFrames(5)...)
			for _, k := range "4111111111111111#" {
				if events {
					r.press(r.c, byte(k))
					r.audio(r.c, silenceFrames(5)...)
				} else {
					r.keys(r.c, string(k))
				}
			}
			r.audio(r.c, silenceFrames(20)...) // masking lingers after the window
			st := r.end(capt)
			require.Equal(t, "tokenized", st.State, "%+v", st)
			require.Zero(t, r.counter("tonewall_mask_leaks_total", "kind", leakInBand))
			require.Zero(t, r.counter("tonewall_mask_leaks_total", "kind", leakRFC4733))
			require.Empty(t, r.records(audit.MaskLeak))
			require.Zero(t, r.events)
			det := dtmf.NewDetector(dtmf.DetectorConfig{})
			require.Empty(t, det.Flush(det.Process(r.forwarded, nil)), "the forwarded audio holds a key")
		})
	}
}

// TestOversizedPacketDroppedInWindow: audio longer than the suppressor
// takes (over 120 ms) is dropped inside a window by the stage itself. It
// used to go on unmasked; the canary caught it (one inband leak).
func TestOversizedPacketDroppedInWindow(t *testing.T) {
	r := newRig(t, Config{}, Point{Policy: "api"})
	capt, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	r.audio(r.c, bytes.Join(toneFrames(t, '5', 7), nil))
	require.Empty(t, r.forwarded)
	capt.Cancel()
	r.end(capt)
	require.Zero(t, r.counter("tonewall_mask_leaks_total", "kind", leakInBand))
}
