package dtmf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWAVRoundTrip(t *testing.T) {
	pcm := newSignal(1).silence(10).press(nominal('5', 50*ms)).pcm()
	got, err := DecodeWAV(AppendWAV(nil, pcm))
	require.NoError(t, err)
	require.Equal(t, pcm, got)
}

// soxConvert makes a WAV with sox from 8 kHz s16 input.
func soxConvert(t *testing.T, pcm []int16, args ...string) []byte {
	needTool(t, "sox", "sox")
	in := filepath.Join(t.TempDir(), "in.raw")
	require.NoError(t, os.WriteFile(in, s16le(pcm), 0o600))
	out := filepath.Join(t.TempDir(), "out.wav")
	full := append([]string{"-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", in}, args...)
	runTool(t, nil, "sox", append(full, out)...)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

func TestDecodeWAVFromSox(t *testing.T) {
	s := newSignal(2).silence(100 * ms)
	for _, k := range []Key{'1', '5', '9', '#'} {
		s.press(nominal(k, 60*ms)).silence(60 * ms)
	}
	pcm := s.pcm()
	tests := []struct {
		name  string
		args  []string
		exact bool
	}{
		{"ulaw", []string{"-e", "u-law"}, false},
		{"alaw", []string{"-e", "a-law"}, false},
		{"pcm16 stereo", []string{"-c", "2"}, true},
		{"44.1 kHz", []string{"-r", "44100"}, false},
		{"16 kHz", []string{"-r", "16000"}, false},
		{"extensible 3 channels", []string{"-c", "3", "-r", "11025"}, false},
		{"24-bit", []string{"-b", "24"}, false},
		{"32-bit", []string{"-b", "32"}, false},
		{"float", []string{"-e", "floating-point", "-b", "32"}, false},
		{"8-bit unsigned", []string{"-e", "unsigned", "-b", "8"}, false},
	}
	for _, tt := range tests {
		b := soxConvert(t, pcm, tt.args...)
		got, err := DecodeWAV(b)
		require.NoError(t, err, tt.name)
		if tt.exact {
			require.Equal(t, pcm, got, tt.name)
		}
		require.InDelta(t, len(pcm), len(got), 20, tt.name)
		require.Equal(t, "159#", keysOf(detectAll(NewDetector(DetectorConfig{}), got, 160)), tt.name)
	}
}

func TestDecodeRaw(t *testing.T) {
	pcm := []int16{0, 1000, -1000, 32767, -32768}
	u, err := DecodeRaw(EncodeUlaw(make([]byte, 5), pcm), RawUlaw)
	require.NoError(t, err)
	require.Equal(t, DecodeUlaw(make([]int16, 5), EncodeUlaw(make([]byte, 5), pcm)), u)
	s, err := DecodeRaw(s16le(pcm), RawS16)
	require.NoError(t, err)
	require.Equal(t, pcm, s)
	for _, name := range []string{"ulaw", "alaw", "s16"} {
		_, err := ParseRawFormat(name)
		require.NoError(t, err)
	}
	_, err = ParseRawFormat("mp3")
	require.ErrorIs(t, err, ErrBadFormat)
}

func TestDecodeWAVErrors(t *testing.T) {
	good := AppendWAV(nil, []int16{1, 2, 3})
	bad8 := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(bad8[34:], 12) // 12-bit linear PCM is not supported
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrNotWAV},
		{"not riff", []byte("RIFX0000WAVEfmt "), ErrNotWAV},
		{"no chunks", good[:12], ErrWAVTruncated},
		{"short fmt", good[:30], ErrWAVTruncated},
		{"12-bit pcm", bad8, ErrWAVFormat},
	}
	for _, tt := range tests {
		_, err := DecodeWAV(tt.b)
		require.ErrorIs(t, err, tt.err, tt.name)
	}
	// A data chunk cut short gives the samples present.
	got, err := DecodeWAV(good[:len(good)-2])
	require.NoError(t, err)
	require.Equal(t, []int16{1, 2}, got)
}

func TestResampleKeepsTones(t *testing.T) {
	pcm := newSignal(4).silence(50 * ms).press(nominal('8', 80*ms)).silence(50 * ms).pcm()
	up := Resample(pcm, 8000, 48000)
	require.InDelta(t, 6*len(pcm), len(up), 6)
	down := Resample(up, 48000, 8000)
	require.Equal(t, "8", keysOf(detectAll(NewDetector(DetectorConfig{}), down, 160)))
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(AppendWAV(nil, []int16{1, -1, 300}))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x07\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x02\x00\x00\x00\xff\x7f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pcm, err := DecodeWAV(b)
		if err == nil && len(pcm) > 4*len(b)*48 {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(b))
		}
	})
}
