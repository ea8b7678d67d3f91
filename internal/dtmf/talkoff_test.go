package dtmf

import (
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Talk-off: speech and music must not produce digits. The corpus is made
// on the spot by espeak-ng (several languages, voices, pitches and speeds)
// and sox (plucked chords, square/sawtooth/trapezium timbres, sweeps,
// tremolo, noises). Two pure sines sweeping through a row and a column
// band at once are left out: for the moments both sit within tolerance they
// are a keypad tone by any standard, not talk-off. CI keeps it to about three minutes; the long run is
//
//	go test ./internal/dtmf/ -run TestTalkOffLong -v -timeout 1h -args -talkoff.minutes=30
var talkoffMinutes = flag.Float64("talkoff.minutes", 0, "minutes of talk-off corpus for TestTalkOffLong (0 skips)")

var talkoffTexts = []string{
	"Thank you for calling. Please hold while I transfer you to an agent who can help with your account.",
	"My card number is four one one one, one one one one, and the expiry is twelve twenty six.",
	"Okay, so what I'm hearing is that the payment didn't go through on Tuesday, is that right?",
	"One, two, three, four, five, six, seven, eight, nine, zero. Star. Pound. Hash.",
	"She sells sea shells by the sea shore; the shells she sells are surely sea shells.",
	"Hmmmm, aaaah, oooooh, eeeee, mmmmm, yes yes yes, no no no, really? Wow!",
	"Der Zahlungsvorgang wurde abgebrochen, bitte versuchen Sie es noch einmal.",
	"Le paiement a été refusé, veuillez vérifier les informations de votre carte.",
	"El pago fue rechazado, por favor verifique los datos de su tarjeta.",
}

var talkoffVoices = []string{"en-us", "en-gb", "de", "fr-fr", "es", "it", "pt", "hi", "cmn", "ru", "ja", "sv",
	"en-us+f3", "en-gb+m3", "de+f2", "fr-fr+klatt", "es+croak", "en-us+whisper"}

// clip is one corpus item at 8 kHz.
type clip struct {
	name string
	pcm  []int16
}

// speechClip renders text with espeak-ng.
func speechClip(t testing.TB, voice, text string, pitch, speed int) clip {
	wav := runTool(t, nil, "espeak-ng", "-v", voice, "-p", fmt.Sprint(pitch), "-s", fmt.Sprint(speed), "--stdout", text)
	pcm, err := DecodeWAV(wav)
	if err != nil {
		t.Fatalf("espeak-ng %s: %v", voice, err)
	}
	return clip{fmt.Sprintf("speech %s p%d s%d", voice, pitch, speed), normalize(pcm, -3)}
}

// soxClip synthesizes channels with sox and mixes them to mono.
func soxClip(t testing.TB, name string, channels int, synth ...string) clip {
	args := append([]string{"-D", "-n", "-r", "8000", "-b", "16", "-e", "signed", "-c", fmt.Sprint(channels), "-t", "raw", "-"}, synth...)
	raw := fromS16le(runTool(t, nil, "sox", args...))
	mono := make([]int16, len(raw)/channels)
	for i := range mono {
		var sum int
		for c := range channels {
			sum += int(raw[i*channels+c])
		}
		mono[i] = int16(sum / channels)
	}
	return clip{"music " + name, normalize(mono, -3)}
}

// normalize scales pcm so its peak sits at peakDB below full scale.
func normalize(pcm []int16, peakDB float64) []int16 {
	var peak float64
	for _, v := range pcm {
		peak = max(peak, math.Abs(float64(v)))
	}
	if peak == 0 {
		return pcm
	}
	g := 32767 * math.Pow(10, peakDB/20) / peak
	for i, v := range pcm {
		pcm[i] = saturate(float64(v) * g)
	}
	return pcm
}

var notes = []string{"C3", "E3", "G3", "A3", "C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5", "E5", "G5", "A5"}

// musicClips returns sox-made music-like and noise clips, round r varying them.
func musicClips(t testing.TB, r int) []clip {
	n := func(i int) string { return notes[(i+r*3)%len(notes)] }
	d := fmt.Sprint(4 + r%3)
	return []clip{
		soxClip(t, "pluck triad", 3, "synth", d, "pluck", n(0), "pluck", n(2), "pluck", n(4)),
		soxClip(t, "pluck dyad", 2, "synth", d, "pluck", n(5), "pluck", n(9)),
		soxClip(t, "square+saw", 2, "synth", d, "square", n(4), "sawtooth", n(7), "tremolo", "6"),
		soxClip(t, "trapezium chord", 3, "synth", d, "trapezium", n(1), "trapezium", n(6), "trapezium", n(10)),
		soxClip(t, "sine sweep", 1, "synth", d, "sine", "200:3400"),
		soxClip(t, "sawtooth sweep", 1, "synth", d, "sawtooth", "150:1800"),
		soxClip(t, "vibrato organ", 3, "synth", d, "sine", n(3), "sine", n(8), "square", n(11), "tremolo", "5", "60"),
		soxClip(t, "white noise", 1, "synth", "2", "whitenoise"),
		soxClip(t, "pink noise", 1, "synth", "2", "pinknoise"),
		soxClip(t, "brown noise", 1, "synth", "2", "brownnoise"),
	}
}

// talkoffCorpus builds at least seconds of audio.
func talkoffCorpus(t testing.TB, seconds float64) []clip {
	needTool(t, "espeak-ng", "espeak-ng")
	needTool(t, "sox", "sox")
	var cs []clip
	total := 0.0
	for r := 0; total < seconds; r++ {
		for i, v := range talkoffVoices {
			text := talkoffTexts[(i+r)%len(talkoffTexts)]
			c := speechClip(t, v, text, []int{50, 20, 80, 35, 65}[r%5], []int{170, 130, 210}[(i+r)%3])
			cs = append(cs, c)
			total += float64(len(c.pcm)) / SampleRate
		}
		for _, c := range musicClips(t, r) {
			cs = append(cs, c)
			total += float64(len(c.pcm)) / SampleRate
		}
	}
	return cs
}

// talkoffResult counts what the detector and the suppressor did on a corpus.
type talkoffResult struct {
	seconds       float64
	falseDigits   int
	maskedSamples int64
	samples       int64
	offenders     []string
}

func runTalkOff(t testing.TB, cs []clip) talkoffResult {
	var r talkoffResult
	for _, c := range cs {
		evs := detectAll(NewDetector(DetectorConfig{}), c.pcm, 160)
		if k := keysOf(evs); k != "" {
			r.falseDigits += len(k)
			r.offenders = append(r.offenders, fmt.Sprintf("%s: %d", c.name, len(k)))
		}
		_, _, st := suppress(t, SuppressorConfig{Mode: MaskSilence}, c.pcm)
		r.maskedSamples += st.Masked
		r.samples += int64(len(c.pcm))
		r.seconds += float64(len(c.pcm)) / SampleRate
	}
	return r
}

func (r talkoffResult) String() string {
	return fmt.Sprintf("%.1f min of speech and music: %d false digits (%.1f per hour); suppressor masked %.1f %% of it on suspicion",
		r.seconds/60, r.falseDigits, float64(r.falseDigits)/(r.seconds/3600), 100*float64(r.maskedSamples)/float64(r.samples))
}

func TestTalkOff(t *testing.T) {
	if testing.Short() {
		t.Skip("talk-off corpus skipped in -short")
	}
	r := runTalkOff(t, talkoffCorpus(t, 150))
	t.Log(r)
	if r.falseDigits > 0 {
		t.Fatalf("false digits on speech/music: %s", strings.Join(r.offenders, "; "))
	}
}

func TestTalkOffLong(t *testing.T) {
	if *talkoffMinutes <= 0 {
		t.Skip("set -talkoff.minutes=30 for the long talk-off run")
	}
	r := runTalkOff(t, talkoffCorpus(t, *talkoffMinutes*60))
	t.Log(r)
	for _, o := range r.offenders {
		t.Log("false digit(s) in " + o)
	}
}

// Double talk: keys pressed while the caller speaks, speech from -20 dBm0
// (quieter than the tones) to -6 dBm0 rms (louder than each -10 dBm0 tone).
// The suppressor's output must still hold nothing spandsp or multimon-ng can
// decode, although both decode plenty in the input.
func TestSuppressorKeysOverSpeech(t *testing.T) {
	needTool(t, "espeak-ng", "espeak-ng")
	sp := speechClip(t, "en-us", talkoffTexts[1], 50, 170).pcm
	for _, speechDB := range []float64{-20, -15, -10, -6} {
		g := Amplitude(speechDB) / math.Sqrt2 / rms(sp)
		var in, out []int16
		presses, detected := 0, 0
		for i, k := range Keys {
			s := newSignal(uint64(i)).silence(len(sp))
			for j := range s.x {
				s.x[j] = float64(sp[j]) * g
			}
			row, col, _ := k.Freqs()
			for at := 2000; at+800 < len(s.x); at += 2400 { // a 60 ms press every 300 ms
				presses++
				for n := range 60 * ms {
					s.x[at+n] += Amplitude(-10) * (math.Sin(2*math.Pi*row*float64(n)/SampleRate) + math.Sin(2*math.Pi*col*float64(n)/SampleRate+1))
				}
			}
			pcm := s.pcm()
			o, digits, st := suppress(t, SuppressorConfig{Mode: MaskSilence}, pcm)
			require.Zero(t, st.Late)
			for _, d := range starts(digits) {
				if d.Key == k {
					detected++
				}
			}
			in = append(append(in, pcm...), make([]int16, 200*ms)...)
			out = append(append(out, o...), make([]int16, 200*ms)...)
		}
		inS, inM := decodeSpandsp(t, in), decodeMultimon(t, in)
		require.NotEmpty(t, inS)
		require.NotEmpty(t, inM)
		require.Empty(t, decodeSpandsp(t, out), "speech at %v dBm0", speechDB)
		require.Empty(t, decodeMultimon(t, out), "speech at %v dBm0", speechDB)
		t.Logf("speech at %v dBm0 rms: input decoded by spandsp %d, multimon-ng %d of %d presses; output: none; tonewall detected %d",
			speechDB, len(inS), len(inM), presses, detected)
	}
}

// TestCanarySilentOverTalkOff: the capture stage's leak canary is a
// detector of its own on what the suppressor forwards. Over the talk-off
// corpus, keyed through the relay's µ-law path with a window open, it must
// find nothing in any mask mode: speech spliced with masking (the 1 kHz
// tone, silence, comfort noise) is no key either.
func TestCanarySilentOverTalkOff(t *testing.T) {
	if testing.Short() {
		t.Skip("talk-off corpus skipped in -short")
	}
	cs := talkoffCorpus(t, 150)
	for _, mode := range []MaskMode{MaskTone, MaskSilence, MaskComfortNoise, MaskWindow} {
		found, seconds := 0, 0.0
		for _, c := range cs {
			s, err := NewSuppressor(SuppressorConfig{Mode: mode})
			require.NoError(t, err)
			s.Open()
			wire := EncodeUlaw(make([]byte, len(c.pcm)), c.pcm)
			for off := 0; off < len(wire); off += 160 {
				s.ProcessG711(wire[off:min(off+160, len(wire))], MuLaw, nil)
			}
			k := keysOf(detectAll(NewDetector(DetectorConfig{}), DecodeUlaw(make([]int16, len(wire)), wire), 160))
			require.Empty(t, k, "%s, mode %s: the canary would report a leak", c.name, mode)
			found += len(k)
			seconds += float64(len(c.pcm)) / SampleRate
		}
		t.Logf("mode %s: %.1f min of speech and music, masked and forwarded: %d keys", mode, seconds/60, found)
	}
}
