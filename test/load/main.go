// Command load runs simulated G.711 calls through tonewall's media relay on
// loopback, and the same traffic through a bare UDP forwarder and through
// rtpengine (Sipwise's media proxy, userspace forwarding, when installed),
// and reports loss, added latency and CPU per relayed packet for each. The
// simulated phones run in a child process (this binary with -role phones),
// and rtpengine in one of its own, so the CPU figure is the relay's, the
// forwarder's or rtpengine's alone.
//
//	go run ./test/load -calls 500 -duration 10s -srtp gcm -mode all
//
// With -rounds it compares paths, or capture stages on the relay, in ABBA
// rounds, which is how a cost is measured on a machine whose speed drifts:
//
//	go run ./test/load -calls 500 -duration 5s -srtp aes80 -mode forward,relay,rtpengine -rounds 3
//
// With -phase the stages' rounds run inside one run of the relay, every call
// switching stage at once every phase, so that what is compared is seconds
// apart:
//
//	go run ./test/load -calls 1000 -srtp gcm -mode relay -stage none,mix,closed,open -rounds 6 -phase 2s
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

type options struct {
	calls            int
	duration         time.Duration
	srtp             string // off | aes80 | aes32 | gcm: the suite on both legs
	mode             string // a path (relay | forward | forward-batch | rtpengine), a list of them, both or all
	portMin          int
	rtpenginePortMin int           // first of rtpengine's ports, below the relay's
	profile          string        // CPU profile file, "" = none
	stage            string        // none | closed | open | mix: tonewall's capture stage on carrier→contact center
	search           int           // when > calls: grow calls by half until loss ≥ 0.1 % or this many
	rounds           int           // with a list of paths, or of stages (relay only): ABBA rounds comparing them
	phase            time.Duration // with rounds: switch stages inside one run, this long each
	role             string        // "" (the relay and the driver) or phones (the child process)
}

func main() {
	var o options
	flag.IntVar(&o.calls, "calls", 100, "simultaneous calls")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	flag.StringVar(&o.srtp, "srtp", "off", "SRTP on both legs: off, aes80, aes32 or gcm")
	flag.StringVar(&o.mode, "mode", "both", "relay, forward (bare UDP forwarder), forward-batch (the same with recvmmsg/sendmmsg), rtpengine (Sipwise's, userspace), a comma-separated list of them, both (forward, forward-batch, relay) or all (the four)")
	flag.IntVar(&o.portMin, "port-min", 20000, "first port of the relay's range")
	flag.IntVar(&o.rtpenginePortMin, "rtpengine-port-min", 4000, "first port of rtpengine's media range (4 ports a call, below -port-min); its ng control port is the one below")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the relay (or forwarder) process here; the phones and rtpengine are not in it")
	flag.IntVar(&o.search, "search", 0, "find the largest N (from -calls, growing by half, up to this) with loss under 0.1 %, for each path, the paths taken in turn at each N")
	flag.StringVar(&o.stage, "stage", "none", "capture stage on each relayed call: none, closed (installed, no window), open (a capture window open for the whole run) or mix (installed on every call, a window open on 5 % of them); with -rounds, a comma-separated list, the first the reference")
	flag.IntVar(&o.rounds, "rounds", 0, "compare the -mode list of paths, or the -stage list on the relay, in this many ABBA rounds (each run twice a round), printing each one's CPU per packet over the first's")
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
	fmt.Println("latency is one way, phone to phone; µs CPU per packet received: the relay's (forwarder's, rtpengine's) process alone, and the phones process")
	modes, err := paths(o.mode)
	if err != nil {
		return err
	}
	printHeader()
	if o.rounds > 0 {
		return compare(o, modes)
	}
	if o.search > o.calls {
		return search(o, modes)
	}
	for _, m := range modes {
		res, err := measure(o, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		res.print(m)
	}
	return nil
}

// paths are the -mode list's paths, rtpengine left out with a word when it
// is not installed.
func paths(mode string) ([]string, error) {
	var out []string
	list := strings.Split(mode, ",")
	switch mode {
	case "both":
		list = []string{"forward", "forward-batch", "relay"}
	case "all":
		list = []string{"forward", "forward-batch", "relay", "rtpengine"}
	}
	for _, m := range list {
		switch m {
		case "forward", "forward-batch", "relay":
		case "rtpengine":
			if rtpengineBinary() == "" {
				fmt.Println("rtpengine: not installed (apt-get install rtpengine-daemon): skipped")
				continue
			}
		default:
			return nil, fmt.Errorf("-mode %q: no path %q", mode, m)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-mode %q: no path to measure", mode)
	}
	return out, nil
}

// compare runs -rounds: ABBA rounds over the paths with one stage, or over
// the -stage list on the relay alone (with -phase, inside one run).
func compare(o options, modes []string) error {
	stages := strings.Split(o.stage, ",")
	switch {
	case o.search > 0:
		return fmt.Errorf("-rounds and -search do not go together")
	case len(modes) > 1 && len(stages) == 1 && o.phase == 0:
		var vs []variant
		for _, m := range modes {
			vs = append(vs, variant{name: m, mode: m, stage: o.stage})
		}
		return rounds(o, vs, o.rounds)
	case len(modes) == 1 && modes[0] == "relay" && len(stages) > 1:
		if o.phase > 0 {
			return phases(o, stages, o.rounds)
		}
		var vs []variant
		for _, st := range stages {
			vs = append(vs, variant{name: st, mode: "relay", stage: st})
		}
		return rounds(o, vs, o.rounds)
	}
	return fmt.Errorf("-rounds compares paths (-mode with two or more, one -stage, no -phase) or stages on the relay (-mode relay, -stage with two or more, e.g. none,open)")
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
// o.search), each path in turn at each N, the order reversed at every step,
// and prints the largest N that stayed under it, for each path, also when a
// run fails.
func search(o options, modes []string) error {
	best := make(map[string]int)
	defer func() {
		for _, m := range modes {
			fmt.Printf("%s: largest N under 0.1 %% loss: %d (searched up to %d)\n", m, best[m], o.search)
		}
	}()
	live := slices.Clone(modes)
	for n := o.calls; n <= o.search && len(live) > 0; n += n / 2 {
		o.calls = n
		var over []string
		for _, m := range live {
			res, err := measure(o, m)
			if err != nil {
				return fmt.Errorf("%s@%d: %w", m, n, err)
			}
			res.print(fmt.Sprintf("%s@%d", m, n))
			if res.lossPercent() >= 0.1 {
				over = append(over, m)
				continue
			}
			best[m] = n
		}
		live = slices.DeleteFunc(live, func(m string) bool { return slices.Contains(over, m) })
		slices.Reverse(live)
	}
	return nil
}
