package sbc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/sbctest"
)

// SBC is a tonewall running in this process.
type SBC struct {
	App     *app.App
	Logs    *observer.ObservedLogs // what it logged, under Start
	DataDir string                 // its vault store and audit log

	done     chan error
	cancel   context.CancelFunc
	stopOnce sync.Once
	stopErr  error
}

// Run starts tonewall from o, logging to log, and returns once it serves.
func Run(ctx context.Context, o Options, log *zap.Logger) (*SBC, error) {
	y, err := o.YAML()
	if err != nil {
		return nil, err
	}
	a, err := build(y, o.DataDir, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &SBC{App: a, DataDir: o.DataDir, done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- a.Run(ctx, nil) }()
	select {
	case <-a.Started():
		return s, nil
	case err := <-s.done:
		cancel()
		return nil, fmt.Errorf("tonewall did not start: %w", err)
	case <-time.After(5 * time.Second):
		_ = s.Stop()
		return nil, errors.New("tonewall did not start in 5s")
	}
}

// build is the one place the kit turns YAML into a tonewall, through the
// entry points of production. With a data directory the YAML is written
// there as tonewall.yaml and loaded from it, as tonewall run --config does,
// so that a reload reads that file again.
func build(y []byte, dataDir string, log *zap.Logger) (*app.App, error) {
	var cfg *app.Config
	var err error
	if dataDir == "" {
		cfg, err = app.Parse("test", y)
	} else if err = os.WriteFile(ConfigFile(dataDir), y, 0o600); err == nil {
		cfg, err = app.Load(ConfigFile(dataDir))
	}
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, y)
	}
	return app.New(cfg, log)
}

// ConfigFile is where a tonewall started with data directory dir reads its
// configuration from.
func ConfigFile(dir string) string { return filepath.Join(dir, "tonewall.yaml") }

// Stop ends tonewall and waits up to 15 s for it; it returns what Run
// returned. Stopping again returns the same.
func (s *SBC) Stop() error {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.stopErr = <-s.done:
		case <-time.After(15 * time.Second):
			s.stopErr = errors.New("tonewall did not stop in 15s")
		}
	})
	return s.stopErr
}

// Start runs tonewall for the test, until it ends. Its vault and audit log
// go to a test directory; its logs are kept, and printed if the test
// fails: the last entries in its output, all of them in a file it names
// (E2E_LOG=1 writes them out as they come instead).
func Start(t sbctest.TB, o Options) *SBC {
	t.Helper()
	o.DataDir = t.TempDir()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	if os.Getenv("E2E_LOG") != "" {
		log, _ = zap.NewDevelopment()
	}
	s, err := Run(context.Background(), o, log)
	if err != nil {
		t.Fatal(err)
	}
	s.Logs = logs
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("tonewall stopped with error: %v", err)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, logs.All())
		}
	})
	return s
}

// shownLogs is how many of a failed test's last log entries its output
// shows: the test's own errors come before them, and a CI log shows only
// its tail.
const shownLogs = 25

// dumpLogs prints the last entries of a failed test's tonewall log and
// writes the whole log to a file under the temporary directory, named in
// the output.
func dumpLogs(t sbctest.TB, all []observer.LoggedEntry) {
	path, err := writeLogs(t.Name(), all)
	if err != nil {
		t.Logf("tonewall log not written: %v", err)
	}
	from := max(0, len(all)-shownLogs)
	t.Logf("tonewall: %d log entries, the last %d below; all in %s", len(all), len(all)-from, path)
	for _, e := range all[from:] {
		t.Logf("tonewall %s %s %v", e.Level, e.Message, e.ContextMap())
	}
}

func writeLogs(name string, all []observer.LoggedEntry) (string, error) {
	dir := filepath.Join(os.TempDir(), "tonewall-test-logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".log")
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriter(f)
	for _, e := range all {
		fmt.Fprintf(w, "%s %s %s %v\n", e.Time.Format(time.RFC3339Nano), e.Level, e.Message, e.ContextMap())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// Addr is a listener's bound address.
func (s *SBC) Addr(listener string) string { return s.App.SIP.Addr(listener).String() }

// WaitCalls waits until tonewall holds n calls.
func (s *SBC) WaitCalls(t sbctest.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.App.ActiveCalls() != n {
		if time.Now().After(deadline) {
			t.Fatalf("active calls = %d, want %d", s.App.ActiveCalls(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
