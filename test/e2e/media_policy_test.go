package e2e

import (
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
	"testing"
)

// TestPortExhaustion: with room for one call's media, a second call is
// refused 503 and tonewall goes on serving; after the first call the port
// comes back.
func TestPortExhaustion(t *testing.T) {
	carrier, cc := sipua.New(t, "udp"), sipua.New(t, "udp")
	s := startSBC(t, sbcOpts{ccTargets: []string{cc.Addr},
		mediaYAML: "media: {address: 127.0.0.1, port_min: 38000, port_max: 38003, drain: 10ms}"})
	sess, err := carrier.Call(ctx10(t), s.addr("carrier"), carrier.SDP())
	must(t, err)
	cc.NextCall(t)
	_, err = carrier.Call(ctx10(t), s.addr("carrier"), carrier.SDP())
	if got := statusOf(t, err); got != 503 {
		t.Fatalf("second call with no ports left: %d, want 503", got)
	}
	must(t, sess.Bye(ctx10(t)))
	_ = sess.Close()
	s.waitCalls(t, 0)
	waitFor(t, "ports back", func() bool { return s.app.PortsInUse() == 0 && s.app.PortsDraining() == 0 })
	sess, err = carrier.Call(ctx10(t), s.addr("carrier"), carrier.SDP())
	if err != nil {
		t.Fatalf("a call after the ports came back: %v", err)
	}
	defer sess.Close()
	cc.NextCall(t)
	must(t, sess.Bye(ctx10(t)))
	s.waitCalls(t, 0)
}

// TestMediaInactivityEndsCall: a call whose media stops is torn down with
// BYE on both legs.
func TestMediaInactivityEndsCall(t *testing.T) {
	carrier, cc := sipua.New(t, "udp"), sipua.New(t, "udp")
	s := startSBC(t, sbcOpts{ccTargets: []string{cc.Addr},
		mediaYAML: "media: {address: 127.0.0.1, port_min: 38100, port_max: 38199, drain: 10ms, inactivity: 1s}"})
	sess, err := carrier.Call(ctx10(t), s.addr("carrier"), carrier.SDP())
	must(t, err)
	defer sess.Close()
	cc.NextCall(t)
	waitBye(t, carrier)
	waitBye(t, cc)
	s.waitCalls(t, 0)
}
