package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for tonewall in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("TONEWALL_AS_MAIN") == "1" {
		os.Exit(runCLI(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const runConfig = `sip:
  listeners:
    - {name: carrier, transport: udp, address: "127.0.0.1:0"}
    - {name: cc, transport: tcp, address: "127.0.0.1:0"}
  drain_timeout: 1s
trunks:
  - {name: carrier, role: carrier, listener: carrier, sources: [127.0.0.1/32]}
  - {name: cc, role: contact_center, listener: cc, sources: [127.0.0.1/32], targets: ["sip:127.0.0.1:9"]}
routes: [{from: carrier, to: cc}]
api: {address: "127.0.0.1:0"}
vault: {local: {dir: DATA}}
audit: {file: DATA/audit.log}
`

// TestRunServesHealthAndDrainsOnSIGTERM runs `tonewall run` as a process:
// health endpoints answer, and SIGTERM drains and exits 0.
func TestRunServesHealthAndDrainsOnSIGTERM(t *testing.T) {
	cmd, logs := startTonewall(t, writeConfig(t, t.TempDir(), runConfig))
	ready := waitLog(t, logs, "tonewall ready")
	api, _ := ready["api"].(string)
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
		res, err := http.Get("http://" + api + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "draining")
	waitLog(t, logs, "stopped")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tonewall did not exit after SIGTERM")
	}
}

// writeConfig writes src, with DATA replaced by dir, to dir/t.yaml.
func writeConfig(t *testing.T, dir, src string) string {
	t.Helper()
	cfg := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(src, "DATA", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tonewallCmd is the test binary standing in for tonewall.
func tonewallCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TONEWALL_AS_MAIN=1")
	return cmd
}

// startTonewall starts `tonewall run --config cfg`, killed at the end of the
// test, and returns its JSON log lines.
func startTonewall(t *testing.T, cfg string) (*exec.Cmd, <-chan map[string]any) {
	t.Helper()
	cmd := tonewallCmd("run", "--config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	logs := make(chan map[string]any, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				logs <- m
			}
		}
		close(logs)
	}()
	return cmd, logs
}

func waitLog(t *testing.T, logs <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-logs:
			if !ok {
				t.Fatalf("tonewall exited before logging %q", msg)
			}
			if m["msg"] == msg {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q log line in 10s", msg)
		}
	}
}

// TestRunReloadsOnSIGHUP: SIGHUP re-reads the file: a key added works; a
// file that does not validate is refused with one error line naming its
// line, and the key stays in force.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, runConfig)
	cmd, logs := startTonewall(t, cfg)
	api, _ := waitLog(t, logs, "tonewall ready")["api"].(string)
	const key = "tw_reload_key_8Jq2"
	sum := sha256.Sum256([]byte(key))
	withKey := strings.Replace(runConfig, `api: {address: "127.0.0.1:0"}`,
		`api: {address: "127.0.0.1:0", keys: [{name: ops, role: supervisor, sha256: `+hex.EncodeToString(sum[:])+`}]}`, 1)
	if code := getCalls(t, api, key); code != http.StatusUnauthorized {
		t.Fatalf("GET /v1/calls before the reload: %d", code)
	}
	writeConfig(t, dir, withKey)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := waitLog(t, logs, "configuration reloaded"); fmt.Sprint(m["changed"]) != "[api.keys]" {
		t.Fatalf("reload log: %v", m)
	}
	if code := getCalls(t, api, key); code != http.StatusOK {
		t.Fatalf("GET /v1/calls with the key added: %d", code)
	}
	writeConfig(t, dir, strings.Replace(withKey, "drain_timeout: 1s", "drain_timeout: soon", 1))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	m := waitLog(t, logs, "configuration reload refused; the configuration in force stays")
	if e, _ := m["error"].(string); !strings.Contains(e, "t.yaml: yaml: unmarshal errors: line 5: cannot unmarshal") || strings.Contains(e, "\n") || m["level"] != "error" {
		t.Fatalf("refusal log: %v", m)
	}
	if code := getCalls(t, api, key); code != http.StatusOK {
		t.Fatalf("GET /v1/calls after a refused reload: %d", code)
	}
}

func getCalls(t *testing.T, api, key string) int {
	t.Helper()
	res, err := http.DefaultClient.Do(&http.Request{Method: "GET", URL: &url.URL{Scheme: "http", Host: api, Path: "/v1/calls"},
		Header: http.Header{"Authorization": {"Bearer " + key}}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
