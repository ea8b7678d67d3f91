package main

import (
	"fmt"
	"slices"
	"time"
)

// variant is one thing rounds compare: a path, with a capture stage on the
// relay.
type variant struct{ name, mode, stage string }

// rounds measures each variant in turn, in ABBA order (the list, then the
// list reversed) n times, and prints each one's CPU per packet against the
// first's in the same round. The VM's speed drifts by several percent
// within minutes; ABBA makes a steady drift cancel within a round, and the
// median over rounds shrugs off the round a neighbour made noisy. Runs
// that lost 0.1 % or more are counted in, and their number printed.
func rounds(o options, vs []variant, n int) error {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.name
	}
	got := make(map[string][]cpuRun)
	lossy := make(map[string]int) // runs at 0.1 % loss or more
	for i, k := range phaseOrder(names, n) {
		r, v := i/(2*len(vs))+1, vs[k]
		o := o
		o.stage = v.stage
		res, err := measure(o, v.mode)
		if err != nil {
			return fmt.Errorf("round %d, %s: %w", r, v.name, err)
		}
		res.print(fmt.Sprintf("%d:%s", r, v.name))
		if res.lossPercent() >= 0.1 {
			lossy[v.name]++
		}
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(res.Received) }
		got[v.name] = append(got[v.name], cpuRun{per(res.RelayCPU), per(res.RelayUser)})
	}
	report(names, got)
	for _, name := range names {
		if lossy[name] > 0 {
			fmt.Printf("%s: %d of its %d runs lost 0.1 %% or more: overloaded (it, or the machine), so its CPU per packet there is a saturated one\n",
				name, lossy[name], 2*n)
		}
	}
	return nil
}

// report prints each stage's (or path's) CPU per packet over the first's,
// per round: got holds each one's two measurements a round, in round order.
func report(stages []string, got map[string][]cpuRun) {
	ref := stages[0]
	fmt.Printf("\nover %s, per round (mean of its two runs); relay µs CPU per packet, and its user-space part\n", ref)
	fmt.Printf("%-14s %-22s %-22s %s\n", "", "µs/pkt (user)", "over "+ref+": median", "(min … max, all rounds)")
	for _, st := range stages {
		var cpus, users []float64
		for _, x := range got[st] {
			cpus, users = append(cpus, x.cpu), append(users, x.user)
		}
		over, overUser := overheads(got[st], got[ref])
		if st == ref {
			fmt.Printf("%-14s %-22s %-22s\n", st, span(cpus, "%.2f")+" ("+span(users, "%.2f")+")", "—")
			continue
		}
		fmt.Printf("%-14s %-22s %+6.1f %% (user %+6.1f %%)   (%s %%; user %s %%)\n", st,
			span(cpus, "%.2f")+" ("+span(users, "%.2f")+")", median(over), median(overUser),
			span(over, "%+.1f"), span(overUser, "%+.1f"))
	}
}

// cpuRun is one measurement's relay CPU per received packet, µs, and its
// user-space part.
type cpuRun struct{ cpu, user float64 }

// overheads are, per round, a stage's runs over the reference's in percent
// (total and user): each stage runs twice a round, runs 2r and 2r+1.
func overheads(st, ref []cpuRun) (over, overUser []float64) {
	for r := 0; r+1 < len(st) && r+1 < len(ref); r += 2 {
		a, b, x, y := st[r], st[r+1], ref[r], ref[r+1]
		over = append(over, 100*((a.cpu+b.cpu)/(x.cpu+y.cpu)-1))
		overUser = append(overUser, 100*((a.user+b.user)/(x.user+y.user)-1))
	}
	return over, overUser
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// span is "min … max" of v.
func span(v []float64, verb string) string {
	return fmt.Sprintf(verb+"–"+verb, slices.Min(v), slices.Max(v))
}
