package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/sip"
	"github.com/tonewall/tonewall/internal/vault"
)

// someCalls is a tonewall with the calls given.
type someCalls struct {
	noCalls
	calls []sip.CallInfo
}

func (s someCalls) Call(id string) (sip.CallInfo, bool) {
	for _, c := range s.calls {
		if c.ID == id {
			return c, true
		}
	}
	return sip.CallInfo{}, false
}

// failer records the captures the server fails closed.
type failer struct {
	mu     sync.Mutex
	failed []string
}

func (f *failer) FailClosed(captureID, reason string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = append(f.failed, captureID+":"+reason)
	return true
}

func (f *failer) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.failed...)
}

// egressSpy gives the server a failer and a log the test reads.
func egressSpy(f *failer, logs **observer.ObservedLogs) func(*Server) {
	return func(s *Server) {
		core, obs := observer.New(zapcore.DebugLevel)
		s.log, *logs, s.failer = zap.New(core), obs, f
	}
}

// requireBlockedLogged: one error line for the hit, naming the route,
// holding no digit but the route's /v1/.
func requireBlockedLogged(t *testing.T, logs *observer.ObservedLogs, route string) {
	t.Helper()
	lines := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, lines, 1)
	fields := fmt.Sprint(lines[0].Message, lines[0].ContextMap())
	require.Contains(t, fields, route)
	require.NotRegexp(t, `[0-9]`, strings.ReplaceAll(fields, "/v1/", "/"), "a digit besides the route's version")
}

// TestEgressBlocksACardNumber: an answer that holds a Luhn-valid run is
// not sent: 500 egress_blocked, counted, logged without the body, and the
// capture it concerns failed closed. The same route's ordinary answer
// passes.
func TestEgressBlocksACardNumber(t *testing.T) {
	leakCheck(t)
	f, logs := &failer{}, (*observer.ObservedLogs)(nil)
	calls := someCalls{calls: []sip.CallInfo{
		{ID: "c-1", State: "confirmed", CaptureID: "k-1", CaptureState: "collecting", ContactCall: "leg-" + testPAN + "@cc"},
		{ID: "c-2", State: "confirmed", CaptureID: "k-2", CaptureState: "tokenized", ContactCall: "leg-9000000000000002@cc"},
	}}
	e := startEdge(t, Config{}, calls, nil, egressSpy(f, &logs))

	code, body := e.get(t, "/v1/calls/c-2", "Bearer agent-key")
	require.Equal(t, http.StatusOK, code, "a token (Luhn-invalid) passes")
	require.Contains(t, body, "9000000000000002")

	code, body = e.get(t, "/v1/calls/c-1", "Bearer agent-key")
	require.Equal(t, http.StatusInternalServerError, code)
	require.NotContains(t, body, testPAN[:6])
	var p struct{ Error, Message string }
	require.NoError(t, json.Unmarshal([]byte(body), &p), body)
	require.Equal(t, "egress_blocked", p.Error)
	require.NotEmpty(t, p.Message)
	require.Equal(t, 1.0, gauge(e.s.metrics.egressBlocked))
	require.Equal(t, []string{"k-1:egress_blocked"}, f.got())
	requireBlockedLogged(t, logs, "GET /v1/calls/{id}")
}

// TestEgressEndsAStreamOnACardNumber: an event that holds a Luhn-valid run
// is not sent and the stream ends; the capture is failed closed.
func TestEgressEndsAStreamOnACardNumber(t *testing.T) {
	leakCheck(t)
	f, logs := &failer{}, (*observer.ObservedLogs)(nil)
	src := newFakeSource()
	e := startEdge(t, Config{}, noCalls{}, nil, withSource(src), egressSpy(f, &logs))
	st := e.openEvents(t, "agent-key")
	src.ch <- capture.Event{CallID: "c-1", CaptureID: "k-1", Type: "state", State: "tokenized", Token: "9000000000000002", Last4: "0002"}
	src.ch <- capture.Event{CallID: "c-1", CaptureID: "k-1", Type: "state", State: "tokenized", Token: testPAN, Last4: "1111"}
	rest, err := io.ReadAll(st.lines)
	require.NoError(t, err, "the stream ends")
	require.Contains(t, string(rest), "9000000000000002", "the ordinary event went out")
	require.NotContains(t, string(rest), testPAN[:6])
	require.Equal(t, 1, strings.Count(string(rest), "event: capture"))
	require.Equal(t, 1.0, gauge(e.s.metrics.egressBlocked))
	require.Equal(t, 1.0, gauge(e.s.metrics.streamsDropped.WithLabelValues(egressBlocked)))
	require.Equal(t, []string{"k-1:egress_blocked"}, f.got())
	requireBlockedLogged(t, logs, "GET /v1/events")
}

// TestEgressPassesACaptureToTheEnd: a real capture, its card keyed as SIP
// INFO DTMF, answers every GET up to tokenized (token, brand, last four)
// and never trips the check.
func TestEgressPassesACaptureToTheEnd(t *testing.T) {
	leakCheck(t)
	v, err := vault.NewLocal(vault.LocalConfig{Dir: t.TempDir()}, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	capCfg := capture.Config{}
	require.NoError(t, capCfg.Validate())
	svc := capture.NewService(capCfg, v, nil, nil, zap.NewNop())
	ctrl, err := svc.Attach("c-1", capture.Point{Policy: "api"})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Detach("c-1"); svc.Wait() })
	e := startEdge(t, Config{}, someCalls{calls: []sip.CallInfo{{ID: "c-1"}}}, svc)

	req, err := http.NewRequest("POST", e.url("/v1/calls/c-1/captures"), strings.NewReader(`{"fields":["pan"]}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer agent-key")
	res, err := oneShot.Do(req)
	require.NoError(t, err)
	var st capture.Status
	require.NoError(t, json.NewDecoder(res.Body).Decode(&st))
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusCreated, res.StatusCode)

	for _, k := range testPAN + "#" {
		require.True(t, ctrl.OnInfo("application/dtmf-relay", []byte("Signal="+string(k)+"\r\nDuration=160\r\n")))
	}
	var last string
	require.Eventually(t, func() bool {
		code, body := e.get(t, "/v1/calls/c-1/captures/"+st.ID, "Bearer agent-key")
		require.Equal(t, http.StatusOK, code, body)
		last = body
		return strings.Contains(body, `"state":"tokenized"`)
	}, 5*time.Second, 10*time.Millisecond)
	require.Contains(t, last, `"last4":"1111"`)
	require.Regexp(t, `"token":"[0-9]{16}"`, last)
	require.Equal(t, 0.0, gauge(e.s.metrics.egressBlocked))
}
