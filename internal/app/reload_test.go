package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
)

// reloadYAML is testYAML with more: KEYS is the api.keys list, EXTRA
// more trunks, and CDRs are on.
var reloadYAML = strings.NewReplacer(
	"routes:", "EXTRA\nroutes:",
	`api: {address: "127.0.0.1:0"}`, `api: {address: "127.0.0.1:0", keys: [KEYS]}`,
	"trunks:", "  limits: {max_calls: 10}\ntrunks:",
).Replace(testYAML) + "cdr: {file: DIR/cdr.jsonl}\n"

func keyEntry(name, key, role string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("{name: %s, sha256: %s, role: %s}", name, hex.EncodeToString(sum[:]), role)
}

// reloadEnv is a running App loaded from a file the test rewrites.
type reloadEnv struct {
	a    *App
	dir  string
	file string
}

func (e *reloadEnv) write(t *testing.T, keys, extra string, replace ...string) {
	t.Helper()
	src := strings.NewReplacer("DIR", e.dir, "KEYS", keys, "EXTRA", extra).Replace(reloadYAML)
	src = strings.NewReplacer(replace...).Replace(src)
	if err := os.WriteFile(e.file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startReloadEnv(t *testing.T) *reloadEnv {
	t.Helper()
	e := &reloadEnv{dir: t.TempDir()}
	e.file = filepath.Join(e.dir, "tonewall.yaml")
	e.write(t, keyEntry("ops", "admin-key", "admin"), "")
	cfg, err := Load(e.file)
	if err != nil {
		t.Fatal(err)
	}
	if e.a, err = New(cfg, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-e.a.Started():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return e
}

// status is the status of GET /v1/calls with a bearer key.
func (e *reloadEnv) status(t *testing.T, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.a.API.Addr()+"/v1/calls", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// options sends an OPTIONS from 127.0.0.2 to the cc listener and reports
// whether tonewall answered 200: whether that source is a trunk's.
func (e *reloadEnv) options(t *testing.T) bool {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this host: %v", err)
	}
	defer c.Close()
	to := net.UDPAddrFromAddrPort(e.a.SIP.Addr("cc"))
	msg := fmt.Sprintf("OPTIONS sip:tonewall@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%d\r\nMax-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.2>;tag=p1\r\nTo: <sip:tonewall@%s>\r\nCall-ID: probe-%d@127.0.0.2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		to, c.LocalAddr(), time.Now().UnixNano(), to, time.Now().UnixNano())
	if _, err := c.WriteTo([]byte(msg), to); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	buf := make([]byte, 2048)
	n, _, err := c.ReadFrom(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

func (e *reloadEnv) count(t *testing.T, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := e.a.reload.results.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.Counter.GetValue()
}

const newTrunk = "  - {name: pbx, role: carrier, listener: cc, sources: [127.0.0.2/32]}"

// TestReload: a valid file puts a new API key and a new trunk in force (its
// source is answered); an invalid file and a listener change are refused
// with the line of the key at fault, and the configuration in force keeps
// working; every reload reopens the CDR file; each outcome is an audit
// record and a count.
func TestReload(t *testing.T) {
	e := startReloadEnv(t)
	if e.status(t, "new-key") != http.StatusUnauthorized || e.options(t) {
		t.Fatal("the new key or the new trunk's source is taken before the reload")
	}
	keys := keyEntry("ops", "admin-key", "admin") + ", " + keyEntry("desk", "new-key", "supervisor")
	e.write(t, keys, newTrunk)
	if err := os.Rename(filepath.Join(e.dir, "cdr.jsonl"), filepath.Join(e.dir, "cdr.jsonl.1")); err != nil {
		t.Fatal(err)
	}
	sum, changed, err := e.a.Reload("signal:SIGHUP", "")
	if err != nil {
		t.Fatalf("valid reload refused: %v", err)
	}
	b, _ := os.ReadFile(e.file)
	if want := sha256.Sum256(b); sum != hex.EncodeToString(want[:]) || strings.Join(changed, ",") != "trunks,api.keys" {
		t.Fatalf("reload: sum %s changed %v", sum, changed)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "cdr.jsonl")); err != nil {
		t.Fatalf("the CDR file was not reopened: %v", err)
	}
	if e.status(t, "new-key") != http.StatusOK || !e.options(t) {
		t.Fatal("the new key or the new trunk is not in force after the reload")
	}

	for _, bad := range []struct{ replace []string }{
		{[]string{"max_calls: 10", "max_calls: lots"}},
		{[]string{`{name: cc, transport: udp, address: "127.0.0.1:0"}`, `{name: cc, transport: tcp, address: "127.0.0.1:0"}`}},
	} {
		e.write(t, keyEntry("ops", "admin-key", "admin"), "", bad.replace...)
		_, _, err := e.a.Reload("ops", "127.0.0.1")
		if err == nil {
			t.Fatalf("%v: reload applied", bad.replace)
		}
		if !strings.Contains(err.Error(), "tonewall.yaml:") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("refusal is not one line naming the file and line: %q", err)
		}
		if e.status(t, "new-key") != http.StatusOK || !e.options(t) {
			t.Fatalf("%v: the configuration in force changed after a refused reload", bad.replace)
		}
	}
	// POST /v1/reload takes the same path.
	req, _ := http.NewRequest("POST", "http://"+e.a.API.Addr()+"/v1/reload", nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != http.StatusConflict || !strings.Contains(body["message"], "tonewall.yaml:3: sip.listeners: needs a restart") {
		t.Fatalf("POST /v1/reload of a listener change: %d %v", res.StatusCode, body)
	}
	if e.count(t, "applied") != 1 || e.count(t, "refused") != 3 {
		t.Fatalf("reloads counted applied %v refused %v", e.count(t, "applied"), e.count(t, "refused"))
	}
	checkReloadRecords(t, filepath.Join(e.dir, "audit.log"), sum)
}

// checkReloadRecords: one config_reloaded record with the file's digest and
// the keys changed, then the refusals, none holding the value at fault.
func checkReloadRecords(t *testing.T, path, sum string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(r.Type), "config_") {
			types = append(types, string(r.Type))
		}
		switch {
		case r.Type == audit.ConfigReloaded && (r.Digest != sum || strings.Join(r.Changed, ",") != "trunks,api.keys" || r.Actor != "signal:SIGHUP"):
			t.Errorf("config_reloaded record: %s", line)
		case r.Type == audit.ConfigReloadRefused && (r.Reason == "" || strings.Contains(r.Reason, "lots") || r.Actor != "ops"):
			t.Errorf("config_reload_refused record: %s", line)
		}
	}
	if got := strings.Join(types, ","); got != "config_reloaded,config_reload_refused,config_reload_refused,config_reload_refused" {
		t.Fatalf("audit records %s", got)
	}
	if _, err := audit.VerifyFile(path); err != nil {
		t.Fatal(err)
	}
}

// TestChangedKeys: keys are named down to the scalar or list, through
// inline sections; only what differs is named.
func TestChangedKeys(t *testing.T) {
	dir := t.TempDir()
	old := testConfig(t, dir)
	next := testConfig(t, dir, `{name: cc, transport: udp, address: "127.0.0.1:0"}`,
		`{name: cc, transport: udp, address: "127.0.0.1:0"}`+"\n  tls: {min_version: \"1.3\"}\n  limits: {max_calls: 5}",
		"audit:", "media: {port_min: 21000}\nlog: {level: debug}\naudit:")
	got := strings.Join(changedKeys(old, next), ",")
	if got != "sip.tls.min_version,sip.limits.max_calls,media.port_min,log.level" {
		t.Fatalf("changed keys %s", got)
	}
	if n := changedKeys(old, testConfig(t, dir)); len(n) != 0 {
		t.Fatalf("the same file changed %v", n)
	}
}
