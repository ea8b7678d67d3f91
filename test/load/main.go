// Command load runs simulated G.711 calls through tonewall's media relay on
// loopback, and the same traffic through a bare UDP forwarder, and reports
// loss, added latency and CPU per relayed packet for both. The simulated
// phones run in a child process (this binary with -role phones), so the CPU
// figure is the relay's or the forwarder's alone.
//
//	go run ./test/load -calls 500 -duration 10s -srtp gcm
//
// With -rounds it compares capture stages on the relay in ABBA rounds, which
// is how the stage's cost is measured on a machine whose speed drifts; with
// -phase the rounds run inside one run of the relay, every call switching
// stage at once every phase, so that what is compared is seconds apart:
//
//	go run ./test/load -calls 1000 -srtp gcm -mode relay -stage none,mix,closed,open -rounds 6 -phase 2s
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

type options struct {
	calls    int
	duration time.Duration
	srtp     string // off | aes80 | aes32 | gcm: the suite on both legs
	mode     string // both | relay | forward
	portMin  int
	profile  string        // CPU profile file, "" = none
	stage    string        // none | closed | open | mix: tonewall's capture stage on carrier→contact center
	search   int           // when > calls: grow calls by half until loss ≥ 0.1 % or this many
	rounds   int           // with a list of stages: ABBA rounds comparing them (relay only)
	phase    time.Duration // with rounds: switch stages inside one run, this long each
	role     string        // "" (the relay and the driver) or phones (the child process)
}

func main() {
	var o options
	flag.IntVar(&o.calls, "calls", 100, "simultaneous calls")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	flag.StringVar(&o.srtp, "srtp", "off", "SRTP on both legs: off, aes80, aes32 or gcm")
	flag.StringVar(&o.mode, "mode", "both", "relay, forward (bare UDP forwarder), forward-batch (the same with recvmmsg/sendmmsg) or both (forward, forward-batch, relay)")
	flag.IntVar(&o.portMin, "port-min", 20000, "first port of the relay's range")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the relay (or forwarder) process here; the phones are not in it")
	flag.IntVar(&o.search, "search", 0, "find the largest N (from -calls, growing by half, up to this) with loss under 0.1 %, for each path")
	flag.StringVar(&o.stage, "stage", "none", "capture stage on each relayed call: none, closed (installed, no window), open (a capture window open for the whole run) or mix (installed on every call, a window open on 5 % of them); with -rounds, a comma-separated list, the first the reference")
	flag.IntVar(&o.rounds, "rounds", 0, "compare the -stage list on the relay in this many ABBA rounds (each stage run twice a round), printing each stage's CPU per packet over the first's")
	flag.DurationVar(&o.phase, "phase", 0, "with -rounds: compare the stages inside one run of the relay, all calls switching stage together every phase (e.g. 1s), instead of one run per stage; -duration is then set by the rounds")
	flag.StringVar(&o.role, "role", "", "internal: phones runs the simulated phones for a parent load process")
	flag.Usage = usage
	flag.Parse()
	if o.role == "phones" {
		if err := runPhones(o); err != nil {
			fmt.Fprintln(os.Stderr, "load phones:", err)
			os.Exit(1)
		}
		return
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(o options) error {
	if o.rounds > 0 && o.phase > 0 { // one run holds every phase, and one warm-up
		o.duration = o.phase*time.Duration(1+2*len(strings.Split(o.stage, ","))*o.rounds) + time.Second
	}
	fmt.Printf("%d calls, 50 packets/s each way, %s, srtp=%s, stage=%s: %d packets due\n", o.calls, o.duration, o.srtp, o.stage,
		int64(o.calls)*100*int64(o.duration/time.Second))
	fmt.Println("latency is one way, phone to phone; µs CPU per packet received: the relay (or forwarder) process alone, and the phones process")
	printHeader()
	if o.rounds > 0 {
		stages := strings.Split(o.stage, ",")
		if o.mode != "relay" || len(stages) < 2 || o.search > 0 {
			return fmt.Errorf("-rounds compares stages on the relay: give -mode relay, -stage with two or more (e.g. none,open), and no -search")
		}
		if o.phase > 0 {
			return phases(o, stages, o.rounds)
		}
		return rounds(o, stages, o.rounds)
	}
	modes := []string{o.mode}
	if o.mode == "both" {
		modes = []string{"forward", "forward-batch", "relay"}
	}
	for _, m := range modes {
		if o.search > o.calls {
			if err := search(o, m); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			continue
		}
		res, err := measure(o, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		res.print(m)
	}
	return nil
}

// usage is flag's, less the internal -role.
func usage() {
	fmt.Fprintf(flag.CommandLine.Output(), "Usage of %s:\n", os.Args[0])
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name == "role" {
			return
		}
		name, text := flag.UnquoteUsage(f)
		fmt.Fprintf(flag.CommandLine.Output(), "  -%s %s\n    \t%s", f.Name, name, text)
		switch {
		case f.DefValue == "" || f.DefValue == "0":
		case name == "string":
			fmt.Fprintf(flag.CommandLine.Output(), " (default %q)", f.DefValue)
		default:
			fmt.Fprintf(flag.CommandLine.Output(), " (default %s)", f.DefValue)
		}
		fmt.Fprintln(flag.CommandLine.Output())
	})
}

// search grows the number of calls by half until loss reaches 0.1 % (or
// o.search), and prints the largest N that stayed under it.
func search(o options, mode string) error {
	best := 0
	for n := o.calls; n <= o.search; n += n / 2 {
		o.calls = n
		res, err := measure(o, mode)
		if err != nil {
			return err
		}
		res.print(fmt.Sprintf("%s@%d", mode, n))
		if res.lossPercent() >= 0.1 {
			break
		}
		best = n
	}
	fmt.Printf("%s: largest N under 0.1 %% loss: %d (searched up to %d)\n", mode, best, o.search)
	return nil
}
