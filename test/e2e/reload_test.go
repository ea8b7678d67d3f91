package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// withCDR has tonewall write call detail records to file, fsynced per
// record.
func withCDR(file string) func(*sbc.Options) {
	return func(o *sbc.Options) { o.CDR = sbc.M{"file": file, "fsync": "every_record"} }
}

// cdrLines waits until file holds n records and returns them, failing on
// any card digit in the file.
func cdrLines(t *testing.T, file string, n int) []map[string]any {
	t.Helper()
	var text string
	waitFor(t, fmt.Sprintf("%d CDR lines", n), func() bool {
		b, _ := os.ReadFile(file)
		text = string(b)
		return strings.Count(text, "\n") >= n
	})
	for _, sec := range []string{testPAN, testPAN[:6], testPAN[6:12]} {
		if strings.Contains(text, sec) {
			t.Errorf("card digits %q in the CDR file:\n%s", sec, text)
		}
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		must(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	if len(out) != n {
		t.Fatalf("CDR file holds %d lines, want %d:\n%s", len(out), n, text)
	}
	return out
}

// TestReloadKeepsCallInProgress: a call is up when a reload moves its
// contact-center trunk to another target and caps it at one call. The call
// lives on, in-dialog requests crossing as before; a second call is refused
// 503, the call in progress counting against the new cap; once it ends, a
// new call reaches the new target. The CDR file has a line for each.
func TestReloadKeepsCallInProgress(t *testing.T) {
	cdrFile := filepath.Join(t.TempDir(), "cdr.jsonl")
	u := callUp(t, withCDR(cdrFile))
	s, cc2 := u.s, sipua.New(t, "udp")

	next := sbc.Options{Transport: "udp", ContactCenter: sbc.Trunk{Targets: []string{cc2.Addr}, MaxCalls: 1},
		API: apiKeys(), DataDir: s.DataDir}
	withCDR(cdrFile)(&next)
	y, err := e2eDefaults(next).YAML()
	must(t, err)
	cfg, err := app.Parse("reloaded.yaml", y)
	must(t, err)
	_, changed, err := s.App.Apply(cfg, "e2e", "")
	must(t, err)
	if strings.Join(changed, ",") != "trunks" {
		t.Fatalf("reload changed %v, want trunks only", changed)
	}

	if sess, err := u.carrier.Call(ctx10(t), s.Addr("carrier"), u.carrier.SDP()); err == nil {
		sess.Close()
		t.Fatal("a second call was admitted past the contact-center trunk's new max_calls")
	}
	if !u.carrier.GotStatus(503) {
		t.Fatal("the second call was not refused 503")
	}
	if len(cc2.Received(sip.INVITE)) != 0 {
		t.Fatal("the refused call reached the new target")
	}
	must(t, u.sess.Bye(ctx10(t)))
	waitBye(t, u.cc) // the call in progress still crosses to its own target
	s.WaitCalls(t, 0)

	sess, err := u.carrier.Call(ctx10(t), s.Addr("carrier"), u.carrier.SDP())
	must(t, err)
	cc2.NextCall(t)
	must(t, sess.Bye(ctx10(t)))
	waitBye(t, cc2)
	s.WaitCalls(t, 0)

	recs := cdrLines(t, cdrFile, 3)
	for i, want := range []struct {
		result string
		code   float64
		hangup string
	}{{"refused", 503, "tonewall"}, {"answered", 200, "caller"}, {"answered", 200, "caller"}} { // in the order they ended
		r := recs[i]
		if r["result"] != want.result || r["sip_code"] != want.code || r["hangup"] != want.hangup ||
			r["from_trunk"] != "carrier" || r["to_trunk"] != "contact_center" {
			t.Errorf("CDR %d: %v, want %+v", i, r, want)
		}
	}
	if first := recs[1]; first["call_id"] != u.callID || first["leg_b_call_id"] != u.cc.Received(sip.INVITE)[0].CallID().Value() ||
		first["leg_a_call_id"] != u.sess.InviteRequest.CallID().Value() || first["answer"] == nil {
		t.Errorf("first call's CDR does not name its legs: %v", first)
	}
}

// TestCDRAfterCapture: a call on which a card was keyed (in a capture the
// route's policy "always" opened at the answer) has one CDR line naming the
// capture and its outcome, and no digit of the card.
func TestCDRAfterCapture(t *testing.T) {
	cdrFile := filepath.Join(t.TempDir(), "cdr.jsonl")
	u := callUp(t, withCDR(cdrFile), func(o *sbc.Options) { o.Capture = "always" })
	_, call := apiDo(t, u.s, "GET", "agent-key", "/v1/calls/"+u.callID, "")
	cid, _ := call["capture_id"].(string)
	if cid == "" {
		t.Fatalf("policy always opened no capture: %v", call)
	}
	tx := u.sender(t)
	tx.silence(t, 5)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	tx.silence(t, 5)
	if st := waitCapture(t, u.s, u.callID, cid); st["state"] != "tokenized" {
		t.Fatalf("capture ended %v", st)
	}
	must(t, u.sess.Bye(ctx10(t)))
	u.s.WaitCalls(t, 0)
	rec := cdrLines(t, cdrFile, 1)[0]
	caps, _ := rec["captures"].([]any)
	if len(caps) != 1 || fmt.Sprint(caps[0]) != fmt.Sprintf("map[id:%s state:tokenized]", cid) {
		t.Fatalf("CDR captures %v, want %s tokenized", rec["captures"], cid)
	}
	if rec["result"] != "answered" || rec["call_id"] != u.callID {
		t.Fatalf("CDR %v", rec)
	}
}

// TestReloadOverAPI: POST /v1/reload reads tonewall's file again: an admin's
// call puts it in force and names what changed; a broken file is refused
// 409 with its line, the configuration in force kept; an agent's key is
// refused 403.
func TestReloadOverAPI(t *testing.T) {
	o := sbc.Options{API: apiKeys(), ContactCenter: sbc.Trunk{Targets: []string{"127.0.0.1:9"}}}
	o.API.Keys = append(o.API.Keys, sbc.Key("ops", "admin-key", "admin"))
	s := startSBC(t, o)
	if code, body := apiDo(t, s, "POST", "agent-key", "/v1/reload", ""); code != 403 {
		t.Fatalf("agent's reload: %d %v", code, body)
	}
	if code, body := apiDo(t, s, "POST", "admin-key", "/v1/reload", ""); code != 200 || body["status"] != "reloaded" || len(body["changed"].([]any)) != 0 {
		t.Fatalf("reload of the same file: %d %v", code, body)
	}

	file := sbc.ConfigFile(s.DataDir)
	good, err := os.ReadFile(file)
	must(t, err)
	must(t, os.WriteFile(file, append(slices.Clone(good), "bogus: 1\n"...), 0o600))
	code, body := apiDo(t, s, "POST", "admin-key", "/v1/reload", "")
	if msg, _ := body["message"].(string); code != 409 || body["error"] != "reload_refused" || !strings.Contains(msg, "tonewall.yaml:") {
		t.Fatalf("reload of a broken file: %d %v", code, body)
	}

	o.DataDir, o.SIP.Limits = s.DataDir, &sbc.Limits{MaxCalls: 7}
	capped, err := e2eDefaults(o).YAML()
	must(t, err)
	must(t, os.WriteFile(file, capped, 0o600))
	if code, body := apiDo(t, s, "POST", "admin-key", "/v1/reload", ""); code != 200 || fmt.Sprint(body["changed"]) != "[sip.limits.max_calls]" {
		t.Fatalf("reload of a new call cap: %d %v", code, body)
	}
}
