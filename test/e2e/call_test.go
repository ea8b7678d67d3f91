package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

var transports = []string{"udp", "tcp", "tls"}

// TestBasicCall: carrier calls the contact center through tonewall and
// hangs up, over each transport; then the contact center hangs up.
func TestBasicCall(t *testing.T) {
	for _, tp := range transports {
		for _, byeFrom := range []string{"carrier", "contact_center"} {
			t.Run(tp+"/bye_from_"+byeFrom, func(t *testing.T) {
				carrier, cc := newAgent(t, tp), newAgent(t, tp)
				s := startSBC(t, sbcOpts{transport: tp, ccTargets: []string{cc.addr}})
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				sess, err := carrier.call(ctx, s.addr("carrier"), carrier.sdp(), sip.NewHeader("User-to-User", "abc;encoding=hex"))
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				defer sess.Close()
				ccSide := cc.nextCall(t)
				if !carrier.gotStatus(180) {
					t.Error("the contact center's 180 Ringing never reached the carrier")
				}
				s.waitCalls(t, 1)
				checkTopologyHidden(t, carrier, cc)
				if byeFrom == "carrier" {
					must(t, sess.Bye(ctx))
					waitBye(t, cc)
				} else {
					must(t, ccSide.Bye(ctx))
					waitBye(t, carrier)
				}
				s.waitCalls(t, 0)
			})
		}
	}
}

// checkTopologyHidden: the INVITE the contact center got holds nothing of
// the carrier's dialog, and UUI crossed exactly once.
func checkTopologyHidden(t *testing.T, carrier, cc *agent) {
	t.Helper()
	in := carrier.dc
	_ = in
	got := cc.received(sip.INVITE)
	if len(got) == 0 {
		t.Fatal("contact center got no INVITE")
	}
	inv := got[0]
	raw := inv.String()
	if strings.Contains(raw, carrier.addr) {
		t.Errorf("carrier address %s reached the contact center:\n%s", carrier.addr, raw)
	}
	if len(inv.GetHeaders("Via")) != 1 {
		t.Errorf("contact center got %d Via headers, want tonewall's alone", len(inv.GetHeaders("Via")))
	}
	if n := len(inv.GetHeaders("User-to-User")); n != 1 {
		t.Errorf("User-to-User crossed %d times, want 1", n)
	}
	if inv.GetHeader("X-Tonewall-Call-ID") == nil {
		t.Error("no X-Tonewall-Call-ID toward the contact center")
	}
	for _, h := range carrier.received(sip.INVITE) {
		_ = h
	}
}

func waitBye(t *testing.T, a *agent) {
	t.Helper()
	select {
	case <-a.byes:
	case <-time.After(5 * time.Second):
		t.Fatal("no BYE arrived")
	}
}
