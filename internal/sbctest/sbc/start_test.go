package sbc

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// recorder is a TB that keeps what is logged through it.
type recorder struct {
	testing.TB
	lines []string
}

func (r *recorder) Logf(format string, args ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func TestDumpLogsShowsTheTailAndKeepsAll(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	for i := range 100 {
		log.Info(fmt.Sprintf("entry %d", i))
	}
	r := &recorder{TB: t}
	dumpLogs(r, logs.All())
	if len(r.lines) != shownLogs+1 {
		t.Fatalf("%d lines printed, want %d", len(r.lines), shownLogs+1)
	}
	if !strings.Contains(r.lines[len(r.lines)-1], "entry 99") || !strings.Contains(r.lines[1], "entry 75") {
		t.Errorf("not the last entries: %q ... %q", r.lines[1], r.lines[len(r.lines)-1])
	}
	path := r.lines[0][strings.LastIndex(r.lines[0], " ")+1:]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if n := strings.Count(string(b), "\n"); n != 100 || !strings.Contains(string(b), "entry 0") {
		t.Errorf("the file holds %d entries, want all 100", n)
	}
}
