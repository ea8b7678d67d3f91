package main

import (
	"fmt"
	"time"

	"github.com/tonewall/tonewall/internal/media"
)

// phases compares stages inside one run of the relay (-phase): every call
// carries one stage per entry of the list, and all calls switch stage at
// once every phase, in ABBA rounds (the list, then reversed) n times, after
// one warm-up phase. The phones send at a fixed rate throughout, so each
// phase relays the same packets and its CPU time compares directly with
// its neighbours', seconds apart: the VM's drift over minutes, which
// swamps separate runs of 10 s, cancels within a round.
func phases(o options, stages []string, n int) error {
	res, err := measure(o, "relay")
	if err != nil {
		return err
	}
	res.print("relay, all phases")
	if loss := res.lossPercent(); loss >= 0.1 {
		return fmt.Errorf("%.3f %% loss: the relay is overloaded, so its CPU per packet means nothing; use fewer -calls", loss)
	}
	order := phaseOrder(stages, n)
	if len(res.Phases) != len(order) {
		return fmt.Errorf("%d phases measured, want %d", len(res.Phases), len(order))
	}
	// Every phase relays calls × 100 packets a second.
	perPacket := 1e6 / (float64(o.calls) * 100 * o.phase.Seconds())
	got := make(map[string][]cpuRun)
	for i, k := range order {
		got[stages[k]] = append(got[stages[k]], cpuRun{res.Phases[i].cpu * perPacket, res.Phases[i].user * perPacket})
	}
	fmt.Printf("\n%d rounds of %s phases in one run of the relay\n", n, o.phase)
	report(stages, got)
	return nil
}

// phaseOrder is the stages' indexes in ABBA order, n rounds of the list
// then the list reversed: the runs of rounds, the phases after the warm-up.
func phaseOrder(stages []string, n int) []int {
	var order []int
	for range n {
		for k := range stages {
			order = append(order, k)
		}
		for k := len(stages) - 1; k >= 0; k-- {
			order = append(order, k)
		}
	}
	return order
}

// relayCalls are the relay's sessions and, per entry of the -stage list,
// each call's stage for it (nil for none), for -phase.
type relayCalls struct {
	modes    []string
	sessions []*media.Session
	stages   [][]media.Stage
}

// set installs stage k on call i (none removes the stage).
func (rc *relayCalls) set(k, i int) { rc.sessions[i].SetStage(rc.stages[k][i]) }

// switchPhases runs the phases from now on: a warm-up phase on the first
// stage, then the ABBA rounds, switching every call at each phase's start,
// and returns the relay process's CPU time (s) and user time in each phase
// after the warm-up, scaled to a whole phase: what is timed starts once the
// calls are switched.
func (rc *relayCalls) switchPhases(o options) []cpuRun {
	order := phaseOrder(rc.modes, o.rounds)
	start := time.Now()
	time.Sleep(o.phase) // warm-up, on stage 0 as installed
	var out []cpuRun
	for i, k := range order {
		for c := range rc.sessions {
			rc.set(k, c)
		}
		cpu, user := cpuTimes()
		t := time.Now()
		time.Sleep(time.Until(start.Add(time.Duration(i+2) * o.phase)))
		cpu2, user2 := cpuTimes()
		scale := o.phase.Seconds() / time.Since(t).Seconds()
		out = append(out, cpuRun{(cpu2 - cpu).Seconds() * scale, (user2 - user).Seconds() * scale})
	}
	return out
}
