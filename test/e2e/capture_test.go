package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
	"github.com/tonewall/tonewall/internal/vault"
)

const (
	testPAN    = "4111111111111111"
	testExpiry = "1230"
	testCVV    = "737"
)

// rtpLog is what an agent's phone received.
type rtpLog struct{ *sbctest.Phone }

// recordRTP makes the agent's phone keep what it receives.
func recordRTP(a *sipua.Agent) *rtpLog {
	a.Phone.Listen()
	return &rtpLog{a.Phone}
}

func (l *rtpLog) count(pt uint8) int { return l.Count(pt) }

// keyed decodes the RFC 4733 key presses the agent received, in order.
func (l *rtpLog) keyed() string {
	var r dtmf.EventReceiver
	var out []dtmf.KeyEvent
	for _, p := range l.Received() {
		if p.PayloadType == 101 {
			out, _ = r.Receive(p.Timestamp, p.Payload, out)
		}
	}
	var b strings.Builder
	for _, e := range out {
		if !e.End {
			b.WriteByte(e.Key.Char())
		}
	}
	return b.String()
}

// rtpSender is the carrier's phone, sending toward tonewall.
type rtpSender struct{ *sbctest.Phone }

func (s rtpSender) send(t *testing.T, pt uint8, marker bool, ts uint32, payload []byte) {
	t.Helper()
	must(t, s.Send(pt, marker, ts, payload))
}

// silence sends n 20 ms PCMU frames of silence.
func (s rtpSender) silence(t *testing.T, n int) { t.Helper(); must(t, s.Silence(n)) }

// key sends one RFC 4733 key press.
func (s rtpSender) key(t *testing.T, k byte) { t.Helper(); must(t, s.Key(k)) }

// upCall is a call established through tonewall, with API keys configured.
type upCall struct {
	*peers
	sess   *sipgo.DialogClientSession
	callID string // tonewall's
}

func callUp(t *testing.T, opts ...func(*sbc.Options)) *upCall {
	t.Helper()
	o := sbc.Options{API: apiKeys()}
	for _, f := range opts {
		f(&o)
	}
	p := newPeers(t, "udp", o)
	sess, _ := p.call(t, ctx10(t))
	id := p.cc.Received(sip.INVITE)[0].GetHeader("X-Tonewall-Call-ID").Value()
	return &upCall{peers: p, sess: sess, callID: id}
}

// sender is the carrier's RTP toward tonewall.
func (u *upCall) sender(t *testing.T) rtpSender {
	p := u.carrier.Phone
	p.To, p.TS = sdpAddr(t, u.sess.InviteResponse.Body()), 1000
	return rtpSender{p}
}

func apiDo(t *testing.T, s *sbc.SBC, method, key, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.App.API.Addr()+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, b := apiRoundTrip(t, req)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"raw": string(b)}
	}
	return res.StatusCode, m
}

// TestCaptureRFC4733: the agent opens a capture; the caller keys a card as
// RFC 4733 events; the contact center receives no event, only the token in a
// SIP INFO; the API shows the masked result; no output holds the card.
func TestCaptureRFC4733(t *testing.T) {
	u := callUp(t)
	heard := recordRTP(u.cc)
	tx := u.sender(t)
	tx.silence(t, 5)
	cid := openCapture(t, u.s, u.callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.key(t, byte(k))
	}
	tx.silence(t, 5)
	st := waitCapture(t, u.s, u.callID, cid)
	s, cc, sess := u.s, u.cc, u.sess
	if _, call := apiDo(t, s, "GET", "agent-key", "/v1/calls/"+u.callID, ""); call["capture_id"] != cid || call["capture_state"] != "tokenized" {
		t.Fatalf("GET call does not show its capture: %v", call)
	}
	if st["state"] != "tokenized" || st["brand"] != "visa" || st["last4"] != "1111" {
		t.Fatalf("capture ended %v", st)
	}
	token, _ := st["token"].(string)
	if len(token) != len(testPAN) || !strings.HasSuffix(token, "1111") || token == testPAN {
		t.Fatalf("token %q is not format-preserving", token)
	}
	waitFor(t, "result INFO at the contact center", func() bool { return len(cc.Received(sip.INFO)) > 0 })
	info := cc.Received(sip.INFO)[0]
	if ct := info.ContentType(); ct == nil || ct.Value() != "application/vnd.tonewall.capture+json" || !strings.Contains(string(info.Body()), token) {
		t.Fatalf("result INFO: %v", info)
	}
	if n := heard.count(101); n != 0 {
		t.Fatalf("the contact center received %d telephone-event packets during the window", n)
	}
	if heard.count(0) == 0 {
		t.Fatal("the contact center received no audio at all: the check above proves nothing")
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	scanForCard(t, s, cc)
	logb, err := os.ReadFile(filepath.Join(s.DataDir, "audit.log"))
	must(t, err)
	if !strings.Contains(string(logb), `"capture_started"`) || !strings.Contains(string(logb), `"capture_ended"`) {
		t.Fatalf("the audit log does not record the capture:\n%s", logb)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(logb)), "\n") {
		var r audit.Record
		must(t, json.Unmarshal([]byte(line), &r))
		if r.Type == audit.CaptureStarted && r.Source != "127.0.0.1" {
			t.Fatalf("capture_started from %q, want the API client's address 127.0.0.1: %s", r.Source, line)
		}
	}
	if n, err := audit.VerifyFile(filepath.Join(s.DataDir, "audit.log")); err != nil || n < 2 {
		t.Fatalf("audit chain: %d records, %v", n, err)
	}
}

// blankTokens replaces every token in text with "[token]". Tokens are
// format-preserving (same last four), so one can hold the card's first six
// by chance. A token is recognised where it stands alone (a maximal run of
// digits of a token's form: SIP INFO bodies, logs); then each one found is
// blanked everywhere, also where it touches other digits (in the vault's
// binary file a capture id ending in digits can precede it). known adds
// tokens the caller already has, for texts where none stands alone.
func blankTokens(text string, known ...string) string {
	tokens := known
	for _, m := range maximalDigitRun.FindAllString(text, -1) {
		if vault.IsToken(m) {
			tokens = append(tokens, m)
		}
	}
	for _, tok := range tokens {
		text = strings.ReplaceAll(text, tok, "[token]")
	}
	return text
}

var maximalDigitRun = regexp.MustCompile(`[0-9]+`)

// scanForCard fails if any output of the call holds the card's digits: log
// lines at every level, every SIP message the agents received, the audit log
// and every file of the vault's store on disk.
func scanForCard(t *testing.T, s *sbc.SBC, agents ...*sipua.Agent) {
	t.Helper()
	secrets := []string{testPAN, testPAN[:6], testPAN[6:12]}
	var all strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.DataDir, "*"))
	if len(files) == 0 {
		t.Error("no vault or audit files to scan: the scan proves nothing")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		all.Write(b)
	}
	for _, e := range s.Logs.All() {
		fmt.Fprintf(&all, "%s %v\n", e.Message, e.ContextMap())
	}
	for _, a := range agents {
		for _, r := range a.Requests() {
			all.WriteString(r.String())
		}
	}
	text := blankTokens(all.String())
	for _, sec := range secrets {
		if i := strings.Index(text, sec); i >= 0 {
			t.Errorf("card digits %q found in tonewall's output: …%q…", sec, text[max(0, i-80):min(len(text), i+80)])
		}
	}
}
