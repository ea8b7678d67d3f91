package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// brokenConfigs are mistakes a new operator makes. Each edit is applied to
// runConfig; at is the text of the YAML line the error must name ("" when
// none applies); want is what the error must say.
var brokenConfigs = []struct {
	name     string
	old, new string
	at, want string
}{
	{"missing certificate", "  drain_timeout: 1s\n", "  drain_timeout: 1s\n  tls: {cert_file: DATA/missing.pem, key_file: DATA/missing.key}\n",
		"cert_file: DATA/missing.pem", "sip.tls.cert_file: open DATA/missing.pem: no such file or directory"},
	{"missing key", "  drain_timeout: 1s\n", "  drain_timeout: 1s\n  tls:\n    cert_file: DATA/t.yaml\n    key_file: DATA/missing.key\n",
		"key_file: DATA/missing.key", "sip.tls.key_file: open DATA/missing.key: no such file or directory"},
	{"certificate not PEM", "  drain_timeout: 1s\n", "  drain_timeout: 1s\n  tls:\n    cert_file: DATA/t.yaml\n    key_file: DATA/t.yaml\n",
		"cert_file: DATA/t.yaml", "sip.tls.cert_file: tls: failed to find any PEM data"},
	{"audit log is a directory", "audit: {file: DATA/audit.log}", "audit: {file: DATA}",
		"audit: {file: DATA}", "audit.file: audit: open DATA: is a directory"},
	{"audit log under a file", "audit: {file: DATA/audit.log}", "audit: {file: DATA/t.yaml/audit.log}",
		"audit: {file: DATA/t.yaml/audit.log}", "audit.file: DATA/t.yaml is not a directory"},
	{"vault directory under a file", "vault: {local: {dir: DATA}}", "vault: {local: {dir: DATA/t.yaml/vault}}",
		"vault: {local: {dir: DATA/t.yaml/vault}}", "vault.local.dir: DATA/t.yaml is not a directory"},
	{"media address not on this host", "api: {", "media: {address: 192.0.2.1}\napi: {",
		"media: {address: 192.0.2.1}", "media.address: 192.0.2.1 is not an address of this host"},
	{"sip address not on this host", `{name: carrier, transport: udp, address: "127.0.0.1:0"}`, `{name: carrier, transport: udp, address: "192.0.2.1:5060"}`,
		`address: "192.0.2.1:5060"`, "sip.listeners[0].address: 192.0.2.1 is not an address of this host"},
	{"api address not on this host", `api: {address: "127.0.0.1:0"}`, `api: {address: "192.0.2.1:8080"}`,
		`api: {address: "192.0.2.1:8080"}`, "api.address: 192.0.2.1 is not an address of this host"},
}

// TestRunAndCheckRefuseBrokenConfigs starts tonewall run and tonewall check
// as processes on each broken configuration: exit status 1 and one line on
// stderr naming the YAML line and the problem, never a panic.
func TestRunAndCheckRefuseBrokenConfigs(t *testing.T) {
	for _, tc := range brokenConfigs {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if !strings.Contains(runConfig, tc.old) {
				t.Fatalf("runConfig has no %q", tc.old)
			}
			cfg := writeConfig(t, dir, strings.Replace(runConfig, tc.old, tc.new, 1))
			want := strings.ReplaceAll(tc.want, "DATA", dir)
			at := fmt.Sprintf("%s:%d: ", cfg, lineOf(t, cfg, strings.ReplaceAll(tc.at, "DATA", dir)))
			for _, sub := range []string{"run", "check"} {
				code, _, stderr := runTonewall(t, sub, "--config", cfg)
				assertOneLineError(t, sub, code, stderr, at, want)
			}
		})
	}
}

// TestSecondInstanceOnSameData: a second tonewall on the data directory of
// a running one fails at once with one line; check beside it passes with a
// note, and the running instance keeps serving and drains cleanly.
func TestSecondInstanceOnSameData(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, runConfig)
	first, logs := startTonewall(t, cfg)
	waitLog(t, logs, "tonewall ready")

	code, stdout, stderr := runTonewall(t, "check", "--config", cfg)
	if code != 0 || !strings.Contains(stdout, "note: ") || !strings.Contains(stdout, "held by another process") ||
		!strings.HasSuffix(stdout, cfg+": ok\n") || stderr != "" {
		t.Fatalf("check beside a running tonewall: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	code, _, stderr = runTonewall(t, "run", "--config", cfg)
	assertOneLineError(t, "run", code, stderr, cfg+":", "held by another process (another tonewall on the same data directory?)")

	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "stopped")
	if err := first.Wait(); err != nil {
		t.Fatalf("the first tonewall after SIGTERM: %v", err)
	}
	if code, stdout, stderr := runTonewall(t, "check", "--config", cfg); code != 0 || strings.Contains(stdout, "note:") {
		t.Fatalf("check after the first tonewall stopped: exit %d %q %q", code, stdout, stderr)
	}
}

// runTonewall runs the test binary as tonewall, bounded in time.
func runTonewall(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := tonewallCmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("tonewall %s did not exit within 20s", strings.Join(args, " "))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func assertOneLineError(t *testing.T, sub string, code int, stderr, at, want string) {
	t.Helper()
	line, rest, _ := strings.Cut(stderr, "\n")
	if code != 1 || rest != "" || !strings.HasPrefix(line, "tonewall "+sub+": "+at) || !strings.Contains(line, want) ||
		strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("tonewall %s: exit %d, want 1 and one line starting %q, saying %q; stderr:\n%s", sub, code, at, want, stderr)
	}
}

// lineOf is the 1-based number of the line of file that holds text.
func lineOf(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(text))
	if i < 0 {
		t.Fatalf("%s has no %q", file, text)
	}
	return 1 + bytes.Count(b[:i], []byte("\n"))
}

// TestRunFailsBeforeListening: nothing of a refused start stays behind, and
// the one line comes before any log line.
func TestRunFailsBeforeListening(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, strings.Replace(runConfig, "api: {", "media: {address: 192.0.2.1}\napi: {", 1))
	if _, _, stderr := runTonewall(t, "run", "--config", cfg); strings.Contains(stderr, `"level"`) {
		t.Fatalf("run logged before refusing: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err == nil {
		t.Fatal("a refused run opened the vault")
	}
}
