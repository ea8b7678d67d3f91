package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

var transports = []string{"udp", "tcp", "tls"}

// TestBasicCall: carrier calls the contact center through tonewall and
// hangs up, over each transport; then the contact center hangs up.
func TestBasicCall(t *testing.T) {
	for _, tp := range transports {
		for _, byeFrom := range []string{"carrier", "contact_center"} {
			t.Run(tp+"/bye_from_"+byeFrom, func(t *testing.T) {
				p := newPeers(t, tp, sbc.Options{})
				carrier, cc, s := p.carrier, p.cc, p.s
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				sess, ccSide := p.call(t, ctx, carrierHeaders()...)
				if !carrier.GotStatus(180) {
					t.Error("the contact center's 180 Ringing never reached the carrier")
				}
				s.WaitCalls(t, 1)
				checkTopologyHidden(t, carrier, cc)
				if byeFrom == "carrier" {
					must(t, sess.Bye(ctx))
					waitBye(t, cc)
				} else {
					must(t, ccSide.Bye(ctx))
					waitBye(t, carrier)
				}
				s.WaitCalls(t, 0)
			})
		}
	}
}

// checkTopologyHidden: what the contact center got holds nothing of the
// carrier's dialog (addresses, Call-ID, tags, Via, Contact, unlisted
// headers), pass-listed headers crossed exactly once, and the SDP points at
// tonewall's relay; the same the other way for the carrier's 200.
func checkTopologyHidden(t *testing.T, carrier, cc *sipua.Agent) {
	t.Helper()
	got := cc.Received(sip.INVITE)
	if len(got) == 0 {
		t.Fatal("contact center got no INVITE")
	}
	inv := got[0]
	raw := inv.String()
	sent := carrier.SentInvite()
	for _, secret := range []string{carrier.Addr, sent.CallID().Value(), fromTag(sent), "X-Carrier-Internal", "carrier-secret"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%q reached the contact center:\n%s", secret, raw)
		}
	}
	if port := fmt.Sprint(carrier.Phone.Port()); strings.Contains(string(inv.Body()), "m=audio "+port) {
		t.Error("the carrier's RTP port reached the contact center: SDP not rewritten")
	}
	if len(inv.GetHeaders("Via")) != 1 {
		t.Errorf("contact center got %d Via headers, want tonewall's alone", len(inv.GetHeaders("Via")))
	}
	uui := inv.GetHeaders("User-to-User")
	if len(uui) != 1 || uui[0].Value() != testUUI {
		t.Errorf("User-to-User crossed as %v, want once, intact", uui)
	}
	if h := inv.GetHeader("X-Genesys-Queue"); h == nil || h.Value() != "payments" {
		t.Error("pass-listed X-Genesys-* header did not cross")
	}
	if inv.GetHeader("X-Tonewall-Call-ID") == nil {
		t.Error("no X-Tonewall-Call-ID toward the contact center")
	}
	res := carrier.LastInviteResponse()
	if res == nil {
		t.Fatal("carrier saw no final response")
	}
	if strings.Contains(res.String(), cc.Addr) || strings.Contains(res.String(), "X-CC-Internal") {
		t.Errorf("the contact center's address or headers reached the carrier:\n%s", res)
	}
}

const testUUI = "04fa08;encoding=hex;purpose=isdn-uui"

// carrierHeaders are what a carrier's INVITE carries besides the basics:
// pass-listed headers and one that must stay on its side.
func carrierHeaders() []sip.Header {
	return []sip.Header{
		sip.NewHeader("User-to-User", testUUI),
		sip.NewHeader("X-Genesys-Queue", "payments"),
		sip.NewHeader("X-Carrier-Internal", "carrier-secret"),
	}
}

func fromTag(r *sip.Request) string {
	tag, _ := r.From().Params.Get("tag")
	return tag
}

func waitBye(t *testing.T, a *sipua.Agent) {
	t.Helper()
	select {
	case <-a.Byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE arrived")
	}
}
