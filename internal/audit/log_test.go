package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openTest(t *testing.T, path string) *Log {
	t.Helper()
	l, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// writeLog appends n records and returns the file's lines.
func writeLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	require.NoError(t, err)
	for i := range n {
		_, err := l.Append(Record{Type: CaptureEnded, Actor: "agent-1", CallID: fmt.Sprintf("call-%d", i), CaptureID: fmt.Sprintf("cap-%d", i), Outcome: "tokenized"})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	return path, readLines(t, path)
}

func readLines(t *testing.T, path string) [][]byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func join(lines ...[]byte) []byte { return bytes.Join(lines, nil) }

func TestAppendChainsAndVerifies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	fixed := time.Date(2026, 11, 24, 20, 0, 0, 123456789, time.FixedZone("x", 3600))
	l.now = func() time.Time { return fixed }
	a, err := l.Append(Record{Type: CaptureStarted, Actor: "agent-1", CallID: "c1", CaptureID: "k1"})
	require.NoError(t, err)
	b, err := l.Append(Record{Type: CaptureEnded, CallID: "c1", CaptureID: "k1", Outcome: "tokenized", Token: "9123456789011111"})
	require.NoError(t, err)

	require.EqualValues(t, 1, a.Seq)
	require.Equal(t, Genesis, a.Prev)
	require.EqualValues(t, 2, b.Seq)
	require.Equal(t, a.Hash, b.Prev)
	require.Equal(t, time.UTC, a.Time.Location())
	require.Equal(t, Head{Seq: 2, Hash: b.Hash}, l.Head())

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	n, err := VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Contains(t, string(join(readLines(t, path)...)), `"token":"9123456789011111"`)
}

func TestOpenResumesChain(t *testing.T) {
	path, _ := writeLog(t, 3)
	l := openTest(t, path)
	require.EqualValues(t, 3, l.Head().Seq)
	rec, err := l.Append(Record{Type: Detokenized, Actor: "admin", Token: "9123456789011111", Outcome: "ok"})
	require.NoError(t, err)
	require.EqualValues(t, 4, rec.Seq)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is idempotent")
	_, err = l.Append(Record{Type: Detokenized})
	require.ErrorIs(t, err, ErrClosed)
	n, err := VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 4, n)
}

func TestOpenRefusesBrokenTail(t *testing.T) {
	path, lines := writeLog(t, 3)
	cut := join(lines[0], lines[1], lines[2][:len(lines[2])/2])
	require.NoError(t, os.WriteFile(path, cut, 0o600))
	_, err := Open(path)
	require.ErrorContains(t, err, "incomplete")

	edited := join(lines[0], lines[1], bytes.Replace(lines[2], []byte("tokenized"), []byte("cancelled"), 1))
	require.NoError(t, os.WriteFile(path, edited, 0o600))
	_, err = Open(path)
	require.ErrorContains(t, err, "hash does not match")
}

func TestOpenTwiceRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	openTest(t, path)
	_, err := Open(path)
	require.ErrorContains(t, err, "in use")
	require.ErrorIs(t, err, ErrHeld)
}

// TestCheckBesideOpenLog: Check reports a log another opener holds as
// ErrHeld, without waiting and without keeping it from its holder.
func TestCheckBesideOpenLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	require.NoError(t, Check(path), "a missing log is for Open to create")
	l := openTest(t, path)
	_, err := l.Append(Record{Type: CaptureStarted, CallID: "c1"})
	require.NoError(t, err)
	start := time.Now()
	require.ErrorIs(t, Check(path), ErrHeld)
	require.Less(t, time.Since(start), lockWait/2, "Check waited on the lock")
	_, err = l.Append(Record{Type: CaptureStarted, CallID: "c2"})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, Check(path))
	l = openTest(t, path) // Check let go of its shared lock
	require.Equal(t, uint64(2), l.Head().Seq)
}

// TestCheckRefusesWhatOpenRefuses: a cut last record, and a path that is a
// directory.
func TestCheckRefusesWhatOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	require.NoError(t, os.WriteFile(path, []byte(`{"seq":1`), 0o600))
	require.ErrorContains(t, Check(path), "incomplete")
	require.Error(t, Check(dir))
}

func TestConcurrentAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				_, err := l.Append(Record{Type: CaptureStarted, CallID: fmt.Sprintf("g%d", g), CaptureID: fmt.Sprintf("i%d", i)})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n, err := VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 200, n)
}

func TestVerifyDetectsTampering(t *testing.T) {
	_, lines := writeLog(t, 5)
	rehash := func(line []byte, edit func(*Record)) []byte {
		rec, reason := parseRecord(bytes.TrimSuffix(line, []byte("\n")))
		require.Empty(t, reason)
		edit(&rec)
		rec.Hash = ""
		sum, err := rec.sum()
		require.NoError(t, err)
		rec.Hash = sum
		b, err := rec.encode()
		require.NoError(t, err)
		return append(b, '\n')
	}
	l := lines
	tests := []struct {
		name     string
		log      []byte
		wantLine int
		reason   string
	}{
		{"field edited", join(l[0], l[1], bytes.Replace(l[2], []byte("tokenized"), []byte("cancelled"), 1), l[3], l[4]), 3, "hash does not match"},
		{"field edited and rehashed", join(l[0], l[1], rehash(l[2], func(r *Record) { r.Outcome = "cancelled" }), l[3], l[4]), 4, "prev does not match"},
		{"hash field replaced", join(l[0], bytes.Replace(l[1], []byte(`"hash":"`), []byte(`"hash":"0`), 1), l[2]), 2, "hash does not match"},
		{"field added", join(l[0], bytes.Replace(l[1], []byte(`{"seq"`), []byte(`{"pan":"x","seq"`), 1), l[2]), 2, "not a valid record"},
		{"whitespace added", join(l[0], bytes.Replace(l[1], []byte(`,"type"`), []byte(`, "type"`), 1)), 2, "canonical"},
		{"middle record deleted", join(l[0], l[1], l[3], l[4]), 3, "seq 4 where 3 was expected"},
		{"first record deleted", join(l[1], l[2], l[3], l[4]), 1, "seq 2 where 1 was expected"},
		{"records swapped", join(l[0], l[2], l[1], l[3], l[4]), 2, "seq 3 where 2 was expected"},
		{"deleted and renumbered", join(l[0], rehash(l[2], func(r *Record) { r.Seq = 2 })), 2, "prev does not match"},
		{"record inserted", join(l[0], l[1], rehash(l[1], func(r *Record) { r.Seq = 3; r.Prev = "x" }), l[2]), 3, "prev does not match"},
		{"bytes cut from the middle", join(l[0], l[1][:40], l[2][60:], l[3]), 2, "not a valid record"},
		{"file cut mid-record", join(l[0], l[1], l[2][:len(l[2])-10]), 3, "incomplete record"},
		{"blank line", join(l[0], []byte("\n"), l[1]), 2, "not a valid record"},
		{"two records on a line", join(l[0], bytes.TrimSuffix(l[1], []byte("\n")), l[2]), 2, "more than one record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Verify(bytes.NewReader(tt.log))
			require.ErrorIs(t, err, ErrTampered)
			var ve *VerifyError
			require.True(t, errors.As(err, &ve))
			require.Equal(t, tt.wantLine, ve.Line, err.Error())
			require.Contains(t, err.Error(), tt.reason)
			require.Contains(t, err.Error(), fmt.Sprintf("line %d:", tt.wantLine))
			require.Equal(t, tt.wantLine-1, n)
		})
	}
}

func TestVerifyEmptyAndIntact(t *testing.T) {
	n, err := Verify(strings.NewReader(""))
	require.NoError(t, err)
	require.Zero(t, n)
	_, lines := writeLog(t, 5)
	n, err = Verify(bytes.NewReader(join(lines...)))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	// Cutting whole records off the end leaves a valid, shorter chain: that
	// is what Head is for.
	n, err = Verify(bytes.NewReader(join(lines[:3]...)))
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

func TestAppendScrubsCardNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openTest(t, path)
	rec, err := l.Append(Record{
		Type:    CaptureEnded,
		CallID:  "a4111111111111111b@host",
		Reason:  "bad 378282246310005 and 5555555555554444",
		Token:   "9123456789011112", // Luhn-invalid token: kept
		Actor:   "\xff agent",       // invalid UTF-8 is made valid so the line verifies
		Outcome: "call 0123456789",  // short digit runs are not card numbers
	})
	require.NoError(t, err)
	require.Equal(t, "a[redacted]b@host", rec.CallID)
	require.Equal(t, "bad [redacted] and [redacted]", rec.Reason)
	require.Equal(t, "9123456789011112", rec.Token)
	require.Equal(t, "call 0123456789", rec.Outcome)
	require.NoError(t, l.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, pan := range []string{"4111111111111111", "378282246310005", "5555555555554444"} {
		require.NotContains(t, string(raw), pan)
	}
	_, err = VerifyFile(path)
	require.NoError(t, err)
}

func TestAppendNeedsType(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "audit.log"))
	_, err := l.Append(Record{})
	require.Error(t, err)
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"seq":1}` + "\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Verify(bytes.NewReader(b))
		if err == nil && n > 0 && !bytes.HasSuffix(b, []byte("\n")) {
			t.Fatal("an unterminated log verified")
		}
	})
}

func TestConfigDefault(t *testing.T) {
	var c Config
	require.NoError(t, c.Validate())
	require.Equal(t, DefaultFile, c.File)
}

func TestGenesisIs64Zeros(t *testing.T) { require.Equal(t, strings.Repeat("0", 64), Genesis) }

// TestTargetFieldsKeepOldRecordsCanonical: two records written before Target
// and TargetStatus existed still verify byte for byte, and the chain goes on
// from them with records that use the new fields.
func TestTargetFieldsKeepOldRecordsCanonical(t *testing.T) {
	const before = `{"seq":1,"time":"2026-01-02T03:04:05Z","type":"capture_started","actor":"desk","call_id":"c1","capture_id":"k1","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"05e8c1910dfdaf8645147ee5d6d8b01ccc80421727b89de2c3b32aec6bf7e357"}
{"seq":2,"time":"2026-01-02T03:04:05Z","type":"detokenized","actor":"ops","token":"9123456789011112","outcome":"ok","prev":"05e8c1910dfdaf8645147ee5d6d8b01ccc80421727b89de2c3b32aec6bf7e357","hash":"f9ed25f7ffd9cc70d1a09711bd2906f99f35bd5c45e1500069a14f28b356c3a2"}
`
	path := filepath.Join(t.TempDir(), "audit.log")
	require.NoError(t, os.WriteFile(path, []byte(before), 0o600))
	n, err := VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	l := openTest(t, path)
	rec, err := l.Append(Record{Type: Detokenized, Actor: "ops", Token: "9123456789011112", Outcome: "forwarded",
		Target: "pay.example:443 4111111111111111", TargetStatus: 201})
	require.NoError(t, err)
	require.Equal(t, "pay.example:443 [redacted]", rec.Target, "Target is scrubbed like every field")
	require.NoError(t, l.Close())
	lines := readLines(t, path)
	require.Contains(t, string(lines[2]), `"target":"pay.example:443 [redacted]","target_status":201,"prev":`)
	n, err = VerifyFile(path)
	require.NoError(t, err)
	require.Equal(t, 3, n)
}
