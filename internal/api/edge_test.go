package api

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
)

// edgeEnv is an API server on loopback with the test keys and the bounds
// of cfg (the rest default), checked for leaked goroutines when the test
// ends, after the server has stopped.
type edgeEnv struct {
	s    *Server
	addr string
	stop func()
}

// startEdge runs the server; opts change it before it serves. Call
// leakCheck first.
func startEdge(t *testing.T, cfg Config, st Status, caps *capture.Service, opts ...func(*Server)) *edgeEnv {
	t.Helper()
	cfg.Address, cfg.Keys = "127.0.0.1:0", testAPIKeys()
	s := New(cfg, st, caps, prometheus.NewRegistry(), zap.NewNop())
	for _, o := range opts {
		o(s)
	}
	stop := run(t, s)
	return &edgeEnv{s: s, addr: s.Addr(), stop: stop}
}

// leakCheck fails the test if it leaves goroutines behind, checked after
// every other cleanup (the first registered runs last).
func leakCheck(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func (e *edgeEnv) url(path string) string { return "http://" + e.addr + path }

// get makes one request on a connection of its own and returns the status
// and the answer.
func (e *edgeEnv) get(t *testing.T, path, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", e.url(path), nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := oneShot.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// dial opens a raw connection to the API, closed when the test ends.
func (e *edgeEnv) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedByServer reports whether the server closed c within d: a read
// ends in EOF or a reset rather than the deadline.
func closedByServer(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// gauge is the value of a gauge or a counter.
func gauge(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 5*time.Millisecond, what)
}

// TestConnectionCap: past api.max_connections a connection is accepted and
// closed at once, and counted; those within the cap stay open, and once
// they close a request is served again.
func TestConnectionCap(t *testing.T) {
	const max, extra = 3, 2
	leakCheck(t)
	leakCheck(t)
	e := startEdge(t, Config{MaxConnections: max, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second}, noCalls{}, nil)
	held := make([]net.Conn, max)
	for i := range held {
		held[i] = e.dial(t)
	}
	eventually(t, "the first connections accepted", func() bool { return gauge(e.s.metrics.connsOpen) == max })
	for i := range extra {
		require.True(t, closedByServer(e.dial(t), 2*time.Second), "connection %d over the cap left open", i)
	}
	require.Equal(t, float64(extra), gauge(e.s.metrics.connsRefused))
	require.Equal(t, float64(max), gauge(e.s.metrics.connsOpen))
	require.False(t, closedByServer(held[0], 50*time.Millisecond), "a connection within the cap was closed")

	for _, c := range held {
		require.NoError(t, c.Close())
	}
	eventually(t, "the slots given back", func() bool { return gauge(e.s.metrics.connsOpen) == 0 })
	code, _ := e.get(t, "/healthz", "")
	require.Equal(t, http.StatusOK, code)
}

// TestSlowHeaderSenderClosed: a client that sends its headers slower than
// api.read_header_timeout loses the connection at the deadline, with no
// answer.
func TestSlowHeaderSenderClosed(t *testing.T) {
	const timeout = 200 * time.Millisecond
	leakCheck(t)
	leakCheck(t)
	e := startEdge(t, Config{ReadHeaderTimeout: timeout}, noCalls{}, nil)
	c := e.dial(t)
	start := time.Now()
	_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: tonewall\r\nX-Slow: ")
	require.NoError(t, err)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	require.NoError(t, err, "closed by the server, not the test's deadline")
	require.Empty(t, got)
	require.GreaterOrEqual(t, time.Since(start), timeout-20*time.Millisecond) // timer slack
	require.Less(t, time.Since(start), 2*time.Second)
	eventually(t, "the slot given back", func() bool { return gauge(e.s.metrics.connsOpen) == 0 })
}

// TestRefusalClosesKeepAlive: a 401 or 403 ends its keep-alive
// connection; a served request keeps it.
func TestRefusalClosesKeepAlive(t *testing.T) {
	leakCheck(t)
	leakCheck(t)
	e := startEdge(t, Config{}, noCalls{}, nil)
	for _, tt := range []struct {
		name, authorization string
		code                int
	}{
		{"no key", "", http.StatusUnauthorized},
		{"unknown key", "Bearer " + unknownKey, http.StatusUnauthorized},
		{"role may not", "Bearer agent-key", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			br := bufio.NewReader(c)
			res := roundTrip(t, c, br, "/v1/calls", "Bearer super-key")
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.False(t, res.Close, "a served request keeps the connection")
			res = roundTrip(t, c, br, "/v1/calls", tt.authorization)
			require.Equal(t, tt.code, res.StatusCode)
			require.True(t, res.Close, "Connection: close")
			require.True(t, closedByServer(c, 2*time.Second), "the connection stayed open")
		})
	}
}

// roundTrip sends a GET on a kept-alive connection and reads its answer.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, path, authorization string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://tonewall"+path, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	require.NoError(t, req.Write(c))
	res, err := http.ReadResponse(br, req)
	require.NoError(t, err)
	_, err = io.Copy(io.Discard, res.Body)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res
}

// TestBearerCaseInsensitive: the scheme's name is matched without regard
// to case (RFC 7235); the key itself is not.
func TestBearerCaseInsensitive(t *testing.T) {
	leakCheck(t)
	leakCheck(t)
	e := startEdge(t, Config{}, noCalls{}, nil)
	for auth, want := range map[string]int{
		"Bearer super-key":  http.StatusOK,
		"bearer super-key":  http.StatusOK,
		"BEARER super-key":  http.StatusOK,
		"bEaReR  super-key": http.StatusOK,
		"Bearer SUPER-KEY":  http.StatusUnauthorized,
		"Bearersuper-key":   http.StatusUnauthorized,
		"Basic super-key":   http.StatusUnauthorized,
		"bearer ":           http.StatusUnauthorized,
	} {
		code, _ := e.get(t, "/v1/calls", auth)
		require.Equal(t, want, code, "%q", auth)
	}
}
