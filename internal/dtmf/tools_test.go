package dtmf

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"testing"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// needTool returns the path of an external program the test needs. Without
// it the test skips, naming the Debian package; with CI=true it fails.
func needTool(t testing.TB, name, debianPkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " not found: apt-get install -y " + debianPkg
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// runTool runs a program with stdin and returns its stdout.
func runTool(t testing.TB, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, stderr.String())
	}
	return out
}

func s16le(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

func fromS16le(b []byte) []int16 {
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

// testTmp holds files shared by several tests (the built spandsp helper).
var testTmp string

func TestMain(m *testing.M) {
	var err error
	if testTmp, err = os.MkdirTemp("", "dtmf-test-"); err != nil {
		panic(err)
	}
	release := sbctest.Heavy() // its DSP corpora keep a core busy for a minute: not beside e2e's timing
	code := m.Run()
	release()
	os.RemoveAll(testTmp)
	os.Exit(code)
}

func isCI() bool { return os.Getenv("CI") == "true" }
