package cdr

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testPAN = "4111111111111111"

func testConfig(t *testing.T, edit func(*Config)) Config {
	t.Helper()
	c := Config{File: filepath.Join(t.TempDir(), "cdr", "cdr.jsonl")}
	if edit != nil {
		edit(&c)
	}
	require.NoError(t, c.Validate())
	return c
}

// startTest starts a writer with hooks set by edit before its goroutine runs.
func startTest(t *testing.T, cfg Config, hook func(*Writer)) *Writer {
	t.Helper()
	w := newWriter(cfg, prometheus.NewRegistry(), zap.NewNop())
	if hook != nil {
		hook(w)
	}
	require.NoError(t, w.start())
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func count(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	require.NoError(t, c.Write(&d))
	return d.Counter.GetValue()
}

func record(id string) Record {
	t0 := time.Date(2026, 12, 2, 14, 20, 0, 123456789, time.UTC)
	return Record{CallID: id, LegACallID: "a-" + id, LegBCallID: "b-" + id, FromTrunk: "carrier", ToTrunk: "contact_center",
		Start: t0, Answer: t0.Add(1500 * time.Millisecond), End: t0.Add(61500 * time.Millisecond),
		Result: Answered, Code: 200, Hangup: Caller, Reason: "BYE from carrier",
		Captures: []Capture{{ID: "cap_1", State: "tokenized"}, {ID: "cap_2", State: "failed", Reason: "invalid_card"}}}
}

// lines reads a file's records as JSON objects.
func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "%s", sc.Text())
		out = append(out, m)
	}
	return out
}

// TestRecordLine: one JSON line with RFC 3339 millisecond UTC times, the
// answered duration, the captures' outcomes; a field holding a card number
// (a peer chose its Call-ID) is redacted.
func TestRecordLine(t *testing.T) {
	r := record("c1")
	r.LegACallID = testPAN + "@carrier"
	b, err := r.encode()
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(b), "}\n") && strings.Count(string(b), "\n") == 1)
	require.NotContains(t, string(b), testPAN)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, "2026-12-02T14:20:00.123Z", m["start"])
	require.Equal(t, "2026-12-02T14:20:01.623Z", m["answer"])
	require.Equal(t, "2026-12-02T14:21:01.623Z", m["end"])
	require.EqualValues(t, 60000, m["duration_ms"])
	require.Equal(t, "[redacted]", m["leg_a_call_id"])
	require.Equal(t, "caller", m["hangup"])
	require.EqualValues(t, 200, m["sip_code"])
	require.Equal(t, []any{map[string]any{"id": "cap_1", "state": "tokenized"},
		map[string]any{"id": "cap_2", "state": "failed", "reason": "invalid_card"}}, m["captures"])

	r = Record{CallID: "c2", LegACallID: "a", FromTrunk: "carrier", Start: r.Start, End: r.Start, Result: Refused, Code: 503, Hangup: Tonewall}
	b, err = r.encode()
	require.NoError(t, err)
	require.NotContains(t, string(b), `"answer"`)
	require.Contains(t, string(b), `"duration_ms":0`)
}

// TestReopen: logrotate moves the file and asks for a reopen; what was
// written before stays in the moved file, what comes after goes to a new
// file at the path.
func TestReopen(t *testing.T) {
	cfg := testConfig(t, nil)
	w := startTest(t, cfg, nil)
	w.Write(record("before"))
	require.NoError(t, w.Reopen()) // flushes the queue first
	require.NoError(t, os.Rename(cfg.File, cfg.File+".1"))
	w.Write(record("moved")) // still goes to the moved file: not reopened yet
	require.NoError(t, w.Reopen())
	w.Write(record("after"))
	require.NoError(t, w.Close())
	old, cur := lines(t, cfg.File+".1"), lines(t, cfg.File)
	require.Len(t, old, 2)
	require.Equal(t, "before", old[0]["call_id"])
	require.Equal(t, "moved", old[1]["call_id"])
	require.Len(t, cur, 1)
	require.Equal(t, "after", cur[0]["call_id"])
	fi, err := os.Stat(cfg.File)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.ErrorIs(t, w.Reopen(), ErrClosed)
}

// TestMaxSize: past max_size the file is renamed aside with the time in
// its name and a new one started; no record is lost or split.
func TestMaxSize(t *testing.T) {
	one, err := func() ([]byte, error) { r := record("c000"); return r.encode() }()
	require.NoError(t, err)
	cfg := testConfig(t, func(c *Config) { c.MaxSize = "1KB" })
	require.EqualValues(t, 1024, cfg.maxBytes)
	tick := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	w := startTest(t, cfg, func(w *Writer) {
		w.now = func() time.Time { tick = tick.Add(time.Millisecond); return tick }
	})
	const n = 20
	for i := range n {
		w.Write(record(strings.Repeat("x", 3) + string(rune('a'+i))))
		require.NoError(t, w.Reopen()) // one batch per record, so each can rotate
	}
	require.NoError(t, w.Close())
	files, err := filepath.Glob(cfg.File + "*")
	require.NoError(t, err)
	perFile := int(1024 / len(one))
	require.GreaterOrEqual(t, len(files), n/perFile, "files %v", files)
	total := 0
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		require.LessOrEqual(t, fi.Size(), int64(1024), f)
		if f != cfg.File {
			require.Regexp(t, `cdr\.jsonl\.20261202T1400\d\d\.\d{3}Z$`, f)
		}
		total += len(lines(t, f))
	}
	require.Equal(t, n, total)
}

// TestQueueBounded: while the writer is stuck (a disk that does not
// answer), Write never waits: past the queue's room records are dropped
// and counted; once the disk answers, what was queued is written.
func TestQueueBounded(t *testing.T) {
	cfg := testConfig(t, func(c *Config) { c.Fsync = FsyncEveryRecord; c.Queue = 3 })
	stuck, entered := make(chan struct{}), make(chan struct{}, 1)
	w := startTest(t, cfg, func(w *Writer) {
		w.sync = func(f *os.File) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-stuck
			return f.Sync()
		}
	})
	w.Write(record("first"))
	<-entered // the writer holds "first", waiting on the disk
	start := time.Now()
	for i := range 10 {
		w.Write(record("queued" + string(rune('0'+i))))
	}
	require.Less(t, time.Since(start), 100*time.Millisecond, "Write waited for the writer")
	require.Equal(t, 7.0, count(t, w.dropped.WithLabelValues("queue_full")))
	close(stuck)
	require.NoError(t, w.Close())
	require.Len(t, lines(t, cfg.File), 4)
	require.Equal(t, 4.0, count(t, w.written))
	w.Write(record("late"))
	require.Equal(t, 1.0, count(t, w.dropped.WithLabelValues("closed")))
}

// TestFsyncPolicy: every_record fsyncs each write, interval at most once
// per interval and only after a write, never only at close.
func TestFsyncPolicy(t *testing.T) {
	for _, tt := range []struct {
		policy    string
		min, max  int64
		afterWait int64 // syncs once idle, before Close
	}{
		{FsyncEveryRecord, 5, 5, 5},
		{FsyncInterval, 1, 5, -1},
		{FsyncNever, 0, 0, 0},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			cfg := testConfig(t, func(c *Config) { c.Fsync = tt.policy; c.FsyncInterval = 20 * time.Millisecond })
			var syncs atomic.Int64
			w := startTest(t, cfg, func(w *Writer) {
				w.sync = func(f *os.File) error { syncs.Add(1); return f.Sync() }
			})
			for i := range 5 {
				w.Write(record(string(rune('a' + i))))
				require.Eventually(t, func() bool { return count(t, w.written) == float64(i+1) }, time.Second, time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // intervals enough for the last write to be fsynced
			got := syncs.Load()
			require.GreaterOrEqual(t, got, tt.min)
			require.LessOrEqual(t, got, tt.max)
			time.Sleep(60 * time.Millisecond)
			require.Equal(t, got, syncs.Load(), "fsync while nothing was written")
			require.NoError(t, w.Close())
			require.Equal(t, got+1, syncs.Load(), "Close does not fsync")
		})
	}
}

// TestOff: no file, no writer; a nil writer takes records and does nothing.
func TestOff(t *testing.T) {
	cfg := Config{}
	require.NoError(t, cfg.Validate())
	require.Equal(t, FsyncInterval, cfg.Fsync)
	w, err := Open(cfg, nil, zap.NewNop())
	require.NoError(t, err)
	require.Nil(t, w)
	w.Write(record("x"))
	require.NoError(t, w.Reopen())
	require.NoError(t, w.Close())
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		edit func(*Config)
		err  string
	}{
		{func(c *Config) { c.Fsync = "sometimes" }, "cdr.fsync"},
		{func(c *Config) { c.MaxSize = "10 parsecs" }, "cdr.max_size"},
		{func(c *Config) { c.MaxSize = "-1MB" }, "cdr.max_size"},
		{func(c *Config) { c.Queue = -1 }, "cdr.queue"},
		{func(c *Config) { c.File = "-" }, "cdr.file"},
	} {
		c := Config{File: "x"}
		tt.edit(&c)
		require.ErrorContains(t, c.Validate(), tt.err)
	}
	c := Config{File: "x", MaxSize: "100MB"}
	require.NoError(t, c.Validate())
	require.EqualValues(t, 100<<20, c.maxBytes)
}
