package capture

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/tonewall/tonewall/internal/media"
)

// eventPackets is one RFC 4733 press at ts: three updates, three ends.
func eventPackets(k byte, seq *uint16, ts uint32) []*media.Packet {
	code := k - '0'
	if k == '#' {
		code = 11
	}
	var out []*media.Packet
	for i, end := range []bool{false, false, false, true, true, true} {
		flags := byte(10)
		if end {
			flags |= 0x80
		}
		p := mediaPacket(*seq, "telephone-event", binary.BigEndian.AppendUint16([]byte{code, flags}, uint16(160*(min(i, 3)+1))))
		p.Header.Timestamp = ts
		*seq++
		out = append(out, p)
	}
	return out
}

// TestWebhookSigned: a capture's result is POSTed with a signature the
// receiver can check, after one failed attempt is retried; the keys, the
// capture and both attempts are counted.
func TestWebhookSigned(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	var calls atomic.Int32
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("Tonewall-Signature")
		// Recompute with the timestamp the header carries, as a receiver would.
		tsec, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		ts, err := strconv.ParseInt(tsec, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("signature %q: bad or stale timestamp", sig)
		}
		if Sign(secret, body, time.Unix(ts, 0)) != sig {
			t.Errorf("signature does not verify")
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		got <- m
	}))
	defer srv.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	svc := newServiceWith(t, Config{Delivery: Delivery{Webhook: Webhook{URL: srv.URL, SecretFile: secretFile}}}, nil, nil)
	c := attach(t, svc)
	capt := startPAN(t, svc)
	seq, ts := uint16(1), uint32(1000)
	for _, k := range "4111111111111111#" {
		for _, p := range eventPackets(byte(k), &seq, ts) {
			c.Process(p, media.EmitFunc(func(*media.Packet) { t.Error("an event inside the window was forwarded") }))
		}
		ts += 1600
		time.Sleep(time.Millisecond)
	}
	<-capt.Done()
	select {
	case m := <-got:
		if m["status"] != "tokenized" || m["token"] == nil || m["token"] == "4111111111111111" {
			t.Fatalf("webhook body %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivered")
	}
	svc.Detach("call1")
	svc.Wait()
	m := svc.metrics
	if n := testutil.ToFloat64(m.suppRFC4733); n != 17 {
		t.Errorf("dtmf suppressed rfc4733 = %v, want the 17 keys", n)
	}
	for _, want := range []struct {
		h    *prometheus.HistogramVec
		name string
		n    uint64
	}{{m.webhook, webhookStatus, 1}, {m.webhook, webhookOK, 1}, {m.webhook, webhookError, 0}, {m.duration, "tokenized", 1}} {
		if n := observations(t, want.h, want.name); n != want.n {
			t.Errorf("%s observations = %d, want %d", want.name, n, want.n)
		}
	}
}

// observations counts what h observed under label value v.
func observations(t *testing.T, h *prometheus.HistogramVec, v string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.WithLabelValues(v).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
