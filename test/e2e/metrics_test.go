package e2e

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// scrape is one reading of /metrics, parsed, and its text.
type scrape struct {
	families map[string]*dto.MetricFamily
	text     string
}

func scrapeMetrics(t *testing.T, s *sbc.SBC) scrape {
	t.Helper()
	code, body := apiGet(t, s, "", "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return scrape{families: fams, text: body}
}

// value sums the samples of name whose labels include want: a counter's or
// gauge's value, a histogram's count of observations.
func (sc scrape) value(name string, want map[string]string) float64 {
	var sum float64
	for _, m := range sc.families[name].GetMetric() {
		if hasLabels(m, want) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// expect fails unless name{want} satisfies ok.
func (sc scrape) expect(t *testing.T, when, name string, want map[string]string, ok func(float64) bool, should string) {
	t.Helper()
	if _, found := sc.families[name]; !found {
		t.Errorf("%s: no series %s", when, name)
		return
	}
	if v := sc.value(name, want); !ok(v) {
		t.Errorf("%s: %s%v = %v, want %s", when, name, want, v, should)
	}
}

func is(n float64) func(float64) bool      { return func(v float64) bool { return v == n } }
func atLeast(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }

// noCardInScrape fails if the card number appears anywhere in the scrape,
// or six of its digits in any label value (where a digit could leak;
// sample values are tonewall's own counts and durations, whose float
// digits can hold any run by chance).
func noCardInScrape(t *testing.T, sc scrape) {
	t.Helper()
	if strings.Contains(sc.text, testPAN) {
		t.Errorf("/metrics holds the card number")
	}
	for _, f := range sc.families {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v := lp.GetValue(); strings.Contains(v, testPAN[:6]) || strings.Contains(v, testPAN[6:12]) {
					t.Errorf("/metrics label %s=%q holds card digits", lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// TestMetricsMoveWithACall: a call with media both ways and a capture keyed
// as RFC 4733 events moves the call, SIP, RTP, DTMF, capture and vault
// series as it goes, mid-call and after, and no scrape holds the card.
func TestMetricsMoveWithACall(t *testing.T) {
	u := callUp(t)
	heard := recordRTP(u.cc)
	tx := u.sender(t)
	p := u.cc.Phone
	p.To, p.TS = sdpAddr(t, u.cc.Received(sip.INVITE)[0].Body()), 5000
	back := rtpSender{p}
	tx.silence(t, 5)
	back.silence(t, 5)
	waitFor(t, "audio at the contact center", func() bool { return heard.count(0) > 0 })
	cid := openCapture(t, u.s, u.callID)
	keys := testPAN + "#" + testExpiry + testCVV
	for _, k := range keys {
		tx.key(t, byte(k))
	}
	tx.silence(t, 5)
	if st := waitCapture(t, u.s, u.callID, cid); st["state"] != "tokenized" {
		t.Fatalf("capture ended %v", st)
	}
	var mid scrape
	waitFor(t, "capture counted in /metrics", func() bool {
		mid = scrapeMetrics(t, u.s)
		return mid.value("tonewall_capture_duration_seconds", map[string]string{"state": "tokenized"}) == 1
	})
	trunks := map[string]string{"from_trunk": "carrier", "to_trunk": "contact_center"}
	checkMidCall(t, mid, trunks, len(keys))
	noCardInScrape(t, mid)

	must(t, u.sess.Bye(ctx10(t)))
	u.s.WaitCalls(t, 0)
	// The call leaves the table as it ends, and its BYE toward the contact
	// center goes out after that.
	byeOut := map[string]string{"method": "BYE", "direction": "out"}
	var after scrape
	waitFor(t, "the BYE toward the contact center counted", func() bool {
		after = scrapeMetrics(t, u.s)
		return after.value("tonewall_sip_requests_total", byeOut) >= 1
	})
	const when = "after the call"
	after.expect(t, when, "tonewall_calls_active", nil, is(0), "0")
	after.expect(t, when, "tonewall_calls_total", withResult(trunks, "answered"), is(1), "still 1")
	after.expect(t, when, "tonewall_sip_requests_total", map[string]string{"method": "BYE", "direction": "in"}, is(1), "the caller's BYE")
	after.expect(t, when, "tonewall_sip_requests_total", byeOut, is(1), "the BYE toward the contact center")
	for _, leg := range []string{"carrier", "contact_center"} {
		in := map[string]string{"leg": leg, "direction": "in"}
		// The call's session is closed: its packets stay counted.
		after.expect(t, when, "tonewall_rtp_packets_total", in, atLeast(mid.value("tonewall_rtp_packets_total", in)), "no fewer than mid-call")
	}
	noCardInScrape(t, after)
}

func withResult(trunks map[string]string, result string) map[string]string {
	out := map[string]string{"result": result}
	for k, v := range trunks {
		out[k] = v
	}
	return out
}

// checkMidCall checks the scrape taken during the call, after its capture.
func checkMidCall(t *testing.T, mid scrape, trunks map[string]string, keys int) {
	t.Helper()
	const when = "mid-call"
	mid.expect(t, when, "tonewall_calls_active", nil, is(1), "1")
	answered := withResult(trunks, "answered")
	answered["code"] = "200"
	mid.expect(t, when, "tonewall_calls_total", answered, is(1), "1")
	mid.expect(t, when, "tonewall_calls_total", withResult(trunks, "failed"), is(0), "0")
	mid.expect(t, when, "tonewall_call_setup_seconds", map[string]string{"to_trunk": "contact_center"}, is(1), "one observation")
	mid.expect(t, when, "tonewall_sip_requests_total", map[string]string{"method": "INVITE", "direction": "in"}, is(1), "the caller's INVITE")
	mid.expect(t, when, "tonewall_sip_requests_total", map[string]string{"method": "INVITE", "direction": "out"}, is(1), "the INVITE to the contact center")
	mid.expect(t, when, "tonewall_sip_responses_total", map[string]string{"method": "INVITE", "code": "200", "direction": "in"}, is(1), "the contact center's 200")
	mid.expect(t, when, "tonewall_sip_responses_total", map[string]string{"method": "INVITE", "code": "200", "direction": "out"}, is(1), "tonewall's 200 to the caller")
	for _, leg := range []string{"carrier", "contact_center"} {
		for _, dir := range []string{"in", "out"} {
			mid.expect(t, when, "tonewall_rtp_packets_total", map[string]string{"leg": leg, "direction": dir}, atLeast(1), "packets relayed")
		}
	}
	mid.expect(t, when, "tonewall_rtp_dropped_total", map[string]string{"reason": "auth_failed"}, is(0), "0 on plain RTP")
	mid.expect(t, when, "tonewall_srtp_auth_failures_total", nil, is(0), "0")
	mid.expect(t, when, "tonewall_dtmf_suppressed_total", map[string]string{"method": "rfc4733"}, atLeast(float64(keys)), "every key sent")
	mid.expect(t, when, "tonewall_dtmf_suppressed_total", map[string]string{"method": "inband"}, is(0), "0: no tones sent")
	mid.expect(t, when, "tonewall_vault_request_duration_seconds", map[string]string{"driver": "local", "op": "tokenize", "result": "ok"}, is(1), "one tokenization")
	mid.expect(t, when, "tonewall_captures_total", map[string]string{"state": "tokenized"}, is(1), "1")
}
