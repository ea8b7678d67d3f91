package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/app"
	"github.com/tonewall/tonewall/internal/dtmf"
	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/inband"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

func play(ctx context.Context, w io.Writer, a *app.App, carrier, cc *sipua.Agent, key string) error {
	step(w, "tonewall is up: carrier trunk on %s, control API on %s", a.SIP.Addr("carrier"), a.API.Addr())
	sess, err := carrier.Call(ctx, a.SIP.Addr("carrier").String(), carrier.SDP())
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	defer sess.Close()
	<-cc.Answered
	callID := a.Calls()[0].ID
	step(w, "caller → tonewall → contact center: call %s answered", callID)
	c := carrier.Phone
	c.To, c.TS = sdpAudio(sess.InviteResponse.Body()), 8000
	_ = c.Silence(10)
	_ = c.Key('1')
	_ = c.Silence(5)
	pkts := cc.Phone.Received()
	step(w, "caller presses 1 for the payments menu (no window open): the contact center received %d telephone-event packets", countPT(pkts, 101))

	for _, method := range []string{"rfc4733", "inband"} {
		if err := capture(ctx, w, a, c, cc, callID, key, method); err != nil {
			return err
		}
	}
	if err := sess.Bye(ctx); err != nil {
		return err
	}
	reqs, pkts, infos := len(cc.Requests()), cc.Phone.Received(), cc.Received(sip.INFO)
	step(w, "caller hangs up")
	fmt.Fprintf(w, "\nThe contact center received %d SIP requests (%d INFO with results) and %d RTP packets.\n", reqs, len(infos), len(pkts))
	fmt.Fprintf(w, "Searched for the card in all of it: %s\n", searchResult(cc))
	return nil
}

// capture opens a window, keys the card with one method and reports.
func capture(ctx context.Context, w io.Writer, a *app.App, c *sbctest.Phone, cc *sipua.Agent, callID, key, method string) error {
	before, infosBefore := cc.Phone.Received(), cc.Received(sip.INFO)
	st, err := api(ctx, a, key, "POST", "/v1/calls/"+callID+"/captures", `{"fields":["pan","expiry","cvv"]}`)
	if err != nil {
		return err
	}
	cid, _ := st["id"].(string)
	step(w, "agent opens capture %s (fields pan, expiry, cvv)", cid)
	press := func(k byte) { _ = c.Key(k) }
	if method == "inband" {
		press = func(k byte) { _ = inband.Key(c, k) }
	}
	step(w, "caller keys card %s, expiry %s, security code *** as %s", masked(testPAN), "**/**", map[string]string{"rfc4733": "RFC 4733 events", "inband": "in-band tones"}[method])
	for _, k := range testPAN + "#" + testExpiry + testCVV {
		press(byte(k))
	}
	_ = c.Silence(15)
	for i := 0; i < 100 && st["state"] != "tokenized" && st["state"] != "failed"; i++ {
		time.Sleep(50 * time.Millisecond)
		if st, err = api(ctx, a, key, "GET", "/v1/calls/"+callID+"/captures/"+cid, ""); err != nil {
			return err
		}
	}
	step(w, "capture %s: %v, brand %v, last four %v, token %v", cid, st["state"], st["brand"], st["last4"], st["token"])
	after, infos := cc.Phone.Received(), cc.Received(sip.INFO)
	during := after[len(before):]
	found := detectDigits(during)
	step(w, "contact center during the window: %d telephone-event packets, %d keys decodable from its audio", countPT(during, 101), found)
	for _, in := range infos[len(infosBefore):] {
		step(w, "contact center got SIP INFO %s: %s", in.ContentType().Value(), strings.TrimSpace(string(in.Body())))
	}
	return nil
}

func api(ctx context.Context, a *app.App, key, method, path, body string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+a.API.Addr()+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %v", method, path, res.StatusCode, m["error"])
	}
	return m, nil
}

func countPT(pkts []rtp.Packet, pt uint8) int {
	n := 0
	for _, p := range pkts {
		if p.PayloadType == pt {
			n++
		}
	}
	return n
}

// detectDigits runs tonewall's detector over the PCMU the contact center heard.
func detectDigits(pkts []rtp.Packet) int {
	det := dtmf.NewDetector(dtmf.DetectorConfig{})
	var out []dtmf.Digit
	for _, p := range pkts {
		if p.PayloadType == 0 {
			out = det.Process(dtmf.DecodeUlaw(make([]int16, len(p.Payload)), p.Payload), out)
		}
	}
	n := 0
	for _, d := range det.Flush(out) {
		if !d.End {
			n++
		}
	}
	return n
}

// searchResult looks for the card's digits in every SIP message and RTP
// payload the contact center received.
func searchResult(cc *sipua.Agent) string {
	for _, in := range cc.Received(sip.INFO) {
		// A token keeps the card's last four and is random before them, so
		// the middle six can show up across its edge by chance: the tokens
		// the contact center got are taken out before the search.
		msg := in.String()
		for _, tok := range tokensIn(in.Body()) {
			msg = strings.ReplaceAll(msg, tok, "[token]")
		}
		if strings.Contains(msg, testPAN) || strings.Contains(msg, testPAN[6:12]) {
			return "FOUND in a SIP INFO (this is a bug)"
		}
	}
	return "not found"
}

// tokensIn is the token of a capture-result body, if it has one.
func tokensIn(body []byte) []string {
	var r struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(body, &r) != nil || r.Token == "" {
		return nil
	}
	return []string{r.Token}
}

// sdpAudio returns the audio address of an SDP body.
func sdpAudio(body []byte) *net.UDPAddr {
	var host string
	var port int
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimSpace(l)
		if h, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			host = h
		}
		if m, ok := strings.CutPrefix(l, "m=audio "); ok {
			fmt.Sscanf(m, "%d", &port)
		}
	}
	return &net.UDPAddr{IP: net.ParseIP(host), Port: port}
}
