package main

import (
	"math"
	"testing"

	"github.com/tonewall/tonewall/internal/dtmf"
)

func speechPCM(frames [][]byte) []int16 {
	pcm := make([]int16, 160*len(frames))
	for i, f := range frames {
		dtmf.DecodeUlaw(pcm[160*i:], f)
	}
	return pcm
}

// The phones' audio is at a speech level, is not digital silence or a
// constant, and holds no keypad tone the detector would report.
func TestSpeechIsSpeechLike(t *testing.T) {
	frames := speechFrames
	if len(frames) != 400 {
		t.Fatalf("%d frames, want 400 (8 s)", len(frames))
	}
	for i, f := range frames {
		if len(f) != 160 {
			t.Fatalf("frame %d: %d bytes", i, len(f))
		}
	}
	pcm := speechPCM(frames)
	var loud, quiet int // 20 ms frames above -30 dBm0 rms, below -50
	for i := 0; i+160 <= len(pcm); i += 160 {
		var sum float64
		for _, v := range pcm[i : i+160] {
			sum += float64(v) * float64(v)
		}
		level := dtmf.LevelOf(math.Sqrt(sum/160) * math.Sqrt2)
		if level > -5 {
			t.Fatalf("frame %d at %.1f dBm0: too loud for speech", i/160, level)
		}
		if level > -30 {
			loud++
		}
		if level < -50 {
			quiet++
		}
	}
	if n := len(pcm) / 160; loud < n/3 || quiet < n/10 {
		t.Fatalf("%d loud and %d quiet frames of %d: want talkspurts and pauses", loud, quiet, n)
	}

	det := dtmf.NewDetector(dtmf.DetectorConfig{})
	var digits []dtmf.Digit
	for range 3 { // the clip loops
		for i := 0; i+160 <= len(pcm); i += 160 {
			digits = det.Process(pcm[i:i+160], digits)
		}
	}
	if digits = det.Flush(digits); len(digits) > 0 {
		t.Fatalf("the detector found %d keys in the phones' audio, first %v", len(digits), digits[0].Key)
	}

	supp, err := dtmf.NewSuppressor(dtmf.SuppressorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	supp.Open()
	out := make([]int16, 160)
	for i := 0; i+160 <= len(pcm); i += 160 {
		if _, err := supp.Process(pcm[i:i+160], out, nil); err != nil {
			t.Fatal(err)
		}
	}
	st := supp.Stats()
	t.Logf("%d loud, %d quiet frames of %d; suppressor, window open: %d suspicions, %d of %d samples masked",
		loud, quiet, len(pcm)/160, st.Suspicions, st.Masked, len(pcm))
}
