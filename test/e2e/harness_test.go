package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/config"
)

// sbc is a tonewall running in this test process.
type sbc struct {
	app     *app.App
	cfg     *config.Config
	logs    *observer.ObservedLogs
	stop    func()
	done    chan error
	dataDir string // vault store and audit log
}

// sbcOpts shapes the test configuration.
type sbcOpts struct {
	transport    string   // udp | tcp | tls, for both trunks
	ccTargets    []string // contact-center targets (host:port)
	carrierTgts  []string // carrier targets, for calls from the contact center
	extraTrunk   string   // YAML appended to the carrier trunk
	ccTrunk      string   // YAML appended to the contact-center trunk
	sipExtra     string   // YAML appended to sip:
	sources      string   // carrier trunk sources; default 127.0.0.0/8
	sipsTargets  bool     // write contact-center targets as sips: URIs
	apiYAML      string   // replaces the api: section
	captureYAML  string   // the capture: section
	vaultYAML    string   // replaces the vault: section
	mediaYAML    string   // replaces the media: section
	routeCapture string   // capture policy of the carrier→contact-center route; default api
	carrierAddr  string   // the carrier listener's address; default 127.0.0.1:0
	dataDir      string   // vault store and audit log; set by startSBC
}

func targetURIs(tp string, addrs []string, sips bool) string {
	var out []string
	for _, a := range addrs {
		u := "sip:" + a
		if sips {
			u = "sips:" + a
		} else if tp != "udp" {
			u += ";transport=" + tp
		}
		out = append(out, fmt.Sprintf("%q", u))
	}
	return "[" + strings.Join(out, ", ") + "]"
}

func (o sbcOpts) yaml() string {
	tp := o.transport
	if tp == "" {
		tp = "udp"
	}
	tlsLine := "  tls: {verify_server: false}"
	if strings.Contains(o.sipExtra, "tls:") {
		tlsLine = ""
	}
	policy := o.routeCapture
	if policy == "" {
		policy = "api"
	}
	mediaSection := "media: {address: 127.0.0.1, port_min: 30000, port_max: 39999, drain: 10ms}"
	if o.mediaYAML != "" {
		mediaSection = o.mediaYAML
	}
	vaultSection := fmt.Sprintf("vault: {local: {dir: %q}}", o.dataDir)
	if o.vaultYAML != "" {
		vaultSection = o.vaultYAML
	}
	apiSection := `api: {address: "127.0.0.1:0"}`
	if o.apiYAML != "" {
		apiSection = strings.TrimSpace(o.apiYAML)
	}
	sources := o.sources
	if sources == "" {
		sources = "127.0.0.0/8"
	}
	carrierAddr := o.carrierAddr
	if carrierAddr == "" {
		carrierAddr = "127.0.0.1:0"
	}
	carrierTargets := o.carrierTgts
	if len(carrierTargets) == 0 {
		carrierTargets = []string{"127.0.0.1:9"}
	}
	return fmt.Sprintf(`
sip:
  listeners:
    - {name: carrier, transport: %[1]s, address: "%[16]s"}
    - {name: contact_center, transport: %[1]s, address: "127.0.0.1:0"}
%[8]s
  invite_timeout: 1500ms
  ring_timeout: 20s
  drain_timeout: 2s
  header_pass: [User-to-User, X-Genesys-*]
%[6]s
%[14]s
trunks:
  - name: carrier
    role: carrier
    listener: carrier
    sources: [%[7]s]
    targets: %[3]s
%[4]s
  - name: contact_center
    role: contact_center
    listener: contact_center
    sources: [127.0.0.0/8]
    targets: %[2]s
%[5]s
routes:
  - {from: carrier, to: contact_center, capture: %[15]s}
  - {from: contact_center, to: carrier}
%[9]s
%[13]s
audit: {file: %[11]q}
%[12]s
`, tp, targetURIs(tp, o.ccTargets, o.sipsTargets), targetURIs(tp, carrierTargets, false), indent(o.extraTrunk, "    "), indent(o.ccTrunk, "    "), indent(o.sipExtra, "  "), sources, tlsLine, apiSection, o.dataDir, o.dataDir+"/audit.log", o.captureYAML, vaultSection, mediaSection, policy, carrierAddr)
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// startSBC runs tonewall until the test ends.
func startSBC(t *testing.T, o sbcOpts) *sbc {
	t.Helper()
	o.dataDir = t.TempDir()
	cfg, err := config.Parse("test", []byte(o.yaml()))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, o.yaml())
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	if os.Getenv("E2E_LOG") != "" {
		log, _ = zap.NewDevelopment()
	}
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sbc{app: a, cfg: cfg, logs: logs, done: make(chan error, 1), dataDir: o.dataDir}
	go func() { s.done <- a.Run(ctx, nil) }()
	select {
	case <-a.Started():
	case err := <-s.done:
		t.Fatalf("tonewall did not start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("tonewall did not start in 5s")
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("tonewall stopped with error: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("tonewall did not stop in 15s")
			}
		})
	}
	t.Cleanup(s.stop)
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("tonewall %s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	})
	return s
}

// addr is a tonewall listener's bound address.
func (s *sbc) addr(listener string) string { return s.app.SIP.Addr(listener).String() }

// waitCalls waits until tonewall holds n calls.
func (s *sbc) waitCalls(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.app.ActiveCalls() != n {
		if time.Now().After(deadline) {
			t.Fatalf("active calls = %d, want %d", s.app.ActiveCalls(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deadTarget is a UDP address where a socket is bound but nothing answers.
func deadTarget(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	must(t, err)
	n, err := strconv.Atoi(p)
	must(t, err)
	return h, n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
