package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
)

// reloading is a Status that also reloads: each call applies next (the
// keys a file would hold) to the server, or fails with refuse.
type reloading struct {
	noCalls
	srv     *Server
	next    []Key
	refuse  error
	callers []string
}

func (r *reloading) Reload(actor, source string) (string, []string, error) {
	r.callers = append(r.callers, actor+"@"+source)
	if r.refuse != nil {
		return "", nil, r.refuse
	}
	r.srv.SetKeys(r.next)
	return "ab12", []string{"api.keys"}, nil
}

// TestReloadSwapsKeys: POST /v1/reload is for admin keys only; once the
// reload has put a new key list in force, a removed key fails its next
// request with 401 and an added one works; a refused reload answers 409
// and changes nothing.
func TestReloadSwapsKeys(t *testing.T) {
	st := &reloading{}
	s := New(Config{Address: "127.0.0.1:0", Keys: testAPIKeys()}, st, nil, prometheus.NewRegistry(), zap.NewNop())
	st.srv = s
	run(t, s)
	e := &detokEnv{base: "http://" + s.Addr()}
	require.Equal(t, http.StatusForbidden, e.send(t, "POST", "/v1/reload", "Bearer super-key", ""))
	require.Empty(t, st.callers, "a supervisor's request reached the reloader")

	st.refuse = errors.New("tonewall.yaml:3: sip.listeners: needs a restart")
	require.Equal(t, http.StatusConflict, e.send(t, "POST", "/v1/reload", "Bearer admin-key", ""))
	require.Equal(t, http.StatusOK, e.send(t, "GET", "/v1/calls", "Bearer super-key", ""))

	st.refuse = nil
	var keep []Key
	for _, k := range testAPIKeys() {
		if k.Role != RoleSupervisor {
			keep = append(keep, k)
		}
	}
	sum := sha256.Sum256([]byte("new-super-key"))
	st.next = append(keep, Key{Name: "new-supervisor", SHA256: hex.EncodeToString(sum[:]), Role: RoleSupervisor})
	require.Equal(t, http.StatusOK, e.send(t, "POST", "/v1/reload", "Bearer admin-key", ""))
	require.Equal(t, []string{"admin-holder@127.0.0.1", "admin-holder@127.0.0.1"}, st.callers)
	require.Equal(t, http.StatusUnauthorized, e.send(t, "GET", "/v1/calls", "Bearer super-key", ""), "a removed key still works")
	require.Equal(t, http.StatusOK, e.send(t, "GET", "/v1/calls", "Bearer new-super-key", ""), "an added key does not work")
}

// TestReloadEndsRevokedStreams: an event stream opened with a key that a
// reload removes gets no event after the swap and ends; one whose key stays
// goes on.
func TestReloadEndsRevokedStreams(t *testing.T) {
	leakCheck(t)
	src := newFakeSource()
	e := startEdge(t, Config{}, noCalls{}, nil, withSource(src))
	gone := e.openEvents(t, "super-key")
	var keep []Key
	for _, k := range testAPIKeys() {
		if k.Role != RoleSupervisor {
			keep = append(keep, k)
		}
	}
	e.s.SetKeys(keep)
	src.ch <- capture.Event{CaptureID: "cap_1", State: "collecting"}
	rest, err := io.ReadAll(gone.lines) // ends: the server closed the stream
	require.NoError(t, err)
	require.Equal(t, "\n", string(rest), "a revoked key's stream got more than the end of its first comment")
	require.Equal(t, 1.0, gauge(e.s.metrics.streamsDropped.WithLabelValues(keyRevoked)))
	kept := e.openEvents(t, "agent-key")
	src.ch <- capture.Event{CaptureID: "cap_2", State: "collecting"}
	require.Equal(t, "\n", kept.line(t)) // the end of the first comment
	require.Equal(t, "event: capture\n", kept.line(t))
}
