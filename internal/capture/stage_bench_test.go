package capture

import (
	"testing"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/dtmf/collect"
	"github.com/tonewall/tonewall/internal/media"
)

// benchAudio is what the stage benchmarks feed, cycled: silence, noise at
// speech level, and keys being pressed (100 ms of tone, 100 ms of silence),
// which a window masks and the canary then hears as masking.
func benchAudio(b *testing.B) map[string][][]byte {
	noise := make([][]byte, 50)
	g, pcm := dtmf.NewNoise(-20, 1), make([]int16, 160)
	for i := range noise {
		g.Read(pcm)
		noise[i] = dtmf.EncodeUlaw(make([]byte, 160), pcm)
	}
	var keys [][]byte
	for _, k := range "4111" {
		keys = append(append(keys, toneFrames(b, byte(k), 5)...), silenceFrames(5)...)
	}
	return map[string][][]byte{"silence": silenceFrames(1), "noise": noise, "keys": keys}
}

// BenchmarkStage is the capture stage's cost per 20 ms PCMU packet, with
// no window open and with one open (masking, and the leak canary on what
// is forwarded).
func BenchmarkStage(b *testing.B) {
	audio := benchAudio(b)
	for _, tc := range []struct {
		name  string
		open  bool
		audio string
	}{
		{"window_closed", false, "silence"},
		{"window_open", true, "silence"},
		{"window_open/noise", true, "noise"},
		{"window_open/keys", true, "keys"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			svc := newTestService(b)
			c := attach(b, svc)
			defer svc.Detach("call1")
			if tc.open {
				ch := make(chan collect.Press, 1)
				c.presses.Store(&ch)
			}
			frames := audio[tc.audio]
			buf := make([]byte, 160)
			p := mediaPacket(0, "PCMU", buf)
			emit := media.EmitFunc(func(*media.Packet) {})
			b.ReportAllocs()
			b.SetBytes(160)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(buf, frames[i%len(frames)])
				p.Payload = buf
				p.Header.SequenceNumber++
				p.Header.Timestamp += 160
				c.Process(p, emit)
			}
		})
	}
}

// BenchmarkCanary is the leak canary alone, per 20 ms PCMU packet a window
// forwards: silence, noise at speech level, and keys as the suppressor
// forwards them (masked with the flat tone).
func BenchmarkCanary(b *testing.B) {
	audio := benchAudio(b)
	svc := newTestService(b)
	c := attach(b, svc)
	defer svc.Detach("call1")
	ch := make(chan collect.Press, 64)
	c.presses.Store(&ch)
	var masked [][]byte
	for i, f := range audio["keys"] {
		c.Process(mediaPacket(uint16(i), "PCMU", append([]byte(nil), f...)),
			media.EmitFunc(func(p *media.Packet) { masked = append(masked, append([]byte(nil), p.Payload...)) }))
	}
	audio["keys_masked"] = masked
	for _, name := range []string{"silence", "noise", "keys_masked"} {
		b.Run(name, func(b *testing.B) {
			k := newCanary(c)
			frames := audio[name]
			p := mediaPacket(0, "PCMU", nil)
			out := k.arm(media.EmitFunc(func(*media.Packet) {}), true)
			b.ReportAllocs()
			b.SetBytes(160)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.Payload = frames[i%len(frames)]
				out.Emit(p)
			}
			if k.down {
				b.Fatal("the canary found a key in masked audio")
			}
		})
	}
}
