package soak

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// size is how much a soak runs.
type size struct {
	name     string
	rate     float64       // calls started per second, warm-up and run alike
	warm     time.Duration // the warm-up before the baseline
	run      time.Duration // the measured run
	hold     time.Duration // an answered call without capture lasts hold to 2×hold
	t1, t4   time.Duration // SIP's T1 and T4 (sipgo's timers, package-wide)
	seed     int64         // of the call mix
	full     bool
	override string // SOAK_RATE / SOAK_DURATION as given, for the log
}

// linger is how long a finished transaction stays in a user agent: its
// Timer D, J, L or M is 64×T1 (D as TestMain sets it), Timer I and K are T4. The heap and goroutine
// baselines are taken once every transaction of what ran before is gone.
func (s size) linger() time.Duration { return max(64*s.t1, s.t4) + time.Second }

// sizeFromEnv is the modest soak, or the full one with SOAK_FULL=1;
// SOAK_RATE (calls/s) and SOAK_DURATION (of the run) override either, and
// SOAK_SEED picks another call mix.
func sizeFromEnv() size {
	s := size{name: "modest", rate: 6, warm: 5 * time.Second, run: 25 * time.Second, hold: time.Second,
		t1: 100 * time.Millisecond, t4: time.Second, seed: 1}
	if os.Getenv("SOAK_FULL") != "" {
		// Production's timers: T1 500 ms, T4 5 s.
		s = size{name: "full", rate: 20, warm: 40 * time.Second, run: 5 * time.Minute, hold: 2 * time.Second,
			t1: 500 * time.Millisecond, t4: 5 * time.Second, seed: 1, full: true}
	}
	if v, err := strconv.ParseFloat(os.Getenv("SOAK_RATE"), 64); err == nil && v > 0 {
		s.rate, s.override = v, s.override+" SOAK_RATE="+os.Getenv("SOAK_RATE")
	}
	if v, err := time.ParseDuration(os.Getenv("SOAK_DURATION")); err == nil && v > 0 {
		s.run, s.override = v, s.override+" SOAK_DURATION="+os.Getenv("SOAK_DURATION")
	}
	if v, err := strconv.ParseInt(os.Getenv("SOAK_SEED"), 10, 64); err == nil {
		s.seed, s.override = v, s.override+" SOAK_SEED="+os.Getenv("SOAK_SEED")
	}
	return s
}

func (s size) String() string {
	return fmt.Sprintf("%s soak: %.0f calls/s, %s warm-up, %s run, hold %s-%s, T1 %s, T4 %s, seed %d%s",
		s.name, s.rate, s.warm, s.run, s.hold, 2*s.hold, s.t1, s.t4, s.seed, s.override)
}
