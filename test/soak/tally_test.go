package soak

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// tally counts outcomes by name from many goroutines, and keeps the first
// failures whole.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	fails  []string
	nfail  int
}

const keptFailures = 20

func newTally() *tally { return &tally{counts: map[string]int{}} }

func (t *tally) add(name string) {
	t.mu.Lock()
	t.counts[name]++
	t.mu.Unlock()
}

// fail counts a failure under "failed: what" and keeps its detail.
func (t *tally) fail(what string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts["failed: "+what]++
	t.nfail++
	if len(t.fails) < keptFailures {
		t.fails = append(t.fails, what+": "+err.Error())
	}
}

func (t *tally) get(name string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts[name]
}

func (t *tally) failures() (int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nfail, slices.Clone(t.fails)
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.counts {
		n += c
	}
	return n
}

// lines is the tally, one "name: count" a line, by name.
func (t *tally) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(t.counts)) {
		out = append(out, fmt.Sprintf("%6d  %s", t.counts[k], k))
	}
	return out
}
