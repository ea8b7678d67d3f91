package dtmf

import (
	"math"
	"testing"
)

// benchSignal is 2 s of keys, pauses and background noise at 8 kHz, so
// benchmarks exercise every path (silence, suspicion, detection, masking).
func benchSignal() []int16 {
	s := newSignal(99).silence(40 * ms)
	for _, k := range []Key{'4', '1', '1', '1', '2', '#'} {
		s.press(nominal(k, 60*ms)).silence(80 * ms)
	}
	s.silence(2*SampleRate - len(s.x))
	s.noise(Amplitude(-45) / math.Sqrt2)
	pcm := s.pcm()
	return pcm[:len(pcm)/160*160]
}

func BenchmarkDetect(b *testing.B) {
	benchDetect(b, benchSignal())
}

// benchDetect runs the detector over pcm's whole 20 ms frames, round and
// round.
func benchDetect(b *testing.B, pcm []int16) {
	pcm = pcm[:len(pcm)/160*160]
	d := NewDetector(DetectorConfig{})
	out := make([]Digit, 0, 8)
	b.ReportAllocs()
	b.SetBytes(160 * 2)
	off := 0
	for b.Loop() {
		out = d.Process(pcm[off:off+160], out[:0])
		off = (off + 160) % len(pcm)
	}
}

// BenchmarkSuppress is the relay's per-packet work while a window is open:
// decode a 20 ms µ-law payload, detect and suppress, encode the result.
func BenchmarkSuppress(b *testing.B) {
	for _, mode := range []MaskMode{MaskTone, MaskComfortNoise} {
		b.Run(mode.String(), func(b *testing.B) { benchSuppress(b, benchSignal(), mode) })
	}
}

// BenchmarkSuppressHeldKey is the suppressor's worst case: a key held down,
// so every slot is suspected and masked and every window fully measured.
func BenchmarkSuppressHeldKey(b *testing.B) {
	pcm := newSignal(1).press(nominal('5', 2*SampleRate)).pcm()
	benchSuppress(b, pcm[:len(pcm)/160*160], MaskTone)
}

// benchSuppress cycles pcm through an open suppressor in µ-law packets.
func benchSuppress(b *testing.B, pcm []int16, mode MaskMode) {
	payloads := EncodeUlaw(make([]byte, len(pcm)), pcm)
	s, err := NewSuppressor(SuppressorConfig{Mode: mode})
	if err != nil {
		b.Fatal(err)
	}
	s.Open()
	in, out, wire := make([]int16, 160), make([]int16, 160), make([]byte, 160)
	digits := make([]Digit, 0, 8)
	b.ReportAllocs()
	b.SetBytes(160)
	off := 0
	for b.Loop() {
		DecodeUlaw(in, payloads[off:off+160])
		digits, _ = s.Process(in, out, digits[:0])
		EncodeUlaw(wire, out)
		off = (off + 160) % len(payloads)
	}
}

func BenchmarkG711(b *testing.B) {
	pcm := benchSignal()[:160]
	wire := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		EncodeUlaw(wire, pcm)
		DecodeUlaw(pcm, wire)
	}
}

// The hot path allocates nothing; this fails in plain `go test`, not only
// when someone reads benchmark output.
func TestHotPathAllocatesNothing(t *testing.T) {
	pcm := benchSignal()
	d := NewDetector(DetectorConfig{})
	s, err := NewSuppressor(SuppressorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s.Open()
	out := make([]int16, 160)
	digits := make([]Digit, 0, 8)
	off := 0
	allocs := testing.AllocsPerRun(len(pcm)/160*3, func() {
		digits = d.Process(pcm[off:off+160], digits[:0])
		digits, _ = s.Process(pcm[off:off+160], out, digits[:0])
		off = (off + 160) % len(pcm)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet", allocs)
	}
}

// BenchmarkDetectTone is the worst case: a key held down, so every window
// goes through the full frequency, level and twist measurement.
func BenchmarkDetectTone(b *testing.B) {
	benchDetect(b, newSignal(1).press(nominal('5', 2*SampleRate)).pcm())
}

// The RFC 4733 packet path allocates nothing either.
func TestEventPathAllocatesNothing(t *testing.T) {
	var r EventReceiver
	p := AppendEvent(nil, Event{Code: 5, Volume: 10, Duration: 160})
	red := append([]byte{0x80 | 101, 0, 0, 4, 101}, p...)
	red = append(red, p...)
	out := make([]KeyEvent, 0, 8)
	ts := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		ts += 160
		out, _ = r.Receive(ts, p, out[:0])
		out, _ = r.ReceiveRedundant(ts, red, 101, out[:0])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet", allocs)
	}
}
