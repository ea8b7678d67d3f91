package dtmf

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// External DTMF decoders used as attackers: if either finds a digit in the
// suppressor's output, a tone leaked.

var (
	spandspOnce sync.Once
	spandspBin  string
	spandspErr  error
)

// spandspDecoder builds test/spandsp/dtmf_rx.c once per test binary.
func spandspDecoder(t testing.TB) string {
	t.Helper()
	cc := needTool(t, "cc", "gcc")
	spandspOnce.Do(func() {
		dir, err := filepathAbs("../../test/spandsp")
		if err != nil {
			spandspErr = err
			return
		}
		spandspBin = filepath.Join(testTmp, "dtmf_rx")
		out, err := exec.Command(cc, "-O2", "-o", spandspBin, filepath.Join(dir, "dtmf_rx.c"), "-lspandsp").CombinedOutput()
		if err != nil {
			spandspErr = &buildError{string(out)}
		}
	})
	if spandspErr != nil {
		msg := "spandsp helper does not build (apt-get install -y libspandsp-dev gcc): " + spandspErr.Error()
		if isCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return spandspBin
}

type buildError struct{ out string }

func (e *buildError) Error() string { return e.out }

func filepathAbs(p string) (string, error) { return filepath.Abs(p) }

// decodeSpandsp returns the digits spandsp finds in 8 kHz PCM.
func decodeSpandsp(t testing.TB, pcm []int16) string {
	out := runTool(t, s16le(pcm), spandspDecoder(t))
	return strings.ReplaceAll(string(out), "\n", "")
}

var multimonDigit = regexp.MustCompile(`DTMF: ([0-9A-D*#])`)

// decodeMultimon resamples to the 22050 Hz multimon-ng reads raw and returns
// the digits it finds.
func decodeMultimon(t testing.TB, pcm []int16) string {
	needTool(t, "sox", "sox")
	needTool(t, "multimon-ng", "multimon-ng")
	up := runTool(t, s16le(pcm), "sox", "-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", "-",
		"-t", "raw", "-e", "signed", "-b", "16", "-r", "22050", "-c", "1", "-")
	out := runTool(t, up, "multimon-ng", "-q", "-c", "-a", "DTMF", "-t", "raw", "-")
	var b strings.Builder
	for _, m := range multimonDigit.FindAllStringSubmatch(string(out), -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// The attackers must be able to find digits at all, or "zero digits" after
// suppression would prove nothing.
func TestDecodersFindCleanDigits(t *testing.T) {
	s := newSignal(1).silence(100 * ms)
	for _, k := range Keys {
		s.press(nominal(k, 60*ms)).silence(60 * ms)
	}
	pcm := s.pcm()
	require.Equal(t, "0123456789*#ABCD", decodeSpandsp(t, pcm))
	require.Equal(t, "0123456789*#ABCD", decodeMultimon(t, pcm))
}
