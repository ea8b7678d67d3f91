package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// testYAML is a minimal configuration on loopback; DIR is the data directory.
const testYAML = `sip:
  listeners:
    - {name: carrier, transport: tls, address: "127.0.0.1:0"}
    - {name: cc, transport: udp, address: "127.0.0.1:0"}
trunks:
  - {name: carrier, role: carrier, listener: carrier, sources: [127.0.0.1/32]}
  - {name: cc, role: contact_center, listener: cc, sources: [127.0.0.1/32], targets: ["sip:127.0.0.1:9"]}
routes: [{from: carrier, to: cc}]
api: {address: "127.0.0.1:0"}
vault: {local: {dir: DIR}}
audit: {file: DIR/audit.log}
`

// testConfig parses testYAML with dir as the data directory, after
// applying extra (old, new) replacements.
func testConfig(t *testing.T, dir string, replace ...string) *Config {
	t.Helper()
	src := strings.ReplaceAll(testYAML, "DIR", dir)
	src = strings.NewReplacer(replace...).Replace(src)
	c, err := Parse(filepath.Join(dir, "t.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewClosesPartialBuild fails a build after the vault and the audit log
// are open: New must return the error (it used to panic on a nil *App in its
// clean-up) and release both, so that a second New on the same files works.
func TestNewClosesPartialBuild(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	bad := testConfig(t, dir, "sip:\n", "sip:\n  tls: {cert_file: "+missing+", key_file: "+missing+"}\n")
	a, err := New(bad, zap.NewNop())
	if err == nil || a != nil {
		t.Fatalf("New with a missing certificate: %v, %v", a, err)
	}
	if !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("error does not name the file: %v", err)
	}
	a, err = New(testConfig(t, dir), zap.NewNop())
	if err != nil {
		t.Fatalf("New after a failed build (vault or audit log left open?): %v", err)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "audit.log")); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsCountPortErrors: the RTP port failures the media manager counts
// are served as tonewall_rtp_port_errors_total.
func TestMetricsCountPortErrors(t *testing.T) {
	a, err := New(testConfig(t, t.TempDir()), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	mfs, err := a.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "tonewall_rtp_port_errors_total" {
			return
		}
	}
	t.Fatal("tonewall_rtp_port_errors_total not registered")
}

// TestCheckCreatesNothing: Check passes a sound configuration whose data
// directory does not exist yet, and leaves it so.
func TestCheckCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	held, err := Check(testConfig(t, dir, dir+"/audit.log", data+"/audit.log", "dir: "+dir, "dir: "+data))
	if err != nil || len(held) != 0 {
		t.Fatalf("Check: %v %v", held, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Check left %v behind", ents)
	}
}

// TestCheckCDRFile: a CDR file whose directory cannot be made fails Check
// at the cdr.file line; one that can be is left uncreated.
func TestCheckCDRFile(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Check(testConfig(t, dir, "audit:", "cdr: {file: "+blocker+"/cdr.jsonl}\naudit:"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:11: cdr.file:") || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Check with a CDR file under a regular file: %v", err)
	}
	cdr := filepath.Join(dir, "data", "cdr.jsonl")
	if _, err := Check(testConfig(t, dir, "audit:", "cdr: {file: "+cdr+"}\naudit:")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cdr); err == nil {
		t.Fatal("Check created the CDR file")
	}
}
