package sip

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
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
