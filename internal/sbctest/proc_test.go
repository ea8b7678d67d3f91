package sbctest

import (
	"os"
	"testing"
	"time"
)

// TestProcCPUGrowsWithWork: this process's CPU time read from /proc grows
// by about the work done, and its user part is no more than the total.
func TestProcCPUGrowsWithWork(t *testing.T) {
	before, _, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
	}
	total, user, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if total-before < 50*time.Millisecond || user > total {
		t.Errorf("after 100 ms of spinning: total %v (was %v), user %v", total, before, user)
	}
	if _, _, err := ProcCPU(-1); err == nil {
		t.Error("no error for a process that cannot exist")
	}
}
