package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tonewall/tonewall/internal/audit"
)

func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runCLI(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := cli("version")
	if code != 0 || !strings.HasPrefix(out, "tonewall ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestCheckShippedConfig(t *testing.T) {
	code, out, errs := cli("check", "--config", "../../configs/tonewall.yaml")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
}

func TestCheckNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.yaml")
	src := "sip:\n  listeners:\n    - {name: a, transport: udp, address: 127.0.0.1:5060}\n  bogus_key: 1\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := cli("check", "--config", p)
	if code != 1 || !strings.Contains(errs, "line 4") || !strings.Contains(errs, "bogus_key") {
		t.Fatalf("check bad config: %d %q", code, errs)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errs := cli("frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, errs)
	}
	if code, _, _ := cli(); code != 2 {
		t.Fatalf("no command: %d", code)
	}
}

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	l, err := audit.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := l.Append(audit.Record{Type: audit.CaptureStarted, Actor: "desk", CallID: "c1", CaptureID: "cap1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cli("audit", "verify", "--file", p); code != 0 || !strings.Contains(out, "3 records") {
		t.Fatalf("intact log: %d %q %q", code, out, errs)
	}
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte(`"desk"`), []byte(`"evil"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli("audit", "verify", "--file", p); code != 1 || !strings.Contains(errs, "line 1") {
		t.Fatalf("edited log: %d %q", code, errs)
	}
}
