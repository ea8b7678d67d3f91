package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// TestPortExhaustion: with room for one call's media, a second call is
// refused 503 and tonewall goes on serving; after the first call the port
// comes back.
func TestPortExhaustion(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{Media: sbc.Media{Address: "127.0.0.1", PortMin: 38000, PortMax: 38003, Drain: 10 * time.Millisecond}})
	carrier, s := p.carrier, p.s
	sess, _ := p.call(t, ctx10(t))
	_, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	wantRefused(t, err, 503, "second call with no ports left")
	if _, m := apiGet(t, s, "", "/metrics"); !strings.Contains(m, "\ntonewall_rtp_ports_exhausted_total 1\n") {
		t.Error("the refusal for want of ports is not counted in tonewall_rtp_ports_exhausted_total")
	}
	must(t, sess.Bye(ctx10(t)))
	_ = sess.Close()
	s.WaitCalls(t, 0)
	waitFor(t, "ports back", func() bool { return s.App.PortsInUse() == 0 && s.App.PortsDraining() == 0 })
	sess, _ = p.call(t, ctx10(t)) // the ports came back
	p.hangUp(t, ctx10(t), sess)
}

// TestMediaInactivityEndsCall: a call whose media stops is torn down with
// BYE on both legs.
func TestMediaInactivityEndsCall(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{Media: sbc.Media{Address: "127.0.0.1", PortMin: 38100, PortMax: 38199, Drain: 10 * time.Millisecond, Inactivity: time.Second}})
	carrier, cc, s := p.carrier, p.cc, p.s
	p.call(t, ctx10(t))
	waitBye(t, carrier)
	waitBye(t, cc)
	s.WaitCalls(t, 0)
}
