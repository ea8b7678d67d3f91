//go:build linux

package sbctest

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestProcCPUGrowsWithWork: this process's CPU time read from /proc grows
// by the CPU time the kernel reports through getrusage for the same work
// (to a clock tick at each of its two reads), and its user part is no more than the total.
func TestProcCPUGrowsWithWork(t *testing.T) {
	before, _, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	start := rusage(t)
	for rusage(t)-start < 100*time.Millisecond {
	}
	spent := rusage(t) - start
	total, user, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if total-before < spent-2*clockTick || user > total {
		t.Errorf("after %v of CPU by getrusage: total %v (was %v), user %v", spent, total, before, user)
	}
	if _, _, err := ProcCPU(-1); err == nil {
		t.Error("no error for a process that cannot exist")
	}
}

// rusage is this process's user and system CPU time by getrusage(2).
func rusage(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
