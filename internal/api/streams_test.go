package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/capture"
)

// fakeSource hands every subscriber the same channel, which the test feeds.
type fakeSource struct{ ch chan capture.Event }

func newFakeSource() *fakeSource { return &fakeSource{ch: make(chan capture.Event)} }

func (f *fakeSource) Subscribe() (<-chan capture.Event, func()) { return f.ch, func() {} }

func withSource(src eventSource) func(*Server) { return func(s *Server) { s.source = src } }

// stream is one GET /v1/events as a client sees it.
type stream struct {
	res    *http.Response
	lines  *bufio.Reader
	cancel context.CancelFunc
}

// openEvents opens an event stream with key; when the server takes it, the
// stream's first comment line has been read. The test's cleanup closes it.
func (e *edgeEnv) openEvents(t *testing.T, key string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url("/v1/events"), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := oneShot.Do(req)
	require.NoError(t, err)
	st := &stream{res: res, lines: bufio.NewReader(res.Body), cancel: cancel}
	t.Cleanup(st.close)
	if res.StatusCode == http.StatusOK {
		require.Equal(t, ": tonewall events\n", st.line(t))
	}
	return st
}

func (s *stream) line(t *testing.T) string {
	t.Helper()
	l, err := s.lines.ReadString('\n')
	require.NoError(t, err)
	return l
}

func (s *stream) close() {
	s.cancel()
	_ = s.res.Body.Close()
}

// problem is a refused stream's answer: status and the error code.
func (s *stream) problem(t *testing.T) (int, string) {
	t.Helper()
	var p struct{ Error, Message string }
	require.NoError(t, json.NewDecoder(s.res.Body).Decode(&p))
	require.NotEmpty(t, p.Message)
	return s.res.StatusCode, p.Error
}

// TestEventStreamCaps: past the per-key cap a key gets 429, past the total
// 503, each with a JSON error and counted; a closed stream's slot is taken
// again.
func TestEventStreamCaps(t *testing.T) {
	leakCheck(t)
	e := startEdge(t, Config{MaxEventStreams: 3, MaxEventStreamsPerKey: 2}, noCalls{}, nil, withSource(newFakeSource()))
	m := e.s.metrics
	first := e.openEvents(t, "agent-key")
	e.openEvents(t, "agent-key")
	code, errCode := e.openEvents(t, "agent-key").problem(t)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "too_many_event_streams", errCode)

	e.openEvents(t, "super-key")
	code, errCode = e.openEvents(t, "admin-key").problem(t)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "event_streams_full", errCode)
	require.Equal(t, 3.0, gauge(m.streamsOpen))
	require.Equal(t, 1.0, gauge(m.streamsRefused.WithLabelValues(refusedPerKey)))
	require.Equal(t, 1.0, gauge(m.streamsRefused.WithLabelValues(refusedTotal)))

	first.close()
	eventually(t, "the closed stream's slot given back", func() bool { return gauge(m.streamsOpen) == 2 })
	require.Equal(t, http.StatusOK, e.openEvents(t, "agent-key").res.StatusCode, "the freed slot is taken again")
	require.Equal(t, 3.0, gauge(m.streamsOpen))
}

// TestEventStreamOutlivesTimeouts: a stream stays open past the read,
// write and idle timeouts, and an event sent after them arrives.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	leakCheck(t)
	const timeout = 200 * time.Millisecond
	src := newFakeSource()
	e := startEdge(t, Config{ReadHeaderTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, IdleTimeout: timeout},
		noCalls{}, nil, withSource(src))
	st := e.openEvents(t, "agent-key")
	<-time.After(3 * timeout) // the very thing under test: time passing
	select {
	case src.ch <- capture.Event{CallID: "c-1", CaptureID: "k-1", Type: "prompt", Field: "pan"}:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream stopped reading events")
	}
	require.Equal(t, "\n", st.line(t))
	require.Equal(t, "event: capture\n", st.line(t))
	require.Contains(t, st.line(t), `"capture_id":"k-1"`)
	require.Equal(t, 1.0, gauge(e.s.metrics.streamsOpen))
}

// TestStuckEventReaderDropped: a client that stops reading is dropped
// once a write has waited api.write_timeout; its slot and goroutine go.
func TestStuckEventReaderDropped(t *testing.T) {
	leakCheck(t)
	src := newFakeSource()
	e := startEdge(t, Config{WriteTimeout: 200 * time.Millisecond}, noCalls{}, nil, withSource(src))
	c := e.dial(t)
	_, err := io.WriteString(c, "GET /v1/events HTTP/1.1\r\nHost: tonewall\r\nAuthorization: Bearer agent-key\r\n\r\n")
	require.NoError(t, err) // and never read

	big := capture.Event{CallID: "c-1", CaptureID: "k-1", Type: "state", Reason: strings.Repeat("x", 1<<20)}
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() { // until the socket buffers are full and the write waits
		defer close(fed)
		for {
			select {
			case src.ch <- big:
			case <-stop:
				return
			}
		}
	}()
	dropped := e.s.metrics.streamsDropped.WithLabelValues("write_timeout")
	eventually(t, "the stuck reader dropped", func() bool { return gauge(dropped) == 1 })
	close(stop)
	<-fed
	eventually(t, "its slot given back", func() bool { return gauge(e.s.metrics.streamsOpen) == 0 })
	eventually(t, "its connection closed", func() bool { return gauge(e.s.metrics.connsOpen) == 0 })
	require.True(t, closedByServer(c, 5*time.Second))
}
