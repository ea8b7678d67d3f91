package capture

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/vault"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestService(t testing.TB) *Service {
	t.Helper()
	return newServiceWith(t, Config{}, nil, nil)
}

// attach attaches call1 to svc under the api policy.
func attach(t testing.TB, svc *Service) *Controller {
	t.Helper()
	c, err := svc.Attach("call1", Point{Policy: "api"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startPAN starts a capture of a card number on call1.
func startPAN(t testing.TB, svc *Service) *Window {
	t.Helper()
	capt, err := svc.Start("call1", Request{Fields: []string{"pan"}})
	if err != nil {
		t.Fatal(err)
	}
	return capt
}

// newServiceWith builds a service on cfg (validated here) with a local
// vault in a temporary directory.
func newServiceWith(t testing.TB, cfg Config, a *audit.Log, reg prometheus.Registerer) *Service {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	v, err := vault.NewLocal(vault.LocalConfig{Dir: t.TempDir()}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return NewService(cfg, v, a, reg, zap.NewNop())
}

func mediaPacket(seq uint16, codec string, payload []byte) *media.Packet {
	return &media.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 160},
		Payload: payload, Codec: codec, ClockRate: 8000}
}

// toneFrames is n 20 ms PCMU frames of a key at -10 dBm0.
func toneFrames(t testing.TB, k byte, n int) [][]byte {
	t.Helper()
	key, _ := dtmf.ParseKey(k)
	g, err := dtmf.NewKeyTone(key, -10)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, n)
	pcm := make([]int16, 160)
	for i := range out {
		g.Read(pcm)
		out[i] = dtmf.EncodeUlaw(make([]byte, 160), pcm)
	}
	return out
}

func silenceFrames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{0xff}, 160)
	}
	return out
}

// TestClosedWindowForwardsUntouched: outside a window the stage emits the
// very packet it got, bytes unchanged, with no delay.
func TestClosedWindowForwardsUntouched(t *testing.T) {
	svc := newTestService(t)
	c := attach(t, svc)
	defer svc.Detach("call1")
	tone := toneFrames(t, '5', 5)
	for i, f := range tone {
		p := mediaPacket(uint16(i), "PCMU", f)
		var got [][]byte
		c.Process(p, media.EmitFunc(func(o *media.Packet) { got = append(got, append([]byte(nil), o.Payload...)) }))
		if len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("packet %d: forwarded %d packets, changed=%v", i, len(got), len(got) == 1 && !bytes.Equal(got[0], f))
		}
	}
}

// TestOpenWindowMasksAndCollects: inside a window a key's tone is replaced
// and the key reaches the capture.
func TestOpenWindowMasksAndCollects(t *testing.T) {
	svc := newTestService(t)
	c := attach(t, svc)
	capt := startPAN(t, svc)
	var out []int16
	seq := uint16(0)
	feed := func(frames [][]byte) {
		for _, f := range frames {
			c.Process(mediaPacket(seq, "PCMU", f), media.EmitFunc(func(o *media.Packet) {
				out = append(out, dtmf.DecodeUlaw(make([]int16, len(o.Payload)), o.Payload)...)
			}))
			seq++
		}
	}
	feed(silenceFrames(5))
	for _, k := range "4111111111111111#" {
		feed(toneFrames(t, byte(k), 5))
		feed(silenceFrames(5))
	}
	feed(silenceFrames(20))
	select {
	case <-capt.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("capture did not end: %+v", capt.Status())
	}
	if st := capt.Status(); st.State != "tokenized" {
		t.Fatalf("capture ended %+v", st)
	}
	det := dtmf.NewDetector(dtmf.DetectorConfig{})
	if found := det.Flush(det.Process(out, nil)); len(found) != 0 {
		t.Fatalf("the forwarded audio still holds %d key events", len(found))
	}
	svc.Detach("call1")
}

// TestUninspectableCodecDroppedInWindow: audio the suppressor cannot read
// passes outside a window and is dropped inside one.
func TestUninspectableCodecDroppedInWindow(t *testing.T) {
	svc := newTestService(t)
	c := attach(t, svc)
	defer svc.Detach("call1")
	n := 0
	emit := media.EmitFunc(func(*media.Packet) { n++ })
	c.Process(mediaPacket(1, "G722", make([]byte, 160)), emit)
	if n != 1 {
		t.Fatal("G.722 outside a window was not forwarded")
	}
	if _, err := svc.Start("call1", Request{}); err != nil {
		t.Fatal(err)
	}
	c.Process(mediaPacket(2, "G722", make([]byte, 160)), emit)
	if n != 1 {
		t.Fatal("G.722 inside a window was forwarded: a tone in it could not have been masked")
	}
}

// TestTokenInBand: toward an in-band trunk the token is keyed as tones in
// the audio, which a detector reads back as the token.
func TestTokenInBand(t *testing.T) {
	svc := newTestService(t)
	c, err := svc.Attach("call1", Point{Policy: "api", TokenInBand: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Detach("call1")
	const token = "9812345678901111"
	c.keyTokenLater(token)
	var out []int16
	for i := 0; i < 10*len(token)+10; i++ {
		c.Process(mediaPacket(uint16(i), "PCMU", silenceFrames(1)[0]), media.EmitFunc(func(o *media.Packet) {
			if o.Codec != "PCMU" {
				t.Fatalf("in-band keying emitted a %s packet", o.Codec)
			}
			out = append(out, dtmf.DecodeUlaw(make([]int16, len(o.Payload)), o.Payload)...)
		}))
	}
	det := dtmf.NewDetector(dtmf.DetectorConfig{})
	var got []byte
	for _, d := range det.Flush(det.Process(out, nil)) {
		if !d.End {
			got = append(got, d.Key.Char())
		}
	}
	if string(got) != token {
		t.Fatalf("detector reads %q from the keyed audio, want %q", got, token)
	}
}
