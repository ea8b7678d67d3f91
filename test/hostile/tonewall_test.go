package hostile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// tonewall is the binary running as a child process for one test.
type tonewall struct {
	cmd   *exec.Cmd
	api   string            // the control API's address
	addrs map[string]string // "udp:carrier" placeholder → bound host:port
	dir   string            // data dir: vault, audit log, certificates
	http  *http.Client      // one kept-alive connection: it works when no descriptor is left
	exit  chan error        // the process's end
	mu    sync.Mutex
	logs  []string // stderr lines
}

// placeholder is ${udp:name} or ${tcp:name} in a test's YAML: a free
// loopback port of that kind.
var placeholder = regexp.MustCompile(`\$\{(udp|tcp):(\w+)\}`)

// base is what every test's YAML shares.
const base = `
media: {address: 127.0.0.1, port_min: 40000, port_max: 49999, drain: 10ms}
vault: {local: {dir: "DATA"}}
audit: {file: "DATA/audit.log"}
log: {level: info}
`

// topology is the sip: listeners, trunks and routes of a test's tonewall:
// per transport a listener carrier_<transport> at ${udp:carrier_udp} or
// ${tcp:carrier_<transport>} with its carrier trunk, every one routed to
// the contact-center trunk cc on a UDP listener at ${udp:cc}.
type topology struct {
	transports []string // udp, tcp, tls: one carrier listener and trunk each
	sources    string   // every trunk's sources, a CIDR
	target     string   // the contact center's target host:port
	sip        string   // more lines of the sip: section, indented
	trunk      string   // more fields of each carrier trunk, ", key: value"
}

func (tp topology) yaml() string {
	var b strings.Builder
	b.WriteString("\nsip:\n  listeners:\n")
	var routes []string
	for _, tr := range tp.transports {
		kind := map[bool]string{true: "udp", false: "tcp"}[tr == "udp"]
		fmt.Fprintf(&b, "    - {name: carrier_%s, transport: %s, address: \"${%s:carrier_%s}\"}\n", tr, tr, kind, tr)
		routes = append(routes, fmt.Sprintf("{from: carrier_%s, to: cc}", tr))
	}
	fmt.Fprintf(&b, "    - {name: cc, transport: udp, address: \"${udp:cc}\"}\n%strunks:\n", tp.sip)
	for _, tr := range tp.transports {
		fmt.Fprintf(&b, "  - {name: carrier_%s, role: carrier, listener: carrier_%s, sources: [%s]%s}\n", tr, tr, tp.sources, tp.trunk)
	}
	fmt.Fprintf(&b, "  - {name: cc, role: contact_center, listener: cc, sources: [%s], targets: [\"sip:%s\"]}\n", tp.sources, tp.target)
	fmt.Fprintf(&b, "routes: [%s]\n", strings.Join(routes, ", "))
	return b.String()
}

// start runs `tonewall run --config` on yaml (placeholders filled, DATA the
// test's directory), with at most nofile descriptors when nofile > 0, and
// kills it when the test ends.
func start(t *testing.T, yaml string, nofile int) *tonewall {
	t.Helper()
	tw := &tonewall{addrs: map[string]string{}, dir: t.TempDir(), exit: make(chan error, 1)}
	yaml = placeholder.ReplaceAllStringFunc(yaml+base, func(m string) string {
		if a, ok := tw.addrs[m]; ok {
			return a
		}
		tw.addrs[m] = freeAddr(t, placeholder.FindStringSubmatch(m)[1])
		return tw.addrs[m]
	})
	if !strings.Contains(yaml, "\napi:") {
		yaml += "api: {address: \"127.0.0.1:0\"}\n"
	}
	cfg := filepath.Join(tw.dir, "tonewall.yaml")
	must(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(yaml, "DATA", tw.dir)), 0o600))
	tw.cmd = limited(nofile, bin, "run", "--config", cfg)
	stderr, err := tw.cmd.StderrPipe()
	must(t, err)
	must(t, tw.cmd.Start())
	ready := make(chan string, 1)
	go tw.read(stderr, ready)
	t.Cleanup(func() { tw.stop(t) })
	select {
	case tw.api = <-ready:
	case err := <-tw.exit:
		t.Fatalf("tonewall exited before ready: %v\n%s", err, tw.logText())
	case <-time.After(20 * time.Second):
		t.Fatalf("tonewall not ready in 20s\n%s", tw.logText())
	}
	tw.http = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	return tw
}

// limited is the command line run with an RLIMIT_NOFILE of n (none when
// n is 0): prlimit from util-linux where present, else the shell's ulimit.
func limited(n int, args ...string) *exec.Cmd {
	if n <= 0 {
		return exec.Command(args[0], args[1:]...)
	}
	if p, err := exec.LookPath("prlimit"); err == nil {
		return exec.Command(p, append([]string{fmt.Sprintf("--nofile=%d:%d", n, n), "--"}, args...)...)
	}
	return exec.Command("bash", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$@"`, n), "tonewall"}, args...)...)
}

// read keeps tonewall's log lines and sends the API address once ready;
// it ends with the process.
func (tw *tonewall) read(r io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tw.mu.Lock()
		if len(tw.logs) < 10000 {
			tw.logs = append(tw.logs, line)
		}
		tw.mu.Unlock()
		var m struct{ Msg, API string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "tonewall ready" {
			ready <- m.API
		}
	}
	tw.exit <- tw.cmd.Wait()
}

func (tw *tonewall) logText() string {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return strings.Join(tw.logs, "\n")
}

// alive fails the test if tonewall has exited.
func (tw *tonewall) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-tw.exit:
		tw.exit <- err
		t.Fatalf("tonewall exited: %v\n%s", err, tw.logText())
	default:
	}
}

// stop interrupts tonewall and waits for it (and the log reader) to end.
func (tw *tonewall) stop(t *testing.T) {
	if tw.http != nil {
		tw.http.CloseIdleConnections()
	}
	t0 := time.Now()
	_ = tw.cmd.Process.Signal(os.Interrupt)
	select {
	case <-tw.exit:
	case <-time.After(60 * time.Second):
		_ = tw.cmd.Process.Kill()
		<-tw.exit
	}
	if d := time.Since(t0); d > 10*time.Second { // SIGINT stops now (design.md)
		t.Errorf("tonewall took %s to stop on SIGINT (killed at 60s), want under 10s", d.Round(100*time.Millisecond))
	}
	if t.Failed() {
		t.Logf("tonewall log:\n%s", tw.logText())
	}
}

// addr is the address a placeholder ("udp:carrier") was given.
func (tw *tonewall) addr(name string) string { return tw.addrs["${"+name+"}"] }

// get fetches an API path and returns status and body.
func (tw *tonewall) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := tw.http.Get("http://" + tw.api + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	return res.StatusCode, string(b)
}

// metric sums the samples of a Prometheus series: a name, or a name with
// some of its labels ("tonewall_sip_dropped_total{reason=\"scanner\"").
func (tw *tonewall) metric(t *testing.T, series string) float64 {
	t.Helper()
	code, body := tw.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	name, labels, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"{")) || !strings.Contains(f[0], labels) {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		must(t, err)
		sum += v
	}
	return sum
}

// waitMetric polls a series until ok holds or the deadline passes, and
// returns its last value.
func (tw *tonewall) waitMetric(t *testing.T, series string, within time.Duration, ok func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		v := tw.metric(t, series)
		if ok(v) || time.Now().After(deadline) {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpu is the CPU time tonewall has used, user and system.
func (tw *tonewall) cpu(t *testing.T) time.Duration {
	t.Helper()
	total, _, err := sbctest.ProcCPU(tw.cmd.Process.Pid)
	must(t, err)
	return total
}

// fds is the number of descriptors tonewall holds open.
func (tw *tonewall) fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", tw.cmd.Process.Pid))
	must(t, err)
	return len(ents)
}

// freeAddr is a loopback address with a port free for network now.
func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		must(t, err)
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
