package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// webhookSink receives capture results and checks their signatures.
type webhookSink struct {
	srv    *httptest.Server
	secret []byte
	got    chan map[string]any
}

func newWebhookSink(t *testing.T) (*webhookSink, sbc.M) {
	t.Helper()
	w := &webhookSink{secret: []byte("e2e-webhook-secret-0123456789"), got: make(chan map[string]any, 8)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("Tonewall-Signature")
		tsec, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		ts, err := strconv.ParseInt(tsec, 10, 64)
		if err != nil || capture.Sign(w.secret, body, time.Unix(ts, 0)) != sig {
			t.Errorf("webhook signature %q does not verify", sig)
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		w.got <- m
	}))
	t.Cleanup(w.srv.Close)
	f := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(f, w.secret, 0o600))
	return w, sbc.M{"delivery": sbc.M{"sip_info": true, "token_dtmf": true,
		"webhook": sbc.M{"url": w.srv.URL, "secret_file": f}}}
}

// allDeliveries opens a call with every delivery method on.
func allDeliveries(t *testing.T) (*upCall, *webhookSink) {
	t.Helper()
	var sink *webhookSink
	u := callUp(t, func(o *sbc.Options) {
		var c sbc.M
		sink, c = newWebhookSink(t)
		o.CaptureConfig = c
	})
	return u, sink
}

// checkDeliveries asserts the token arrived by API, SIP INFO, webhook and
// token DTMF, and that the card went nowhere.
func checkDeliveries(t *testing.T, u *upCall, sink *webhookSink, heard *rtpLog, tx rtpSender, st map[string]any) {
	t.Helper()
	token, _ := st["token"].(string)
	if st["state"] != "tokenized" || st["brand"] != "visa" || st["last4"] != "1111" || len(token) != len(testPAN) {
		t.Fatalf("API: capture ended %v", st)
	}
	waitFor(t, "result INFO", func() bool { return resultInfo(u.cc) != nil })
	var info map[string]any
	must(t, json.Unmarshal(resultInfo(u.cc).Body(), &info))
	if info["token"] != token || info["status"] != "tokenized" {
		t.Fatalf("SIP INFO: %v", info)
	}
	select {
	case m := <-sink.got:
		if m["token"] != token || m["status"] != "tokenized" {
			t.Fatalf("webhook: %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("webhook: nothing arrived")
	}
	tx.silence(t, 13*len(token)+10) // the caller's audio paces the token's keying
	waitFor(t, "token DTMF", func() bool { return strings.HasSuffix(heard.keyed(), token) })
	if k := heard.keyed(); k != token {
		t.Fatalf("the contact center's IVR collected %q, want only the token %q", k, token)
	}
	must(t, u.sess.Bye(ctx10(t)))
	u.s.WaitCalls(t, 0)
	scanForCard(t, u.s, u.cc)
}

func resultInfo(a *sipua.Agent) *sip.Request {
	for _, r := range a.Received(sip.INFO) {
		if ct := r.ContentType(); ct != nil && ct.Value() == capture.ResultContentType {
			return r
		}
	}
	return nil
}

// TestDeliveriesEachInputMethod: for a card keyed as RFC 4733 events, as
// in-band tones and as SIP INFO, the token arrives by every delivery method
// and nothing of the card reaches the contact center.
func TestDeliveriesEachInputMethod(t *testing.T) {
	for _, method := range []string{"rfc4733", "inband", "info"} {
		t.Run(method, func(t *testing.T) {
			u, sink := allDeliveries(t)
			heard := recordRTP(u.cc)
			tx := u.sender(t)
			tx.silence(t, 5)
			cid := openCapture(t, u.s, u.callID)
			tx.silence(t, 3)
			for _, k := range testPAN + "#" + testExpiry + testCVV {
				switch method {
				case "rfc4733":
					tx.key(t, byte(k))
				case "inband":
					tx.tone(t, byte(k))
				case "info":
					u.info(t, byte(k))
				}
			}
			tx.silence(t, 10)
			st := waitCapture(t, u.s, u.callID, cid)
			checkDeliveries(t, u, sink, heard, tx, st)
			if method == "inband" {
				if d := multimon(t, heard.pcm()); d != "" {
					t.Fatalf("multimon-ng decodes %q from the contact center's audio", d)
				}
			}
		})
	}
}

// info sends one key as SIP INFO application/dtmf-relay from the carrier.
func (u *upCall) info(t *testing.T, k byte) {
	t.Helper()
	req := sip.NewRequest(sip.INFO, u.sess.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/dtmf-relay"))
	req.SetBody([]byte("Signal=" + string(k) + "\r\nDuration=160\r\n"))
	res, err := u.sess.Do(ctx10(t), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("INFO: %v %v", res, err)
	}
	time.Sleep(5 * time.Millisecond)
}
