package capture

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/audit"
)

// TestFailClosed: another package's egress check ends an open capture
// failed with its reason (digits wiped, audited), withdraws the result of
// one that has ended, and reports whether the capture was found.
func TestFailClosed(t *testing.T) {
	r := newRig(t, Config{}, Point{Policy: "api"})
	require.False(t, r.svc.FailClosed("cap_nope", "api_egress"))

	open, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	for _, k := range "4111" {
		r.press(r.c, byte(k))
	}
	require.True(t, r.svc.FailClosed(open.ID(), "api_egress"))
	st := r.end(open)
	require.Zero(t, st.Digits)
	r.requireFailedClosed(st, "api_egress")

	done, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	for _, k := range "4111111111111111#" {
		r.press(r.c, byte(k))
	}
	require.Equal(t, "tokenized", r.end(done).State)
	require.True(t, r.svc.FailClosed(done.ID(), "sip_egress"))
	r.requireFailedClosed(done.Status(), "sip_egress")
	require.True(t, r.svc.FailClosed(done.ID(), "other"), "found again")
	require.Equal(t, "sip_egress", done.Status().Reason, "the first reason stands")
}

// egressRig is a call whose results go by webhook and SIP INFO, both
// recorded.
type egressRig struct {
	*rig
	mu      sync.Mutex
	webhook [][]byte
	info    [][]byte
}

func newEgressRig(t *testing.T) *egressRig {
	e := &egressRig{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(req.Body)
		e.mu.Lock()
		e.webhook = append(e.webhook, b.Bytes())
		e.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("0123456789abcdef-secret"), 0o600))
	cfg := Config{Delivery: Delivery{Webhook: Webhook{URL: srv.URL, SecretFile: secret}}}
	e.rig = newRig(t, cfg, Point{Policy: "api", Deliver: func(_ string, body []byte) error {
		e.mu.Lock()
		e.info = append(e.info, body)
		e.mu.Unlock()
		return nil
	}})
	return e
}

// capture keys a card as RFC 4733 events and waits for the end.
func (e *egressRig) capture() (*Window, Status) {
	capt, err := e.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(e.t, err)
	for _, k := range "4111111111111111#" {
		e.press(e.c, byte(k))
	}
	return capt, e.end(capt)
}

func (e *egressRig) sent() (webhook, info []map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	parse := func(bodies [][]byte) []map[string]any {
		var out []map[string]any
		for _, b := range bodies {
			require.NotContains(e.t, string(b), "4111111111111111", "a card number left")
			var m map[string]any
			require.NoError(e.t, json.Unmarshal(b, &m))
			out = append(out, m)
		}
		return out
	}
	return parse(e.webhook), parse(e.info)
}

// TestEgressBlocked: a result body that holds a card number is not sent by
// its path; the capture fails closed (egress_blocked), every path gets the
// failed result instead, and the block is counted.
func TestEgressBlocked(t *testing.T) {
	for _, path := range []string{pathWebhook, pathSIPInfo} {
		t.Run(path, func(t *testing.T) {
			e := newEgressRig(t)
			e.svc.egressHook = func(p string, body []byte) []byte {
				if p == path && bytes.Contains(body, []byte(`"tokenized"`)) {
					return bytes.Replace(body, []byte(`"brand"`), []byte(`"pan":"4111111111111111","brand"`), 1)
				}
				return body
			}
			_, st := e.capture()
			e.requireFailedClosed(st, ReasonEgressBlocked)
			require.Equal(t, 1.0, e.counter("tonewall_capture_egress_blocked_total", "path", path))
			webhook, info := e.sent()
			for _, got := range [][]map[string]any{webhook, info} {
				require.Len(t, got, 1)
				require.Equal(t, "failed", got[0]["status"])
				require.Equal(t, ReasonEgressBlocked, got[0]["reason"])
				require.Nil(t, got[0]["token"])
			}
			require.Empty(t, e.records(audit.MaskLeak))
		})
	}
}

// TestEgressPassesTokens: ordinary results, with a token, go out by both
// paths and nothing is counted.
func TestEgressPassesTokens(t *testing.T) {
	e := newEgressRig(t)
	_, st := e.capture()
	require.Equal(t, "tokenized", st.State)
	webhook, info := e.sent()
	for _, got := range [][]map[string]any{webhook, info} {
		require.Len(t, got, 1)
		require.Equal(t, "tokenized", got[0]["status"])
		require.Equal(t, st.Token, got[0]["token"])
	}
	for _, p := range []string{pathWebhook, pathSIPInfo} {
		require.Zero(t, e.counter("tonewall_capture_egress_blocked_total", "path", p))
	}
}

// TestFailClosedFromDelivery: a SIP egress check that blocks the result
// INFO calls FailClosed from inside the delivery, on the capture's own
// goroutine: no deadlock, and the result is withdrawn.
func TestFailClosedFromDelivery(t *testing.T) {
	var r *rig
	r = newRig(t, Config{}, Point{Policy: "api", Deliver: func(_ string, body []byte) error {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		require.True(t, r.svc.FailClosed(m["capture_id"].(string), "sip_egress"))
		return nil
	}})
	capt, err := r.svc.Start("call1", Request{Fields: []string{"pan"}})
	require.NoError(t, err)
	for _, k := range "4111111111111111#" {
		r.press(r.c, byte(k))
	}
	r.end(capt)
	r.requireFailedClosed(capt.Status(), "sip_egress")
}
