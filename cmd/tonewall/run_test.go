package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
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
	dir := t.TempDir()
	cfg := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(runConfig, "DATA", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TONEWALL_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
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
