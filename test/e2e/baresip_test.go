package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// needTool skips when a Debian-packaged peer is missing, except in CI
// (CI=true), where .ci/run installs it and its absence is a failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed (CI installs it in .ci/run)", name)
		}
		t.Skipf("%s not installed: apt-get install %s", name, name)
	}
	return p
}

// TestBaresipCallsOverTLS: baresip, a SIP user agent no one here wrote,
// places a call through tonewall over TLS to the contact center and hangs up.
func TestBaresipCallsOverTLS(t *testing.T) {
	bin := needTool(t, "baresip")
	cc := sipua.New(t, "tls")
	s := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}})
	dir := t.TempDir()
	writeBaresipConfig(t, dir)
	target := fmt.Sprintf("/dial sip:5551000@%s;transport=tls", s.Addr("carrier"))
	// -t: baresip quits (hanging up, so a BYE crosses tonewall) after 4s.
	runBaresip(t, bin, "-f", dir, "-e", target, "-t", "4")
	cc.NextCall(t)
	s.WaitCalls(t, 1)
	select {
	case <-cc.Byes:
	case <-time.After(15 * time.Second):
		t.Fatal("baresip's hangup never reached the contact center as a BYE")
	}
	s.WaitCalls(t, 0)
	inv := cc.Received("INVITE")[0]
	if !strings.Contains(string(inv.Body()), "PCMU") {
		t.Fatalf("baresip's offer lost its codecs on the way:\n%s", inv.Body())
	}
}

func writeBaresipConfig(t *testing.T, dir string) {
	t.Helper()
	writeBaresipConfigEnc(t, dir, "")
}

// writeBaresipConfigEnc configures baresip with a media encryption
// ("", "srtp-mand", "dtls_srtp") for its account.
func writeBaresipConfigEnc(t *testing.T, dir, enc string) {
	t.Helper()
	config := `poll_method epoll
sip_listen 127.0.0.1:0
sip_trans_def tls
audio_source aufile,` + filepath.Join(dir, "say.wav") + `
audio_player aubridge,sink
audio_alert aubridge,sink
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module srtp.so
module dtls_srtp.so
module_app account.so
module_app menu.so
rtp_ports 41000-41999
`
	must(t, os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "say.wav"), toneWAV(440, 8000, 5*time.Second), 0o600))
	account := "<sip:carrier@127.0.0.1;transport=tls>;regint=0"
	if enc != "" {
		account += ";mediaenc=" + enc
	}
	must(t, os.WriteFile(filepath.Join(dir, "accounts"), []byte(account+"\n"), 0o600))
}

// toneWAV is a PCM16 mono WAV of a sine at freq Hz.
func toneWAV(freq float64, rate int, d time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}

// runBaresip starts baresip with args; when the test ends it waits for it
// (its -t makes it quit, 30 s at most) and, if the test failed, logs what
// it printed.
func runBaresip(t *testing.T, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("baresip output:\n%s", out.String())
		}
	})
}
