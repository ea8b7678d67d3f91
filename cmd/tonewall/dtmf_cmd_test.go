package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/dtmf"
)

// keysWAV writes a WAV with the given keys pressed 60 ms each, 60 ms apart.
func keysWAV(t *testing.T, keys string) (string, []int16) {
	t.Helper()
	pcm := make([]int16, 800)
	var err error
	for _, c := range []byte(keys) {
		pcm, err = dtmf.AppendKey(pcm, dtmf.Key(c), -10, 480, 480)
		require.NoError(t, err)
	}
	name := filepath.Join(t.TempDir(), "call.wav")
	require.NoError(t, os.WriteFile(name, dtmf.AppendWAV(nil, pcm), 0o600))
	return name, pcm
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dtmfCLI.dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDTMFDetectFindsDigits(t *testing.T) {
	name, _ := keysWAV(t, "4111#")
	code, out, _ := run("detect", name)
	require.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5)
	require.Contains(t, lines[0], "\t4\tstart=0.100s\tduration=0.060s")
	require.Contains(t, lines[4], "\t#\t")
}

func TestDTMFDetectJSON(t *testing.T) {
	name, _ := keysWAV(t, "7*")
	code, out, _ := run("detect", "--json", name)
	require.Equal(t, 1, code)
	var got []detection
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var d detection
		require.NoError(t, json.Unmarshal(sc.Bytes(), &d))
		got = append(got, d)
	}
	require.Len(t, got, 2)
	require.Equal(t, "7", got[0].Key)
	require.Equal(t, name, got[0].File)
	require.InDelta(t, 0.1, got[0].Start, 0.003)
	require.InDelta(t, 0.06, got[0].Duration, 0.004)
	require.Equal(t, "*", got[1].Key)
}

func TestDTMFDetectCleanFileExitsZero(t *testing.T) {
	name := filepath.Join(t.TempDir(), "quiet.wav")
	require.NoError(t, os.WriteFile(name, dtmf.AppendWAV(nil, make([]int16, 8000)), 0o600))
	code, out, _ := run("detect", name)
	require.Equal(t, 0, code)
	require.Empty(t, out)
}

func TestDTMFDetectRawFormats(t *testing.T) {
	_, pcm := keysWAV(t, "9")
	dir := t.TempDir()
	u := filepath.Join(dir, "a.ulaw")
	require.NoError(t, os.WriteFile(u, dtmf.EncodeUlaw(make([]byte, len(pcm)), pcm), 0o600))
	a := filepath.Join(dir, "a.alaw")
	require.NoError(t, os.WriteFile(a, dtmf.EncodeAlaw(make([]byte, len(pcm)), pcm), 0o600))
	for _, c := range []struct{ format, file string }{{"ulaw", u}, {"alaw", a}} {
		code, out, _ := run("detect", "--format", c.format, c.file)
		require.Equal(t, 1, code, c.format)
		require.Contains(t, out, "\t9\t")
	}
	code, _, errs := run("detect", u) // raw without --format
	require.Equal(t, 2, code)
	require.Contains(t, errs, "not a WAV file")
}

// A 35 ms tone is below the relay's Q.24 edge but found with a stricter
// --min-duration, as an auditor sweeping recordings may want.
func TestDTMFDetectMinDuration(t *testing.T) {
	pcm, err := dtmf.AppendKey(make([]int16, 800), '5', -10, 280, 800)
	require.NoError(t, err)
	name := filepath.Join(t.TempDir(), "short.wav")
	require.NoError(t, os.WriteFile(name, dtmf.AppendWAV(nil, pcm), 0o600))
	code, out, _ := run("detect", name)
	require.Equal(t, 0, code, out)
	code, out, _ = run("detect", "--min-duration", "1ms", name)
	require.Equal(t, 1, code)
	require.Contains(t, out, "\t5\t")
	for _, bad := range []string{"0s", "-5ms", "61ms", "x"} {
		code, _, errs := run("detect", "--min-duration", bad, name)
		require.Equal(t, 2, code, bad)
		require.NotEmpty(t, errs)
	}
}

func TestDTMFDetectErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, {"bogus"}, {"detect"}, {"detect", "/nonexistent.wav"}, {"detect", "--format", "mp3", "x"}, {"detect", "--nope"},
	} {
		code, _, _ := run(args...)
		require.Equal(t, 2, code, "%v", args)
	}
}

func TestDTMFMaskRemovesEveryDigit(t *testing.T) {
	in, pcm := keysWAV(t, "4111111111111111")
	for _, mode := range []string{"tone", "silence", "comfort_noise", "window"} {
		out := filepath.Join(t.TempDir(), mode+".wav")
		code, stdout, errs := run("mask", "--mode", mode, "--lookahead", "40ms", in, out)
		require.Equal(t, 0, code, errs)
		require.Contains(t, stdout, "16 key presses masked")
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		masked, err := dtmf.DecodeWAV(b)
		require.NoError(t, err)
		require.Len(t, masked, len(pcm), "output lines up with input")
		code, found, _ := run("detect", out)
		require.Equal(t, 0, code, "mode %s left digits: %s", mode, found)
	}
}

func TestDTMFMaskErrors(t *testing.T) {
	in, _ := keysWAV(t, "1")
	out := filepath.Join(t.TempDir(), "o.wav")
	for _, args := range [][]string{
		{"mask", in}, {"mask", "--mode", "loud", in, out}, {"mask", "--lookahead", "5ms", in, out}, {"mask", "/nonexistent", out},
	} {
		code, _, _ := run(args...)
		require.Equal(t, 2, code, "%v", args)
	}
}
