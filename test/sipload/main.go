// Command sipload measures tonewall's B2BUA: calls per second through it
// (INVITE → 180 → 200 → ACK → BYE, loopback), the CPU time and heap
// allocations tonewall spends per call, and the memory it holds per
// established call. It starts tonewall as a child process on a generated
// config, plays the carrier and the contact center itself with sipgo user
// agents, and prints a line of figures per round and one in summary.
//
//	go run ./test/sipload -tonewall bin/tonewall -transport udp -calls 5000 -workers 64 -rounds 3
//
// CPU per call is the child's utime+stime (/proc/PID/stat, all threads)
// over a round, setup to teardown with the media sessions' drain, divided
// by the round's calls; allocations and bytes allocated per call are
// go_memstats_mallocs_total and go_memstats_alloc_bytes_total from
// tonewall's /metrics over the same span.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

type options struct {
	bin, tp                      string
	calls, workers, hold, rounds int
}

func main() {
	var o options
	flag.StringVar(&o.bin, "tonewall", "bin/tonewall", "tonewall binary")
	flag.StringVar(&o.tp, "transport", "udp", "udp | tls")
	flag.IntVar(&o.calls, "calls", 2000, "calls to place in each round")
	flag.IntVar(&o.workers, "workers", 64, "calls in flight at once")
	flag.IntVar(&o.hold, "hold", 1000, "calls held up at once for the memory figure; 0: none")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of -calls calls, each with its own figures")
	flag.Parse()
	// The load generator's own sipgo chatter (retransmissions it sees) is noise here.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	slog.SetDefault(quiet)
	sip.SetDefaultLogger(quiet)
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	cc, err := newAgent(o.tp)
	if err != nil {
		return err
	}
	defer cc.Close()
	carrier, err := newAgent(o.tp)
	if err != nil {
		return err
	}
	defer carrier.Close()
	tw, err := startTonewall(o.bin, o.tp, cc.Addr)
	if err != nil {
		return err
	}
	defer tw.stop()

	if _, err := placeCalls(carrier, tw.carrier, min(200, o.calls), o.workers); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	// Memory first: after the rounds, the heap has room to spare that the
	// held calls would fill without growing the RSS.
	mem := "-"
	if o.hold > 0 {
		perCall, err := memoryPerCall(carrier, tw, o.hold)
		if err != nil {
			return err
		}
		mem = fmt.Sprintf("%.1fKiB (held %d)", perCall/1024, o.hold)
	}
	var cpu, allocs, kib []float64
	for r := 1; r <= max(o.rounds, 1); r++ {
		m, err := measureRound(carrier, tw, o.calls, o.workers)
		if err != nil {
			return err
		}
		fmt.Printf("round=%d transport=%s calls=%d workers=%d failed=%d calls/s=%.0f setup_p50=%s setup_p99=%s cpu_per_call=%.0fµs allocs_per_call=%s alloc_per_call=%sKiB load1=%s\n",
			r, o.tp, o.calls, o.workers, m.failed, m.rate, m.p50, m.p99, m.cpuPerCall, count(m.allocs), count(m.kib), m.load)
		cpu, allocs, kib = append(cpu, m.cpuPerCall), append(allocs, m.allocs), append(kib, m.kib)
	}
	fmt.Printf("transport=%s rounds=%d cpu_per_call_µs=%s allocs_per_call=%s alloc_per_call_KiB=%s rss_per_established_call=%s\n",
		o.tp, len(cpu), spread(cpu), spread(allocs), spread(kib), mem)
	return nil
}

// round is one round's figures.
type round struct {
	result
	cpuPerCall  float64 // µs
	allocs, kib float64 // heap objects and KiB allocated per call; NaN when tonewall has no /metrics
	load        string
}

// count prints x rounded, or "-" when it is NaN (not measured).
func count(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.0f", x)
}

// settle is how long a round waits after its last call for tonewall to
// finish tearing it down (the media drain is 100 ms) before reading its CPU.
const settle = 500 * time.Millisecond

// measureRound places n calls and reads tonewall's CPU time and heap totals
// on either side of them.
func measureRound(a *sipua.Agent, tw *tonewall, n, workers int) (round, error) {
	pid := tw.cmd.Process.Pid
	cpu0, _, err := sbctest.ProcCPU(pid)
	if err != nil {
		return round{}, err
	}
	h0, herr := heapTotals(tw.api)
	res, err := placeCalls(a, tw.carrier, n, workers)
	if err != nil {
		return round{}, err
	}
	time.Sleep(settle)
	cpu1, _, err := sbctest.ProcCPU(pid)
	if err != nil {
		return round{}, err
	}
	h1, herr1 := heapTotals(tw.api)
	r := round{result: res, cpuPerCall: float64((cpu1 - cpu0).Microseconds()) / float64(n),
		allocs: math.NaN(), kib: math.NaN(), load: loadAverage()}
	if herr == nil && herr1 == nil {
		r.allocs = (h1.mallocs - h0.mallocs) / float64(n)
		r.kib = (h1.bytes - h0.bytes) / 1024 / float64(n)
	}
	return r, nil
}

// spread is the median of xs and their range: "1520 (1480–1600)"; "-"
// when there are none.
func spread(xs []float64) string {
	s := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(s) == 0 {
		return "-"
	}
	slices.Sort(s)
	return fmt.Sprintf("%.0f (%.0f–%.0f)", s[len(s)/2], s[0], s[len(s)-1])
}

type result struct {
	rate     float64
	p50, p99 time.Duration
	failed   int64
}

// placeCalls runs n full calls with `workers` in flight.
func placeCalls(a *sipua.Agent, to string, n, workers int) (result, error) {
	var next, failed atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := fullCall(a, to); err != nil {
					failed.Add(1)
					continue
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f > int64(n)/100 {
		return result{}, fmt.Errorf("%d of %d calls failed", f, n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rate: float64(n) / el.Seconds(), p50: lat[n/2].Round(time.Microsecond),
		p99: lat[n*99/100].Round(time.Microsecond), failed: failed.Load()}, nil
}

// memoryPerCall holds `hold` calls up and divides tonewall's RSS growth.
func memoryPerCall(a *sipua.Agent, tw *tonewall, hold int) (float64, error) {
	time.Sleep(time.Second)
	before, err := rss(tw.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	sessions, err := holdCalls(a, tw.carrier, hold)
	defer hangup(sessions)
	if err != nil {
		return 0, err
	}
	time.Sleep(time.Second)
	after, err := rss(tw.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(hold), nil
}

type tonewall struct {
	cmd     *exec.Cmd
	carrier string // its carrier listener
	api     string // its API address, for /metrics
	dir     string
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startTonewall(bin, tp, ccAddr string) (*tonewall, error) {
	network := "udp"
	if tp != "udp" {
		network = "tcp"
	}
	cport, err := freePort(network)
	if err != nil {
		return nil, err
	}
	ccport, err := freePort(network)
	if err != nil {
		return nil, err
	}
	aport, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	api := fmt.Sprintf("127.0.0.1:%d", aport)
	cfg, err := sbc.Options{Transport: tp,
		CarrierAddr: fmt.Sprintf("127.0.0.1:%d", cport), CCAddr: fmt.Sprintf("127.0.0.1:%d", ccport),
		SIP:           sbc.SIP{TLS: &sbc.TLS{}},
		Media:         sbc.Media{Address: "127.0.0.1", PortMin: 40000, PortMax: 59999, Drain: 100 * time.Millisecond},
		ContactCenter: sbc.Trunk{Targets: []string{ccAddr}},
		API:           sbc.API{Address: api},
		LogLevel:      "warn",
	}.YAML()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sipload")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "tonewall.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &tonewall{cmd: cmd, carrier: fmt.Sprintf("127.0.0.1:%d", cport), api: api, dir: dir}
	return t, t.waitUp(network)
}

func (t *tonewall) waitUp(network string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if network == "tcp" {
			if c, err := net.Dial("tcp", t.carrier); err == nil {
				c.Close()
				return nil
			}
		} else if c, err := net.ListenPacket("udp", t.carrier); err != nil {
			return nil // bound by tonewall
		} else {
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("tonewall did not come up on %s", t.carrier)
}

func (t *tonewall) stop() {
	_ = t.cmd.Process.Signal(os.Interrupt)
	_ = t.cmd.Wait()
	_ = os.RemoveAll(t.dir)
}
