package cdr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("cdr: closed")

// maxBatch bounds the bytes one write takes from the queue.
const maxBatch = 64 << 10

// Writer takes records from the SIP path and writes them out from its own
// goroutine. A nil *Writer takes records and does nothing: CDRs are off.
type Writer struct {
	cfg     Config
	log     *zap.Logger
	q       chan Record
	reopen  chan chan error
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	once    sync.Once
	dropped *prometheus.CounterVec // by reason: queue_full, write_error, closed
	written prometheus.Counter

	// The writer goroutine's alone.
	f        *os.File
	size     int64
	dirty    bool // written since the last fsync
	buf      []byte
	lastWarn time.Time
	now      func() time.Time     // names of rotated files
	sync     func(*os.File) error // fsync; tests count it
	closeErr error
}

// Open opens (or creates, 0600) the file and starts the writer goroutine,
// which Close ends. It returns nil, nil when cfg names no file. cfg must be
// validated; the writer's series are registered in reg.
func Open(cfg Config, reg prometheus.Registerer, log *zap.Logger) (*Writer, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	w := newWriter(cfg, reg, log)
	if err := w.start(); err != nil {
		return nil, err
	}
	return w, nil
}

func newWriter(cfg Config, reg prometheus.Registerer, log *zap.Logger) *Writer {
	f := promauto.With(reg)
	return &Writer{cfg: cfg, log: log, q: make(chan Record, cfg.Queue), reopen: make(chan chan error),
		stop: make(chan struct{}), done: make(chan struct{}), now: time.Now, sync: (*os.File).Sync,
		dropped: f.NewCounterVec(prometheus.CounterOpts{Name: "tonewall_cdr_dropped_total",
			Help: "Call detail records not written: queue_full (the writer fell behind), write_error, closed (after shutdown began)."},
			[]string{"reason"}),
		written: f.NewCounter(prometheus.CounterOpts{Name: "tonewall_cdr_records_total",
			Help: "Call detail records written to cdr.file."}),
	}
}

// start opens the file and starts the goroutine.
func (w *Writer) start() error {
	if err := w.open(); err != nil {
		return err
	}
	go w.run()
	return nil
}

// Write queues a record without waiting; when the queue is full the
// record is dropped and counted.
func (w *Writer) Write(r Record) {
	if w == nil {
		return
	}
	if w.closed.Load() {
		w.dropped.WithLabelValues("closed").Inc()
		return
	}
	select {
	case w.q <- r:
	default:
		w.dropped.WithLabelValues("queue_full").Inc()
	}
}

// Reopen has the writer close its file and open the path again, after what
// is queued now is written: logrotate moves the file, then signals.
func (w *Writer) Reopen() error {
	if w == nil {
		return nil
	}
	ack := make(chan error, 1)
	select {
	case w.reopen <- ack:
		return <-ack
	case <-w.done:
		return ErrClosed
	}
}

// Close writes what is queued, fsyncs, closes the file and ends the
// goroutine. Idempotent.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.stop)
	})
	<-w.done
	return w.closeErr
}

func (w *Writer) run() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.cfg.Fsync == FsyncInterval {
		t := time.NewTicker(w.cfg.FsyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r := <-w.q:
			w.batch(r)
		case <-tick:
			w.fsync()
		case ack := <-w.reopen:
			w.drain()
			ack <- w.reopenFile()
		case <-w.stop:
			w.drain()
			w.closeErr = w.closeFile()
			return
		}
	}
}

// drain writes what is queued now.
func (w *Writer) drain() {
	for {
		select {
		case r := <-w.q:
			w.batch(r)
		default:
			return
		}
	}
}

// batch writes r and whatever else is queued, up to maxBatch, in one write.
func (w *Writer) batch(r Record) {
	w.buf = w.buf[:0]
	n := 0
	for more := true; more; {
		if b, err := r.encode(); err == nil {
			w.buf = append(w.buf, b...)
			n++
		}
		more = false
		if len(w.buf) < maxBatch {
			select {
			case r = <-w.q:
				more = true
			default:
			}
		}
	}
	w.write(n)
}

// write puts the buffer, n records, in the file: after renaming the file
// aside if it would grow past max_size, and fsynced for every_record.
func (w *Writer) write(n int) {
	if w.f == nil {
		if err := w.open(); err != nil {
			w.fail(n, err)
			return
		}
	}
	if w.cfg.maxBytes > 0 && w.size > 0 && w.size+int64(len(w.buf)) > w.cfg.maxBytes {
		if err := w.rotate(); err != nil {
			w.warn("cdr file not rotated", err) // written on past max_size rather than lost
		}
	}
	m, err := w.f.Write(w.buf)
	w.size += int64(m)
	if err != nil {
		w.fail(n, err)
		return
	}
	w.dirty = true
	w.written.Add(float64(n))
	if w.cfg.Fsync == FsyncEveryRecord {
		w.fsync()
	}
}

func (w *Writer) fail(n int, err error) {
	w.dropped.WithLabelValues("write_error").Add(float64(n))
	w.warn("cdr records not written", err)
}

// warn logs at most one error every 10 s: a full disk fails every write.
func (w *Writer) warn(msg string, err error) {
	if now := time.Now(); now.Sub(w.lastWarn) >= 10*time.Second {
		w.lastWarn = now
		w.log.Error(msg, zap.String("file", w.cfg.File), zap.Error(err))
	}
}

func (w *Writer) fsync() {
	if w.f == nil || !w.dirty {
		return
	}
	w.dirty = false
	if err := w.sync(w.f); err != nil {
		w.warn("cdr file fsync failed", err)
	}
}

// open opens the file at its path for appending.
func (w *Writer) open() error {
	if err := os.MkdirAll(filepath.Dir(w.cfg.File), 0o700); err != nil {
		return fmt.Errorf("cdr: %w", err)
	}
	f, err := os.OpenFile(w.cfg.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cdr: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("cdr: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// closeFile fsyncs what was written and closes the file.
func (w *Writer) closeFile() error {
	if w.f == nil {
		return nil
	}
	w.dirty = true // Close and Reopen fsync whatever the policy
	w.fsync()
	err := w.f.Close()
	w.f = nil
	return err
}

func (w *Writer) reopenFile() error {
	err := errors.Join(w.closeFile(), w.open())
	if err != nil {
		w.warn("cdr file not reopened", err) // the next write tries again
	}
	return err
}

// rotate renames the file aside as <file>.<UTC time> and opens a new one.
func (w *Writer) rotate() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	aside := w.cfg.File + "." + w.now().UTC().Format("20060102T150405.000Z")
	for i := 1; exists(aside); i++ {
		aside = fmt.Sprintf("%s.%s-%d", w.cfg.File, w.now().UTC().Format("20060102T150405.000Z"), i)
	}
	err := os.Rename(w.cfg.File, aside)
	return errors.Join(err, w.open())
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
