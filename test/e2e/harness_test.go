package e2e

import (
	"cmp"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// startSBC runs tonewall until the test ends, on o with the e2e defaults
// for what o leaves zero: short INVITE, ring and drain timeouts, the
// pass-listed headers, TLS peers not verified, and a carrier trunk whose
// target answers nothing.
func startSBC(t *testing.T, o sbc.Options) *sbc.SBC {
	t.Helper()
	sip := &o.SIP
	sip.InviteTimeout = cmp.Or(sip.InviteTimeout, 1500*time.Millisecond)
	sip.RingTimeout = cmp.Or(sip.RingTimeout, 20*time.Second)
	sip.DrainTimeout = cmp.Or(sip.DrainTimeout, 2*time.Second)
	if sip.HeaderPass == nil {
		sip.HeaderPass = []string{"User-to-User", "X-Genesys-*"}
	}
	if sip.TLS == nil {
		sip.TLS = &sbc.TLS{}
	}
	if len(o.Carrier.Targets) == 0 {
		o.Carrier.Targets = []string{"127.0.0.1:9"}
	}
	return sbc.Start(t, o)
}

// deadTarget is a UDP address where a socket is bound but nothing answers.
func deadTarget(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	must(t, err)
	n, err := strconv.Atoi(p)
	must(t, err)
	return h, n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// peers is a carrier and a contact center, agents on one transport, with
// tonewall between them.
type peers struct {
	s           *sbc.SBC
	carrier, cc *sipua.Agent
}

// newPeers starts the two agents, then tonewall on o with its transport
// tp and the contact center as its contact-center target.
func newPeers(t *testing.T, tp string, o sbc.Options) *peers {
	t.Helper()
	p := &peers{carrier: sipua.New(t, tp), cc: sipua.New(t, tp)}
	o.Transport = tp
	o.ContactCenter.Targets = append(o.ContactCenter.Targets, p.cc.Addr)
	p.s = startSBC(t, o)
	return p
}

// call places the carrier's call through tonewall and waits until the
// contact center answered it; the call is closed when the test ends.
func (p *peers) call(t *testing.T, ctx context.Context, hdrs ...sip.Header) (*sipgo.DialogClientSession, *sipgo.DialogServerSession) {
	t.Helper()
	sess, err := p.carrier.Call(ctx, p.s.Addr("carrier"), p.carrier.SDP(), hdrs...)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close() })
	return sess, p.cc.NextCall(t)
}
