// Command sipload measures tonewall's B2BUA: calls per second through it
// (INVITE → 180 → 200 → ACK → BYE, loopback) and the memory tonewall holds
// per established call. It starts tonewall as a child process on a
// generated config, plays the carrier and the contact center itself with
// sipgo user agents, and prints one line of figures.
//
//	go run ./test/sipload -tonewall bin/tonewall -transport udp -calls 5000 -workers 64
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

func main() {
	bin := flag.String("tonewall", "bin/tonewall", "tonewall binary")
	tp := flag.String("transport", "udp", "udp | tls")
	calls := flag.Int("calls", 2000, "calls to place for the rate figure")
	workers := flag.Int("workers", 64, "calls in flight at once")
	hold := flag.Int("hold", 1000, "calls held up at once for the memory figure")
	flag.Parse()
	// The load generator's own sipgo chatter (retransmissions it sees) is noise here.
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	slog.SetDefault(quiet)
	sip.SetDefaultLogger(quiet)
	if err := run(*bin, *tp, *calls, *workers, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

func run(bin, tp string, calls, workers, hold int) error {
	cc, err := newAgent(tp)
	if err != nil {
		return err
	}
	defer cc.Close()
	carrier, err := newAgent(tp)
	if err != nil {
		return err
	}
	defer carrier.Close()
	tw, err := startTonewall(bin, tp, cc.Addr)
	if err != nil {
		return err
	}
	defer tw.stop()

	warm := min(200, calls)
	if _, err := placeCalls(carrier, tw.carrier, warm, workers); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	res, err := placeCalls(carrier, tw.carrier, calls, workers)
	if err != nil {
		return err
	}
	perCall, err := memoryPerCall(carrier, tw, hold)
	if err != nil {
		return err
	}
	fmt.Printf("transport=%s calls=%d workers=%d failed=%d calls/s=%.0f setup_p50=%s setup_p99=%s rss_per_established_call=%.1fKiB (held %d)\n",
		tp, calls, workers, res.failed, res.rate, res.p50, res.p99, perCall/1024, hold)
	return nil
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

// rss reads a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

type tonewall struct {
	cmd     *exec.Cmd
	carrier string
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
	cfg, err := sbc.Options{Transport: tp,
		CarrierAddr: fmt.Sprintf("127.0.0.1:%d", cport), CCAddr: fmt.Sprintf("127.0.0.1:%d", ccport),
		SIP:           sbc.SIP{TLS: &sbc.TLS{}},
		Media:         sbc.Media{Address: "127.0.0.1", PortMin: 40000, PortMax: 59999, Drain: 100 * time.Millisecond},
		ContactCenter: sbc.Trunk{Targets: []string{ccAddr}},
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
	t := &tonewall{cmd: cmd, carrier: fmt.Sprintf("127.0.0.1:%d", cport), dir: dir}
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
