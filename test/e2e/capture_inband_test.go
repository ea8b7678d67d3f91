package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/sbctest/inband"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// tone sends one in-band key press.
func (s rtpSender) tone(t *testing.T, k byte) { t.Helper(); must(t, inband.Key(s.Phone, k)) }

// pcm decodes the PCMU the agent received, in arrival order.
func (l *rtpLog) pcm() []int16 {
	var out []int16
	for _, p := range l.Received() {
		if p.PayloadType == 0 {
			out = append(out, dtmf.DecodeUlaw(make([]int16, len(p.Payload)), p.Payload)...)
		}
	}
	return out
}

// openCapture starts a capture over the API and returns its id.
func openCapture(t *testing.T, s *sbc.SBC, callID string) string {
	t.Helper()
	code, c := apiDo(t, s, "POST", "agent-key", "/v1/calls/"+callID+"/captures", `{"fields":["pan","expiry","cvv"]}`)
	if code != 201 {
		t.Fatalf("open capture: %d %v", code, c)
	}
	return c["id"].(string)
}

func waitCapture(t *testing.T, s *sbc.SBC, callID, cid string) map[string]any {
	t.Helper()
	var st map[string]any
	waitFor(t, "capture end", func() bool {
		_, st = apiDo(t, s, "GET", "agent-key", "/v1/calls/"+callID+"/captures/"+cid, "")
		return st["state"] == "tokenized" || st["state"] == "failed"
	})
	return st
}

// TestCaptureInBand: the caller keys the card as in-band tones; the capture
// tokenizes it, and the audio the contact center got holds no digit that
// tonewall's own detector or multimon-ng (if installed) can find.
func TestCaptureInBand(t *testing.T) {
	u := callUp(t)
	s, cc, sess, callID := u.s, u.cc, u.sess, u.callID
	heard := recordRTP(cc)
	tx := u.sender(t)
	tx.silence(t, 5)
	cid := openCapture(t, s, callID)
	tx.silence(t, 5)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		tx.tone(t, byte(k))
	}
	tx.silence(t, 10)
	st := waitCapture(t, s, callID, cid)
	if st["state"] != "tokenized" || st["last4"] != "1111" {
		t.Fatalf("capture ended %v", st)
	}
	pcm := heard.pcm()
	if len(pcm) < 8000 {
		t.Fatalf("the contact center heard only %d samples", len(pcm))
	}
	det := dtmf.NewDetector(dtmf.DetectorConfig{})
	if found := det.Flush(det.Process(pcm, nil)); len(found) != 0 {
		t.Fatalf("tonewall's detector finds %d key events in what the contact center heard", len(found))
	}
	if digits := multimon(t, pcm); digits != "" {
		t.Fatalf("multimon-ng decodes %q from what the contact center heard", digits)
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	scanForCard(t, s, cc)
}

var multimonDigit = regexp.MustCompile(`DTMF: ([0-9A-D*#])`)

// multimon runs multimon-ng (through sox, to its 22050 Hz) on 8 kHz PCM.
func multimon(t *testing.T, pcm []int16) string {
	t.Helper()
	needTool(t, "sox")
	needTool(t, "multimon-ng")
	var raw bytes.Buffer
	_ = binary.Write(&raw, binary.LittleEndian, pcm)
	sox := exec.Command("sox", "-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", "-",
		"-t", "raw", "-e", "signed", "-b", "16", "-r", "22050", "-c", "1", "-")
	sox.Stdin = &raw
	up, err := sox.Output()
	must(t, err)
	mm := exec.Command("multimon-ng", "-q", "-c", "-a", "DTMF", "-t", "raw", "-")
	mm.Stdin = bytes.NewReader(up)
	out, err := mm.Output()
	must(t, err)
	var b strings.Builder
	for _, m := range multimonDigit.FindAllStringSubmatch(string(out), -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// TestCaptureSIPInfo: DTMF by SIP INFO inside a window is answered 200 by
// tonewall and never reaches the contact center; outside a window it does.
func TestCaptureSIPInfo(t *testing.T) {
	u := callUp(t)
	s, cc, sess, callID := u.s, u.cc, u.sess, u.callID
	ctx := ctx10(t)
	info := func(k byte) {
		req := sip.NewRequest(sip.INFO, sess.InviteResponse.Contact().Address)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody([]byte(fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", k)))
		res, err := sess.Do(ctx, req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("INFO: %v %v", res, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	info('5') // outside a window: an IVR menu choice, relayed
	if got := cc.Received(sip.INFO); len(got) != 1 || !strings.Contains(string(got[0].Body()), "Signal=5") {
		t.Fatalf("INFO outside a window not relayed: %v", got)
	}
	cid := openCapture(t, s, callID)
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		info(byte(k))
	}
	st := waitCapture(t, s, callID, cid)
	if st["state"] != "tokenized" {
		t.Fatalf("capture ended %v", st)
	}
	waitFor(t, "result INFO", func() bool { return len(cc.Received(sip.INFO)) == 2 })
	if ct := cc.Received(sip.INFO)[1].ContentType().Value(); ct != "application/vnd.tonewall.capture+json" {
		t.Fatalf("second INFO at the contact center is %s, want only the result", ct)
	}
	must(t, sess.Bye(ctx))
	s.WaitCalls(t, 0)
	scanForCard(t, s, cc)
}
