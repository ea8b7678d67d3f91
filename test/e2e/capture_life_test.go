package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// TestCaptureVaultDown: with the tokenization service unreachable the
// capture ends failed/vault_unavailable, the agent is told, nothing leaks.
func TestCaptureVaultDown(t *testing.T) {
	u := callUp(t, func(o *sbc.Options) {
		o.Vault = sbc.M{"driver": "http", "http": sbc.M{"url": "http://127.0.0.1:1/", "max_attempts": 1, "timeout": "500ms"}}
	})
	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	st := waitCapture(t, u.s, u.callID, cid)
	if st["state"] != "failed" || st["reason"] != "vault_unavailable" {
		t.Fatalf("capture with the vault down ended %v", st)
	}
	waitFor(t, "result INFO", func() bool { return len(u.cc.Received(sip.INFO)) > 0 })
	var body map[string]any
	must(t, json.Unmarshal(u.cc.Received(sip.INFO)[0].Body(), &body))
	if body["status"] != "failed" || body["reason"] != "vault_unavailable" || body["token"] != nil {
		t.Fatalf("result INFO: %v", body)
	}
	scanForCard(t, u.s, u.cc)
}

// TestCaptureCallerHangsUp: the call ends mid-capture; the capture ends
// call_ended and its digits are wiped before the call is gone.
func TestCaptureCallerHangsUp(t *testing.T) {
	u := callUp(t)
	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	capt, err := u.s.App.Captures.Get(u.callID, cid)
	must(t, err)
	for _, k := range testPAN[:8] {
		tx.key(t, byte(k))
	}
	waitFor(t, "8 digits counted", func() bool { return capt.Status().Digits == 8 })
	must(t, u.sess.Bye(ctx10(t)))
	select {
	case <-capt.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("capture did not end with the call")
	}
	if st := capt.Status(); st.State != "call_ended" {
		t.Fatalf("capture ended %q, want call_ended", st.State)
	}
	u.s.WaitCalls(t, 0)
	if n := len(u.cc.Received(sip.INFO)); n != 0 {
		t.Fatalf("a result INFO was sent for a capture whose call ended (%d)", n)
	}
	scanForCard(t, u.s, u.cc)
}

// TestCaptureCancelled: DELETE ends the window; keys pressed afterwards
// reach the contact center again (an IVR menu after the payment).
func TestCaptureCancelled(t *testing.T) {
	u := callUp(t)
	heard := recordRTP(u.cc)
	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range "4111" {
		tx.key(t, byte(k))
	}
	code, st := apiDo(t, u.s, "DELETE", "agent-key", "/v1/calls/"+u.callID+"/captures/"+cid, "")
	if code != 200 || st["state"] != "cancelled" {
		t.Fatalf("cancel: %d %v", code, st)
	}
	if heard.count(101) != 0 {
		t.Fatal("events inside the window reached the contact center")
	}
	tx.silence(t, 3)
	tx.key(t, '9')
	waitFor(t, "events after the window", func() bool { return heard.count(101) > 0 })
}

// TestCaptureAPIErrors: roles, unknown calls, bad bodies, one window at a time.
func TestCaptureAPIErrors(t *testing.T) {
	u := callUp(t)
	path := "/v1/calls/" + u.callID + "/captures"
	tests := []struct {
		name, key, path, body string
		code                  int
		msg                   string
	}{
		{"no key", "", path, `{}`, 401, "API key"},
		{"wrong role", "auditor-key", path, `{}`, 403, "auditor"},
		{"unknown call", "agent-key", "/v1/calls/nope/captures", `{}`, 404, "no such call"},
		{"malformed JSON", "agent-key", path, `{"fields":[`, 400, "JSON"},
		{"trailing data", "agent-key", path, `{"fields":["pan"]}{"fields":["cvv"]}`, 400, "more than one JSON value"},
		{"unknown JSON key", "agent-key", path, `{"feilds":["pan"]}`, 400, "feilds"},
		{"unknown field", "agent-key", path, `{"fields":["pan","pin"]}`, 400, "pin"},
		{"no card number", "agent-key", path, `{"fields":["cvv"]}`, 400, "pan"},
		{"unknown brand", "agent-key", path, `{"fields":["pan"],"brands":["diners-club"]}`, 400, "brand"},
		// Card digits a client puts in a body are never repeated back.
		{"digits as a JSON key", "agent-key", path, `{"4111111111111111":1}`, 400, "unknown field"},
		{"digits as a number", "agent-key", path, `{"fields":4111111111111111}`, 400, "wrong type"},
		{"digits as a field", "agent-key", path, `{"fields":["pan","4111111111111111"]}`, 400, "unknown field"},
		{"digits as a brand", "agent-key", path, `{"fields":["pan"],"brands":["4111111111111111"]}`, 400, "brand"},
		{"digits in bad JSON", "agent-key", path, `{"fields":[4111111111111111`, 400, "JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := apiDo(t, u.s, "POST", tt.key, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body["error"].(string), tt.msg) {
				t.Fatalf("got %d %v, want %d mentioning %q", code, body, tt.code, tt.msg)
			}
			if strings.Contains(body["error"].(string), "4111") {
				t.Fatalf("the answer repeats card digits: %v", body)
			}
		})
	}
	openCapture(t, u.s, u.callID)
	if code, _ := apiDo(t, u.s, "POST", "agent-key", path, `{}`); code != 409 {
		t.Fatalf("second window on one call: %d, want 409", code)
	}
	if code, _ := apiDo(t, u.s, "GET", "agent-key", path+"/cap_nope", ""); code != 404 {
		t.Fatalf("unknown capture: %d, want 404", code)
	}
}

// TestCaptureTokenDTMF: with token_dtmf on, the token is keyed toward the
// contact center as RFC 4733 events after the window: what an unchanged
// IVR collects is the token, never the card.
func TestCaptureTokenDTMF(t *testing.T) {
	u := callUp(t, func(o *sbc.Options) { o.CaptureConfig = sbc.M{"delivery": sbc.M{"token_dtmf": true}} })
	heard := recordRTP(u.cc)
	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	st := waitCapture(t, u.s, u.callID, cid)
	token, _ := st["token"].(string)
	if st["state"] != "tokenized" || token == "" {
		t.Fatalf("capture ended %v", st)
	}
	// The caller's audio paces the keying: 13 packets per key.
	tx.silence(t, 13*len(token)+10)
	var keyed string
	waitFor(t, "the token keyed toward the contact center", func() bool {
		keyed = heard.keyed()
		return len(keyed) >= len(token)
	})
	if keyed != token {
		t.Fatalf("the contact center's IVR collected %q, want the token %q", keyed, token)
	}
}

// TestCaptureKeyTwiceAndRetry: with confirm_pan the card is keyed twice; a
// second entry that differs costs an attempt (mismatch); the agent may ask
// for the security code again without restarting.
func TestCaptureKeyTwiceAndRetry(t *testing.T) {
	u := callUp(t)
	tx := u.sender(t)
	events, stop := u.s.App.Captures.Events.Subscribe()
	defer stop()
	code, c := apiDo(t, u.s, "POST", "agent-key", "/v1/calls/"+u.callID+"/captures", `{"fields":["pan","cvv"],"confirm_pan":true}`)
	if code != 201 {
		t.Fatalf("open: %d %v", code, c)
	}
	cid := c["id"].(string)
	keys := func(s string) {
		for _, k := range s {
			tx.key(t, byte(k))
		}
	}
	keys(testPAN + "#" + "4012888888881881#") // second entry differs: mismatch
	waitEvent(t, events, func(e map[string]any) bool { return e["reason"] == "mismatch" })
	keys(testPAN + "#" + testPAN + "#" + "73")
	waitFor(t, "two cvv digits", func() bool {
		_, st := apiDo(t, u.s, "GET", "agent-key", "/v1/calls/"+u.callID+"/captures/"+cid, "")
		return st["field"] == "cvv" && st["digits"] == float64(2)
	})
	if code, st := apiDo(t, u.s, "POST", "agent-key", "/v1/calls/"+u.callID+"/captures/"+cid+"/retry", `{"field":"cvv"}`); code != 200 || st["digits"] != float64(0) {
		t.Fatalf("retry cvv: %d %v", code, st)
	}
	keys(testCVV)
	st := waitCapture(t, u.s, u.callID, cid)
	if st["state"] != "tokenized" || st["last4"] != "1111" {
		t.Fatalf("capture ended %v", st)
	}
	scanForCard(t, u.s, u.cc)
}

// waitEvent waits for a capture event matching ok.
func waitEvent(t *testing.T, ch <-chan capture.Event, ok func(map[string]any) bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			b, _ := json.Marshal(e)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			if ok(m) {
				return
			}
		case <-timeout:
			t.Fatal("no such capture event")
		}
	}
}

// TestCapturePolicyAlways: on a route with capture: always a window opens
// as the call is answered, with no API call.
func TestCapturePolicyAlways(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{Capture: "always"})
	cc, s := p.cc, p.s
	sess, _ := p.call(t, ctx10(t))
	u := &upCall{peers: p, sess: sess}
	heard := recordRTP(cc)
	tx := u.sender(t)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	waitFor(t, "result INFO", func() bool { return resultInfo(cc) != nil })
	if !strings.Contains(string(resultInfo(cc).Body()), `"status":"tokenized"`) {
		t.Fatalf("result: %s", resultInfo(cc).Body())
	}
	if heard.count(101) != 0 {
		t.Fatal("digits reached the contact center on an always-capture route")
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	scanForCard(t, s, cc)
}

// TestMetrics: /metrics counts calls and capture ends, and holds no digit
// of the card.
func TestMetrics(t *testing.T) {
	u := callUp(t)
	tx := u.sender(t)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	waitCapture(t, u.s, u.callID, cid)
	var body string
	waitFor(t, "capture counted", func() bool {
		_, body = apiGet(t, u.s, "", "/metrics")
		return strings.Contains(body, `tonewall_captures_total{state="tokenized"} 1`)
	})
	if !strings.Contains(body, "tonewall_calls_active 1") || !strings.Contains(body, "tonewall_rtp_ports_in_use") {
		t.Fatalf("metrics lack the call gauges:\n%s", body)
	}
	for _, sec := range []string{testPAN, testPAN[:6]} {
		if strings.Contains(body, sec) {
			t.Fatalf("metrics hold %q", sec)
		}
	}
}
