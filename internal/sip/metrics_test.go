package sip

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/cdr"
)

// TestTrafficLabelsAreBounded: a peer that sends a thousand made-up methods
// adds one series, "other", and answers with odd codes fold into classes.
func TestTrafficLabelsAreBounded(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	for i := range 1000 {
		req := fromPeer(t, fmt.Sprintf("X%d", i), carrierSrc)
		req.To().Params.Add("tag", "no-such-dialog")
		wantStatus(t, only(t, handle(t, s, "carrier", s.onUnknown, req)), 501)
	}
	if n := testutil.CollectAndCount(s.traffic.requests); n != 1 {
		t.Fatalf("%d request series after 1000 made-up methods, want 1", n)
	}
	if got := testutil.ToFloat64(s.traffic.requests.WithLabelValues("other", dirIn)); got != 1000 {
		t.Fatalf("requests{method=other,direction=in} = %v, want 1000", got)
	}
	if got := testutil.ToFloat64(s.traffic.responses.WithLabelValues("other", "501", dirOut)); got != 1000 {
		t.Fatalf("responses{method=other,code=501,direction=out} = %v, want 1000", got)
	}
	for code, want := range map[int]string{200: "200", 487: "487", 299: "2xx", 499: "4xx", 699: "6xx", 99: "other", 700: "other", -1: "other"} {
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d) = %q, want %q", code, got, want)
		}
	}
}

// TestRefusedCallCounted: an INVITE refused before routing counts as a
// refused call of its trunks, with the code it got.
func TestRefusedCallCounted(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	wantStatus(t, only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc, "Require: foo"))), 420)
	if got := testutil.ToFloat64(s.traffic.calls.WithLabelValues("carrier", "contact_center", callRefused, "420")); got != 1 {
		t.Fatalf("calls_total{carrier→contact_center, refused, 420} = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(s.traffic.calls); n != 1 {
		t.Fatalf("%d call series, want only the refusal", n)
	}
}

// TestRefusedAfterAdmissionCountedAsItsRecord: an INVITE that passes
// admission and is refused before any INVITE leaves, for its SDP or for
// want of RTP ports, is "refused" both in tonewall_calls_total and in its
// call detail record, with the code the caller got.
func TestRefusedAfterAdmissionCountedAsItsRecord(t *testing.T) {
	const offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	for _, tt := range []struct {
		name, yaml, body string
		code             int
	}{
		{"the caller's SDP", handlerYAML, "v=0\r\nthis is no session description\r\n", 488},
		{"no free RTP port", strings.Replace(handlerYAML, "port_max: 33099", "port_max: 33001", 1), offer, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, tt.yaml)
			path := filepath.Join(t.TempDir(), "cdr.jsonl")
			w := openCDR(t, path)
			s.SetCDR(w)
			req := fromPeer(t, "INVITE", carrierSrc, "Content-Type: application/sdp")
			req.SetBody([]byte(tt.body))
			wantStatus(t, only(t, handle(t, s, "carrier", s.onInvite, req)), tt.code)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r := readRecord(t, path)
			if r.Result != cdr.Refused || r.Code != tt.code {
				t.Errorf("record says %s %d, the caller got %d", r.Result, r.Code, tt.code)
			}
			code := fmt.Sprint(tt.code)
			if got := testutil.ToFloat64(s.traffic.calls.WithLabelValues("carrier", "contact_center", callRefused, code)); got != 1 {
				t.Errorf("calls_total{carrier→contact_center, refused, %s} = %v, want 1", code, got)
			}
			if n := testutil.CollectAndCount(s.traffic.calls); n != 1 {
				t.Errorf("%d call series, want only the refusal", n)
			}
		})
	}
}

func openCDR(t *testing.T, path string) *cdr.Writer {
	t.Helper()
	cfg := cdr.Config{File: path, Fsync: cdr.FsyncEveryRecord}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := cdr.Open(cfg, prometheus.NewRegistry(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// cdrLine is the part of a written record the tests read.
type cdrLine struct {
	Result string `json:"result"`
	Code   int    `json:"sip_code"`
}

// readRecord reads the one record in the file at path.
func readRecord(t *testing.T, path string) cdrLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r cdrLine
	if err := json.Unmarshal(b, &r); err != nil || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("not one record (%v):\n%s", err, b)
	}
	return r
}
