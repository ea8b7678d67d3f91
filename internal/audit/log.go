package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// ErrHeld is wrapped by the errors of Open and Check while another process
// has the log open.
var ErrHeld = errors.New("held by another process (another tonewall on the same data directory?)")

// Log appends records to one file. It is safe for concurrent use; records
// are written and fsynced one at a time, in Seq order. A Log owns its file
// and the file's advisory lock, released by Close. It starts no goroutines.
type Log struct {
	path string
	now  func() time.Time

	mu   sync.Mutex
	f    *os.File // guarded by mu; nil once closed
	seq  uint64   // guarded by mu: the last record written
	prev string   // guarded by mu: its hash
	err  error    // guarded by mu: a failed write; the chain cannot be extended after one
}

// Head is the position of the chain: the last record's seq and hash.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// Open opens (or creates, mode 0600) the log at path and resumes the chain
// from its last record, which it checks. It refuses a log whose last line is
// cut or edited: run Verify to find out what happened. Open does not read
// the whole file; Verify does.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, lockErr(path, err)
	}
	last, err := lastRecord(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	l := &Log{path: path, now: time.Now, f: f, seq: 0, prev: Genesis}
	if last != nil {
		l.seq, l.prev = last.Seq, last.Hash
	}
	return l, nil
}

// Check tells whether Open(path) would succeed, as far as it can without
// creating anything or holding a lock that Open would have to wait for: an
// existing log must open for appending and end in an intact record. A
// missing file passes (whether Open can create it is the caller's to
// prove). While another process has the log open, Check still checks the
// file, then returns an error wrapping ErrHeld.
func Check(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close() // releases the shared lock
	held := lockShared(f)
	if _, err := lastRecord(f); err != nil {
		return fmt.Errorf("audit: %s: %w", path, err)
	}
	if held != nil {
		return lockErr(path, held)
	}
	return nil
}

func lockErr(path string, err error) error {
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("audit: %s is in use: %w", path, ErrHeld)
	}
	return fmt.Errorf("audit: lock %s: %w", path, err)
}

// lastRecord reads and checks the file's last line; nil for an empty file.
func lastRecord(f *os.File) (*Record, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size == 0 {
		return nil, nil
	}
	n := min(size, int64(maxLine)+1)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return nil, err
	}
	if buf[len(buf)-1] != '\n' {
		return nil, errors.New("last record is incomplete (cut or torn write); run audit verify")
	}
	body := buf[:len(buf)-1]
	start := bytes.LastIndexByte(body, '\n') + 1
	if start == 0 && n < size {
		return nil, fmt.Errorf("last record is longer than %d bytes", maxLine)
	}
	rec, reason := parseRecord(body[start:])
	if reason != "" {
		return nil, fmt.Errorf("last record: %s; run audit verify", reason)
	}
	return &rec, nil
}

// Append fills rec's Seq, Time (when zero), Prev and Hash, writes it as one
// line and fsyncs. It returns the record as written. After a failed write
// every later Append fails too: a torn line must not be chained over.
//
// The lock is held across the write and the fsync on purpose: the order of
// the chain is the order of the file, and Append returns only once its
// record is durable. Nothing else runs under it.
func (l *Log) Append(rec Record) (Record, error) {
	if rec.Type == "" {
		return Record{}, errors.New("audit: record has no type")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return Record{}, ErrClosed
	}
	if l.err != nil {
		return Record{}, l.err
	}
	if rec.Time.IsZero() {
		rec.Time = l.now()
	}
	rec.clean()
	rec.Seq, rec.Prev, rec.Hash = l.seq+1, l.prev, ""
	sum, err := rec.sum()
	if err != nil {
		return Record{}, fmt.Errorf("audit: %w", err)
	}
	rec.Hash = sum
	line, err := rec.encode()
	if err != nil {
		return Record{}, fmt.Errorf("audit: %w", err)
	}
	if err := l.write(append(line, '\n')); err != nil {
		l.err = fmt.Errorf("audit: %s: write failed, log is read-only until reopened: %w", l.path, err)
		return Record{}, l.err
	}
	l.seq, l.prev = rec.Seq, rec.Hash
	return rec, nil
}

func (l *Log) write(line []byte) error {
	if _, err := l.f.Write(line); err != nil {
		return err
	}
	return l.f.Sync()
}

// Head returns the last record's seq and hash (0 and Genesis when empty).
// Keeping it elsewhere lets Verify's caller notice records cut from the end.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Head{Seq: l.seq, Hash: l.prev}
}

// Close syncs and closes the file, releasing its lock. Idempotent.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("audit: close %s: %w", l.path, err)
	}
	return nil
}
